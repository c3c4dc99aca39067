#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

TEST(Logical, TruthTablesWithBroadcast) {
  // a is a column {T, F}, b a row {T, F}: the four combinations in row-major order
  // are (T,T) (T,F) (F,T) (F,F).
  auto a = Tensor::from_vector<bool>({2, 1}, {true, false});
  auto b = Tensor::from_vector<bool>({2}, {true, false});
  EXPECT_EQ(values<bool>(run("And", {a, b})), (std::vector<bool>{true, false, false, false}));
  EXPECT_EQ(values<bool>(run("Or", {a, b})), (std::vector<bool>{true, true, true, false}));
  EXPECT_EQ(values<bool>(run("Xor", {a, b})), (std::vector<bool>{false, true, true, false}));
  EXPECT_EQ(run("Xor", {a, b}).shape(), (Shape{2, 2}));
}

TEST(Logical, Not) {
  auto y = run("Not", {Tensor::from_vector<bool>({3}, {true, false, true})});
  EXPECT_EQ(y.dtype(), DType::kBool);
  EXPECT_EQ(values<bool>(y), (std::vector<bool>{false, true, false}));
}

TEST(Logical, RequiresBool) {
  expect_user_error([] { run("And", {Tensor(DType::kF32, {2}), Tensor(DType::kF32, {2})}); });
  expect_user_error([] { run("Not", {Tensor(DType::kI32, {2})}); });
}
