#include <cmath>
#include <cstdint>
#include <limits>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

namespace {
// ONNX TensorProto.DataType codes, written out rather than taken from dtype.cpp.
constexpr int64_t kFloat = 1, kUint8 = 2, kInt32 = 6, kInt64 = 7, kBool = 9, kFloat16 = 10,
                  kDouble = 11, kUint64 = 13;
Tensor cast(const Tensor& x, int64_t to) {
  return run("Cast", {x}, {{"to", attr_int(to)}});
}
}  // namespace

TEST(Cast, FloatToIntTruncates) {
  auto y = cast(Tensor::from_vector<float>({4}, {1.7f, -1.7f, 2.5f, -0.5f}), kInt32);
  EXPECT_EQ(y.dtype(), DType::kI32);
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1, -1, 2, 0}));
}

TEST(Cast, FloatToIntSaturatesAndMapsNaNToZero) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const float inf = std::numeric_limits<float>::infinity();
  auto y = cast(Tensor::from_vector<float>({5}, {1e10f, -1e10f, nan, inf, -inf}), kInt32);
  const int32_t hi = std::numeric_limits<int32_t>::max(), lo = std::numeric_limits<int32_t>::min();
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{hi, lo, 0, hi, lo}));
  auto u = cast(Tensor::from_vector<double>({3}, {-1.0, 255.9, 256.0}), kUint8);
  EXPECT_EQ(values<uint8_t>(u), (std::vector<uint8_t>{0, 255, 255}));
  auto w = cast(Tensor::from_vector<double>({2}, {1.8446744073709552e19, 1e19}), kUint64);
  EXPECT_EQ(values<uint64_t>(w),
            (std::vector<uint64_t>{std::numeric_limits<uint64_t>::max(), 10000000000000000000ull}));
}

TEST(Cast, IntegerNarrowingWraps) {
  auto y = cast(Tensor::from_vector<int32_t>({3}, {300, -1, 255}), kUint8);
  EXPECT_EQ(values<uint8_t>(y), (std::vector<uint8_t>{44, 255, 255}));
  auto z = cast(Tensor::from_vector<uint8_t>({1}, {200}), kInt64);
  EXPECT_EQ(values<int64_t>(z), (std::vector<int64_t>{200}));
}

TEST(Cast, BoolConversions) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto b = cast(Tensor::from_vector<float>({4}, {0, -0.0f, 0.1f, nan}), kBool);
  EXPECT_EQ(values<bool>(b), (std::vector<bool>{false, false, true, true}));
  auto f = cast(Tensor::from_vector<bool>({2}, {true, false}), kFloat);
  EXPECT_EQ(values<float>(f), (std::vector<float>{1, 0}));
  auto i = cast(Tensor::from_vector<int64_t>({2}, {0, -7}), kBool);
  EXPECT_EQ(values<bool>(i), (std::vector<bool>{false, true}));
}

TEST(Cast, FloatWidths) {
  auto d = cast(Tensor::from_vector<float>({1}, {0.1f}), kDouble);
  EXPECT_EQ(d.data<double>()[0], static_cast<double>(0.1f));
  auto f = cast(Tensor::from_vector<double>({1}, {0.1}), kFloat);
  EXPECT_EQ(f.data<float>()[0], 0.1f);
  auto big = cast(Tensor::from_vector<int64_t>({1}, {(1LL << 53) + 1}), kDouble);
  EXPECT_EQ(big.data<double>()[0], 9007199254740992.0);  // rounds to nearest even
  auto same = cast(Tensor::from_vector<float>({2}, {1.5f, -2}), kFloat);
  EXPECT_EQ(values<float>(same), (std::vector<float>{1.5f, -2}));
}

// A cast to float16 writes float32 holding float16's grid (frugal holds 16-bit floats as
// float32); a float16 tensor itself (which a loaded model never has) is still declined.
TEST(Cast, HalfHeldAsFloat32AndRejectsUnknown) {
  const Tensor y = cast(Tensor::from_vector<float>({3}, {1.0f / 3, 65520.0f, -2.0f}), kFloat16);
  ASSERT_EQ(y.dtype(), DType::kF32);
  EXPECT_EQ(y.data<float>()[0], 0.333251953125f);
  EXPECT_TRUE(std::isinf(y.data<float>()[1]));
  EXPECT_EQ(y.data<float>()[2], -2.0f);
  expect_user_error([] { cast(Tensor(DType::kF16, {2}), kFloat); }, true);
  expect_user_error([] { cast(Tensor(DType::kF32, {2}), 99); });
  // 'to' is required.
  EXPECT_THROW(run("Cast", {Tensor(DType::kF32, {2})}), UserError);
}
