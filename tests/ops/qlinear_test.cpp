#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {

Tensor u8(Shape s, std::vector<uint8_t> v) {
  return Tensor::from_vector<uint8_t>(std::move(s), v);
}
Tensor i8(Shape s, std::vector<int8_t> v) {
  return Tensor::from_vector<int8_t>(std::move(s), v);
}
Tensor fs(float v) {
  return Tensor::scalar<float>(v);
}
Tensor none() {
  return Tensor();
}

}  // namespace

TEST(MatMulInteger, FollowsTheSpecExample) {
  Tensor a = u8({4, 3}, {11, 7, 3, 10, 6, 2, 9, 5, 1, 8, 4, 0});
  Tensor b = u8({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor y = run("MatMulInteger", {a, b, Tensor::scalar<uint8_t>(12), Tensor::scalar<uint8_t>(0)});
  EXPECT_EQ(y.dtype(), DType::kI32);
  expect_tensor(y, {4, 2}, {-38, -83, -44, -98, -50, -113, -56, -128}, 0);
  // Without zero points: a plain integer product (11*1 + 7*2 + 3*3 = 34).
  expect_tensor(run("MatMulInteger", {a, b}), {4, 2}, {34, 97, 28, 82, 22, 67, 16, 52}, 0);
}

TEST(MatMulInteger, PerRowAndPerColumnZeroPoints) {
  // Per-row zero point of A (1-D [M]): rows become [0, 1] and [0, 1].
  Tensor eye = u8({2, 2}, {1, 0, 0, 1});
  expect_tensor(run("MatMulInteger", {u8({2, 2}, {1, 2, 3, 4}), eye, u8({2}, {1, 3})}), {2, 2},
                {0, 1, 0, 1}, 0);
  // Per-column zero point of B (1-D [N]): B - zp = [[0, 0], [2, 2]]; int8 A.
  expect_tensor(
      run("MatMulInteger", {i8({1, 2}, {1, 2}), u8({2, 2}, {5, 6, 7, 8}), none(), u8({2}, {5, 6})}),
      {1, 2}, {4, 4}, 0);
  // N-D per-row zero point [2, 2, 1] on a batch of A [2, 2, 2]; B broadcasts.
  Tensor a = u8({2, 2, 2}, {1, 1, 2, 2, 3, 3, 4, 4});
  Tensor zp = u8({2, 2, 1}, {1, 0, 0, 4});
  expect_tensor(run("MatMulInteger", {a, u8({2, 1}, {1, 1}), zp}), {2, 2, 1}, {0, 4, 6, 0}, 0);
  // 1-D A: a row vector; int8 values with a negative zero point.
  expect_tensor(run("MatMulInteger", {i8({2}, {-1, 2}), i8({2, 1}, {3, 4}), i8({}, {-2})}), {1},
                {1 * 3 + 4 * 4}, 0);
}

TEST(MatMulInteger, RejectsBadOperands) {
  Tensor a = u8({2, 2}, {1, 2, 3, 4});
  expect_user_error([&] { run("MatMulInteger", {a, f32({2, 2}, {1, 2, 3, 4})}); }, "uint8");
  expect_user_error([&] { run("MatMulInteger", {a, u8({3, 1}, {1, 2, 3})}); }, "inner");
  expect_user_error([&] { run("MatMulInteger", {a, a, u8({3}, {1, 2, 3})}); }, "row of A");
  expect_user_error([&] { run("MatMulInteger", {a, a, i8({}, {1})}); }, "dtype");
}

TEST(QLinearMatMul, FollowsTheSpecExample) {
  Tensor a = u8({2, 4}, {208, 236, 0, 238, 3, 214, 255, 29});
  Tensor b = u8({4, 3}, {152, 51, 244, 60, 26, 255, 0, 127, 246, 127, 254, 247});
  Tensor y = run("QLinearMatMul",
                 {a, fs(0.0066f), Tensor::scalar<uint8_t>(113), b, fs(0.00705f),
                  Tensor::scalar<uint8_t>(114), fs(0.0107f), Tensor::scalar<uint8_t>(118)});
  EXPECT_EQ(y.dtype(), DType::kU8);
  expect_tensor(y, {2, 3}, {168, 115, 255, 1, 66, 151}, 0);
}

TEST(QLinearMatMul, PerRowScalesAndInt8Output) {
  // acc = [[2], [6]] (A - 1 = [[1, 1], [3, 3]], B = [1, 1]); row scales 1 and 0.5,
  // y_scale 2: 2 * 1 / 2 = 1 and 6 * 0.5 / 2 = 1.5 -> 2 (half to even), then + (-3).
  Tensor y = run("QLinearMatMul", {u8({2, 2}, {2, 2, 4, 4}), f32({2}, {1, 0.5f}), u8({2}, {1, 1}),
                                   u8({2, 1}, {1, 1}), fs(1), Tensor::scalar<uint8_t>(0), fs(2),
                                   Tensor::scalar<int8_t>(-3)});
  EXPECT_EQ(y.dtype(), DType::kI8);
  expect_tensor(y, {2, 1}, {-2, -1}, 0);
  expect_user_error(
      [&] {
        run("QLinearMatMul",
            {u8({2, 2}, {2, 2, 4, 4}), f32({3}, {1, 1, 1}), u8({3}, {1, 1, 1}), u8({2, 1}, {1, 1}),
             fs(1), Tensor::scalar<uint8_t>(0), fs(2), Tensor::scalar<int8_t>(-3)});
      },
      "a_scale");
}

TEST(ConvInteger, MatchesHandComputedSums) {
  // x - 1 = 1..9 (3x3), a 2x2 kernel of ones: window sums.
  Tensor x = u8({1, 1, 3, 3}, {2, 3, 4, 5, 6, 7, 8, 9, 10});
  Tensor w = u8({1, 1, 2, 2}, {1, 1, 1, 1});
  Tensor y = run("ConvInteger", {x, w, Tensor::scalar<uint8_t>(1)});
  EXPECT_EQ(y.dtype(), DType::kI32);
  expect_tensor(y, {1, 1, 2, 2}, {12, 16, 24, 28}, 0);
  // Padding contributes 0 after the zero point is subtracted.
  expect_tensor(
      run("ConvInteger", {x, w, Tensor::scalar<uint8_t>(1)}, {{"pads", a_ints({1, 1, 1, 1})}}),
      {1, 1, 4, 4}, {1, 3, 5, 3, 5, 12, 16, 9, 11, 24, 28, 15, 7, 15, 17, 9}, 0);
  // Stride 2 with padding: corners only.
  expect_tensor(run("ConvInteger", {x, w, Tensor::scalar<uint8_t>(1)},
                    {{"pads", a_ints({1, 1, 1, 1})}, {"strides", a_ints({2, 2})}}),
                {1, 1, 2, 2}, {1, 5, 11, 28}, 0);
}

TEST(ConvInteger, GroupsAndPerChannelWeightZeroPoints) {
  // 1-D, two groups of one channel: w - zp = [1, 2] for both output channels.
  Tensor x = i8({1, 2, 3}, {1, 2, 3, -1, 0, 1});
  Tensor w = i8({2, 1, 2}, {2, 3, 0, 1});
  expect_tensor(run("ConvInteger", {x, w, none(), i8({2}, {1, -1})}, {{"group", a_int(2)}}),
                {1, 2, 2}, {5, 8, -1, 2}, 0);
  // Dilation 2 reaches x[0] and x[2].
  expect_tensor(run("ConvInteger", {i8({1, 1, 3}, {1, 2, 3}), i8({1, 1, 2}, {1, 1})},
                    {{"dilations", a_ints({2})}}),
                {1, 1, 1}, {4}, 0);
  expect_user_error(
      [&] {
        run("ConvInteger", {x, w, none(), i8({3}, {0, 0, 0})}, {{"group", a_int(2)}});
      },
      "w_zero_point");
  expect_user_error([&] { run("ConvInteger", {x, w}); }, "channels");
}

TEST(QLinearConv, RequantizesWithBiasRoundingAndSaturation) {
  // x - 10 = [2, 6, 10, 20] and w - 1 = 2:
  // acc = [4, 12, 20, 40]; multiplier 0.5 * 0.25 / 1 = 0.125 -> [0.5, 1.5, 2.5, 5].
  Tensor x = u8({1, 1, 2, 2}, {12, 16, 20, 30});
  Tensor w = i8({1, 1, 1, 1}, {3});
  auto q = [&](Tensor y_zero, Tensor bias) {
    std::vector<Tensor> in = {
        x, fs(0.5f), Tensor::scalar<uint8_t>(10), w, fs(0.25f), i8({}, {1}), fs(1), y_zero};
    if (bias.defined()) in.push_back(bias);
    return run("QLinearConv", in);
  };
  Tensor y = q(Tensor::scalar<int8_t>(0), none());
  EXPECT_EQ(y.dtype(), DType::kI8);
  expect_tensor(y, {1, 1, 2, 2}, {0, 2, 2, 5}, 0);
  expect_tensor(q(Tensor::scalar<int8_t>(125), none()), {1, 1, 2, 2}, {125, 127, 127, 127}, 0);
  // Bias 4 (in units of x_scale * w_scale): acc [8, 16, 24, 44] -> [1, 2, 3, 5.5 -> 6].
  expect_tensor(q(Tensor::scalar<uint8_t>(3), Tensor::from_vector<int32_t>({1}, {4})), {1, 1, 2, 2},
                {4, 5, 6, 9}, 0);
}

TEST(QLinearConv, PerChannelWeightScales) {
  // Two output channels of a 1x1 kernel over x - 0 = [1, 2]; weights 4 and 4 with scales
  // 1 and 0.5: real outputs [4, 8] and [2, 4].
  Tensor y = run("QLinearConv", {u8({1, 1, 1, 2}, {1, 2}), fs(1), Tensor::scalar<uint8_t>(0),
                                 u8({2, 1, 1, 1}, {4, 4}), f32({2}, {1, 0.5f}), u8({2}, {0, 0}),
                                 fs(1), Tensor::scalar<uint8_t>(0)});
  expect_tensor(y, {1, 2, 1, 2}, {4, 8, 2, 4}, 0);
  expect_user_error(
      [&] {
        run("QLinearConv",
            {u8({1, 1, 1, 2}, {1, 2}), fs(1), Tensor::scalar<uint8_t>(0), u8({2, 1, 1, 1}, {4, 4}),
             f32({3}, {1, 1, 1}), u8({2}, {0, 0}), fs(1), Tensor::scalar<uint8_t>(0)});
      },
      "w_scale");
}
