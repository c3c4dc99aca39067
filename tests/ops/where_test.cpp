#include <cstdint>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

TEST(Where, SameShapes) {
  auto c = Tensor::from_vector<bool>({2, 2}, {true, false, false, true});
  auto x = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  auto y = Tensor::from_vector<float>({2, 2}, {10, 20, 30, 40});
  EXPECT_EQ(values<float>(run("Where", {c, x, y})), (std::vector<float>{1, 20, 30, 4}));
}

TEST(Where, ThreeWayBroadcast) {
  // cond [2,1], x [1,3], y scalar -> [2,3]
  auto c = Tensor::from_vector<bool>({2, 1}, {true, false});
  auto x = Tensor::from_vector<int64_t>({1, 3}, {1, 2, 3});
  auto y = Tensor::scalar<int64_t>(-1);
  auto out = run("Where", {c, x, y});
  EXPECT_EQ(out.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<int64_t>(out), (std::vector<int64_t>{1, 2, 3, -1, -1, -1}));
  // cond a row, x a column: x[i] where cond[j].
  auto c2 = Tensor::from_vector<bool>({3}, {false, true, false});
  auto x2 = Tensor::from_vector<int64_t>({2, 1}, {7, 8});
  EXPECT_EQ(values<int64_t>(run("Where", {c2, x2, y})),
            (std::vector<int64_t>{-1, 7, -1, -1, 8, -1}));
}

TEST(Where, BoolValues) {
  auto c = Tensor::from_vector<bool>({2}, {true, false});
  auto x = Tensor::from_vector<bool>({2}, {false, false});
  auto y = Tensor::from_vector<bool>({2}, {true, true});
  EXPECT_EQ(values<bool>(run("Where", {c, x, y})), (std::vector<bool>{false, true}));
}

TEST(Where, Errors) {
  // The condition must be bool; x and y must agree in dtype; shapes must broadcast.
  expect_user_error([] {
    run("Where", {Tensor(DType::kF32, {2}), Tensor(DType::kF32, {2}), Tensor(DType::kF32, {2})});
  });
  expect_user_error([] {
    run("Where", {Tensor(DType::kBool, {2}), Tensor(DType::kF32, {2}), Tensor(DType::kI32, {2})});
  });
  expect_user_error([] {
    run("Where", {Tensor(DType::kBool, {3}), Tensor(DType::kF32, {2}), Tensor(DType::kF32, {2})});
  });
}
