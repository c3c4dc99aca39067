#include "frugal/compress/weight_encoding.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "frugal/compress/huffman.h"
#include "frugal/core/error.h"

namespace frugal::compress {
namespace {

constexpr size_t kMaxBook = 256;
constexpr int kMaxIndexBits = 8;
constexpr uint64_t kTableHeaderBits = 16;  // alphabet size before the code lengths
constexpr uint8_t kFlagCodebook = 1, kFlagHuffValues = 2, kFlagHuffIndex = 4;

uint64_t pattern(const uint8_t* base, size_t width, int64_t i) {
  uint64_t v = 0;
  std::memcpy(&v, base + static_cast<size_t>(i) * width, width);
  return v;
}

uint64_t table_bits(size_t alphabet) {
  return kTableHeaderBits + 8 * alphabet;
}

// What every candidate encoding of one tensor needs: the codebook, per-symbol counts of the
// non-zeros and of all elements, and the zero gaps before each non-zero.
struct Census {
  size_t width = 4;
  int64_t n = 0;
  std::vector<uint64_t> book;        // sorted distinct patterns; empty when more than kMaxBook
  std::vector<uint64_t> all_counts;  // per book entry over all elements
  std::vector<uint64_t> nz_counts;   // per book entry over the non-zeros
  std::vector<uint32_t> gaps;        // zeros before each non-zero (in order)
  int64_t zero_symbol = -1;          // book index of the all-zero pattern
};

Census take_census(const Tensor& t) {
  Census c;
  c.width = dtype_size(t.dtype());
  c.n = t.numel();
  const auto* base = static_cast<const uint8_t*>(t.raw());
  bool small = true;
  for (int64_t i = 0; i < c.n && small; ++i) {
    const uint64_t p = pattern(base, c.width, i);
    auto it = std::lower_bound(c.book.begin(), c.book.end(), p);
    if (it == c.book.end() || *it != p) {
      if (c.book.size() == kMaxBook)
        small = false;
      else
        c.book.insert(it, p);
    }
  }
  if (!small) c.book.clear();
  c.all_counts.assign(c.book.size(), 0);
  c.nz_counts.assign(c.book.size(), 0);
  uint32_t gap = 0;
  for (int64_t i = 0; i < c.n; ++i) {
    const uint64_t p = pattern(base, c.width, i);
    size_t sym = 0;
    if (!c.book.empty()) {
      sym = static_cast<size_t>(std::lower_bound(c.book.begin(), c.book.end(), p) - c.book.begin());
      ++c.all_counts[sym];
    }
    if (p == 0) {
      ++gap;
      continue;
    }
    if (!c.book.empty()) ++c.nz_counts[sym];
    c.gaps.push_back(gap);
    gap = 0;
  }
  if (!c.book.empty() && c.book.front() == 0) c.zero_symbol = 0;
  return c;
}

// Fills the stream sizes of `e` from the symbol counts of its value and index streams.
void price(TensorEncoding& e, const Census& c, const std::vector<uint64_t>& values,
           const std::vector<uint64_t>& index, bool huffman) {
  const uint64_t dtype_bits = 8 * c.width;
  e.codebook_bits = e.codebook ? e.book.size() * dtype_bits : 0;
  const uint64_t entries = static_cast<uint64_t>(e.entries);
  e.fixed_bits = e.codebook_bits + entries * static_cast<uint64_t>(e.value_bits + e.index_bits);
  e.value_stream_bits = entries * static_cast<uint64_t>(e.value_bits);
  e.index_stream_bits = entries * static_cast<uint64_t>(e.index_bits);
  e.table_bits = 0;
  if (!huffman) return;
  if (e.codebook && entries > 0) {
    const uint64_t h = huffman_bits(values, huffman_lengths(values)) + table_bits(values.size());
    if (h < e.value_stream_bits) {
      e.huffman_values = true;
      e.value_stream_bits = h - table_bits(values.size());
      e.table_bits += table_bits(values.size());
    }
  }
  if (e.index_bits > 0 && entries > 0) {
    const uint64_t h = huffman_bits(index, huffman_lengths(index)) + table_bits(index.size());
    if (h < e.index_stream_bits) {
      e.huffman_index = true;
      e.index_stream_bits = h - table_bits(index.size());
      e.table_bits += table_bits(index.size());
    }
  }
}

TensorEncoding dense_candidate(const Census& c, bool codebook, bool huffman) {
  TensorEncoding e;
  e.codebook = codebook;
  e.book = codebook ? c.book : std::vector<uint64_t>{};
  e.value_bits = codebook ? codebook_index_bits(c.book.size()) : static_cast<int>(8 * c.width);
  e.elements = e.entries = c.n;
  price(e, c, c.all_counts, {}, huffman);
  return e;
}

TensorEncoding sparse_candidate(const Census& c, bool codebook, int index_bits, bool huffman) {
  TensorEncoding e;
  e.codebook = codebook;
  e.book = codebook ? c.book : std::vector<uint64_t>{};
  e.value_bits = codebook ? codebook_index_bits(c.book.size()) : static_cast<int>(8 * c.width);
  e.index_bits = index_bits;
  e.elements = c.n;
  std::vector<uint64_t> index(size_t{1} << index_bits, 0);
  const uint64_t span = uint64_t{1} << index_bits;
  for (uint32_t g : c.gaps) {
    e.fillers += static_cast<int64_t>(g / span);
    index[span - 1] += g / span;
    ++index[g % span];
  }
  e.entries = static_cast<int64_t>(c.gaps.size()) + e.fillers;
  std::vector<uint64_t> values = c.nz_counts;
  if (codebook) values[static_cast<size_t>(c.zero_symbol)] += static_cast<uint64_t>(e.fillers);
  price(e, c, values, index, huffman);
  return e;
}

// Little-endian fixed-width fields of a stream header.
void put_bytes(std::vector<uint8_t>& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

struct ByteCursor {
  const uint8_t* data;
  size_t size, at = 0;
  const std::string& what;
  uint64_t take(int n) {
    if (size - at < static_cast<size_t>(n))
      throw UserError(what + ": stream ends early (truncated)");
    uint64_t v = 0;
    for (int i = 0; i < n; ++i)
      v |= static_cast<uint64_t>(data[at + static_cast<size_t>(i)]) << (8 * i);
    at += static_cast<size_t>(n);
    return v;
  }
};

void put_value(BitWriter& w, uint64_t v, int bits) {
  if (bits > 32) {
    w.put(static_cast<uint32_t>(v >> 32), bits - 32);
    w.put(static_cast<uint32_t>(v), 32);
  } else {
    w.put(static_cast<uint32_t>(v), bits);
  }
}

uint64_t get_value(BitReader& r, int bits) {
  if (bits > 32) {
    const uint64_t hi = r.get(bits - 32);
    return (hi << 32) | r.get(32);
  }
  return r.get(bits);
}

void put_lengths(std::vector<uint8_t>& out, const std::vector<uint8_t>& lengths) {
  put_bytes(out, lengths.size(), 2);
  out.insert(out.end(), lengths.begin(), lengths.end());
}

std::vector<uint8_t> take_lengths(ByteCursor& in, size_t expected) {
  const size_t n = static_cast<size_t>(in.take(2));
  if (n != expected)
    throw UserError(in.what + ": Huffman table of " + std::to_string(n) + " symbols, expected " +
                    std::to_string(expected));
  std::vector<uint8_t> l(n);
  for (auto& x : l) x = static_cast<uint8_t>(in.take(1));
  return l;
}

}  // namespace

std::string TensorEncoding::describe() const {
  std::string s = index_bits ? "sparse idx " + std::to_string(index_bits) + "b" +
                                   (huffman_index ? " huff" : "") + ", "
                             : std::string("dense, ");
  if (codebook)
    s += "codebook " + std::to_string(book.size()) + " (" + std::to_string(value_bits) + "b)" +
         (huffman_values ? " huff" : "");
  else
    s += "raw " + std::to_string(value_bits) + "b";
  return s;
}

TensorEncoding plan_encoding(const Tensor& t, const EncodeOptions& options) {
  const Census c = take_census(t);
  std::vector<TensorEncoding> candidates{dense_candidate(c, false, false)};
  if (!c.book.empty()) candidates.push_back(dense_candidate(c, true, options.huffman));
  if (!c.gaps.empty() && static_cast<int64_t>(c.gaps.size()) < c.n) {
    const int lo = options.index_bits ? options.index_bits : 1;
    const int hi = options.index_bits ? options.index_bits : kMaxIndexBits;
    for (int b = lo; b <= hi; ++b) {
      candidates.push_back(sparse_candidate(c, false, b, options.huffman));
      if (!c.book.empty()) candidates.push_back(sparse_candidate(c, true, b, options.huffman));
    }
  }
  return *std::min_element(candidates.begin(), candidates.end(),
                           [](const TensorEncoding& a, const TensorEncoding& b) {
                             return a.total_bits() < b.total_bits();
                           });
}

std::vector<uint8_t> encode_tensor(const Tensor& t, const TensorEncoding& plan) {
  const size_t width = dtype_size(t.dtype());
  const auto* base = static_cast<const uint8_t*>(t.raw());
  // Entries: (gap, symbol or raw pattern) in order, fillers included.
  std::vector<uint32_t> gaps;
  std::vector<uint64_t> values;
  auto symbol = [&](uint64_t p) -> uint64_t {
    if (!plan.codebook) return p;
    return static_cast<uint64_t>(std::lower_bound(plan.book.begin(), plan.book.end(), p) -
                                 plan.book.begin());
  };
  const uint32_t span = plan.index_bits ? (1u << plan.index_bits) : 0;
  uint32_t gap = 0;
  for (int64_t i = 0; i < t.numel(); ++i) {
    const uint64_t p = pattern(base, width, i);
    if (plan.index_bits && p == 0) {
      ++gap;
      continue;
    }
    for (; plan.index_bits && gap >= span; gap -= span) {
      gaps.push_back(span - 1);
      values.push_back(symbol(0));
    }
    gaps.push_back(gap);
    values.push_back(symbol(p));
    gap = 0;
  }
  std::vector<uint8_t> out;
  out.push_back(static_cast<uint8_t>((plan.codebook ? kFlagCodebook : 0) |
                                     (plan.huffman_values ? kFlagHuffValues : 0) |
                                     (plan.huffman_index ? kFlagHuffIndex : 0)));
  out.push_back(static_cast<uint8_t>(plan.value_bits));
  out.push_back(static_cast<uint8_t>(plan.index_bits));
  put_bytes(out, plan.book.size(), 2);
  for (uint64_t p : plan.book) put_bytes(out, p, static_cast<int>(width));
  put_bytes(out, values.size(), 8);
  BitWriter vw, iw;
  if (plan.huffman_values) {
    std::vector<uint64_t> counts(plan.book.size(), 0);
    for (uint64_t v : values) ++counts[v];
    const auto lengths = huffman_lengths(counts);
    put_lengths(out, lengths);
    const HuffmanCode code(lengths, "encoder");
    for (uint64_t v : values) code.encode(vw, static_cast<uint32_t>(v));
  } else {
    for (uint64_t v : values) put_value(vw, v, plan.value_bits);
  }
  if (plan.index_bits) {
    if (plan.huffman_index) {
      std::vector<uint64_t> counts(span, 0);
      for (uint32_t g : gaps) ++counts[g];
      const auto lengths = huffman_lengths(counts);
      put_lengths(out, lengths);
      const HuffmanCode code(lengths, "encoder");
      for (uint32_t g : gaps) code.encode(iw, g);
    } else {
      for (uint32_t g : gaps) iw.put(g, plan.index_bits);
    }
  }
  const auto vb = vw.finish();
  put_bytes(out, vb.size(), 8);
  out.insert(out.end(), vb.begin(), vb.end());
  const auto ib = iw.finish();
  out.insert(out.end(), ib.begin(), ib.end());
  return out;
}

Tensor decode_tensor(const uint8_t* data, size_t size, DType dtype, const Shape& shape,
                     const std::string& what) {
  ByteCursor in{data, size, 0, what};
  const auto flags = static_cast<uint8_t>(in.take(1));
  const int value_bits = static_cast<int>(in.take(1));
  const int index_bits = static_cast<int>(in.take(1));
  const size_t width = dtype_size(dtype);
  const bool codebook = flags & kFlagCodebook;
  if (flags > 7 || index_bits > kMaxIndexBits || value_bits < 1 || value_bits > 64 ||
      (!codebook && value_bits != static_cast<int>(8 * width)) || (codebook && value_bits > 8))
    throw UserError(what + ": bad stream header (flags " + std::to_string(flags) + ", value bits " +
                    std::to_string(value_bits) + ", index bits " + std::to_string(index_bits) +
                    ")");
  const size_t book_size = static_cast<size_t>(in.take(2));
  if (book_size > kMaxBook || (codebook && book_size == 0))
    throw UserError(what + ": codebook of " + std::to_string(book_size) + " entries");
  std::vector<uint64_t> book(book_size);
  for (auto& p : book) p = in.take(static_cast<int>(width));
  Tensor t(dtype, shape);
  const uint64_t entries = in.take(8);
  if (entries > static_cast<uint64_t>(t.numel()) ||
      (!index_bits && entries != static_cast<uint64_t>(t.numel())))
    throw UserError(what + ": " + std::to_string(entries) + " entries for " +
                    std::to_string(t.numel()) + " elements");
  std::optional<HuffmanCode> vcode, icode;
  if (flags & kFlagHuffValues) {
    if (!codebook) throw UserError(what + ": Huffman-coded raw values");
    vcode.emplace(take_lengths(in, book_size), what);
  }
  if (flags & kFlagHuffIndex) {
    if (!index_bits) throw UserError(what + ": Huffman-coded index of a dense tensor");
    icode.emplace(take_lengths(in, size_t{1} << index_bits), what);
  }
  const uint64_t value_bytes = in.take(8);
  if (value_bytes > size - in.at) throw UserError(what + ": stream ends early (truncated)");
  BitReader vr(data + in.at, static_cast<size_t>(value_bytes), what);
  BitReader ir(data + in.at + value_bytes, size - in.at - static_cast<size_t>(value_bytes), what);
  std::memset(t.raw(), 0, t.nbytes());
  auto* base = static_cast<uint8_t*>(t.raw());
  uint64_t pos = 0;
  for (uint64_t e = 0; e < entries; ++e) {
    if (index_bits) pos += icode ? icode->decode(ir) : ir.get(index_bits);
    if (pos >= static_cast<uint64_t>(t.numel()))
      throw UserError(what + ": sparse index past the tensor's end");
    uint64_t v = vcode ? vcode->decode(vr) : get_value(vr, value_bits);
    if (codebook) {
      if (v >= book_size)
        throw UserError(what + ": codebook index " + std::to_string(v) + " of " +
                        std::to_string(book_size));
      v = book[v];
    }
    std::memcpy(base + pos * width, &v, width);
    ++pos;
  }
  return t;
}

EncodedSize encoded_size(const ir::Graph& g, const EncodeOptions& options) {
  EncodedSize s;
  for (const auto& [name, t] : g.initializers) {
    EncodedLayer l{name, t.numel(), static_cast<int64_t>(t.nbytes()), plan_encoding(t, options)};
    s.raw_bytes += l.raw_bytes;
    s.encoded_bytes += l.plan.bytes();
    s.fixed_bytes += static_cast<int64_t>((l.plan.fixed_bits + 7) / 8);
    s.tensors.push_back(std::move(l));
  }
  return s;
}

int64_t initializer_bytes(const ir::Graph& g) {
  int64_t bytes = 0;
  for (const auto& [name, t] : g.initializers) bytes += static_cast<int64_t>(t.nbytes());
  return bytes;
}

nlohmann::json to_json(const EncodedSize& s) {
  nlohmann::json tensors = nlohmann::json::array();
  for (const auto& l : s.tensors)
    tensors.push_back({{"tensor", l.tensor},
                       {"elements", l.elements},
                       {"raw_bytes", l.raw_bytes},
                       {"encoded_bytes", l.plan.bytes()},
                       {"encoding", l.plan.describe()},
                       {"value_bits", l.plan.value_bits},
                       {"index_bits", l.plan.index_bits},
                       {"huffman_saved_bytes",
                        static_cast<int64_t>((l.plan.fixed_bits + 7) / 8) - l.plan.bytes()}});
  return {{"raw_bytes", s.raw_bytes},
          {"encoded_bytes", s.encoded_bytes},
          {"without_huffman_bytes", s.fixed_bytes},
          {"ratio", s.encoded_bytes
                        ? static_cast<double>(s.raw_bytes) / static_cast<double>(s.encoded_bytes)
                        : 0.0},
          {"tensors", tensors}};
}

int codebook_index_bits(size_t symbols) {
  int b = 1;
  while ((size_t{1} << b) < symbols) ++b;
  return b;
}

}  // namespace frugal::compress
