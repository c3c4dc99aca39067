#include <cmath>
#include <numbers>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
constexpr double kPi = std::numbers::pi;
}

TEST(Trig, KnownValues) {
  expect_tensor(run("Tan", {f32({3}, {0, float(kPi / 4), float(-kPi / 4)})}), {3}, {0, 1, -1},
                1e-6);
  expect_tensor(run("Asin", {f32({3}, {0, 1, -0.5f})}), {3}, {0, kPi / 2, -kPi / 6});
  expect_tensor(run("Acos", {f32({3}, {1, 0, -1})}), {3}, {0, kPi / 2, kPi});
  expect_tensor(run("Atan", {f32({3}, {0, 1, -1})}), {3}, {0, kPi / 4, -kPi / 4});
  // Published values: sinh 1 = 1.1752011936, cosh 1 = 1.5430806348,
  // asinh 1 = ln(1 + sqrt 2) = 0.8813735870, acosh 2 = ln(2 + sqrt 3) = 1.3169578969,
  // atanh 0.5 = ln(3) / 2 = 0.5493061443.
  expect_tensor(run("Sinh", {f32({2}, {0, 1})}), {2}, {0, 1.1752011936});
  expect_tensor(run("Cosh", {f32({2}, {0, -1})}), {2}, {1, 1.5430806348});
  expect_tensor(run("Asinh", {f32({2}, {0, 1})}), {2}, {0, 0.8813735870});
  expect_tensor(run("Acosh", {f32({2}, {1, 2})}), {2}, {0, 1.3169578969});
  expect_tensor(run("Atanh", {f32({2}, {0, 0.5f})}), {2}, {0, 0.5493061443});
}

TEST(Trig, OutsideTheDomainIsNaNAndDoubleWorks) {
  const double nan = std::nan("");
  expect_tensor(run("Asin", {f32({1}, {2})}), {1}, {nan});
  expect_tensor(run("Acos", {f32({1}, {-1.5f})}), {1}, {nan});
  expect_tensor(run("Acosh", {f32({1}, {0.5f})}), {1}, {nan});
  expect_tensor(run("Atanh", {f32({2}, {1, -1})}), {2}, {INFINITY, -INFINITY});
  Tensor y = run("Atan", {Tensor::from_vector<double>({1}, {1.0})});
  EXPECT_EQ(y.dtype(), DType::kF64);
  EXPECT_DOUBLE_EQ(y.at_double(0), kPi / 4);
}

TEST(Trig, RejectsIntegers) {
  expect_user_error([&] { run("Sinh", {i64({1}, {1})}); }, "dtype");
  expect_unsupported([&] { run("Tan", {Tensor(DType::kF16, {1})}); });
}
