#include "frugal/core/npy.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>

namespace frugal {
namespace {

constexpr uint8_t kNpyMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};

struct NpyType {
  const char* descr;  // little-endian descriptor numpy writes
  DType dtype;
};
constexpr NpyType kNpyTypes[] = {{"<f4", DType::kF32}, {"<f8", DType::kF64}, {"<i8", DType::kI64},
                                 {"<i4", DType::kI32}, {"<i2", DType::kI16}, {"|i1", DType::kI8},
                                 {"<u8", DType::kU64}, {"<u4", DType::kU32}, {"<u2", DType::kU16},
                                 {"|u1", DType::kU8},  {"|b1", DType::kBool}};

DType dtype_from_descr(std::string descr, const std::string& name) {
  // One-byte types may carry any byte-order mark; '=' is native, little endian here.
  if (descr.size() == 3 && (descr[0] == '<' || descr[0] == '=' || descr[0] == '|')) {
    const bool one_byte = descr[2] == '1';
    if (one_byte)
      descr[0] = '|';
    else if (descr[0] == '=')
      descr[0] = '<';
  }
  for (const auto& t : kNpyTypes)
    if (descr == t.descr) return t.dtype;
  if (!descr.empty() && descr[0] == '>' && descr.size() == 3 && descr[2] != '1')
    throw UnsupportedError(
        name + ": big-endian arrays (" + descr +
        ") are not supported: save with arr.astype(arr.dtype.newbyteorder('<'))");
  throw UnsupportedError(name + ": element type '" + descr +
                         "' is not supported (float32/64, int8/16/32/64, uint8/16/32/64, bool)");
}

const char* descr_of(DType t) {
  for (const auto& n : kNpyTypes)
    if (n.dtype == t) return n.descr;
  throw UnsupportedError("npy: cannot write dtype " + std::string(dtype_name(t)));
}

// Value of `key` in numpy's header, a Python dict literal: {'descr': '<f4', ...}.
std::string header_value(const std::string& header, const std::string& key,
                         const std::string& name) {
  const std::string quoted[2] = {"'" + key + "'", "\"" + key + "\""};
  size_t at = std::string::npos;
  for (const auto& q : quoted)
    if ((at = header.find(q)) != std::string::npos) {
      at += q.size();
      break;
    }
  if (at == std::string::npos) throw UserError(name + ": npy header has no '" + key + "'");
  at = header.find(':', at);
  if (at == std::string::npos)
    throw UserError(name + ": npy header is malformed near '" + key + "'");
  ++at;
  while (at < header.size() && header[at] == ' ') ++at;
  if (at >= header.size()) throw UserError(name + ": npy header is malformed near '" + key + "'");
  const char open = header[at];
  size_t end;
  if (open == '\'' || open == '"') {
    end = header.find(open, at + 1);
    if (end == std::string::npos) throw UserError(name + ": npy header is malformed");
    return header.substr(at + 1, end - at - 1);
  }
  if (open == '(') {
    end = header.find(')', at);
    if (end == std::string::npos) throw UserError(name + ": npy header is malformed");
    return header.substr(at, end - at + 1);
  }
  end = header.find_first_of(",}", at);
  if (end == std::string::npos) throw UserError(name + ": npy header is malformed");
  std::string v = header.substr(at, end - at);
  while (!v.empty() && v.back() == ' ') v.pop_back();
  return v;
}

Shape parse_shape_tuple(const std::string& tuple, const std::string& name) {
  Shape shape;
  size_t i = 1;  // after '('
  while (i < tuple.size()) {
    while (i < tuple.size() && (tuple[i] == ' ' || tuple[i] == ',')) ++i;
    if (i >= tuple.size() || tuple[i] == ')') break;
    int64_t d = 0;
    auto [p, ec] = std::from_chars(tuple.data() + i, tuple.data() + tuple.size(), d);
    if (ec != std::errc() || d < 0)
      throw UserError(name + ": npy shape " + tuple + " is not valid");
    shape.push_back(d);
    i = static_cast<size_t>(p - tuple.data());
    while (i < tuple.size() && tuple[i] == 'L') ++i;  // Python 2 longs
  }
  return shape;
}

uint16_t le16(const uint8_t* p) {
  return static_cast<uint16_t>(p[0] | p[1] << 8);
}
uint32_t le32(const uint8_t* p) {
  return uint32_t{p[0]} | uint32_t{p[1]} << 8 | uint32_t{p[2]} << 16 | uint32_t{p[3]} << 24;
}
uint64_t le64(const uint8_t* p) {
  return uint64_t{le32(p)} | uint64_t{le32(p + 4)} << 32;
}

std::vector<uint8_t> read_whole_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw UserError(path + ": cannot open: " + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw UserError(path + ": not a regular file");
  }
  std::vector<uint8_t> bytes(static_cast<size_t>(st.st_size));
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::read(fd, bytes.data() + done, bytes.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(fd);
      throw UserError(
          path + ": read failed: " + (n == 0 ? "file shrank while reading" : std::strerror(err)));
    }
    done += static_cast<size_t>(n);
  }
  ::close(fd);
  return bytes;
}

}  // namespace

Tensor parse_npy(std::span<const uint8_t> bytes, const std::string& name) {
  if (bytes.size() < 10 || std::memcmp(bytes.data(), kNpyMagic, 6) != 0)
    throw UserError(name + ": not a .npy file (no \\x93NUMPY magic)");
  const uint8_t major = bytes[6];
  size_t header_len, header_at;
  if (major == 1) {
    header_len = le16(&bytes[8]);
    header_at = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12) throw UserError(name + ": truncated npy header");
    header_len = le32(&bytes[8]);
    header_at = 12;
  } else {
    throw UnsupportedError(name + ": npy format version " + std::to_string(major) +
                           " is not supported");
  }
  if (header_len > bytes.size() - header_at) throw UserError(name + ": truncated npy header");
  const std::string header(reinterpret_cast<const char*>(&bytes[header_at]), header_len);
  const DType dtype = dtype_from_descr(header_value(header, "descr", name), name);
  const std::string fortran = header_value(header, "fortran_order", name);
  if (fortran != "False" && fortran != "True")
    throw UserError(name + ": npy fortran_order is '" + fortran + "'");
  const Shape shape = parse_shape_tuple(header_value(header, "shape", name), name);
  // Fortran order differs from C order only when two or more dimensions exceed 1.
  if (fortran == "True" &&
      std::count_if(shape.begin(), shape.end(), [](int64_t d) { return d > 1; }) > 1)
    throw UnsupportedError(name +
                           ": Fortran-order arrays are not supported: save with "
                           "np.ascontiguousarray");
  const size_t data_at = header_at + header_len;
  const int64_t numel = shape_numel(shape);
  const size_t have = bytes.size() - data_at;
  const size_t esize = dtype_size(dtype);
  if (static_cast<uint64_t>(numel) > have / esize || static_cast<size_t>(numel) * esize != have)
    throw UserError(name + ": shape " + shape_str(shape) + " of " + std::string(dtype_name(dtype)) +
                    " needs " + std::to_string(static_cast<uint64_t>(numel) * esize) +
                    " bytes of data, the file has " + std::to_string(have) +
                    (static_cast<uint64_t>(numel) * esize > have ? " (truncated)" : ""));
  Tensor t(dtype, shape);
  if (have > 0) std::memcpy(t.raw(), &bytes[data_at], have);
  if (dtype == DType::kBool) {
    auto* b = static_cast<uint8_t*>(t.raw());
    for (size_t i = 0; i < have; ++i) b[i] = b[i] != 0;
  }
  return t;
}

Tensor read_npy(const std::string& path) {
  const auto bytes = read_whole_file(path);
  return parse_npy(bytes, path);
}

std::vector<uint8_t> encode_npy(const Tensor& t) {
  std::string shape = "(";
  for (size_t i = 0; i < t.shape().size(); ++i)
    shape += std::to_string(t.shape()[i]) + (t.shape().size() == 1      ? ","
                                             : i + 1 < t.shape().size() ? ", "
                                                                        : "");
  shape += ")";
  std::string header = std::string("{'descr': '") + descr_of(t.dtype()) +
                       "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Pad with spaces so that the data starts on a 64-byte boundary, ending with '\n'.
  const size_t unpadded = 10 + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::vector<uint8_t> out(kNpyMagic, kNpyMagic + 6);
  out.push_back(1);
  out.push_back(0);
  out.push_back(static_cast<uint8_t>(header.size()));
  out.push_back(static_cast<uint8_t>(header.size() >> 8));
  out.insert(out.end(), header.begin(), header.end());
  const auto* data = static_cast<const uint8_t*>(t.raw());
  out.insert(out.end(), data, data + t.nbytes());
  return out;
}

void write_npy(const std::string& path, const Tensor& t) {
  const auto bytes = encode_npy(t);
  std::ofstream out(path, std::ios::binary);
  if (!out) throw UserError(path + ": cannot create: " + std::strerror(errno));
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  if (!out) throw UserError(path + ": write failed");
}

namespace {

struct ZipEntry {
  std::string name;
  uint16_t method = 0;
  uint16_t flags = 0;
  uint32_t crc = 0;
  uint64_t compressed = 0, uncompressed = 0, local_offset = 0;
};

std::vector<ZipEntry> zip_directory(const std::vector<uint8_t>& z, const std::string& path) {
  // The end-of-central-directory record is in the last 22 + 65535 bytes.
  if (z.size() < 22) throw UserError(path + ": not a zip archive (too short)");
  size_t eocd = std::string::npos;
  const size_t lowest = z.size() > 22 + 65535 ? z.size() - 22 - 65535 : 0;
  for (size_t i = z.size() - 22 + 1; i-- > lowest;)
    if (le32(&z[i]) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == std::string::npos) throw UserError(path + ": not a zip archive (no end record)");
  uint64_t entries = le16(&z[eocd + 10]);
  uint64_t cd_size = le32(&z[eocd + 12]);
  uint64_t cd_offset = le32(&z[eocd + 16]);
  if (entries == 0xFFFF || cd_size == 0xFFFFFFFF || cd_offset == 0xFFFFFFFF) {
    // Zip64: a locator right before the end record points at the zip64 end record.
    if (eocd < 20 || le32(&z[eocd - 20]) != 0x07064b50)
      throw UserError(path + ": zip64 archive without its locator");
    const uint64_t rec = le64(&z[eocd - 20 + 8]);
    if (rec > z.size() || z.size() - rec < 56 || le32(&z[rec]) != 0x06064b50)
      throw UserError(path + ": zip64 end record is damaged");
    entries = le64(&z[rec + 32]);
    cd_size = le64(&z[rec + 40]);
    cd_offset = le64(&z[rec + 48]);
  }
  if (cd_offset > z.size() || cd_size > z.size() - cd_offset)
    throw UserError(path + ": zip central directory lies outside the file (truncated?)");
  std::vector<ZipEntry> out;
  size_t at = cd_offset;
  const size_t end = cd_offset + cd_size;
  for (uint64_t k = 0; k < entries; ++k) {
    if (end - at < 46 || le32(&z[at]) != 0x02014b50)
      throw UserError(path + ": zip central directory is damaged");
    ZipEntry e;
    e.flags = le16(&z[at + 8]);
    e.method = le16(&z[at + 10]);
    e.crc = le32(&z[at + 16]);
    e.compressed = le32(&z[at + 20]);
    e.uncompressed = le32(&z[at + 24]);
    const size_t name_len = le16(&z[at + 28]), extra_len = le16(&z[at + 30]),
                 comment_len = le16(&z[at + 32]);
    e.local_offset = le32(&z[at + 42]);
    if (end - at - 46 < name_len + extra_len + comment_len)
      throw UserError(path + ": zip central directory is damaged");
    e.name.assign(reinterpret_cast<const char*>(&z[at + 46]), name_len);
    // Zip64 extra field (id 1): 64-bit values for the fields stored as 0xFFFFFFFF, in order.
    size_t x = at + 46 + name_len;
    const size_t x_end = x + extra_len;
    while (x_end - x >= 4) {
      const uint16_t id = le16(&z[x]), len = le16(&z[x + 2]);
      if (x_end - x - 4 < len) break;
      if (id == 1) {
        size_t f = x + 4;
        auto take = [&](uint64_t& v) {
          if (v != 0xFFFFFFFF) return;
          if (x + 4 + len - f < 8) throw UserError(path + ": zip64 extra field is damaged");
          v = le64(&z[f]);
          f += 8;
        };
        take(e.uncompressed);
        take(e.compressed);
        take(e.local_offset);
      }
      x += 4 + len;
    }
    out.push_back(e);
    at += 46 + name_len + extra_len + comment_len;
  }
  return out;
}

std::string array_name(const std::string& entry) {
  if (entry.size() > 4 && entry.compare(entry.size() - 4, 4, ".npy") == 0)
    return entry.substr(0, entry.size() - 4);
  return entry;
}

std::vector<uint8_t> zip_extract(const std::vector<uint8_t>& z, const ZipEntry& e,
                                 const std::string& path) {
  const std::string where = path + ":" + e.name;
  if (e.flags & 1) throw UnsupportedError(where + ": encrypted zip entries are not supported");
  if (e.local_offset > z.size() || z.size() - e.local_offset < 30 ||
      le32(&z[e.local_offset]) != 0x04034b50)
    throw UserError(where + ": zip local header is damaged");
  const size_t data_at =
      e.local_offset + 30 + le16(&z[e.local_offset + 26]) + le16(&z[e.local_offset + 28]);
  if (data_at > z.size() || e.compressed > z.size() - data_at)
    throw UserError(where + ": entry runs past the end of the archive (truncated)");
  if (e.uncompressed > max_tensor_bytes() + 4096)
    throw UserError(where + ": entry of " + std::to_string(e.uncompressed) +
                    " bytes is larger than this machine's memory");
  std::vector<uint8_t> out;
  if (e.method == 0) {
    if (e.compressed != e.uncompressed) throw UserError(where + ": stored entry sizes disagree");
    out.assign(z.begin() + static_cast<ptrdiff_t>(data_at),
               z.begin() + static_cast<ptrdiff_t>(data_at + e.compressed));
  } else if (e.method == 8) {
    out.resize(static_cast<size_t>(e.uncompressed));
    uint8_t empty_out = 0;
    z_stream s{};
    if (inflateInit2(&s, -MAX_WBITS) != Z_OK) throw UserError(where + ": zlib inflateInit2 failed");
    // inflate counts in uInt: hand over input and output in chunks of at most 1 GiB.
    size_t in_pos = 0, out_pos = 0;
    int rc;
    for (;;) {
      if (s.avail_in == 0) {
        const size_t n = std::min<uint64_t>(e.compressed - in_pos, 1u << 30);
        s.next_in = const_cast<Bytef*>(z.data() + data_at + in_pos);
        s.avail_in = static_cast<uInt>(n);
        in_pos += n;
      }
      if (s.avail_out == 0) {
        const size_t n = std::min<size_t>(out.size() - out_pos, 1u << 30);
        s.next_out = out.empty() ? &empty_out : out.data() + out_pos;
        s.avail_out = static_cast<uInt>(n);
        out_pos += n;
      }
      rc = inflate(&s, Z_NO_FLUSH);
      if (rc != Z_OK) break;  // Z_STREAM_END, or no progress possible, or bad data
    }
    const uint64_t produced = s.total_out;
    inflateEnd(&s);
    if (rc != Z_STREAM_END || produced != out.size())
      throw UserError(where + ": deflate data is corrupt or truncated (" +
                      std::to_string(produced) + " of " + std::to_string(out.size()) + " bytes)");
  } else {
    throw UnsupportedError(where + ": zip compression method " + std::to_string(e.method) +
                           " is not supported (stored and deflate are)");
  }
  const uLong crc = crc32_z(crc32(0L, Z_NULL, 0), out.data(), out.size());
  if (crc != e.crc) throw UserError(where + ": CRC-32 mismatch (the archive is corrupt)");
  return out;
}

}  // namespace

std::vector<std::string> list_npz(const std::string& path) {
  const auto z = read_whole_file(path);
  std::vector<std::string> names;
  for (const auto& e : zip_directory(z, path)) names.push_back(array_name(e.name));
  return names;
}

std::map<std::string, Tensor> read_npz(const std::string& path) {
  const auto z = read_whole_file(path);
  std::map<std::string, Tensor> out;
  for (const auto& e : zip_directory(z, path)) {
    if (!e.name.empty() && e.name.back() == '/') continue;  // a directory entry
    const auto bytes = zip_extract(z, e, path);
    out.emplace(array_name(e.name), parse_npy(bytes, path + ":" + e.name));
  }
  return out;
}

}  // namespace frugal
