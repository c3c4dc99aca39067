#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
// [[2, 1, 2], [0, 5, 5]]
Tensor data() {
  return f32({2, 3}, {2, 1, 2, 0, 5, 5});
}
std::vector<int64_t> arg(const std::string& op, Attrs a, Shape* shape = nullptr) {
  Tensor y = run(op, {data()}, std::move(a));
  EXPECT_EQ(y.dtype(), DType::kI64);
  if (shape) *shape = y.shape();
  return values<int64_t>(y);
}
}  // namespace

TEST(ArgMax, AlongAnAxisWithTiesToTheFirstOrLast) {
  Shape s;
  EXPECT_EQ(arg("ArgMax", {{"axis", a_int(1)}}, &s), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(s, (Shape{2, 1}));
  EXPECT_EQ(arg("ArgMax", {{"axis", a_int(1)}, {"select_last_index", a_int(1)}}),
            (std::vector<int64_t>{2, 2}));
  EXPECT_EQ(arg("ArgMax", {{"keepdims", a_int(0)}}, &s), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(s, (Shape{3}));
  EXPECT_EQ(arg("ArgMax", {{"axis", a_int(-2)}}, &s), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_EQ(s, (Shape{1, 3}));
}

TEST(ArgMin, AlongAnAxisWithTiesToTheFirstOrLast) {
  EXPECT_EQ(arg("ArgMin", {{"axis", a_int(1)}}), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(arg("ArgMin", {{"axis", a_int(0)}, {"keepdims", a_int(0)}}),
            (std::vector<int64_t>{1, 0, 0}));
  Tensor ints = Tensor::from_vector<int32_t>({4}, {3, -1, 7, -1});
  EXPECT_EQ(values<int64_t>(run("ArgMin", {ints}, {{"select_last_index", a_int(1)}})),
            (std::vector<int64_t>{3}));
  EXPECT_EQ(values<int64_t>(run("ArgMin", {ints})), (std::vector<int64_t>{1}));
}

TEST(ArgMax, RejectsBadInputs) {
  expect_user_error([&] { run("ArgMax", {data()}, {{"axis", a_int(2)}}); }, "axis");
  expect_user_error([&] { run("ArgMax", {Tensor(DType::kF32, {0, 2})}); }, "empty");
  expect_user_error([&] { run("ArgMax", {Tensor::scalar<float>(1)}); }, "rank");
  expect_unsupported([&] { run("ArgMax", {Tensor(DType::kF16, {2})}); });
}
