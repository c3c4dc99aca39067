#include <cstdint>
#include <limits>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

namespace {
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kE = 2.718281828459045;
constexpr double kPi = 3.141592653589793;

Tensor f32(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<float>({n}, v);
}
}  // namespace

TEST(Unary, FloatMath) {
  expect_near(run("Sqrt", {f32({4, 9, 0})}), {2, 3, 0});
  expect_near(run("Sqrt", {f32({-1})}), {kNaN});
  expect_near(run("Reciprocal", {f32({4, -0.5f})}), {0.25, -2});
  expect_near(run("Exp", {f32({0, 1, -1})}), {1, kE, 1 / kE});
  expect_near(run("Log", {f32({1, static_cast<float>(kE), 0})}), {0, 1, -kInf});
  expect_near(run("Sin", {f32({0, static_cast<float>(kPi / 2), static_cast<float>(kPi / 6)})}),
              {0, 1, 0.5});
  expect_near(run("Cos", {f32({0, static_cast<float>(kPi / 3)})}), {1, 0.5});
  expect_near(run("Tanh", {f32({0, 1, -20})}), {0, 0.7615941559557649, -1});
  // erf(1) and erf(-0.5) from tables.
  expect_near(run("Erf", {f32({0, 1, -0.5f})}), {0, 0.8427007929497149, -0.5204998778130465});
}

TEST(Unary, DoubleKeepsPrecision) {
  auto y = run("Sqrt", {Tensor::from_vector<double>({1}, {2.0})});
  EXPECT_EQ(y.dtype(), DType::kF64);
  EXPECT_EQ(y.data<double>()[0], 1.4142135623730951);
}

TEST(Unary, FloorCeil) {
  expect_near(run("Floor", {f32({-1.5f, 1.5f, 2, -0.2f})}), {-2, 1, 2, -1});
  expect_near(run("Ceil", {f32({-1.5f, 1.5f, 2, -0.2f})}), {-1, 2, 2, 0});
}

TEST(Unary, RoundHalfToEven) {
  expect_near(run("Round", {f32({0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 2.6f, -2.4f, 0.49f})}),
              {0, 2, 2, 0, -2, -2, 3, -2, 0});
}

TEST(Unary, NegAndAbsIntegers) {
  const int32_t lo = std::numeric_limits<int32_t>::min();
  auto n = run("Neg", {Tensor::from_vector<int32_t>({3}, {5, -7, lo})});
  EXPECT_EQ(values<int32_t>(n), (std::vector<int32_t>{-5, 7, lo}));  // -INT_MIN wraps
  auto a = run("Abs", {Tensor::from_vector<int8_t>({4}, {-128, -3, 5, 0})});
  EXPECT_EQ(values<int8_t>(a), (std::vector<int8_t>{-128, 3, 5, 0}));
  auto u = run("Abs", {Tensor::from_vector<uint8_t>({2}, {200, 0})});
  EXPECT_EQ(values<uint8_t>(u), (std::vector<uint8_t>{200, 0}));
  expect_near(run("Abs", {f32({-2.5f, 3})}), {2.5, 3});
  expect_near(run("Neg", {f32({-2.5f, 3})}), {2.5, -3});
}

TEST(Unary, Sign) {
  expect_near(run("Sign", {f32({-2.5f, 0, 3, std::numeric_limits<float>::quiet_NaN()})}),
              {-1, 0, 1, kNaN});
  auto u = run("Sign", {Tensor::from_vector<uint16_t>({2}, {0, 9})});
  EXPECT_EQ(values<uint16_t>(u), (std::vector<uint16_t>{0, 1}));
  auto i = run("Sign", {Tensor::from_vector<int64_t>({3}, {-9, 0, 4})});
  EXPECT_EQ(values<int64_t>(i), (std::vector<int64_t>{-1, 0, 1}));
}

TEST(Unary, IsNaNIsInf) {
  const float inf = std::numeric_limits<float>::infinity();
  auto x = f32({1, std::numeric_limits<float>::quiet_NaN(), inf, -inf});
  auto nan = run("IsNaN", {x});
  EXPECT_EQ(nan.dtype(), DType::kBool);
  EXPECT_EQ(values<bool>(nan), (std::vector<bool>{false, true, false, false}));
  EXPECT_EQ(values<bool>(run("IsInf", {x})), (std::vector<bool>{false, false, true, true}));
  EXPECT_EQ(values<bool>(run("IsInf", {x}, {{"detect_negative", attr_int(0)}})),
            (std::vector<bool>{false, false, true, false}));
  EXPECT_EQ(values<bool>(run("IsInf", {x}, {{"detect_positive", attr_int(0)}})),
            (std::vector<bool>{false, false, false, true}));
}

TEST(Unary, EmptyAndRankZero) {
  auto e = run("Exp", {Tensor(DType::kF32, {0, 2})});
  EXPECT_EQ(e.shape(), (Shape{0, 2}));
  auto s = run("Neg", {Tensor::scalar<float>(3)});
  EXPECT_EQ(s.shape(), Shape{});
  EXPECT_EQ(s.data<float>()[0], -3);
}

TEST(Unary, DtypeErrors) {
  // Sqrt of an integer is not valid ONNX; of float16 is valid but declined.
  expect_user_error([] { run("Sqrt", {Tensor(DType::kI32, {2})}); });
  expect_user_error([] { run("Sqrt", {Tensor(DType::kF16, {2})}); }, true);
  expect_user_error([] { run("Neg", {Tensor(DType::kU8, {2})}); });
}
