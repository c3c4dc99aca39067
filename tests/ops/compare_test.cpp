#include <cstdint>
#include <limits>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

TEST(Compare, FloatWithBroadcastAndNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, nan, 5, 6});
  auto b = Tensor::from_vector<float>({3}, {2, 2, 2});
  auto less = run("Less", {a, b});
  EXPECT_EQ(less.dtype(), DType::kBool);
  EXPECT_EQ(less.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<bool>(less), (std::vector<bool>{true, false, false, false, false, false}));
  EXPECT_EQ(values<bool>(run("Greater", {a, b})),
            (std::vector<bool>{false, false, true, false, true, true}));
  EXPECT_EQ(values<bool>(run("LessOrEqual", {a, b})),
            (std::vector<bool>{true, true, false, false, false, false}));
  EXPECT_EQ(values<bool>(run("GreaterOrEqual", {a, b})),
            (std::vector<bool>{false, true, true, false, true, true}));
  EXPECT_EQ(values<bool>(run("Equal", {a, b})),
            (std::vector<bool>{false, true, false, false, false, false}));
}

TEST(Compare, IntegersAndBool) {
  auto a = Tensor::from_vector<int64_t>({3}, {-1, 0, 7});
  EXPECT_EQ(values<bool>(run("Equal", {a, Tensor::scalar<int64_t>(0)})),
            (std::vector<bool>{false, true, false}));
  auto u = Tensor::from_vector<uint32_t>({2}, {4000000000u, 1});
  EXPECT_EQ(values<bool>(run("Greater", {u, Tensor::scalar<uint32_t>(2)})),
            (std::vector<bool>{true, false}));  // no sign confusion
  auto p = Tensor::from_vector<bool>({2, 1}, {true, false});
  auto q = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(values<bool>(run("Equal", {p, q})), (std::vector<bool>{true, false, false, true}));
}

TEST(Compare, Errors) {
  // Less on bool is not valid ONNX; mixed dtypes are not either.
  expect_user_error([] { run("Less", {Tensor(DType::kBool, {2}), Tensor(DType::kBool, {2})}); });
  expect_user_error([] { run("Equal", {Tensor(DType::kI32, {2}), Tensor(DType::kI64, {2})}); });
  expect_user_error([] { run("Greater", {Tensor(DType::kF32, {2}), Tensor(DType::kF32, {3})}); });
}
