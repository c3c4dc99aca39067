#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Tile, RepeatsTheWholeInput) {
  Tensor x = f32({2, 2}, {1, 2, 3, 4});
  expect_tensor(run("Tile", {x, i64s({1, 2})}), {2, 4}, {1, 2, 1, 2, 3, 4, 3, 4});
  expect_tensor(run("Tile", {x, i64s({2, 1})}), {4, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  EXPECT_EQ(run("Tile", {x, i64s({0, 3})}).shape(), (Shape{0, 6}));
}

TEST(Tile, RejectsBadRepeats) {
  Tensor x = iota({2, 2});
  expect_user_error([&] { run("Tile", {x, i64s({2})}); }, "repeats");
  expect_user_error([&] { run("Tile", {x, i64s({1, -1})}); }, "negative");
}

TEST(Tile, EmptyOutputWithAHugeAxisAllocatesNothing) {
  Tensor y = run("Tile", {Tensor(DType::kF32, {0, 1}), i64s({1, int64_t{1} << 40})});
  EXPECT_EQ(y.shape(), (Shape{0, int64_t{1} << 40}));
}
