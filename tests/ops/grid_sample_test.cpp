#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
const Tensor kX = f32({1, 1, 2, 2}, {1, 2, 3, 4});
// One grid point (x, y) in normalized coordinates.
Tensor at(float x, float y) {
  return f32({1, 1, 1, 2}, {x, y});
}
double sample(const Tensor& grid, Attrs attrs) {
  return run("GridSample", {kX, grid}, std::move(attrs), 16).at_double(0);
}
}  // namespace

TEST(GridSample, BilinearWithAndWithoutAlignedCorners) {
  Attrs aligned = {{"align_corners", a_int(1)}};
  // Aligned: -1 and 1 are the centres of the corner pixels.
  EXPECT_DOUBLE_EQ(sample(at(-1, -1), aligned), 1);
  EXPECT_DOUBLE_EQ(sample(at(1, 1), aligned), 4);
  EXPECT_DOUBLE_EQ(sample(at(1, -1), aligned), 2);
  EXPECT_DOUBLE_EQ(sample(at(0, 0), aligned), 2.5);
  EXPECT_DOUBLE_EQ(sample(at(0, 0), {}), 2.5);
  // Not aligned: -1 is the outer edge, half a pixel beyond the first centre. With zero
  // padding three of the four taps read 0.
  EXPECT_DOUBLE_EQ(sample(at(-1, -1), {}), 0.25);
  // Several grid points: output [N, C, H_out, W_out].
  Tensor y = run("GridSample", {kX, f32({1, 1, 2, 2}, {-1, -1, 1, 1})}, aligned, 16);
  expect_tensor(y, {1, 1, 1, 2}, {1, 4});
}

TEST(GridSample, PaddingModes) {
  EXPECT_DOUBLE_EQ(sample(at(-1, -1), {{"padding_mode", a_str("border")}}), 1);
  EXPECT_DOUBLE_EQ(sample(at(-1, -1), {{"padding_mode", a_str("reflection")}}), 1);
  // Far outside: zeros gives 0, border clamps to the nearest pixel.
  EXPECT_DOUBLE_EQ(sample(at(5, 0), {}), 0);
  EXPECT_DOUBLE_EQ(sample(at(5, -5), {{"padding_mode", a_str("border")}}), 2);
  // Reflection (aligned) about the last pixel centre: pixel coordinate 1.5 (normalized 2)
  // reflects to 0.5, halfway between the values 1 and 2.
  EXPECT_DOUBLE_EQ(
      sample(at(2, -1), {{"padding_mode", a_str("reflection")}, {"align_corners", a_int(1)}}), 1.5);
}

TEST(GridSample, NearestAndBicubic) {
  Attrs nearest = {{"mode", a_str("nearest")}};
  // Pixel coordinate 0.5 is a tie: to even, pixel 0. 0.6 rounds to pixel 1.
  EXPECT_DOUBLE_EQ(sample(at(0, 0), nearest), 1);
  EXPECT_DOUBLE_EQ(sample(at(0.1f, 0.1f), nearest), 4);
  EXPECT_DOUBLE_EQ(sample(at(5, 5), nearest), 0);
  // Bicubic at a pixel centre reproduces the pixel (weights 0, 1, 0, 0).
  Attrs cubic = {{"mode", a_str("bicubic")}, {"align_corners", a_int(1)}};
  EXPECT_NEAR(sample(at(1, -1), cubic), 2, 1e-6);
  // A constant image stays constant with border padding (the weights sum to 1).
  Tensor c = f32({1, 1, 2, 2}, {5, 5, 5, 5});
  Attrs cb = {{"mode", a_str("bicubic")}, {"padding_mode", a_str("border")}};
  EXPECT_NEAR(run("GridSample", {c, at(0.3f, -0.7f)}, cb, 16).at_double(0), 5, 1e-5);
}

TEST(GridSample, RejectsBadInputs) {
  expect_user_error([&] { run("GridSample", {kX, f32({1, 1, 1, 3}, {0, 0, 0})}, {}, 16); }, "grid");
  expect_user_error(
      [&] {
        run("GridSample", {kX, at(0, 0)}, {{"mode", a_str("cubic")}}, 16);
      },
      "mode");
  expect_user_error(
      [&] {
        run("GridSample", {kX, at(0, 0)}, {{"padding_mode", a_str("wrap")}}, 16);
      },
      "padding_mode");
}
