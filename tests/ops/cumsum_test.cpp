#include <limits>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor axis(int64_t a) {
  return Tensor::scalar<int64_t>(a);
}
}  // namespace

TEST(CumSum, ExclusiveAndReverse) {
  Tensor x = f32({5}, {1, 2, 3, 4, 5});
  expect_tensor(run("CumSum", {x, axis(0)}), {5}, {1, 3, 6, 10, 15});
  expect_tensor(run("CumSum", {x, axis(0)}, {{"exclusive", a_int(1)}}), {5}, {0, 1, 3, 6, 10});
  expect_tensor(run("CumSum", {x, axis(0)}, {{"reverse", a_int(1)}}), {5}, {15, 14, 12, 9, 5});
  expect_tensor(run("CumSum", {x, axis(0)}, {{"reverse", a_int(1)}, {"exclusive", a_int(1)}}), {5},
                {14, 12, 9, 5, 0});
}

TEST(CumSum, AxesOfAMatrix) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_tensor(run("CumSum", {x, axis(0)}), {2, 3}, {1, 2, 3, 5, 7, 9});
  // Negative axis given as a one-element int32 tensor.
  expect_tensor(run("CumSum", {x, Tensor::from_vector<int32_t>({1}, {-1})}), {2, 3},
                {1, 3, 6, 4, 9, 15});
  expect_tensor(run("CumSum", {x, axis(1)}, {{"reverse", a_int(1)}, {"exclusive", a_int(1)}}),
                {2, 3}, {5, 3, 0, 11, 6, 0});
}

TEST(CumSum, IntegersWrapAndEmptyWorks) {
  constexpr int32_t kMax = std::numeric_limits<int32_t>::max();
  Tensor y = run("CumSum", {Tensor::from_vector<int32_t>({2}, {kMax, 1}), axis(0)});
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{kMax, std::numeric_limits<int32_t>::min()}));
  EXPECT_EQ(run("CumSum", {f32({0, 3}, {}), axis(1)}).shape(), (Shape{0, 3}));
}

TEST(CumSum, RejectsBadAxis) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  expect_user_error([&] { run("CumSum", {x, axis(2)}); }, "out of range");
  expect_user_error([&] { run("CumSum", {x, f32({}, {0})}); }, "axis");
  expect_user_error(
      [&] {
        run("CumSum", {Tensor::from_vector<int8_t>({1}, {1}), axis(0)});
      },
      "int8");
}
