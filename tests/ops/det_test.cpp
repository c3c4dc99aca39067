#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Det, SmallMatrices) {
  expect_tensor(run("Det", {f32({2, 2}, {1, 2, 3, 4})}), {}, {-2});
  expect_tensor(run("Det", {f32({3, 3}, {2, 0, 0, 0, 3, 0, 0, 0, 4})}), {}, {24});
  // A zero leading pivot needs a row swap, which flips the sign.
  expect_tensor(run("Det", {f32({2, 2}, {0, 1, 1, 0})}), {}, {-1});
  expect_tensor(run("Det", {f32({2, 2}, {1, 2, 2, 4})}), {}, {0});
  // Rule of Sarrus: 1*5*10 + 2*6*7 + 3*4*8 - 3*5*7 - 2*4*10 - 1*6*8 = -3).
  expect_tensor(run("Det", {f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 10})}), {}, {-3}, 1e-5);
}

TEST(Det, BatchesDoubleAndEmpty) {
  expect_tensor(run("Det", {f32({2, 2, 2}, {1, 2, 3, 4, 2, 0, 0, 2})}), {2}, {-2, 4});
  Tensor d = run("Det", {Tensor::from_vector<double>({1, 1}, {-7.5})});
  EXPECT_EQ(d.dtype(), DType::kF64);
  expect_tensor(d, {}, {-7.5});
  // The determinant of a 0 x 0 matrix is 1 (the empty product).
  expect_tensor(run("Det", {f32({0, 0}, {})}), {}, {1});
  expect_user_error([&] { run("Det", {f32({2, 3}, {1, 2, 3, 4, 5, 6})}); }, "M, M");
  expect_user_error([&] { run("Det", {i64({1, 1}, {1})}); }, "dtype");
}
