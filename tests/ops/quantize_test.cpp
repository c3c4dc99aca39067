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
Tensor i32(Shape s, std::vector<int32_t> v) {
  return Tensor::from_vector<int32_t>(std::move(s), v);
}
Tensor fscalar(float v) {
  return Tensor::scalar<float>(v);
}

}  // namespace

TEST(QuantizeLinear, RoundsHalfToEvenAddsZeroPointAndSaturates) {
  // 3/2 = 1.5 rounds to 2; 1000/2 + 128 saturates to 255; -1000/2 + 128 to 0.
  Tensor y = run("QuantizeLinear", {f32({6}, {0, 2, 3, 1000, -254, -1000}), fscalar(2),
                                    Tensor::scalar<uint8_t>(128)});
  EXPECT_EQ(y.dtype(), DType::kU8);
  expect_tensor(y, {6}, {128, 129, 130, 255, 1, 0});
  // Halves go to the even neighbour, both signs; int8 saturates at -128 and 127.
  Tensor z = run("QuantizeLinear", {f32({8}, {0.5f, 1.5f, 2.5f, -0.5f, -1.5f, -2.5f, 200, -200}),
                                    fscalar(1), Tensor::scalar<int8_t>(0)});
  EXPECT_EQ(z.dtype(), DType::kI8);
  expect_tensor(z, {8}, {0, 2, 2, 0, -2, -2, 127, -128});
}

TEST(QuantizeLinear, WithoutZeroPointGivesUint8AndAcceptsInt32Input) {
  Tensor y = run("QuantizeLinear", {f32({3}, {-1, 7.4f, 300}), fscalar(1)}, {}, 10);
  EXPECT_EQ(y.dtype(), DType::kU8);
  expect_tensor(y, {3}, {0, 7, 255});
  // int32 x: 5/2 = 2.5 -> 2, -7/2 = -3.5 -> -4.
  Tensor z = run("QuantizeLinear", {i32({2}, {5, -7}), fscalar(2), Tensor::scalar<int8_t>(0)});
  expect_tensor(z, {2}, {2, -4});
}

TEST(QuantizeLinear, PerAxisScalesAndZeroPoints) {
  Tensor x = f32({2, 3}, {2, 4, 8, 6, -4, 10});
  Tensor scale = f32({3}, {2, 4, 8});
  Tensor zero = u8({3}, {0, 1, 2});
  // Column c uses scale[c], zero[c]: 10/8 = 1.25 -> 1.
  expect_tensor(run("QuantizeLinear", {x, scale, zero}), {2, 3}, {1, 2, 3, 3, 0, 3}, 0);
  expect_tensor(run("QuantizeLinear", {x, scale, zero}, {{"axis", a_int(-1)}}), {2, 3},
                {1, 2, 3, 3, 0, 3}, 0);
  // Along axis 0: row r uses scale[r].
  expect_tensor(
      run("QuantizeLinear", {x, f32({2}, {2, 1}), u8({2}, {10, 20})}, {{"axis", a_int(0)}}), {2, 3},
      {11, 12, 14, 26, 16, 30}, 0);
}

TEST(QuantizeLinear, RejectsBadParameters) {
  Tensor x = f32({2, 3}, {1, 2, 3, 4, 5, 6});
  // Per-axis scales need opset 13.
  expect_user_error([&] { run("QuantizeLinear", {x, f32({3}, {1, 1, 1})}, {}, 10); }, "opset 13");
  expect_user_error([&] { run("QuantizeLinear", {x, f32({2}, {1, 1})}); }, "axis");
  expect_user_error(
      [&] {
        run("QuantizeLinear", {x, f32({3}, {1, 1, 1}), u8({2}, {0, 0})});
      },
      "differ in size");
  expect_user_error([&] { run("QuantizeLinear", {x, i32({}, {1})}); }, "float32");
  expect_unsupported([&] { run("QuantizeLinear", {x, fscalar(1), Tensor::scalar<int32_t>(0)}); });
}

TEST(DequantizeLinear, SubtractsZeroPointAndScales) {
  expect_tensor(run("DequantizeLinear",
                    {u8({4}, {0, 3, 128, 255}), fscalar(2), Tensor::scalar<uint8_t>(128)}),
                {4}, {-256, -250, 0, 254});
  expect_tensor(
      run("DequantizeLinear", {i8({2}, {-128, 127}), fscalar(0.5f), Tensor::scalar<int8_t>(-128)}),
      {2}, {0, 127.5});
  // int32 without zero point (the form biases take).
  Tensor y = run("DequantizeLinear", {i32({2}, {-300, 1000}), fscalar(0.5f)}, {}, 10);
  EXPECT_EQ(y.dtype(), DType::kF32);
  expect_tensor(y, {2}, {-150, 500});
}

TEST(DequantizeLinear, PerAxis) {
  Tensor x = i8({2, 2}, {1, 2, 3, 4});
  expect_tensor(run("DequantizeLinear", {x, f32({2}, {1, 10}), i8({2}, {0, 1})}), {2, 2},
                {1, 10, 3, 30});
  expect_tensor(
      run("DequantizeLinear", {x, f32({2}, {1, 10}), i8({2}, {0, 1})}, {{"axis", a_int(0)}}),
      {2, 2}, {1, 2, 20, 30});
  expect_user_error([&] { run("DequantizeLinear", {x, fscalar(1), u8({}, {0})}); }, "dtype");
}

TEST(DynamicQuantizeLinear, FollowsTheSpecExample) {
  // Range [-3, 2]: scale 5/255, zero point 153.
  auto out =
      run_all("DynamicQuantizeLinear", {f32({6}, {0, 2, -3, -2.5f, 1.34f, 0.5f})}, {}, 11, 3);
  expect_tensor(out[0], {6}, {153, 255, 0, 26, 221, 179}, 0);
  expect_tensor(out[1], {}, {5.0 / 255.0});
  expect_tensor(out[2], {}, {153}, 0);
}

TEST(DynamicQuantizeLinear, RangeIncludesZero) {
  // All positive: the range is [0, 51], scale 0.2, zero point 0.
  auto out = run_all("DynamicQuantizeLinear", {f32({3}, {10, 25.1f, 51})}, {}, 11, 3);
  expect_tensor(out[0], {3}, {50, 126, 255}, 0);
  expect_tensor(out[1], {}, {0.2});
  expect_tensor(out[2], {}, {0}, 0);
  // All negative: the range is [-51, 0], zero point 255.
  out = run_all("DynamicQuantizeLinear", {f32({2}, {-51, -10})}, {}, 11, 3);
  expect_tensor(out[0], {2}, {0, 205}, 0);
  expect_tensor(out[2], {}, {255}, 0);
  // All zero: no division by zero, everything quantizes to 0.
  out = run_all("DynamicQuantizeLinear", {f32({2}, {0, 0})}, {}, 11, 3);
  expect_tensor(out[0], {2}, {0, 0}, 0);
  expect_tensor(out[2], {}, {0}, 0);
  expect_user_error([&] { run_all("DynamicQuantizeLinear", {i32({1}, {1})}, {}, 11, 3); },
                    "float32");
}
