#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Expand, BroadcastsBothWays) {
  Tensor x = f32({3, 1}, {1, 2, 3});
  expect_tensor(run("Expand", {x, i64s({2, 1, 2})}), {2, 3, 2},
                {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3});
  // A shape entry of 1 keeps the input's larger dimension.
  expect_tensor(run("Expand", {x, i64s({1, 1})}), {3, 1}, {1, 2, 3});
  expect_tensor(run("Expand", {Tensor::scalar<float>(4), i64s({2})}), {2}, {4, 4});
  Tensor b = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(values<bool>(run("Expand", {b, i64s({2, 2})})),
            (std::vector<bool>{true, false, true, false}));
}

TEST(Expand, RejectsIncompatibleShapes) {
  expect_user_error([&] { run("Expand", {iota({3}), i64s({2})}); }, "broadcast");
  expect_user_error([&] { run("Expand", {iota({3}), i64s({-1})}); }, "negative");
  EXPECT_THROW(infer_only("Expand", {iota({3}), i64s({3})}, {true, false}),
               ops::DataDependentShape);
}

TEST(Expand, EmptyOutputWithAHugeAxisAllocatesNothing) {
  Tensor y = run("Expand", {iota({1, 1}), i64s({0, int64_t{1} << 40})});
  EXPECT_EQ(y.shape(), (Shape{0, int64_t{1} << 40}));
}
