#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Split, EqualPartsByDefault) {
  auto y = run_all("Split", {f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8})}, {{"axis", a_int(1)}}, 13, 2);
  expect_tensor(y[0], {2, 2}, {1, 2, 5, 6});
  expect_tensor(y[1], {2, 2}, {3, 4, 7, 8});
  expect_user_error([&] { run_all("Split", {iota({5})}, {}, 13, 2); }, "equally");
}

TEST(Split, SizesFromAttributeBeforeOpset13AndInputAfter) {
  Tensor x = iota({6});
  auto a = run_all("Split", {x}, {{"split", a_ints({1, 2, 3})}}, 11, 3);
  expect_tensor(a[0], {1}, {0});
  expect_tensor(a[1], {2}, {1, 2});
  expect_tensor(a[2], {3}, {3, 4, 5});
  auto b = run_all("Split", {x, i64s({4, 2})}, {{"axis", a_int(-1)}}, 13, 2);
  expect_tensor(b[0], {4}, {0, 1, 2, 3});
  expect_tensor(b[1], {2}, {4, 5});
  auto z = run_all("Split", {Tensor(DType::kF32, {0}), i64s({0, 0, 0})}, {}, 13, 3);
  for (const auto& t : z) EXPECT_EQ(t.shape(), (Shape{0}));
}

TEST(Split, NumOutputsMakesTheLastChunkSmaller) {
  auto y = run_all("Split", {iota({5})}, {{"num_outputs", a_int(3)}}, 18, 3);
  expect_tensor(y[0], {2}, {0, 1});
  expect_tensor(y[1], {2}, {2, 3});
  expect_tensor(y[2], {1}, {4});
  expect_user_error(
      [&] {
        run_all("Split", {iota({5})}, {{"num_outputs", a_int(2)}}, 18, 3);
      },
      "num_outputs");
}

TEST(Split, RejectsSizesThatDoNotAddUp) {
  Tensor x = iota({6});
  expect_user_error([&] { run_all("Split", {x, i64s({4, 3})}, {}, 13, 2); }, "add up");
  expect_user_error([&] { run_all("Split", {x, i64s({6})}, {}, 13, 2); }, "entries");
  expect_user_error([&] { run_all("Split", {x, i64s({7, -1})}, {}, 13, 2); }, "negative");
}
