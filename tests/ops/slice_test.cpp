#include <limits>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
// x = [[0,1,2,3],[4,5,6,7],[8,9,10,11]]
Tensor grid() {
  return iota({3, 4});
}
const std::vector<double> kGrid = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
}  // namespace

TEST(Slice, StartsEndsAxesSteps) {
  expect_tensor(run("Slice", {grid(), i64s({1, 0}), i64s({2, 3}), i64s({0, 1}), i64s({1, 2})}),
                {1, 2}, {4, 6});
  // Axes and steps omitted: leading axes, step 1.
  expect_tensor(run("Slice", {grid(), i64s({1}), i64s({3})}), {2, 4}, {4, 5, 6, 7, 8, 9, 10, 11});
  // Omitted axes but given steps (an empty input name in between).
  expect_tensor(run("Slice", {grid(), i64s({0, 1}), i64s({3, 4}), Tensor(), i64s({2, 2})}), {2, 2},
                {1, 3, 9, 11});
  // int32 starts/ends, negative axis.
  Tensor s = Tensor::from_vector<int32_t>({1}, {1}), e = Tensor::from_vector<int32_t>({1}, {-1});
  expect_tensor(run("Slice", {grid(), s, e, i64s({-1})}), {3, 2}, {1, 2, 5, 6, 9, 10});
}

TEST(Slice, NegativeStepsWalkBackwards) {
  expect_tensor(run("Slice", {grid(), i64s({-1}), i64s({kMin}), i64s({1}), i64s({-1})}), {3, 4},
                {3, 2, 1, 0, 7, 6, 5, 4, 11, 10, 9, 8});
  expect_tensor(run("Slice", {grid(), i64s({3}), i64s({0}), i64s({-1}), i64s({-2})}), {3, 2},
                {3, 1, 7, 5, 11, 9});
  // A step of INT64_MIN takes just the start element.
  expect_tensor(run("Slice", {grid(), i64s({3}), i64s({kMin}), i64s({1}), i64s({kMin})}), {3, 1},
                {3, 7, 11});
  // Start beyond the end going backwards clamps to the last element.
  expect_tensor(run("Slice", {grid(), i64s({100}), i64s({1}), i64s({0}), i64s({-1})}), {1, 4},
                {8, 9, 10, 11});
}

TEST(Slice, ClampsOutOfRangeBounds) {
  expect_tensor(run("Slice", {grid(), i64s({-100}), i64s({kMax}), i64s({0})}), {3, 4}, kGrid);
  expect_tensor(run("Slice", {grid(), i64s({10}), i64s({20}), i64s({0})}), {0, 4}, {});
  expect_tensor(run("Slice", {grid(), i64s({2}), i64s({1}), i64s({0})}), {0, 4}, {});
}

TEST(Slice, Opset1UsesAttributes) {
  Attrs a{{"starts", a_ints({0, 1})}, {"ends", a_ints({2, 1000})}};
  expect_tensor(run("Slice", {grid()}, a, 1), {2, 3}, {1, 2, 3, 5, 6, 7});
  a["axes"] = a_ints({1});
  a["starts"] = a_ints({2});
  a["ends"] = a_ints({3});
  expect_tensor(run("Slice", {grid()}, a, 9), {3, 1}, {2, 6, 10});
}

TEST(Slice, RejectsBadArguments) {
  expect_user_error(
      [&] {
        run("Slice", {grid(), i64s({0}), i64s({1}), i64s({0}), i64s({0})});
      },
      "step 0");
  expect_user_error(
      [&] {
        run("Slice", {grid(), i64s({0, 0}), i64s({1, 1}), i64s({1, -1})});
      },
      "repeated");
  expect_user_error([&] { run("Slice", {grid(), i64s({0}), i64s({1, 1})}); }, "length");
  expect_user_error(
      [&] {
        run("Slice", {grid(), i64s({0}), i64s({1}), i64s({2})});
      },
      "out of range");
  EXPECT_THROW(infer_only("Slice", {grid(), i64s({0}), i64s({1})}, {false, false, true}),
               ops::DataDependentShape);
}
