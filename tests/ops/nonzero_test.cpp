#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(NonZero, IndicesInRowMajorOrder) {
  Tensor y = run("NonZero", {Tensor::from_vector<bool>({2, 2}, {true, false, true, true})});
  EXPECT_EQ(y.dtype(), DType::kI64);
  expect_tensor(y, {2, 3}, {0, 1, 1, 0, 0, 1}, 0);
  expect_tensor(run("NonZero", {f32({3}, {0, -2, NAN})}), {1, 2}, {1, 2}, 0);
  expect_tensor(run("NonZero", {iota({2, 1, 2})}), {3, 3}, {0, 1, 1, 0, 0, 0, 1, 0, 1}, 0);
}

TEST(NonZero, ScalarsEmptyAndUnknownInputs) {
  expect_tensor(run("NonZero", {Tensor::scalar<int32_t>(5)}), {1, 1}, {0}, 0);
  EXPECT_EQ(run("NonZero", {Tensor::scalar<int32_t>(0)}).shape(), (Shape{1, 0}));
  EXPECT_EQ(run("NonZero", {f32({2, 2}, {0, 0, 0, 0})}).shape(), (Shape{2, 0}));
  EXPECT_EQ(run("NonZero", {f32({0, 3}, {})}).shape(), (Shape{2, 0}));
  EXPECT_THROW(infer_only("NonZero", {f32({2}, {1, 0})}, {false}), ops::DataDependentShape);
}
