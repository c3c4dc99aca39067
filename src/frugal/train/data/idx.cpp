#include "frugal/train/data/idx.h"

#include <zlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace frugal::train {
namespace {

// A gzip (or plain: zlib passes it through) file read in bounded chunks.
class GzReader {
 public:
  explicit GzReader(const std::string& path) : path_(path) {
    std::error_code ec;
    if (!std::filesystem::exists(path, ec)) throw UserError(path + ": no such file");
    if (std::filesystem::is_directory(path, ec))
      throw UserError(path + ": is a directory, not an IDX file");
    file_ = gzopen(path.c_str(), "rb");
    if (!file_) throw UserError(path + ": cannot open: " + std::strerror(errno));
  }
  ~GzReader() {
    if (file_) gzclose(file_);
  }
  GzReader(const GzReader&) = delete;
  GzReader& operator=(const GzReader&) = delete;
  // Reads up to n bytes; returns how many were read (fewer only at the end of the data).
  size_t read(void* dst, size_t n) {
    size_t done = 0;
    while (done < n) {
      const unsigned chunk = static_cast<unsigned>(std::min<size_t>(n - done, 1u << 24));
      const int got = gzread(file_, static_cast<char*>(dst) + done, chunk);
      if (got < 0) {
        int errnum = 0;
        const char* msg = gzerror(file_, &errnum);
        throw UserError(path_ + ": corrupt compressed data (" + (msg ? msg : "zlib error") + ")");
      }
      if (got == 0) break;
      done += static_cast<size_t>(got);
    }
    return done;
  }

 private:
  std::string path_;
  gzFile file_ = nullptr;
};

struct IdxType {
  uint8_t code;
  DType dtype;
  size_t bytes;  // in the file
  const char* name;
};
constexpr IdxType kIdxTypes[] = {
    {0x08, DType::kU8, 1, "uint8"},    {0x09, DType::kI8, 1, "int8"},
    {0x0B, DType::kI32, 2, "int16"},   {0x0C, DType::kI32, 4, "int32"},
    {0x0D, DType::kF32, 4, "float32"}, {0x0E, DType::kF64, 8, "float64"}};

uint32_t be32(const uint8_t* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// Converts n big-endian values of `bytes` each from src into the tensor's storage.
void decode_big_endian(const uint8_t* src, const IdxType& t, int64_t n, void* dst) {
  auto load = [&](int64_t i) {
    uint64_t v = 0;
    for (size_t b = 0; b < t.bytes; ++b) v = v << 8 | src[static_cast<size_t>(i) * t.bytes + b];
    return v;
  };
  switch (t.code) {
    case 0x08:
    case 0x09:
      // An IDX of zero values has no data buffer at all (memcpy's pointers must not be null).
      if (n > 0) std::memcpy(dst, src, static_cast<size_t>(n));
      break;
    case 0x0B:
      for (int64_t i = 0; i < n; ++i) static_cast<int32_t*>(dst)[i] = static_cast<int16_t>(load(i));
      break;
    case 0x0C:
      for (int64_t i = 0; i < n; ++i) static_cast<int32_t*>(dst)[i] = static_cast<int32_t>(load(i));
      break;
    case 0x0D:
      for (int64_t i = 0; i < n; ++i) {
        const uint32_t v = static_cast<uint32_t>(load(i));
        std::memcpy(static_cast<float*>(dst) + i, &v, 4);
      }
      break;
    case 0x0E:
      for (int64_t i = 0; i < n; ++i) {
        const uint64_t v = load(i);
        std::memcpy(static_cast<double*>(dst) + i, &v, 8);
      }
      break;
  }
}

std::string with_gz_if_needed(const std::string& base) {
  std::error_code ec;
  if (std::filesystem::exists(base + ".gz", ec)) return base + ".gz";
  return base;
}

}  // namespace

Tensor read_idx(const std::string& path) {
  GzReader in(path);
  uint8_t head[4];
  if (in.read(head, 4) != 4) throw UserError(path + ": truncated: shorter than an IDX header");
  const IdxType* type = nullptr;
  for (const auto& t : kIdxTypes)
    if (t.code == head[2]) type = &t;
  if (head[0] != 0 || head[1] != 0 || !type || head[3] == 0 || head[3] > 8) {
    char magic[16];
    std::snprintf(magic, sizeof(magic), "%02X %02X %02X %02X", head[0], head[1], head[2], head[3]);
    throw UserError(path + ": wrong magic " + magic +
                    ": not an IDX file (expected 00 00 TYPE NDIMS)");
  }
  Shape shape(head[3]);
  uint8_t dims[32];
  if (in.read(dims, 4 * shape.size()) != 4 * shape.size())
    throw UserError(path + ": truncated: the header's dimension sizes are incomplete");
  for (size_t i = 0; i < shape.size(); ++i) shape[i] = be32(dims + 4 * i);
  int64_t numel = 0;
  try {
    numel = shape_numel(shape);
  } catch (const UserError&) {
    throw UserError(path + ": IDX header declares shape " + shape_str(shape) +
                    ", whose size overflows (is this the right file?)");
  }
  if (static_cast<uint64_t>(numel) > max_tensor_bytes() / 8)
    throw UserError(path + ": IDX shape " + shape_str(shape) +
                    " is larger than this machine's memory");
  const size_t want = static_cast<size_t>(numel) * type->bytes;
  // Read in chunks into a buffer that grows only as data arrives, so that a header
  // claiming more than the file holds cannot make us allocate it.
  std::vector<uint8_t> raw;
  constexpr size_t kChunk = size_t{1} << 22;
  while (raw.size() < want) {
    const size_t n = std::min(kChunk, want - raw.size());
    const size_t old = raw.size();
    raw.resize(old + n);
    const size_t got = in.read(raw.data() + old, n);
    if (got < n)
      throw UserError(path + ": truncated: the header declares " + shape_str(shape) + " " +
                      type->name + " (" + std::to_string(want) +
                      " bytes of data), the file holds " + std::to_string(old + got));
  }
  uint8_t extra;
  if (in.read(&extra, 1) != 0)
    throw UserError(path + ": longer than its header declares (" + shape_str(shape) + " " +
                    type->name + ")");
  Tensor t(type->dtype, shape);
  decode_big_endian(raw.data(), *type, numel, t.raw());
  return t;
}

std::unique_ptr<TensorDataset> open_idx_dataset(const std::string& images_path,
                                                const std::string& labels_path,
                                                const DataOptions& options) {
  Tensor images = read_idx(images_path);
  Tensor labels = read_idx(labels_path);
  if (images.rank() != 3 && images.rank() != 4)
    throw UserError(images_path + ": IDX images must be [N, H, W] or [N, C, H, W], not " +
                    shape_str(images.shape()));
  if (labels.rank() != 1 || !dtype_is_integer(labels.dtype()))
    throw UserError(labels_path + ": IDX labels must be one integer per sample, not " +
                    shape_str(labels.shape()) + " " + std::string(dtype_name(labels.dtype())));
  check_counts(images.dim(0), labels.dim(0), images_path, labels_path);
  if (images.rank() == 3)
    images = images.reshaped({images.dim(0), 1, images.dim(1), images.dim(2)});
  check_sample_shape({images.dim(1), images.dim(2), images.dim(3)}, options.expected_sample_shape,
                     images_path);
  const std::vector<int64_t> label_values = labels.to_int64();
  check_labels(label_values, options.num_classes, labels_path);
  return std::make_unique<TensorDataset>(std::move(images), label_values, options.num_classes,
                                         options.preprocess, images_path);
}

std::unique_ptr<TensorDataset> open_named_idx_dataset(const std::string& name,
                                                      const std::string& split,
                                                      const DataOptions& options) {
  if (split != "train" && split != "test")
    throw UserError("data set " + name + ": split must be train or test, not " + split);
  const std::string dir = options.datasets_root + "/" + name;
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    std::string hint =
        name == "fashion-mnist" ? " (install the Debian package dataset-fashion-mnist)" : "";
    throw UserError("data set " + name + ": " + dir + " does not exist" + hint);
  }
  const std::string prefix = dir + "/" + (split == "train" ? "train" : "t10k");
  DataOptions o = options;
  if (o.num_classes == 0 && (name == "fashion-mnist" || name == "mnist")) o.num_classes = 10;
  return open_idx_dataset(with_gz_if_needed(prefix + "-images-idx3-ubyte"),
                          with_gz_if_needed(prefix + "-labels-idx1-ubyte"), o);
}

}  // namespace frugal::train
