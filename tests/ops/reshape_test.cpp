#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Reshape, ZeroCopiesAndMinusOneInfers) {
  Tensor x = iota({2, 3, 4});
  Tensor y = run("Reshape", {x, i64s({0, -1})});
  EXPECT_EQ(y.shape(), (Shape{2, 12}));
  EXPECT_EQ(values<float>(y), values<float>(x));
  EXPECT_EQ(run("Reshape", {x, i64s({-1})}).shape(), (Shape{24}));
  EXPECT_EQ(run("Reshape", {x, i64s({4, 0, 2})}).shape(), (Shape{4, 3, 2}));
}

TEST(Reshape, AllowZeroKeepsZeroAsASize) {
  Tensor x(DType::kF32, {0, 3});
  EXPECT_EQ(run("Reshape", {x, i64s({3, 0})}, {{"allowzero", a_int(1)}}).shape(), (Shape{3, 0}));
  // Without allowzero the 0 copies the input's dimension 1 (3): 9 elements != 0.
  expect_user_error([&] { run("Reshape", {x, i64s({3, 0})}); });
  // Before opset 14 the attribute does not exist and 0 always copies.
  expect_user_error([&] { run("Reshape", {x, i64s({3, 0})}, {{"allowzero", a_int(1)}}, 13); });
  expect_user_error(
      [&] {
        run("Reshape", {x, i64s({0, -1})}, {{"allowzero", a_int(1)}});
      },
      "allowzero");
}

TEST(Reshape, RejectsBadShapes) {
  Tensor x = iota({2, 3});
  expect_user_error([&] { run("Reshape", {x, i64s({4, 2})}); });
  expect_user_error([&] { run("Reshape", {x, i64s({-1, -1})}); }, "-1");
  expect_user_error([&] { run("Reshape", {x, i64s({-1, 4})}); });
  expect_user_error([&] { run("Reshape", {x, i64s({-2, 3})}); });
  expect_user_error([&] { run("Reshape", {x, i64s({1, 1, 0})}); });   // 0 beyond input rank
  expect_user_error([&] { run("Reshape", {x, f32({2}, {3, 2})}); });  // float shape
}

TEST(Reshape, MovesAnyDtypeAndNeedsTheShapeContents) {
  Tensor h(DType::kF16, {2, 2});
  uint16_t* d = static_cast<uint16_t*>(h.raw());
  for (int i = 0; i < 4; ++i) d[i] = static_cast<uint16_t>(0x3c00 + i);
  Tensor y = run("Reshape", {h, i64s({4})});
  EXPECT_EQ(y.dtype(), DType::kF16);
  EXPECT_EQ(y.shape(), (Shape{4}));
  EXPECT_EQ(std::memcmp(y.raw(), h.raw(), 8), 0);
  EXPECT_THROW(infer_only("Reshape", {h, i64s({4})}, {false, false}), ops::DataDependentShape);
  auto known = infer_only("Reshape", {h, i64s({4})}, {false, true});
  EXPECT_EQ(*known.outputs[0].shape, (Shape{4}));
}

TEST(Flatten, SplitsTheShapeAtTheAxis) {
  Tensor x = iota({2, 3, 4, 5});
  EXPECT_EQ(run("Flatten", {x}).shape(), (Shape{2, 60}));  // default axis 1
  EXPECT_EQ(run("Flatten", {x}, {{"axis", a_int(0)}}).shape(), (Shape{1, 120}));
  EXPECT_EQ(run("Flatten", {x}, {{"axis", a_int(4)}}).shape(), (Shape{120, 1}));
  EXPECT_EQ(run("Flatten", {x}, {{"axis", a_int(-1)}}).shape(), (Shape{24, 5}));
  EXPECT_EQ(run("Flatten", {x}, {{"axis", a_int(-4)}}).shape(), (Shape{1, 120}));
  EXPECT_EQ(values<float>(run("Flatten", {x})), values<float>(x));
  expect_user_error([&] { run("Flatten", {x}, {{"axis", a_int(5)}}); }, "axis");
  expect_user_error([&] { run("Flatten", {x}, {{"axis", a_int(-5)}}); }, "axis");
}

TEST(Squeeze, AxesFromAttributeOrInput) {
  Tensor x = iota({1, 3, 1, 2});
  EXPECT_EQ(run("Squeeze", {x}, {}, 13).shape(), (Shape{3, 2}));  // all size-1 axes
  EXPECT_EQ(run("Squeeze", {x}, {{"axes", a_ints({0})}}, 11).shape(), (Shape{3, 1, 2}));
  EXPECT_EQ(run("Squeeze", {x, i64s({-2})}, {}, 13).shape(), (Shape{1, 3, 2}));
  EXPECT_EQ(run("Squeeze", {x, i64s({0, 2})}, {}, 13).shape(), (Shape{3, 2}));
  expect_user_error([&] { run("Squeeze", {x, i64s({1})}, {}, 13); }, "size 3");
  expect_user_error([&] { run("Squeeze", {x, i64s({4})}, {}, 13); }, "out of range");
}

TEST(Unsqueeze, InsertsAxesOfTheOutputRank) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(run("Unsqueeze", {x}, {{"axes", a_ints({0})}}, 11).shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(run("Unsqueeze", {x, i64s({3, 0})}, {}, 13).shape(), (Shape{1, 2, 3, 1}));
  EXPECT_EQ(run("Unsqueeze", {x, i64s({-1})}, {}, 13).shape(), (Shape{2, 3, 1}));
  EXPECT_EQ(run("Unsqueeze", {x, i64s({1, 2})}, {}, 13).shape(), (Shape{2, 1, 1, 3}));
  EXPECT_EQ(run("Unsqueeze", {Tensor::scalar<float>(5), i64s({0})}, {}, 13).shape(), (Shape{1}));
  expect_user_error([&] { run("Unsqueeze", {x, i64s({1, 1})}, {}, 13); }, "repeated");
  expect_user_error([&] { run("Unsqueeze", {x, i64s({4})}, {}, 13); }, "out of range");
  expect_user_error([&] { run("Unsqueeze", {x}, {}, 13); });
}
