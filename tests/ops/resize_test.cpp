#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
Tensor scales(std::vector<float> s) {
  const int64_t n = static_cast<int64_t>(s.size());
  return Tensor::from_vector<float>({n}, s);
}
// Resize opset 13 with scales (roi omitted).
Tensor resize_scales(Tensor x, std::vector<float> s, Attrs a, int64_t opset = 13) {
  return run("Resize", {x, Tensor(), scales(std::move(s))}, std::move(a), opset);
}
Tensor resize_sizes(Tensor x, std::vector<int64_t> s, Attrs a, int64_t opset = 13) {
  return run("Resize", {x, Tensor(), Tensor(), i64s(std::move(s))}, std::move(a), opset);
}
Attrs mode(const char* m, const char* coord, const char* nearest = "round_prefer_floor") {
  return {{"mode", a_str(m)},
          {"coordinate_transformation_mode", a_str(coord)},
          {"nearest_mode", a_str(nearest)}};
}
}  // namespace

TEST(Resize, NearestHalfPixelRepeatsOnIntegerScales) {
  // The ONNX spec example (upsample_scales_nearest).
  Tensor y = resize_scales(f32({1, 1, 2, 2}, {1, 2, 3, 4}), {1, 1, 2, 3}, {});
  expect_tensor(y, {1, 1, 4, 6},
                {1, 1, 1, 2, 2, 2, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 3, 3, 3, 4, 4, 4});
}

TEST(Resize, NearestModes) {
  // asymmetric, size 4 -> 6: x / 1.5 = 0, .67, 1.33, 2, 2.67, 3.33
  Tensor x = f32({4}, {1, 2, 3, 4});
  expect_tensor(resize_sizes(x, {6}, mode("nearest", "asymmetric")), {6}, {1, 2, 2, 3, 4, 4});
  expect_tensor(resize_sizes(x, {6}, mode("nearest", "asymmetric", "floor")), {6},
                {1, 1, 2, 3, 3, 4});
  expect_tensor(resize_sizes(x, {6}, mode("nearest", "asymmetric", "ceil")), {6},
                {1, 2, 3, 3, 4, 4});
  // x / 2 = 0, .5, 1, 1.5, ...: ties go down or up.
  expect_tensor(resize_scales(x, {2}, mode("nearest", "asymmetric")), {8},
                {1, 1, 2, 2, 3, 3, 4, 4});
  expect_tensor(resize_scales(x, {2}, mode("nearest", "asymmetric", "round_prefer_ceil")), {8},
                {1, 2, 2, 3, 3, 4, 4, 4});
  // Any dtype: a pure copy.
  Tensor i8 = Tensor::from_vector<int8_t>({2}, {-5, 9});
  EXPECT_EQ(values<int8_t>(resize_scales(i8, {2}, mode("nearest", "asymmetric"))),
            (std::vector<int8_t>{-5, -5, 9, 9}));
}

TEST(Resize, LinearHalfPixelAndAlignCorners) {
  // The ONNX spec example (upsample_scales_linear).
  expect_tensor(
      resize_scales(f32({1, 1, 2, 2}, {1, 2, 3, 4}), {1, 1, 2, 2}, {{"mode", a_str("linear")}}),
      {1, 1, 4, 4},
      {1, 1.25, 1.75, 2, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3, 3.25, 3.75, 4});
  // align_corners, 2 -> 4: x * 1/3.
  expect_tensor(resize_scales(f32({2}, {1, 2}), {2}, mode("linear", "align_corners")), {4},
                {1, 1 + 1 / 3.0, 1 + 2 / 3.0, 2});
  // Downscaling by 0.6: the resized length is 2.4 (not rounded), x = 1 -> 1 * 3 / 1.4.
  expect_tensor(resize_scales(f32({1, 1, 2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), {1, 1, 0.6f, 0.6f},
                              mode("linear", "align_corners")),
                {1, 1, 1, 2}, {1, 1 + 3 / 1.4}, 1e-6);
  // pytorch_half_pixel with one output: coordinate 0.
  expect_tensor(resize_sizes(f32({4}, {1, 2, 3, 4}), {1}, mode("linear", "pytorch_half_pixel")),
                {1}, {1});
  // half_pixel_symmetric, 4 -> 2 at scale 0.6: offset 2 * (1 - 2 / 2.4) = 1/3.
  expect_tensor(
      resize_scales(f32({4}, {0, 10, 20, 30}), {0.6f}, mode("linear", "half_pixel_symmetric")), {2},
      {10 * (1 / 3.0 + 0.5 / 0.6 - 0.5), 10 * (1 / 3.0 + 1.5 / 0.6 - 0.5)}, 1e-5);
}

TEST(Resize, TfCropAndResizeExtrapolates) {
  // roi [0.5, 1.5] of length 4, 3 outputs: x = 1.5 + 1.5 i = 1.5, 3, 4.5 (outside).
  Attrs a = mode("linear", "tf_crop_and_resize");
  a["extrapolation_value"] = a_float(-7);
  Tensor y =
      run("Resize", {f32({4}, {0, 10, 20, 30}), scales({0.5f, 1.5f}), Tensor(), i64s({3})}, a, 13);
  expect_tensor(y, {3}, {15, 30, -7});
  a["mode"] = a_str("nearest");
  y = run("Resize", {f32({4}, {0, 10, 20, 30}), scales({0.5f, 1.5f}), Tensor(), i64s({3})}, a, 13);
  expect_tensor(y, {3}, {10, 30, -7});
}

TEST(Resize, CubicReproducesARampInsideAndRenormalisesAtEdges) {
  Tensor ramp = iota({8});
  // align_corners 8 -> 15: x_in = i / 2. Keys' cubic reproduces linear functions where all
  // four taps are inside the input (x_in in [1, 6)).
  Tensor y = resize_sizes(ramp, {15}, mode("cubic", "align_corners"));
  ASSERT_EQ(y.shape(), (Shape{15}));
  for (int i = 2; i < 12; ++i) EXPECT_NEAR(y.data<float>()[i], i / 2.0, 1e-5) << i;
  // At x_in = 0.5 the tap at -1 repeats the edge (value 0) or is excluded and the weights
  // renormalised. With a = -0.75: w(0.5) = 0.59375, w(1.5) = -0.09375.
  EXPECT_NEAR(y.data<float>()[1], 0.59375 - 2 * 0.09375, 1e-6);
  Attrs ex = mode("cubic", "align_corners");
  ex["exclude_outside"] = a_int(1);
  Tensor z = resize_sizes(ramp, {15}, ex);
  EXPECT_NEAR(z.data<float>()[1], (0.59375 - 2 * 0.09375) / (2 * 0.59375 - 0.09375), 1e-6);
}

TEST(Resize, Opset10AndUpsampleUseAsymmetricCoordinates) {
  // Resize-10 nearest shrinking takes ceil (x / 0.6 = 1.67 -> 2), as ONNX's own test.
  expect_tensor(
      run("Resize", {f32({2, 4}, {1, 2, 3, 4, 5, 6, 7, 8}), scales({0.6f, 0.6f})}, {}, 10), {1, 2},
      {1, 3});
  // Upsample-7 (attribute) and -9 (input), nearest repeats; linear: x / 2.
  Tensor row = f32({1, 2}, {1, 2});
  expect_tensor(run("Upsample", {row}, {{"scales", a_floats({1, 2})}}, 7), {1, 4}, {1, 1, 2, 2});
  expect_tensor(run("Upsample", {row, scales({1, 3})}, {}, 9), {1, 6}, {1, 1, 1, 2, 2, 2});
  expect_tensor(run("Upsample", {row, scales({1, 2})}, {{"mode", a_str("linear")}}, 9), {1, 4},
                {1, 1.5, 2, 2});
}

TEST(Resize, GrowsOneAxisWhileShrinkingAnother) {
  // asymmetric linear, 1x4 -> 2x2: rows repeat, columns at x * 2 = 0, 2.
  expect_tensor(resize_sizes(f32({1, 4}, {1, 2, 3, 4}), {2, 2}, mode("linear", "asymmetric")),
                {2, 2}, {1, 3, 1, 3});
}

TEST(Resize, SizesWithAxesAndAspectRatio) {
  Tensor x = iota({1, 2, 4});
  Attrs a{{"axes", a_ints({1, 2})}, {"keep_aspect_ratio_policy", a_str("not_larger")}};
  // Scales 3/2 and 2/4: not_larger takes 0.5 -> 2 * 0.5 = 1, 4 * 0.5 = 2.
  EXPECT_EQ(resize_sizes(x, {3, 2}, a, 18).shape(), (Shape{1, 1, 2}));
  a["keep_aspect_ratio_policy"] = a_str("not_smaller");
  EXPECT_EQ(resize_sizes(x, {3, 2}, a, 18).shape(), (Shape{1, 3, 6}));
  a.erase("keep_aspect_ratio_policy");
  EXPECT_EQ(resize_sizes(x, {3, 2}, a, 18).shape(), (Shape{1, 3, 2}));
}

TEST(Resize, RejectsOrDeclinesBadUses) {
  Tensor x = iota({2, 2});
  expect_user_error(
      [&] {
        run("Resize", {x, Tensor(), scales({2, 2}), i64s({4, 4})}, {}, 13);
      },
      "both");
  expect_user_error([&] { run("Resize", {x, Tensor(), scales({2})}, {}, 13); }, "scales");
  expect_user_error([&] { run("Resize", {x, Tensor(), scales({2, 0})}, {}, 13); }, "positive");
  expect_user_error([&] { resize_scales(x, {2, 2}, {{"mode", a_str("area")}}); }, "mode");
  expect_user_error([&] { resize_scales(x, {2, 2}, mode("linear", "tf_crop_and_resize")); }, "roi");
  Tensor xi = Tensor::from_vector<int32_t>({2}, {1, 2});
  expect_unsupported([&] { resize_scales(xi, {2}, {{"mode", a_str("linear")}}); });
  Attrs aa{{"mode", a_str("linear")}, {"antialias", a_int(1)}};
  expect_unsupported([&] { resize_scales(x, {0.5f, 0.5f}, aa, 18); });
  EXPECT_THROW(infer_only("Resize", {x, Tensor(DType::kF32, {0}), scales({2, 2})},
                          {false, true, false}, {}, 13),
               ops::DataDependentShape);
}
