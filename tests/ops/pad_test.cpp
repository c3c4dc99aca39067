#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor row() {
  return f32({1, 3}, {1, 2, 3});
}
}  // namespace

TEST(Pad, ConstantFromAttributeBeforeOpset11) {
  Attrs a{{"pads", a_ints({0, 1, 1, 2})}, {"value", a_float(9)}};
  expect_tensor(run("Pad", {row()}, a, 2), {2, 6}, {9, 1, 2, 3, 9, 9, 9, 9, 9, 9, 9, 9});
}

TEST(Pad, ConstantFromInputAndZeroByDefault) {
  expect_tensor(run("Pad", {row(), i64s({0, 2, 0, 1}), f32({}, {-1})}), {1, 6},
                {-1, -1, 1, 2, 3, -1});
  expect_tensor(run("Pad", {row(), i64s({0, 1, 0, 0})}), {1, 4}, {0, 1, 2, 3});
  // An int32 tensor with an int32 constant.
  Tensor xi = Tensor::from_vector<int32_t>({2}, {5, 6});
  Tensor y = run("Pad", {xi, i64s({1, 1}), Tensor::scalar<int32_t>(7)});
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{7, 5, 6, 7}));
}

TEST(Pad, ReflectEdgeWrap) {
  Attrs reflect{{"mode", a_str("reflect")}}, edge{{"mode", a_str("edge")}},
      wrap{{"mode", a_str("wrap")}};
  // numpy.pad([1, 2, 3], (2, 3), 'reflect') = [3, 2, 1, 2, 3, 2, 1, 2]
  expect_tensor(run("Pad", {row(), i64s({0, 2, 0, 3})}, reflect), {1, 8}, {3, 2, 1, 2, 3, 2, 1, 2});
  expect_tensor(run("Pad", {row(), i64s({0, 2, 0, 1})}, edge), {1, 6}, {1, 1, 1, 2, 3, 3});
  expect_tensor(run("Pad", {row(), i64s({0, 2, 0, 1})}, wrap, 19), {1, 6}, {2, 3, 1, 2, 3, 1});
  // Reflect on both axes of a 2x2: numpy.pad([[1,2],[3,4]], 1, 'reflect')
  expect_tensor(run("Pad", {f32({2, 2}, {1, 2, 3, 4}), i64s({1, 1, 1, 1})}, reflect), {4, 4},
                {4, 3, 4, 3, 2, 1, 2, 1, 4, 3, 4, 3, 2, 1, 2, 1});
}

TEST(Pad, NegativePadsCropAndAxesSelect) {
  expect_tensor(run("Pad", {row(), i64s({0, -1, 0, 1})}), {1, 3}, {2, 3, 0});
  // Opset 18 axes input: pads only the last axis.
  expect_tensor(run("Pad", {row(), i64s({1, 2}), f32({}, {5}), i64s({-1})}), {1, 6},
                {5, 1, 2, 3, 5, 5});
}

TEST(Pad, RejectsBadPads) {
  expect_user_error([&] { run("Pad", {row(), i64s({0, 1})}); }, "pads");
  expect_user_error([&] { run("Pad", {row(), i64s({0, -2, 0, -2})}); }, "negative size");
  expect_user_error(
      [&] {
        run("Pad", {row(), i64s({0, 1, 0, 1})}, {{"mode", a_str("mirror")}});
      },
      "mode");
  Tensor empty(DType::kF32, {0});
  expect_user_error(
      [&] {
        run("Pad", {empty, i64s({1, 1})}, {{"mode", a_str("reflect")}});
      },
      "empty");
  expect_user_error([&] { run("Pad", {row(), i64s({0, 1, 0, 1}), Tensor::scalar<int32_t>(1)}); });
}

TEST(Pad, EmptyOutputWithAHugeAxisAllocatesNothing) {
  Tensor y = run("Pad", {Tensor(DType::kF32, {0, 1}), i64s({0, 0, 0, int64_t{1} << 40})});
  EXPECT_EQ(y.shape(), (Shape{0, (int64_t{1} << 40) + 1}));
}
