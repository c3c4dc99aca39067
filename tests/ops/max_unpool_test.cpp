#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Attrs k2s2() {
  return {{"kernel_shape", a_ints({2, 2})}, {"strides", a_ints({2, 2})}};
}
}  // namespace

// The examples of the ONNX operator documentation.
TEST(MaxUnpool, PlacesValuesAtTheirIndices) {
  Tensor x = f32({1, 1, 2, 2}, {5, 6, 7, 8});
  Tensor i = i64({1, 1, 2, 2}, {5, 7, 13, 15});
  expect_tensor(run("MaxUnpool", {x, i}, k2s2()), {1, 1, 4, 4},
                {0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 7, 0, 8});
  // A larger output_shape: the 4x4 unpooled result sits at the origin, padded with zeros.
  expect_tensor(run("MaxUnpool", {x, i, i64({4}, {1, 1, 5, 5})}, k2s2()), {1, 1, 5, 5},
                {0, 0, 0, 0, 0, 0, 5, 0, 6, 0, 0, 0, 0, 0, 0, 0, 7, 0, 8, 0, 0, 0, 0, 0, 0});
}

TEST(MaxUnpool, PadsAndBatchesUseWholeTensorOffsets) {
  Attrs a = k2s2();
  a["pads"] = a_ints({1, 1, 1, 1});
  EXPECT_EQ(run("MaxUnpool", {f32({1, 1, 2, 2}, {1, 2, 3, 4}), i64({1, 1, 2, 2}, {0, 1, 2, 3})}, a)
                .shape(),
            (Shape{1, 1, 2, 2}));
  // Two batch entries, 1x1 each, unpooled to 2x2: offsets count across the batch.
  expect_tensor(run("MaxUnpool", {f32({2, 1, 1, 1}, {3, 4}), i64({2, 1, 1, 1}, {0, 5})},
                    {{"kernel_shape", a_ints({2, 2})}}),
                {2, 1, 2, 2}, {3, 0, 0, 0, 0, 4, 0, 0});
}

TEST(MaxUnpool, RejectsBadIndicesAndShapes) {
  Tensor x = f32({1, 1, 2, 2}, {5, 6, 7, 8});
  expect_user_error(
      [&] {
        run("MaxUnpool", {x, i64({1, 1, 2, 2}, {0, 1, 2, 16})}, k2s2());
      },
      "outside");
  expect_user_error([&] { run("MaxUnpool", {x, i64({1, 1, 1, 2}, {0, 1})}, k2s2()); }, "I has");
  expect_user_error(
      [&] {
        run("MaxUnpool", {x, i64({1, 1, 2, 2}, {0, 1, 2, 3}), i64({4}, {1, 2, 4, 4})}, k2s2());
      },
      "output_shape");
  expect_user_error(
      [&] {
        run("MaxUnpool", {x, i64({1, 1, 2, 2}, {0, 1, 2, 3}), i64({4}, {1, 1, 3, 4})}, k2s2());
      },
      "smaller");
  EXPECT_THROW(infer_only("MaxUnpool", {x, i64({1, 1, 2, 2}, {0, 1, 2, 3}), i64({4}, {1, 1, 4, 4})},
                          {true, true, false}, k2s2()),
               ops::DataDependentShape);
}
