#include "frugal/compress/container.h"
#include "frugal/core/atomic_file.h"

#include <zlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"

namespace frugal::compress {
namespace {

constexpr char kMagic[8] = {'F', 'R', 'U', 'G', 'A', 'L', 'Z', '\0'};
constexpr size_t kHeaderBytes = 32;
constexpr int kMaxRank = 16;

uint32_t crc(const uint8_t* p, size_t n) {
  return static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(p), static_cast<uInt>(n)));
}

void put(std::string& out, uint64_t v, int n) {
  for (int i = 0; i < n; ++i) out.push_back(static_cast<char>(v >> (8 * i)));
}

uint64_t get(const uint8_t* p, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v |= static_cast<uint64_t>(p[i]) << (8 * i);
  return v;
}

// The record body of one tensor: name, dtype, shape, streams.
std::string record_body(const std::string& name, const Tensor& t, const TensorEncoding& plan) {
  std::string body;
  put(body, name.size(), 2);
  body += name;
  put(body, static_cast<uint8_t>(t.dtype()), 1);
  put(body, t.shape().size(), 1);
  for (int64_t d : t.shape()) put(body, static_cast<uint64_t>(d), 8);
  const auto stream = encode_tensor(t, plan);
  body.append(reinterpret_cast<const char*>(stream.data()), stream.size());
  return body;
}

struct Reader {
  const uint8_t* data;
  size_t size;
  const std::string& origin;
  size_t at = 0;
  const uint8_t* need(size_t n, const std::string& where) {
    if (size - at < n) throw UserError(origin + ": truncated " + where);
    const uint8_t* p = data + at;
    at += n;
    return p;
  }
};

// Name of a record for messages, printable characters only (the bytes may be damaged).
std::string printable(const uint8_t* p, size_t n) {
  std::string s;
  for (size_t i = 0; i < n && i < 64; ++i)
    s += (p[i] >= 32 && p[i] < 127) ? static_cast<char>(p[i]) : '?';
  return s;
}

Tensor read_record_body(const uint8_t* body, size_t n, const std::string& name,
                        const std::string& what, int64_t max_elements) {
  size_t at = 2 + name.size();
  if (n < at + 2) throw UserError(what + ": record too short");
  const auto dtype = static_cast<DType>(body[at]);
  const int rank = body[at + 1];
  at += 2;
  if (dtype == DType::kUndefined || dtype >= DType::kString || rank > kMaxRank)
    throw UserError(what + ": bad dtype " + std::to_string(body[at - 2]) + " or rank " +
                    std::to_string(rank));
  if (n < at + 8 * static_cast<size_t>(rank))
    throw UserError(what + ": record too short for its shape");
  Shape shape;
  int64_t elements = 1;
  for (int i = 0; i < rank; ++i, at += 8) {
    const auto d = static_cast<int64_t>(get(body + at, 8));
    if (d < 0 || d > max_elements || (d > 0 && elements > max_elements / d))
      throw UserError(what + ": shape over " + std::to_string(max_elements) + " elements");
    elements *= d;
    shape.push_back(d);
  }
  return decode_tensor(body + at, n - at, dtype, shape, what);
}

}  // namespace

std::string encode_fgz(const ir::Graph& g, const EncodeOptions& options, FgzSummary* summary) {
  ir::Graph skeleton = g;
  for (auto& [name, t] : skeleton.initializers) {
    Shape empty = t.shape();
    if (empty.empty())
      empty.push_back(0);
    else
      empty[0] = 0;
    t = Tensor(t.dtype(), empty);
  }
  const std::string onnx = ir::serialize_onnx(skeleton);
  std::string out(kMagic, sizeof(kMagic));
  put(out, kFgzVersion, 4);
  put(out, g.initializers.size(), 4);
  put(out, onnx.size(), 8);
  put(out, crc(reinterpret_cast<const uint8_t*>(onnx.data()), onnx.size()), 4);
  put(out, crc(reinterpret_cast<const uint8_t*>(out.data()), out.size()), 4);
  out += onnx;
  FgzSummary s;
  s.skeleton_bytes = static_cast<int64_t>(onnx.size());
  for (const auto& [name, t] : g.initializers) {
    if (name.size() > 0xFFFF)
      throw UserError("initializer name over 65535 bytes: " + name.substr(0, 40) + "...");
    FgzRecord r{name, t.numel(), static_cast<int64_t>(t.nbytes()), 0, plan_encoding(t, options)};
    const std::string body = record_body(name, t, r.plan);
    put(out, body.size(), 4);
    out += body;
    put(out, crc(reinterpret_cast<const uint8_t*>(body.data()), body.size()), 4);
    r.stored_bytes = static_cast<int64_t>(body.size() + 8);
    s.records.push_back(std::move(r));
  }
  s.file_bytes = static_cast<int64_t>(out.size());
  if (summary) *summary = std::move(s);
  return out;
}

FgzSummary write_fgz(const ir::Graph& g, const std::string& path, const EncodeOptions& options) {
  FgzSummary s;
  const std::string bytes = encode_fgz(g, options, &s);
  write_file_atomically(path, bytes);
  return s;
}

ir::Graph decode_fgz(const uint8_t* data, size_t size, const std::string& origin,
                     int64_t max_elements) {
  Reader in{data, size, origin};
  const uint8_t* h = in.need(kHeaderBytes, "header (not a .fgz file?)");
  if (std::memcmp(h, kMagic, sizeof(kMagic)) != 0)
    throw UserError(origin + ": not a .fgz file (bad magic)");
  const auto version = static_cast<uint32_t>(get(h + 8, 4));
  if (version != kFgzVersion)
    throw UserError(origin + ": .fgz version " + std::to_string(version) +
                    ", this frugal reads version " + std::to_string(kFgzVersion));
  if (get(h + 28, 4) != crc(h, 28))
    throw UserError(origin + ": header checksum mismatch (corrupt)");
  const auto records = static_cast<uint32_t>(get(h + 12, 4));
  const uint64_t skeleton_bytes = get(h + 16, 8);
  if (skeleton_bytes > size) throw UserError(origin + ": truncated graph structure");
  const uint8_t* sk = in.need(static_cast<size_t>(skeleton_bytes), "graph structure");
  if (get(h + 24, 4) != crc(sk, static_cast<size_t>(skeleton_bytes)))
    throw UserError(origin + ": graph structure checksum mismatch (corrupt)");
  ir::Graph g =
      ir::parse_onnx(sk, static_cast<size_t>(skeleton_bytes), origin + " (graph structure)");
  for (uint32_t i = 0; i < records; ++i) {
    const std::string where =
        "in record " + std::to_string(i + 1) + " of " + std::to_string(records);
    const auto body_bytes = static_cast<size_t>(get(in.need(4, where), 4));
    if (body_bytes < 2 || body_bytes > size - in.at)
      throw UserError(origin + ": truncated " + where);
    const uint8_t* body = in.need(body_bytes, where);
    const size_t name_bytes = std::min<size_t>(get(body, 2), body_bytes - 2);
    const std::string name = printable(body + 2, name_bytes);
    const std::string what = origin + ": layer '" + name + "'";
    const uint8_t* c = in.need(4, "checksum of layer '" + name + "'");
    if (get(c, 4) != crc(body, body_bytes)) throw UserError(what + ": checksum mismatch (corrupt)");
    const std::string exact(reinterpret_cast<const char*>(body + 2), name_bytes);
    auto it = g.initializers.find(exact);
    if (it == g.initializers.end())
      throw UserError(what + ": no initializer of that name in the graph");
    Tensor t = read_record_body(body, body_bytes, exact, what, max_elements);
    if (t.dtype() != it->second.dtype()) throw UserError(what + ": dtype differs from the graph's");
    it->second = std::move(t);
  }
  if (in.at != size)
    throw UserError(origin + ": " + std::to_string(size - in.at) + " bytes after the last record");
  return g;
}

ir::Graph read_fgz(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) throw UserError(path + ": cannot read");
  const std::string bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  return decode_fgz(reinterpret_cast<const uint8_t*>(bytes.data()), bytes.size(), path);
}

}  // namespace frugal::compress
