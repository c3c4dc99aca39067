#include <cmath>
#include <cstdint>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

namespace {
Tensor f32(std::vector<float> v) {
  const int64_t n = static_cast<int64_t>(v.size());
  return Tensor::from_vector<float>({n}, v);
}
}  // namespace

TEST(Activation, Relu) {
  expect_near(run("Relu", {f32({-1, 0, 2.5f})}), {0, 0, 2.5});
  auto i = run("Relu", {Tensor::from_vector<int8_t>({3}, {-128, 0, 127})});
  EXPECT_EQ(values<int8_t>(i), (std::vector<int8_t>{0, 0, 127}));
}

TEST(Activation, LeakyRelu) {
  expect_near(run("LeakyRelu", {f32({-2, 3})}), {-0.02, 3});  // default alpha 0.01
  expect_near(run("LeakyRelu", {f32({-2, 3})}, {{"alpha", attr_float(0.5f)}}), {-1, 3});
}

TEST(Activation, EluSeluCelu) {
  // elu(-1) = e^-1 - 1 = -0.6321205588
  expect_near(run("Elu", {f32({-1, 2})}), {-0.6321205588285577, 2});
  expect_near(run("Elu", {f32({-1})}, {{"alpha", attr_float(2)}}), {-1.2642411176571153});
  // selu defaults: gamma = 1.0507009873554805, alpha = 1.6732632423543772
  expect_near(
      run("Selu", {f32({-1, 0, 1})}),
      {1.0507009873554805 * 1.6732632423543772 * (std::exp(-1.0) - 1), 0, 1.0507009873554805},
      1e-5);
  expect_near(run("Selu", {f32({-1, 2})}, {{"alpha", attr_float(2)}, {"gamma", attr_float(3)}}),
              {3 * 2 * (std::exp(-1.0) - 1), 6}, 1e-5);
  // celu(x) = max(0,x) + min(0, alpha*(exp(x/alpha)-1)); alpha = 2: celu(-1) = 2(e^-0.5 - 1)
  expect_near(run("Celu", {f32({-1, 3})}, {{"alpha", attr_float(2)}}), {-0.7869386805747332, 3});
}

TEST(Activation, SigmoidFamily) {
  expect_near(run("Sigmoid", {f32({0, 2, -2, -200, 200})}),
              {0.5, 0.8807970779778823, 0.11920292202211755, 0, 1});
  // hard_sigmoid = max(0, min(1, 0.2 x + 0.5))
  expect_near(run("HardSigmoid", {f32({-3, 0, 1, 3})}), {0, 0.5, 0.7, 1});
  expect_near(
      run("HardSigmoid", {f32({1})}, {{"alpha", attr_float(0.5f)}, {"beta", attr_float(0)}}),
      {0.5});
  // hard_swish = x * max(0, min(1, x/6 + 1/2))
  expect_near(run("HardSwish", {f32({-4, -1, 0, 1, 4})}), {0, -1.0 / 3, 0, 2.0 / 3, 4});
}

TEST(Activation, SoftplusSoftsignMish) {
  // softplus(0) = ln 2; large inputs must not overflow to inf.
  expect_near(run("Softplus", {f32({0, 1, 100, -100})}),
              {0.6931471805599453, 1.3132616875182228, 100, 3.720075976020836e-44}, 1e-5);
  expect_near(run("Softsign", {f32({1, -3, 0})}), {0.5, -0.75, 0});
  // mish(1) = tanh(softplus(1)) = tanh(1.3132616875) = 0.8650983882673103
  expect_near(run("Mish", {f32({0, 1, -1})}), {0, 0.8650983882673103, -0.30340146137410895}, 1e-5);
}

TEST(Activation, ThresholdedRelu) {
  expect_near(run("ThresholdedRelu", {f32({0.5f, 1, 1.5f, -3})}), {0, 0, 1.5, 0});
  expect_near(run("ThresholdedRelu", {f32({0.5f, 1, 1.5f})}, {{"alpha", attr_float(0.2f)}}),
              {0.5, 1, 1.5});
}

TEST(PRelu, BroadcastSlope) {
  auto x = Tensor::from_vector<float>({2, 3}, {-1, -2, -3, 4, -5, 6});
  auto s = Tensor::from_vector<float>({3}, {0.1f, 0.2f, 0.3f});
  expect_near(run("PRelu", {x, s}), {-0.1, -0.4, -0.9, 4, -1.0, 6});
  auto i = run("PRelu", {Tensor::from_vector<int32_t>({2}, {-3, 3}), Tensor::scalar<int32_t>(2)});
  EXPECT_EQ(values<int32_t>(i), (std::vector<int32_t>{-6, 3}));
}

TEST(PRelu, Opset6SlopePerChannel) {
  // x [1,2,2]: channel 0 = {-1, -2}, channel 1 = {-3, 4}; slope per channel {10, 100}.
  auto x = Tensor::from_vector<float>({1, 2, 2}, {-1, -2, -3, 4});
  auto s = Tensor::from_vector<float>({2}, {10, 100});
  expect_near(run("PRelu", {x, s}, {}, 6), {-10, -20, -300, 4});
  // From opset 7 the same slope aligns with the last dimension instead.
  expect_near(run("PRelu", {x, s}, {}, 9), {-10, -200, -30, 4});
}

TEST(PRelu, SlopeMustBroadcastToInput) {
  expect_user_error([] { run("PRelu", {Tensor(DType::kF32, {2, 3}), Tensor(DType::kF32, {2})}); });
  // Unidirectional: the slope may not grow the input.
  expect_user_error([] { run("PRelu", {Tensor(DType::kF32, {3}), Tensor(DType::kF32, {2, 3})}); });
}

TEST(Activation, DtypeErrors) {
  expect_user_error([] { run("Sigmoid", {Tensor(DType::kI32, {2})}); });
  expect_user_error([] { run("Relu", {Tensor(DType::kU8, {2})}); });
  expect_user_error([] { run("Elu", {Tensor(DType::kBF16, {2})}); }, true);
}
