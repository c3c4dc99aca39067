#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(OneHot, LastAxisWithNegativeAndOutOfRangeIndices) {
  // -1 counts from the end (depth 3 -> 2); 5 is out of range: an all-off row.
  Tensor y = run("OneHot", {i64({4}, {0, 2, -1, 5}), Tensor::scalar<int64_t>(3), f32({2}, {0, 1})});
  expect_tensor(y, {4, 3}, {1, 0, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0});
}

TEST(OneHot, AxisZeroIntValuesAndFloatInputs) {
  Tensor y =
      run("OneHot", {i64({2}, {1, 0}), i64({1}, {2}), i64({2}, {-1, 7})}, {{"axis", a_int(0)}});
  EXPECT_EQ(y.dtype(), DType::kI64);
  expect_tensor(y, {2, 2}, {-1, 7, 7, -1}, 0);
  // Float depth and indices are truncated; a middle axis of [2, 2] indices.
  Tensor z =
      run("OneHot", {f32({2, 2}, {1.7f, 0, 0, 1}), Tensor::scalar<float>(2.0f), f32({2}, {0, 5})},
          {{"axis", a_int(1)}});
  expect_tensor(z, {2, 2, 2}, {0, 5, 5, 0, 5, 0, 0, 5});
}

TEST(OneHot, DepthMustBeKnownAndValid) {
  Tensor idx = i64({2}, {0, 1});
  Tensor vals = f32({2}, {0, 1});
  EXPECT_THROW(infer_only("OneHot", {idx, Tensor::scalar<int64_t>(2), vals}, {true, false, true}),
               ops::DataDependentShape);
  expect_user_error([&] { run("OneHot", {idx, Tensor::scalar<int64_t>(0), vals}); }, "depth");
  expect_user_error([&] { run("OneHot", {idx, i64({2}, {2, 2}), vals}); }, "depth");
  expect_user_error(
      [&] {
        run("OneHot", {idx, Tensor::scalar<int64_t>(2), f32({3}, {0, 1, 2})});
      },
      "values");
  expect_user_error(
      [&] {
        run("OneHot", {idx, Tensor::scalar<int64_t>(2), vals}, {{"axis", a_int(2)}});
      },
      "axis");
  expect_unsupported([&] { run("OneHot", {idx, Tensor(DType::kF16, {}), vals}); });
}
