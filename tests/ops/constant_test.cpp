#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Constant, EachValueAttribute) {
  Tensor t = i64({2}, {4, 5});
  auto inferred = infer_only("Constant", {}, {}, {{"value", a_tensor(t)}});
  ASSERT_TRUE(inferred.outputs[0].value.has_value());
  EXPECT_TRUE(inferred.outputs[0].value->equals(t));
  EXPECT_TRUE(run("Constant", {}, {{"value", a_tensor(t)}}).equals(t));
  expect_tensor(run("Constant", {}, {{"value_float", a_float(2.5f)}}), {}, {2.5});
  expect_tensor(run("Constant", {}, {{"value_floats", a_floats({1, 2})}}), {2}, {1, 2});
  Tensor vi = run("Constant", {}, {{"value_int", a_int(7)}});
  EXPECT_EQ(vi.dtype(), DType::kI64);
  EXPECT_EQ(values<int64_t>(vi), (std::vector<int64_t>{7}));
  EXPECT_EQ(values<int64_t>(run("Constant", {}, {{"value_ints", a_ints({1, 2, 3})}})),
            (std::vector<int64_t>{1, 2, 3}));
}

TEST(Constant, NeedsExactlyOneSupportedValue) {
  expect_user_error([&] { run("Constant", {}); }, "no value");
  expect_user_error(
      [&] {
        run("Constant", {}, {{"value_int", a_int(1)}, {"value_float", a_float(1)}});
      },
      "both");
  expect_unsupported([&] { run("Constant", {}, {{"value_string", a_str("x")}}); });
  expect_unsupported([&] { run("Constant", {}, {{"sparse_value", a_tensor(iota({2}))}}); });
}

TEST(ConstantOfShape, FillsWithTheValue) {
  expect_tensor(run("ConstantOfShape", {i64s({2, 3})}), {2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor y = run("ConstantOfShape", {i64s({3})},
                 {{"value", a_tensor(Tensor::from_vector<int32_t>({1}, {-4}))}});
  EXPECT_EQ(y.dtype(), DType::kI32);
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{-4, -4, -4}));
  expect_tensor(run("ConstantOfShape", {i64s({})}, {{"value", a_tensor(f32({1}, {1.5f}))}}), {},
                {1.5});
  EXPECT_EQ(run("ConstantOfShape", {i64s({4, 0})}).numel(), 0);
}

TEST(ConstantOfShape, RejectsBadShapesAndValues) {
  expect_user_error([&] { run("ConstantOfShape", {i64s({2, -1})}); }, "negative");
  expect_user_error(
      [&] {
        run("ConstantOfShape", {i64s({2})}, {{"value", a_tensor(f32({2}, {1, 2}))}});
      },
      "one element");
  EXPECT_THROW(infer_only("ConstantOfShape", {i64s({2})}, {false}), ops::DataDependentShape);
}
