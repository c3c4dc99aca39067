#include <cstdint>
#include <limits>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

TEST(Variadic, SumAndMeanBroadcast) {
  auto a = Tensor::from_vector<float>({2, 1}, {1, 2});
  auto b = Tensor::from_vector<float>({3}, {10, 20, 30});
  auto c = Tensor::scalar<float>(100);
  auto s = run("Sum", {a, b, c});
  EXPECT_EQ(s.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(s), (std::vector<float>{111, 121, 131, 112, 122, 132}));
  auto m = run("Mean", {a, b, c});
  expect_near(m, {37, 121.0 / 3, 131.0 / 3, 112.0 / 3, 122.0 / 3, 44});
}

TEST(Variadic, SingleInputCopies) {
  auto a = Tensor::from_vector<float>({2}, {3, -4});
  EXPECT_EQ(values<float>(run("Sum", {a})), (std::vector<float>{3, -4}));
  EXPECT_EQ(values<float>(run("Max", {a})), (std::vector<float>{3, -4}));
  EXPECT_EQ(values<float>(run("Mean", {a})), (std::vector<float>{3, -4}));
}

TEST(Variadic, MaxMinIntegers) {
  auto a = Tensor::from_vector<int32_t>({3}, {1, -5, 7});
  auto b = Tensor::from_vector<int32_t>({3}, {2, -6, 7});
  auto c = Tensor::from_vector<int32_t>({1}, {0});
  EXPECT_EQ(values<int32_t>(run("Max", {a, b, c})), (std::vector<int32_t>{2, 0, 7}));
  EXPECT_EQ(values<int32_t>(run("Min", {a, b, c})), (std::vector<int32_t>{0, -6, 0}));
  auto u = Tensor::from_vector<uint64_t>({2}, {1ull << 63, 5});
  EXPECT_EQ(values<uint64_t>(run("Max", {u, Tensor::scalar<uint64_t>(6)})),
            (std::vector<uint64_t>{1ull << 63, 6}));
}

TEST(Variadic, MaxMinPropagateNaN) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  auto a = Tensor::from_vector<float>({3}, {nan, 1, 2});
  auto b = Tensor::from_vector<float>({3}, {0, nan, 3});
  expect_near(run("Max", {a, b}), {NAN, NAN, 3});
  expect_near(run("Min", {a, b}), {NAN, NAN, 2});
}

TEST(Variadic, BroadcastOnlyFromOpset8) {
  auto a = Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4});
  auto b = Tensor::from_vector<float>({2}, {1, 1});
  expect_user_error([&] { run("Sum", {a, b}, {}, 6); });
  EXPECT_EQ(values<float>(run("Sum", {a, b}, {}, 8)), (std::vector<float>{2, 3, 4, 5}));
}

TEST(Variadic, Errors) {
  expect_user_error([] { run("Max", {Tensor(DType::kF32, {2}), Tensor(DType::kF32, {3})}); });
  expect_user_error([] { run("Sum", {Tensor(DType::kF32, {2}), Tensor(DType::kF64, {2})}); });
  expect_user_error([] { run("Mean", {Tensor(DType::kI32, {2})}); });  // Mean is float-only
}
