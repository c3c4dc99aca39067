#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Shrink, HardAndSoft) {
  Tensor x = f32({5}, {-2, -1, 0, 1, 2});
  expect_tensor(run("Shrink", {x}, {{"lambd", a_float(1.5f)}}), {5}, {-2, 0, 0, 0, 2});
  expect_tensor(run("Shrink", {x}, {{"lambd", a_float(1.5f)}, {"bias", a_float(1.5f)}}), {5},
                {-0.5, 0, 0, 0, 0.5});
  // Defaults lambd 0.5, bias 0: |x| = 0.5 is not beyond lambd.
  expect_tensor(run("Shrink", {f32({3}, {-0.5f, 0.5f, 0.75f})}), {3}, {0, 0, 0.75});
}

TEST(Shrink, Integers) {
  Tensor x = Tensor::from_vector<int32_t>({4}, {-5, 2, 3, 10});
  Tensor y = run("Shrink", {x}, {{"lambd", a_float(2)}, {"bias", a_float(1)}});
  EXPECT_EQ(y.dtype(), DType::kI32);
  expect_tensor(y, {4}, {-4, 0, 2, 9}, 0);
  // Unsigned values saturate at 0 instead of wrapping.
  Tensor u = run("Shrink", {Tensor::from_vector<uint8_t>({2}, {3, 200})},
                 {{"lambd", a_float(2)}, {"bias", a_float(5)}});
  expect_tensor(u, {2}, {0, 195}, 0);
  expect_user_error([&] { run("Shrink", {Tensor::from_vector<bool>({1}, {true})}); }, "dtype");
}
