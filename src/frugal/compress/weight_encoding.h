// How a tensor is stored compressed (Deep Compression, Han et al. ICLR 2016, sections 2-4):
// its elements as symbols of a codebook (the <= 256 distinct bit patterns of a clustered,
// quantized or int4 tensor; raw values otherwise), optionally only the non-zero ones with
// relative indices of a chosen width (a gap too long for the width inserts a filler zero),
// and optionally each of the two streams Huffman coded. plan_encoding() picks the smallest
// combination; encode/decode write and read exactly that (compress/container.h), and
// encoded_size() sums the plans of a graph's initializers: the model's encoded size.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"

namespace frugal::compress {

struct TensorEncoding {
  bool codebook = false;  // values are indices into `book` (distinct bit patterns, sorted)
  int value_bits = 0;     // fixed width of a value (codebook index bits, or the dtype's bits)
  int index_bits = 0;     // 0: dense (every element stored); else relative sparse indices
  bool huffman_values = false, huffman_index = false;
  std::vector<uint64_t> book;         // bit patterns of the codebook entries
  int64_t elements = 0, entries = 0;  // entries: stored values (non-zeros + fillers when sparse)
  int64_t fillers = 0;
  // Sizes in bits of each part, as plan_encoding chose them.
  uint64_t value_stream_bits = 0, index_stream_bits = 0;
  uint64_t codebook_bits = 0, table_bits = 0;  // codebook entries; Huffman code-length tables
  uint64_t fixed_bits = 0;  // the same choice without Huffman (what Huffman saved = fixed - total)
  uint64_t total_bits() const {
    return value_stream_bits + index_stream_bits + codebook_bits + table_bits;
  }
  int64_t bytes() const { return static_cast<int64_t>((total_bits() + 7) / 8); }
  std::string describe() const;  // "sparse idx 5b huff, codebook 32 (5b) huff"
};

struct EncodeOptions {
  bool huffman = true;
  int index_bits = 0;  // 0: the best width 1..8; else that width for sparse tensors
};

// Bits of an index into a codebook of `symbols` entries: ceil(log2), at least 1.
int codebook_index_bits(size_t symbols);

// The smallest encoding of `t` (any dtype; elements compared as bit patterns, so -0.0 is
// not zero and every value round-trips exactly).
TensorEncoding plan_encoding(const Tensor& t, const EncodeOptions& options = {});

// Writes the streams of `plan` for `t` (the bytes plan.bytes() counted, apart from the
// small fixed header the container adds) and reads them back.
std::vector<uint8_t> encode_tensor(const Tensor& t, const TensorEncoding& plan);
// `what` names the tensor in errors (UserError for a stream that does not decode).
Tensor decode_tensor(const uint8_t* data, size_t size, DType dtype, const Shape& shape,
                     const std::string& what);

struct EncodedLayer {
  std::string tensor;
  int64_t elements = 0;
  int64_t raw_bytes = 0;  // as loaded (nbytes)
  TensorEncoding plan;
};

struct EncodedSize {
  std::vector<EncodedLayer> tensors;  // every initializer, by name
  int64_t raw_bytes = 0;              // sum of nbytes (float32 as loaded)
  int64_t encoded_bytes = 0;          // sum of plan bytes
  int64_t fixed_bytes = 0;            // the same without Huffman
};

// Encoded size of every initializer of `g` (the weights; the graph's structure is not
// counted, as in Deep Compression's ratios).
EncodedSize encoded_size(const ir::Graph& g, const EncodeOptions& options = {});
// The initializers' bytes as loaded (encoded_size's raw_bytes, without planning any encoding).
int64_t initializer_bytes(const ir::Graph& g);

nlohmann::json to_json(const EncodedSize& s);

}  // namespace frugal::compress
