#include <cmath>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(CastLike, TakesTheDtypeOfTheSecondInput) {
  Tensor like_i32 = Tensor::from_vector<int32_t>({1}, {0});
  Tensor y = run("CastLike", {f32({4}, {1.7f, -2.5f, NAN, 3e10f}), like_i32});
  EXPECT_EQ(y.dtype(), DType::kI32);
  // Truncation toward zero, NaN to 0, saturation.
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1, -2, 0, 2147483647}));
  Tensor d = run("CastLike", {i64({2}, {3, -4}), Tensor::from_vector<double>({}, {0.0})});
  EXPECT_EQ(d.dtype(), DType::kF64);
  expect_tensor(d, {2}, {3, -4});
  Tensor b = run("CastLike", {f32({3}, {0, 0.1f, -2}), Tensor::from_vector<bool>({}, {false})});
  EXPECT_EQ(values<bool>(b), (std::vector<bool>{false, true, true}));
}

TEST(CastLike, DeclinesHalfPrecision) {
  expect_unsupported([&] { run("CastLike", {f32({1}, {1}), Tensor(DType::kF16, {1})}); });
  expect_unsupported([&] { run("CastLike", {Tensor(DType::kBF16, {1}), f32({1}, {1})}); });
}
