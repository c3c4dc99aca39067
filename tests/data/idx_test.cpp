#include <gtest/gtest.h>

#include <unistd.h>
#include <zlib.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/train/data/dataset.h"
#include "frugal/train/data/idx.h"

using namespace frugal;
using namespace frugal::train;
namespace fs = std::filesystem;

namespace {

// Test files in a fresh temporary directory.
class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("frugal-idx-" + std::to_string(::getpid()) + "-" + std::to_string(n_++));
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  fs::path path_;
  static inline int n_ = 0;
};

// IDX bytes: 00 00 type ndims, big-endian dims, then data.
std::vector<uint8_t> idx_bytes(uint8_t type, const std::vector<uint32_t>& dims,
                               const std::vector<uint8_t>& data) {
  std::vector<uint8_t> b = {0, 0, type, static_cast<uint8_t>(dims.size())};
  for (uint32_t d : dims) {
    b.push_back(static_cast<uint8_t>(d >> 24));
    b.push_back(static_cast<uint8_t>(d >> 16));
    b.push_back(static_cast<uint8_t>(d >> 8));
    b.push_back(static_cast<uint8_t>(d));
  }
  b.insert(b.end(), data.begin(), data.end());
  return b;
}

void write_file(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

void write_gz(const std::string& path, const std::vector<uint8_t>& b) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  ASSERT_EQ(gzwrite(f, b.data(), static_cast<unsigned>(b.size())), static_cast<int>(b.size()));
  gzclose(f);
}

// 3 images of 2x2: pixel i of image n is 50 n + 10 i; labels 2, 0, 1.
std::vector<uint8_t> three_images() {
  std::vector<uint8_t> px;
  for (int n = 0; n < 3; ++n)
    for (int i = 0; i < 4; ++i) px.push_back(static_cast<uint8_t>(50 * n + 10 * i));
  return idx_bytes(0x08, {3, 2, 2}, px);
}
std::vector<uint8_t> three_labels() {
  return idx_bytes(0x08, {3}, {2, 0, 1});
}

// Expects `stmt` to throw a UserError whose message contains `text`; shows the message.
#define EXPECT_USER_ERROR(stmt, text)                              \
  do {                                                             \
    const std::string message_ = error_of([&] { stmt; });          \
    EXPECT_NE(message_.find(text), std::string::npos) << message_; \
  } while (0)

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

}  // namespace

TEST(Idx, ReadsPlainAndGzipFilesAlike) {
  TempDir d;
  write_file(d / "img", three_images());
  write_gz(d / "img.gz", three_images());
  write_gz(d / "lab.gz", three_labels());
  const Tensor plain = read_idx(d / "img");
  const Tensor gz = read_idx(d / "img.gz");
  EXPECT_EQ(plain.dtype(), DType::kU8);
  EXPECT_EQ(plain.shape(), (Shape{3, 2, 2}));
  EXPECT_TRUE(plain.equals(gz));
  EXPECT_EQ(plain.at_double(5), 60);  // image 1, pixel 1

  auto ds = open_idx_dataset(d / "img.gz", d / "lab.gz");
  EXPECT_EQ(ds->size(), 3);
  EXPECT_EQ(ds->sample_shape(), (Shape{1, 2, 2}));
  EXPECT_EQ(ds->num_classes(), 3);
  const std::vector<int64_t> pick = {2, 0};
  const Batch b = ds->get_batch(pick);
  EXPECT_EQ(b.images.shape(), (Shape{2, 1, 2, 2}));
  EXPECT_EQ(b.labels.to_int64(), (std::vector<int64_t>{1, 2}));
  EXPECT_FLOAT_EQ(b.images.data<float>()[0], 100.0f / 255.0f);  // image 2 pixel 0
  EXPECT_FLOAT_EQ(b.images.data<float>()[7], 30.0f / 255.0f);   // image 0 pixel 3
  EXPECT_NE(ds->describe().find("1/255"), std::string::npos);
}

TEST(Idx, WiderTypesAreBigEndian) {
  TempDir d;
  // int32 [2] = 258, -2 ; float32 [1] = 1.5 (0x3FC00000)
  write_file(d / "i32", idx_bytes(0x0C, {2}, {0, 0, 1, 2, 0xFF, 0xFF, 0xFF, 0xFE}));
  write_file(d / "f32", idx_bytes(0x0D, {1}, {0x3F, 0xC0, 0, 0}));
  EXPECT_EQ(read_idx(d / "i32").to_int64(), (std::vector<int64_t>{258, -2}));
  EXPECT_EQ(read_idx(d / "f32").at_double(0), 1.5);
}

TEST(Idx, PreprocessingScaleMeanStd) {
  TempDir d;
  write_file(d / "img", three_images());
  write_file(d / "lab", three_labels());
  DataOptions o;
  o.preprocess.scale = 0.1;
  o.preprocess.mean = {2.0f};
  o.preprocess.std = {4.0f};
  auto ds = open_idx_dataset(d / "img", d / "lab", o);
  const Batch b = ds->get_range(1, 1);  // pixels 50, 60, 70, 80
  EXPECT_FLOAT_EQ(b.images.data<float>()[0], (5.0f - 2.0f) / 4.0f);
  EXPECT_FLOAT_EQ(b.images.data<float>()[3], (8.0f - 2.0f) / 4.0f);
}

TEST(Idx, BadInputGivesOneLineReasons) {
  TempDir d;
  write_file(d / "img", three_images());
  write_file(d / "lab", three_labels());
  auto truncated = three_images();
  truncated.resize(truncated.size() - 3);
  write_gz(d / "trunc.gz", truncated);
  EXPECT_USER_ERROR(
      read_idx(d / "trunc.gz"),
      "trunc.gz: truncated: the header declares 3x2x2 uint8 (12 bytes of data), the file holds 9");

  auto bad_magic = three_images();
  bad_magic[0] = 0x1F;
  write_file(d / "magic", bad_magic);
  EXPECT_USER_ERROR(read_idx(d / "magic"), "magic: wrong magic 1F 00 08 03");

  auto longer = three_images();
  longer.push_back(0);
  write_file(d / "long", longer);
  EXPECT_USER_ERROR(read_idx(d / "long"), "longer than its header");

  // Headers declaring far more data than the file holds are refused without allocating
  // it: beyond this machine's memory, or read chunk by chunk until the data runs out.
  write_file(d / "huge", idx_bytes(0x08, {65536, 65536, 256}, {1, 2, 3}));
  EXPECT_USER_ERROR(read_idx(d / "huge"),
                    "huge: IDX shape 65536x65536x256 is larger than this machine's memory");
  // Issue 24: dimensions whose product overflows int64 (a labels file carrying the images'
  // header bytes) name the file.
  write_file(d / "overflow", idx_bytes(0x08, {10000, 151126273, 100729862}, {1, 2, 3}));
  EXPECT_USER_ERROR(read_idx(d / "overflow"),
                    "overflow: IDX header declares shape 10000x151126273x100729862, whose size "
                    "overflows");
  write_file(d / "big", idx_bytes(0x08, {1024, 256, 256}, {1, 2, 3}));
  EXPECT_USER_ERROR(read_idx(d / "big"), "big: truncated");

  write_file(d / "lab4", idx_bytes(0x08, {4}, {0, 1, 2, 0}));
  EXPECT_USER_ERROR(open_idx_dataset(d / "img", d / "lab4"), "4 labels for 3 samples");

  DataOptions ten;
  ten.num_classes = 10;
  write_file(d / "lab10", idx_bytes(0x08, {3}, {0, 10, 1}));
  EXPECT_USER_ERROR(open_idx_dataset(d / "img", d / "lab10", ten),
                    "lab10: label 10 of sample 1 is out of range [0, 10)");

  DataOptions shape;
  shape.expected_sample_shape = {1, 28, 28};
  EXPECT_USER_ERROR(open_idx_dataset(d / "img", d / "lab", shape),
                    "img: samples are 1x2x2 (CxHxW), expected 1x28x28");

  EXPECT_USER_ERROR(open_idx_dataset(d / "missing.gz", d / "lab"), "missing.gz: no such file");
}

TEST(Idx, NamedDatasetLayoutAndSpecs) {
  TempDir d;
  fs::create_directories(d / "toy");
  write_gz(d / "toy/t10k-images-idx3-ubyte.gz", three_images());
  write_gz(d / "toy/t10k-labels-idx1-ubyte.gz", three_labels());
  write_file(d / "toy/train-images-idx3-ubyte", three_images());  // uncompressed also found
  write_file(d / "toy/train-labels-idx1-ubyte", three_labels());
  DataOptions o;
  o.datasets_root = d / "";
  EXPECT_EQ(open_dataset("toy", o)->size(), 3);
  EXPECT_EQ(open_dataset("toy:train", o)->size(), 3);
  EXPECT_THROW(open_dataset("idx:" + (d / "only-one"), o), UserError);
  EXPECT_THROW(open_dataset("toy:validation", o), UserError);
  EXPECT_USER_ERROR(open_dataset("nothing-here", o), "does not exist");
}

// The Debian package dataset-fashion-mnist. Expected values were read from the same
// files with Python's gzip module: label counts, first labels, first images' pixel sums.
TEST(FashionMnist, ReadsTheDebianPackage) {
  if (!fs::exists("/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "dataset-fashion-mnist is not installed";
  for (const char* split : {"test", "train"}) {
    auto ds = open_dataset(std::string("fashion-mnist:") + split);
    const bool test = std::string(split) == "test";
    ASSERT_EQ(ds->size(), test ? 10000 : 60000);
    EXPECT_EQ(ds->sample_shape(), (Shape{1, 28, 28}));
    EXPECT_EQ(ds->num_classes(), 10);
    const Batch b = ds->get_range(0, 10);
    const std::vector<int64_t> first = test ? std::vector<int64_t>{9, 2, 1, 1, 6, 1, 4, 6, 5, 7}
                                            : std::vector<int64_t>{9, 0, 0, 3, 0, 2, 7, 2, 5, 5};
    EXPECT_EQ(b.labels.to_int64(), first);
    double sum = 0;
    for (int i = 0; i < 784; ++i) sum += b.images.data<float>()[i];
    EXPECT_NEAR(sum * 255.0, test ? 33456 : 76247, 0.05);
    std::vector<int64_t> counts(10);
    for (int64_t l : static_cast<const TensorDataset&>(*ds).labels())
      ++counts[static_cast<size_t>(l)];
    EXPECT_EQ(counts, std::vector<int64_t>(10, test ? 1000 : 6000));
  }
}
