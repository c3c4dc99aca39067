#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

TEST(Transpose, ReversesAxesByDefault) {
  Tensor y = run("Transpose", {f32({2, 3}, {1, 2, 3, 4, 5, 6})});
  expect_tensor(y, {3, 2}, {1, 4, 2, 5, 3, 6});
}

TEST(Transpose, FollowsPermAgainstANaiveIndexFormula) {
  const Shape in{2, 3, 4};
  Tensor x = iota(in);
  Tensor y = run("Transpose", {x}, {{"perm", a_ints({1, 2, 0})}});
  ASSERT_EQ(y.shape(), (Shape{3, 4, 2}));
  const float* out = y.data<float>();
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 4; ++b)
      for (int c = 0; c < 2; ++c)  // y[a][b][c] = x[c][a][b]
        EXPECT_EQ(out[(a * 4 + b) * 2 + c], static_cast<float>((c * 3 + a) * 4 + b));
}

TEST(Transpose, MovesInt8AndKeepsLastAxisRuns) {
  Tensor x = Tensor::from_vector<int8_t>({2, 1, 3}, {1, 2, 3, 4, 5, 6});
  Tensor y = run("Transpose", {x}, {{"perm", a_ints({1, 0, 2})}});
  EXPECT_EQ(y.shape(), (Shape{1, 2, 3}));
  EXPECT_EQ(values<int8_t>(y), (std::vector<int8_t>{1, 2, 3, 4, 5, 6}));
  Tensor s = run("Transpose", {Tensor::scalar<float>(7)});
  expect_tensor(s, {}, {7});
}

TEST(Transpose, RejectsANonPermutation) {
  Tensor x = iota({2, 3});
  expect_user_error([&] { run("Transpose", {x}, {{"perm", a_ints({0, 0})}}); }, "perm");
  expect_user_error([&] { run("Transpose", {x}, {{"perm", a_ints({0, 2})}}); }, "perm");
  expect_user_error([&] { run("Transpose", {x}, {{"perm", a_ints({0})}}); }, "perm");
}
