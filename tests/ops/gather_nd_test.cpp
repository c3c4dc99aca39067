#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

// The examples of the ONNX operator documentation.
TEST(GatherND, SpecExamples) {
  Tensor d2 = f32({2, 2}, {0, 1, 2, 3});
  expect_tensor(run("GatherND", {d2, i64({2, 2}, {0, 0, 1, 1})}), {2}, {0, 3});
  expect_tensor(run("GatherND", {d2, i64({2, 1}, {1, 0})}), {2, 2}, {2, 3, 0, 1});
  Tensor d3 = iota({2, 2, 2});
  expect_tensor(run("GatherND", {d3, i64({2, 2}, {0, 1, 1, 0})}), {2, 2}, {2, 3, 4, 5});
  expect_tensor(run("GatherND", {d3, i64({2, 1, 2}, {0, 1, 1, 0})}), {2, 1, 2}, {2, 3, 4, 5});
  // batch_dims 1: each batch entry indexes its own [2, 2] slice.
  expect_tensor(run("GatherND", {d3, i64({2, 1}, {1, 0})}, {{"batch_dims", a_int(1)}}), {2, 2},
                {2, 3, 4, 5});
}

TEST(GatherND, NegativeIndicesAndOtherTypes) {
  Tensor d = Tensor::from_vector<int32_t>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run("GatherND", {d, i64({2, 2}, {-1, -1, 0, -3})});
  EXPECT_EQ(y.dtype(), DType::kI32);
  expect_tensor(y, {2}, {6, 1}, 0);
  // batch_dims 1 with full indices per batch: picks element [b, idx[b]].
  expect_tensor(run("GatherND", {d, i64({2, 1}, {2, 0})}, {{"batch_dims", a_int(1)}}), {2}, {3, 4},
                0);
}

TEST(GatherND, RejectsBadIndices) {
  Tensor d = f32({2, 2}, {0, 1, 2, 3});
  expect_user_error([&] { run("GatherND", {d, i64({1, 2}, {2, 0})}); }, "out of range");
  expect_user_error([&] { run("GatherND", {d, i64({1, 3}, {0, 0, 0})}); }, "address");
  expect_user_error(
      [&] {
        run("GatherND", {d, i64({3, 1}, {0, 0, 0})}, {{"batch_dims", a_int(1)}});
      },
      "batch dimension");
  expect_user_error(
      [&] {
        run("GatherND", {d, Tensor::from_vector<int32_t>({1, 1}, {0})});
      },
      "int64");
}
