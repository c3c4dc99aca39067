#include <cmath>
#include <limits>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
// [[1, 2, 3], [4, 5, 6]]
Tensor m() {
  return f32({2, 3}, {1, 2, 3, 4, 5, 6});
}
// Reduces m() over axis 1 (attribute form, opset 13; ReduceSum takes the axes input there).
Tensor rows(const std::string& op, Tensor x = m()) {
  if (op == "ReduceSum") return run(op, {x, i64s({1})}, {{"keepdims", a_int(0)}}, 13);
  return run(op, {x}, {{"axes", a_ints({1})}, {"keepdims", a_int(0)}}, 13);
}
const double kInf = std::numeric_limits<double>::infinity();
}  // namespace

TEST(Reduce, EachKindOverRows) {
  expect_tensor(rows("ReduceSum"), {2}, {6, 15});
  expect_tensor(rows("ReduceMean"), {2}, {2, 5});
  expect_tensor(rows("ReduceMax"), {2}, {3, 6});
  expect_tensor(rows("ReduceMin"), {2}, {1, 4});
  expect_tensor(rows("ReduceProd"), {2}, {6, 120});
  expect_tensor(rows("ReduceSumSquare"), {2}, {14, 77});
  expect_tensor(rows("ReduceL1", f32({2, 3}, {-1, 2, -3, 4, -5, 6})), {2}, {6, 15});
  expect_tensor(rows("ReduceL2"), {2}, {std::sqrt(14.0), std::sqrt(77.0)});
  expect_tensor(rows("ReduceLogSum"), {2}, {std::log(6.0), std::log(15.0)});
  const double e = std::exp(1.0);
  expect_tensor(
      rows("ReduceLogSumExp"), {2},
      {std::log(e + e * e + e * e * e), std::log(std::exp(4.0) + std::exp(5.0) + std::exp(6.0))},
      1e-6);
  // Large inputs do not overflow: log(2 e^1000) = 1000 + log 2.
  expect_tensor(rows("ReduceLogSumExp", f32({1, 2}, {1000, 1000})), {1}, {1000 + std::log(2.0)});
}

TEST(Reduce, KeepdimsAndDefaultAxes) {
  expect_tensor(run("ReduceSum", {m()}, {}, 13), {1, 1}, {21});
  expect_tensor(run("ReduceMean", {m()}, {{"keepdims", a_int(0)}}, 13), {}, {3.5});
  expect_tensor(run("ReduceMax", {m()}, {{"axes", a_ints({-2})}}, 11), {1, 3}, {4, 5, 6});
  expect_tensor(run("ReduceSum", {m()}, {{"axes", a_ints({0, 1})}}, 11), {1, 1}, {21});
}

TEST(Reduce, AxesInputFromOpset18AndNoop) {
  expect_tensor(run("ReduceMean", {m(), i64s({0})}, {}, 18), {1, 3}, {2.5, 3.5, 4.5});
  expect_tensor(run("ReduceL1", {m(), i64s({-1})}, {{"keepdims", a_int(0)}}, 18), {2}, {6, 15});
  // Empty axes: all axes, or none with noop_with_empty_axes.
  expect_tensor(run("ReduceSum", {m(), i64s({})}, {}, 13), {1, 1}, {21});
  expect_tensor(run("ReduceSum", {m(), i64s({})}, {{"noop_with_empty_axes", a_int(1)}}, 13), {2, 3},
                {1, 2, 3, 4, 5, 6});
  expect_tensor(run("ReduceSumSquare", {m()}, {{"noop_with_empty_axes", a_int(1)}}, 18), {2, 3},
                {1, 2, 3, 4, 5, 6});
  EXPECT_THROW(infer_only("ReduceSum", {m(), i64s({1})}, {true, false}, {}, 13),
               ops::DataDependentShape);
}

TEST(Reduce, EmptyReductionsGiveTheIdentity) {
  Tensor e(DType::kF32, {2, 0});
  expect_tensor(rows("ReduceSum", e), {2}, {0, 0});
  expect_tensor(rows("ReduceProd", e), {2}, {1, 1});
  expect_tensor(rows("ReduceMax", e), {2}, {-kInf, -kInf});
  expect_tensor(rows("ReduceMin", e), {2}, {kInf, kInf});
  expect_tensor(rows("ReduceLogSumExp", e), {2}, {-kInf, -kInf});
}

TEST(Reduce, IntegersStayExact) {
  Tensor big = Tensor::from_vector<int64_t>({2}, {(int64_t{1} << 53) + 1, 2});
  EXPECT_EQ(values<int64_t>(rows("ReduceSum", big.reshaped({1, 2}))),
            (std::vector<int64_t>{(int64_t{1} << 53) + 3}));
  Tensor i = Tensor::from_vector<int32_t>({1, 2}, {1, 2});
  EXPECT_EQ(values<int32_t>(rows("ReduceMean", i)), (std::vector<int32_t>{1}));
  Tensor u = Tensor::from_vector<uint8_t>({1, 3}, {200, 7, 255});
  EXPECT_EQ(values<uint8_t>(rows("ReduceMax", u)), (std::vector<uint8_t>{255}));
  EXPECT_EQ(values<uint8_t>(rows("ReduceMin", u)), (std::vector<uint8_t>{7}));
}

TEST(Reduce, RejectsBadAxesAndDtypes) {
  expect_user_error([&] { run("ReduceSum", {m(), i64s({2})}, {}, 13); }, "out of range");
  expect_user_error([&] { run("ReduceMax", {m()}, {{"axes", a_ints({-3})}}, 13); }, "out of range");
  expect_unsupported([&] { run("ReduceSum", {Tensor(DType::kF16, {2})}, {}, 13); });
  expect_unsupported([&] { run("ReduceSum", {Tensor(DType::kBool, {2})}, {}, 13); });
}
