#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Concat, JoinsAlongAnAxis) {
  Tensor a = f32({2, 2}, {1, 2, 3, 4}), b = f32({2, 1}, {5, 6});
  expect_tensor(run("Concat", {a, b}, {{"axis", a_int(1)}}), {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_tensor(run("Concat", {a, b}, {{"axis", a_int(-1)}}), {2, 3}, {1, 2, 5, 3, 4, 6});
  expect_tensor(run("Concat", {a, a}, {{"axis", a_int(0)}}), {4, 2}, {1, 2, 3, 4, 1, 2, 3, 4});
  // Concat-1 defaulted to axis 1.
  expect_tensor(run("Concat", {a, b}, {}, 1), {2, 3}, {1, 2, 5, 3, 4, 6});
}

TEST(Concat, SkipsEmptyInputsAndKeepsDtype) {
  Tensor a = i64({1, 2}, {7, 8}), empty(DType::kI64, {0, 2}), c = i64({1, 2}, {9, 10});
  Tensor y = run("Concat", {a, empty, c}, {{"axis", a_int(0)}});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{7, 8, 9, 10}));
}

TEST(Concat, RejectsMismatchedInputs) {
  Tensor a = iota({2, 2}), b = iota({3, 1});
  expect_user_error([&] { run("Concat", {a, b}, {{"axis", a_int(1)}}); }, "input 1");
  expect_user_error([&] { run("Concat", {a, iota({4})}, {{"axis", a_int(0)}}); });
  expect_user_error([&] { run("Concat", {a, i64({2, 2}, {1, 2, 3, 4})}, {{"axis", a_int(0)}}); });
  expect_user_error([&] { run("Concat", {a, a}, {{"axis", a_int(2)}}); }, "axis");
  expect_user_error([&] { run("Concat", {a, a}); }, "axis");  // required from opset 4
}
