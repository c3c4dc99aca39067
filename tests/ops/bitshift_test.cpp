#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
template <typename T>
Tensor vec(std::vector<T> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<T>({n}, v);
}
Attrs dir(const char* d) {
  return {{"direction", a_str(d)}};
}
}  // namespace

TEST(BitShift, ShiftsRightAndLeft) {
  Tensor x = vec<uint8_t>({16, 4, 1, 200});
  Tensor s = vec<uint8_t>({1, 2, 3, 1});
  expect_tensor(run("BitShift", {x, s}, dir("RIGHT")), {4}, {8, 1, 0, 100}, 0);
  // Bits shifted out of 8 bits are lost: 200 << 1 = 400 - 256.
  expect_tensor(run("BitShift", {x, s}, dir("LEFT")), {4}, {32, 16, 8, 144}, 0);
}

TEST(BitShift, WideShiftsGiveZeroAndBroadcast) {
  expect_tensor(run("BitShift", {vec<uint8_t>({255, 255}), vec<uint8_t>({8, 200})}, dir("LEFT")),
                {2}, {0, 0}, 0);
  Tensor y = run("BitShift", {vec<uint64_t>({1, 3}), Tensor::scalar<uint64_t>(63)}, dir("LEFT"));
  EXPECT_EQ(values<uint64_t>(y), (std::vector<uint64_t>{uint64_t{1} << 63, uint64_t{1} << 63}));
  Tensor z = run("BitShift", {vec<uint32_t>({0x80000000u}), vec<uint32_t>({31})}, dir("RIGHT"));
  EXPECT_EQ(values<uint32_t>(z), std::vector<uint32_t>{1});
}

TEST(BitShift, RejectsBadDirectionAndSignedTypes) {
  expect_user_error([&] { run("BitShift", {vec<uint8_t>({1}), vec<uint8_t>({1})}); }, "direction");
  expect_user_error(
      [&] {
        run("BitShift", {vec<int32_t>({1}), vec<int32_t>({1})}, dir("LEFT"));
      },
      "dtype");
}
