#include <limits>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor k(int64_t v) {
  return Tensor::scalar<int64_t>(v);
}
Attrs lower() {
  return {{"upper", a_int(0)}};
}
}  // namespace

TEST(Trilu, UpperAndLowerWithDiagonalOffsets) {
  Tensor x = f32({3, 3}, {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_tensor(run("Trilu", {x}), {3, 3}, {1, 2, 3, 0, 5, 6, 0, 0, 9});
  expect_tensor(run("Trilu", {x}, lower()), {3, 3}, {1, 0, 0, 4, 5, 0, 7, 8, 9});
  expect_tensor(run("Trilu", {x, k(1)}), {3, 3}, {0, 2, 3, 0, 0, 6, 0, 0, 0});
  expect_tensor(run("Trilu", {x, k(-1)}), {3, 3}, {1, 2, 3, 4, 5, 6, 0, 8, 9});
  expect_tensor(run("Trilu", {x, k(-1)}, lower()), {3, 3}, {0, 0, 0, 4, 0, 0, 7, 8, 0});
  // Offsets beyond the matrix (and extreme ones) keep everything or nothing.
  expect_tensor(run("Trilu", {x, k(100)}), {3, 3}, {0, 0, 0, 0, 0, 0, 0, 0, 0});
  expect_tensor(run("Trilu", {x, k(std::numeric_limits<int64_t>::max())}, lower()), {3, 3},
                {1, 2, 3, 4, 5, 6, 7, 8, 9});
  expect_tensor(run("Trilu", {x, k(std::numeric_limits<int64_t>::min())}), {3, 3},
                {1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(Trilu, BatchesNonSquareAndOtherTypes) {
  expect_tensor(run("Trilu", {iota({2, 2, 3})}), {2, 2, 3}, {0, 1, 2, 0, 4, 5, 6, 7, 8, 0, 10, 11});
  Tensor b = Tensor::from_vector<bool>({2, 2}, {true, true, true, true});
  expect_tensor(run("Trilu", {b}, lower()), {2, 2}, {1, 0, 1, 1}, 0);
  EXPECT_EQ(run("Trilu", {iota({0, 3})}).shape(), (Shape{0, 3}));
}

TEST(Trilu, RejectsVectorsAndBadK) {
  expect_user_error([&] { run("Trilu", {iota({3})}); }, "rank");
  expect_user_error([&] { run("Trilu", {iota({2, 2}), f32({}, {1})}); }, "int64");
}
