#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Shape, KnownFromTheShapeAloneAndSliced) {
  Tensor x(DType::kF32, {2, 3, 4});
  // Contents unknown: the output value is still set at compile time.
  auto inferred = infer_only("Shape", {x}, {false});
  ASSERT_TRUE(inferred.outputs[0].value.has_value());
  EXPECT_EQ(values<int64_t>(*inferred.outputs[0].value), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(values<int64_t>(run("Shape", {x})), (std::vector<int64_t>{2, 3, 4}));
  auto slice = [&](Attrs a) { return values<int64_t>(run("Shape", {x}, std::move(a), 15)); };
  EXPECT_EQ(slice({{"start", a_int(1)}}), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(slice({{"end", a_int(-1)}}), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(slice({{"start", a_int(-10)}, {"end", a_int(10)}}), (std::vector<int64_t>{2, 3, 4}));
  EXPECT_EQ(slice({{"start", a_int(2)}, {"end", a_int(1)}}), (std::vector<int64_t>{}));
  EXPECT_EQ(run("Shape", {Tensor::scalar<float>(1)}).shape(), (Shape{0}));
}

TEST(Size, CountsElements) {
  auto inferred = infer_only("Size", {Tensor(DType::kF16, {2, 3, 4})}, {false});
  ASSERT_TRUE(inferred.outputs[0].value.has_value());
  EXPECT_EQ(inferred.outputs[0].value->shape(), Shape{});
  EXPECT_EQ(values<int64_t>(*inferred.outputs[0].value), (std::vector<int64_t>{24}));
  EXPECT_EQ(values<int64_t>(run("Size", {Tensor(DType::kF32, {0, 5})})), (std::vector<int64_t>{0}));
}
