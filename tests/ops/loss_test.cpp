#include <cmath>

#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Attrs reduction(const char* r) {
  return {{"reduction", a_str(r)}};
}
const Tensor kLogProbs = f32({2, 3}, {-1, -2, -3, -0.5f, -1.5f, -2.5f});
const Tensor kTarget = i64({2}, {2, 0});
}  // namespace

TEST(NegativeLogLikelihoodLoss, Reductions) {
  // Picked log-probabilities: -3 (row 0, class 2) and -0.5 (row 1, class 0).
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget}, reduction("none"), 13), {2},
                {3, 0.5});
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget}, reduction("sum"), 13), {},
                {3.5});
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget}, {}, 13), {}, {1.75});
  // Weights [1, 2, 3]: losses 9 and 0.5; the mean divides by the weights used (3 + 1).
  Tensor w = f32({3}, {1, 2, 3});
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget, w}, reduction("none"), 13),
                {2}, {9, 0.5});
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget, w}, {}, 13), {}, {2.375});
}

TEST(NegativeLogLikelihoodLoss, IgnoreIndexAndExtraDimensions) {
  Attrs a = {{"ignore_index", a_int(2)}};
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget}, a, 13), {}, {0.5});
  a["reduction"] = a_str("none");
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget}, a, 13), {2}, {0, 0.5});
  // A negative ignore_index may be outside the class range; everything ignored: 0 / 0.
  Attrs all = {{"ignore_index", a_int(-1)}};
  expect_tensor(run("NegativeLogLikelihoodLoss", {kLogProbs, i64({2}, {-1, -1})}, all, 13), {},
                {NAN});
  // [N=1, C=2, d=2]: classes run along axis 1.
  expect_tensor(run("NegativeLogLikelihoodLoss",
                    {f32({1, 2, 2}, {-1, -2, -3, -4}), i64({1, 2}, {1, 0})}, reduction("none"), 13),
                {1, 2}, {3, 2});
}

TEST(NegativeLogLikelihoodLoss, RejectsBadTargets) {
  expect_user_error(
      [&] {
        run("NegativeLogLikelihoodLoss", {kLogProbs, i64({2}, {3, 0})}, {}, 13);
      },
      "outside");
  expect_user_error(
      [&] {
        run("NegativeLogLikelihoodLoss", {kLogProbs, i64({3}, {0, 0, 0})}, {}, 13);
      },
      "target has shape");
  expect_user_error(
      [&] {
        run("NegativeLogLikelihoodLoss", {kLogProbs, f32({2}, {0, 0})}, {}, 13);
      },
      "int32 or int64");
  expect_user_error(
      [&] {
        run("NegativeLogLikelihoodLoss", {kLogProbs, kTarget}, reduction("max"), 13);
      },
      "reduction");
}

TEST(SoftmaxCrossEntropyLoss, LossAndLogProb) {
  auto out = run_all("SoftmaxCrossEntropyLoss", {f32({1, 2}, {0, 0}), i64({1}, {1})}, {}, 13, 2);
  expect_tensor(out[0], {}, {std::log(2.0)});
  expect_tensor(out[1], {1, 2}, {-std::log(2.0), -std::log(2.0)});
  // Row [1, 2, 3], label 2: log(1 + e^-1 + e^-2); row [1, 1, 1], label 0: log 3.
  const double l0 = std::log(1 + std::exp(-1.0) + std::exp(-2.0)), l1 = std::log(3.0);
  Tensor scores = f32({2, 3}, {1, 2, 3, 1, 1, 1});
  expect_tensor(run("SoftmaxCrossEntropyLoss", {scores, kTarget}, reduction("none"), 13), {2},
                {l0, l1});
  expect_tensor(run("SoftmaxCrossEntropyLoss", {scores, kTarget}, reduction("sum"), 13), {},
                {l0 + l1});
  expect_tensor(run("SoftmaxCrossEntropyLoss", {scores, kTarget, f32({3}, {1, 1, 2})}, {}, 13), {},
                {(2 * l0 + l1) / 3});
}

TEST(SoftmaxCrossEntropyLoss, DoubleAndIgnoreIndex) {
  Tensor scores = Tensor::from_vector<double>({2, 2}, {0, 0, 5, 5});
  Tensor y =
      run("SoftmaxCrossEntropyLoss", {scores, i64({2}, {0, 7})}, {{"ignore_index", a_int(7)}}, 13);
  EXPECT_EQ(y.dtype(), DType::kF64);
  expect_tensor(y, {}, {std::log(2.0)}, 1e-12);
}
