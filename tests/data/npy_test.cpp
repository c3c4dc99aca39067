#include <gtest/gtest.h>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/npy.h"

using namespace frugal;
namespace fs = std::filesystem;

namespace {

const std::string kFixtures = std::string(FRUGAL_SOURCE_DIR) + "/tests/data/fixtures/";

std::string temp_path(const std::string& name) {
  return (fs::temp_directory_path() / ("frugal-npy-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

std::vector<uint8_t> file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

void write_bytes(const std::string& path, const std::vector<uint8_t>& b) {
  std::ofstream(path, std::ios::binary)
      .write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
}

// An .npy as numpy writes it (header text per numpy/lib/format.py, padded to 64 bytes).
std::vector<uint8_t> npy_bytes(const std::string& dict, const std::vector<uint8_t>& data) {
  std::string header = dict;
  header.append((64 - (10 + header.size() + 1) % 64) % 64, ' ');
  header += '\n';
  std::string b = "\x93NUMPY";
  b += '\x01';
  b += '\x00';
  b += static_cast<char>(header.size() & 0xFF);
  b += static_cast<char>(header.size() >> 8);
  b += header;
  b.append(data.begin(), data.end());
  return std::vector<uint8_t>(b.begin(), b.end());
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

TEST(Npy, ReadsNumpyHeaderBytes) {
  // int32 [2, 2] = 1, -2, 3, 258 little endian.
  const std::vector<uint8_t> data = {1, 0, 0, 0, 0xFE, 0xFF, 0xFF, 0xFF, 3, 0, 0, 0, 2, 1, 0, 0};
  const Tensor t = parse_npy(
      npy_bytes("{'descr': '<i4', 'fortran_order': False, 'shape': (2, 2), }", data), "t");
  EXPECT_EQ(t.dtype(), DType::kI32);
  EXPECT_EQ(t.shape(), (Shape{2, 2}));
  EXPECT_EQ(t.to_int64(), (std::vector<int64_t>{1, -2, 3, 258}));
  const Tensor s =
      parse_npy(npy_bytes("{'descr': '|u1', 'fortran_order': False, 'shape': (), }", {7}), "s");
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.at_double(0), 7);
  const Tensor b = parse_npy(
      npy_bytes("{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", {0, 1, 2}), "b");
  EXPECT_EQ(b.dtype(), DType::kBool);
  EXPECT_EQ(b.to_double(), (std::vector<double>{0, 1, 1}));
}

TEST(Npy, ReadsAFileWrittenFromNumpysSpec) {
  const Tensor t = read_npy(kFixtures + "f64_2x3.npy");
  EXPECT_EQ(t.dtype(), DType::kF64);
  EXPECT_EQ(t.shape(), (Shape{2, 3}));
  EXPECT_EQ(t.to_double(), (std::vector<double>{-2, -0.5, 1, 2.5, 4, 5.5}));
  // The writer produces the same bytes numpy's format does.
  EXPECT_EQ(encode_npy(t), file_bytes(kFixtures + "f64_2x3.npy"));
}

TEST(Npy, RoundTripsEverySupportedType) {
  const std::string path = temp_path("rt.npy");
  const std::vector<Tensor> tensors = {
      Tensor::from_vector<float>({2, 3}, {1.5f, -2, 3, 4, 5, 6}),
      Tensor::from_vector<double>({4}, {1e300, -1, 0, 2}),
      Tensor::from_vector<int64_t>({1, 2}, {int64_t{1} << 40, -5}),
      Tensor::from_vector<int32_t>({2, 1, 1}, {-7, 9}),
      Tensor::from_vector<int8_t>({2}, {-128, 127}),
      Tensor::from_vector<uint8_t>({3}, {0, 128, 255}),
      Tensor::from_vector<bool>({2}, {true, false}),
      Tensor::from_vector<int16_t>({2}, {-300, 300}),
      Tensor::from_vector<uint16_t>({1}, {65535}),
      Tensor::from_vector<uint32_t>({1}, {4000000000u}),
      Tensor::from_vector<uint64_t>({1}, {uint64_t{1} << 63}),
      Tensor(DType::kF32, {0, 5}),
  };
  for (const auto& t : tensors) {
    write_npy(path, t);
    EXPECT_TRUE(read_npy(path).equals(t)) << dtype_name(t.dtype()) << " " << shape_str(t.shape());
    EXPECT_EQ(file_bytes(path).size() % 64, t.nbytes() % 64);  // data starts 64-aligned
  }
  fs::remove(path);
}

TEST(Npy, RefusesBadFilesWithTheReason) {
  const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }";
  EXPECT_USER_ERROR(
      parse_npy(npy_bytes(dict, std::vector<uint8_t>(12)), "a.npy"),
      "a.npy: shape 2x2 of float32 needs 16 bytes of data, the file has 12 (truncated)");
  EXPECT_USER_ERROR(parse_npy(std::vector<uint8_t>(20, 'x'), "b.npy"), "b.npy: not a .npy");
  EXPECT_USER_ERROR(parse_npy(npy_bytes("{'descr': '>f4', 'fortran_order': False, 'shape': (1,), }",
                                        std::vector<uint8_t>(4)),
                              "c.npy"),
                    "big-endian");
  EXPECT_USER_ERROR(
      parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }",
                          std::vector<uint8_t>(16)),
                "d.npy"),
      "Fortran");
  EXPECT_USER_ERROR(parse_npy(npy_bytes("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                                        std::vector<uint8_t>(8)),
                              "e.npy"),
                    "'<c8' is not supported");
  EXPECT_USER_ERROR(parse_npy(npy_bytes("{'descr': '<f4', 'fortran_order': False}", {}), "f.npy"),
                    "no 'shape'");
  // A header claiming a huge array in a small file is refused before any allocation.
  EXPECT_USER_ERROR(
      parse_npy(
          npy_bytes("{'descr': '<f8', 'fortran_order': False, 'shape': (1000000000000,), }", {}),
          "g.npy"),
      "g.npy");
  EXPECT_USER_ERROR(read_npy("/nonexistent/h.npy"),
                    "/nonexistent/h.npy: cannot open: No such file");
}

TEST(Npz, ReadsStoredArchiveFromPythonZipfile) {
  const auto arrays = read_npz(kFixtures + "stored.npz");
  ASSERT_EQ(arrays.size(), 2u);
  const Tensor& x = arrays.at("x");
  EXPECT_EQ(x.shape(), (Shape{3, 1, 2, 2}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(x.at_double(i), 0.5 * i);
  EXPECT_EQ(arrays.at("y").to_int64(), (std::vector<int64_t>{2, 0, 1}));
  EXPECT_EQ(list_npz(kFixtures + "stored.npz"), (std::vector<std::string>{"x", "y"}));
}

TEST(Npz, ReadsDeflatedArchiveFromPythonZipfile) {
  const auto arrays = read_npz(kFixtures + "deflated.npz");
  const Tensor& in = arrays.at("inputs");
  EXPECT_EQ(in.dtype(), DType::kU8);
  EXPECT_EQ(in.shape(), (Shape{4, 2, 3}));
  for (int i = 0; i < 24; ++i) EXPECT_EQ(in.at_double(i), (10 * i) % 256);
  EXPECT_EQ(arrays.at("labels").to_int64(), (std::vector<int64_t>{3, 1, 0, 2}));
}

TEST(Npz, RefusesDamagedArchives) {
  const std::string path = temp_path("bad.npz");
  auto bytes = file_bytes(kFixtures + "deflated.npz");
  // Corrupt a byte inside the first entry's deflate data (after its local header).
  auto damaged = bytes;
  damaged[30 + 10 + 20 + 40] ^= 0x55;
  write_bytes(path, damaged);
  EXPECT_USER_ERROR(read_npz(path), path + ":inputs.npy");
  // Cut off: the end record is gone.
  write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + 200));
  EXPECT_USER_ERROR(read_npz(path), "not a zip archive");
  write_bytes(path, std::vector<uint8_t>(100, 0));
  EXPECT_USER_ERROR(read_npz(path), path);
  fs::remove(path);
  EXPECT_USER_ERROR(read_npz("/nonexistent/a.npz"), "/nonexistent/a.npz");
}
