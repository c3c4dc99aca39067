// The compressed model file (.fgz, docs/compression.md "The .fgz container"): the graph's
// structure as ONNX with every initializer emptied, then one record per initializer holding
// its encoded streams (compress/weight_encoding.h: codebook, Huffman tables, value and
// relative-index streams), each record with its own CRC32, so that a damaged file names the
// layer at fault. Decoding gives back the exact graph that was encoded (bit-exact tensors).
//
// Layout (little-endian):
//   header   "FRUGALZ\0" | u32 version | u32 records | u64 skeleton bytes |
//            u32 crc32(skeleton) | u32 crc32(the 28 bytes before)
//   skeleton ONNX ModelProto, initializers of the same names with zero elements
//   record   u32 body bytes | body | u32 crc32(body)
//   body     u16 name bytes | name | u8 dtype | u8 rank | i64 dims[rank] | tensor stream
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/compress/weight_encoding.h"
#include "frugal/ir/graph.h"

namespace frugal::compress {

inline constexpr uint32_t kFgzVersion = 1;

struct FgzRecord {
  std::string tensor;
  int64_t elements = 0;
  int64_t raw_bytes = 0;     // as loaded
  int64_t stored_bytes = 0;  // the record in the file (header, tables and CRC included)
  TensorEncoding plan;
};

struct FgzSummary {
  std::vector<FgzRecord> records;
  int64_t skeleton_bytes = 0;
  int64_t file_bytes = 0;
};

// The container's bytes for `g`, and what each record holds.
std::string encode_fgz(const ir::Graph& g, const EncodeOptions& options,
                       FgzSummary* summary = nullptr);
// Writes `path` (through a temporary file: nothing is left behind on failure).
FgzSummary write_fgz(const ir::Graph& g, const std::string& path,
                     const EncodeOptions& options = {});

// Decodes a container. UserError "ORIGIN: reason" for a bad magic, another version, a
// truncated file or a checksum mismatch (naming the layer), or a tensor over `max_elements`.
ir::Graph decode_fgz(const uint8_t* data, size_t size, const std::string& origin,
                     int64_t max_elements = int64_t{1} << 34);
ir::Graph read_fgz(const std::string& path);

}  // namespace frugal::compress
