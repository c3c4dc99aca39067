#include "shape_ops_testing.h"

using namespace frugal;
using namespace frugal::shape_ops_testing;

namespace {
// 4 x 4 image whose value is the column index x.
Tensor ramp() {
  std::vector<float> v;
  for (int y = 0; y < 4; ++y)
    for (int x = 0; x < 4; ++x) v.push_back(float(x));
  return f32({1, 1, 4, 4}, v);
}
Tensor roi(float x1, float y1, float x2, float y2) {
  return f32({1, 4}, {x1, y1, x2, y2});
}
Tensor batch0() {
  return i64({1}, {0});
}
}  // namespace

TEST(RoiAlign, AveragesBilinearSamples) {
  // half_pixel (opset 16): the region starts at -0.5 and is 3 wide; 2 samples per side
  // at x = 0.25 and 1.75: mean 1.
  Attrs two = {{"sampling_ratio", a_int(2)}};
  expect_tensor(run("RoiAlign", {ramp(), roi(0, 0, 3, 3), batch0()}, two, 16), {1, 1, 1, 1}, {1});
  // Opset 10 (output_half_pixel): no shift, samples at 0.75 and 2.25: mean 1.5.
  expect_tensor(run("RoiAlign", {ramp(), roi(0, 0, 3, 3), batch0()}, two, 10), {1, 1, 1, 1}, {1.5});
  // Two bins across, one sample each, at x = 0.5 and 2.5.
  Attrs bins = {{"output_width", a_int(2)}, {"sampling_ratio", a_int(1)}};
  expect_tensor(run("RoiAlign", {ramp(), roi(0, 0, 4, 4), batch0()}, bins, 16), {1, 1, 1, 2},
                {0.5, 2.5});
  // spatial_scale halves the coordinates: the same region given at twice the size.
  bins["spatial_scale"] = a_float(0.5f);
  expect_tensor(run("RoiAlign", {ramp(), roi(0, 0, 8, 8), batch0()}, bins, 16), {1, 1, 1, 2},
                {0.5, 2.5});
}

TEST(RoiAlign, BordersAndMaxMode) {
  Attrs one = {{"sampling_ratio", a_int(1)}};
  // Samples beyond the image (more than one pixel out) contribute 0.
  expect_tensor(run("RoiAlign", {ramp(), roi(10, 10, 12, 12), batch0()}, one, 16), {1, 1, 1, 1},
                {0});
  // A sample at x = 4 (on the far edge) reads the last column.
  expect_tensor(run("RoiAlign", {ramp(), roi(3.5f, 0, 4.5f, 1), batch0()}, one, 10), {1, 1, 1, 1},
                {3});
  // max: the largest weighted corner (0.25 * 2) of the sample at (1.5, 1.5), not the
  // interpolated value 1.5.
  Attrs max = {{"sampling_ratio", a_int(1)}, {"mode", a_str("max")}};
  expect_tensor(run("RoiAlign", {ramp(), roi(0, 0, 3, 3), batch0()}, max, 10), {1, 1, 1, 1}, {0.5});
}

TEST(RoiAlign, RejectsBadInputs) {
  expect_user_error(
      [&] {
        run("RoiAlign", {ramp(), roi(0, 0, 1, 1), i64({1}, {1})}, {}, 16);
      },
      "batch index");
  expect_user_error(
      [&] {
        run("RoiAlign", {ramp(), f32({1, 3}, {0, 0, 1}), batch0()}, {}, 16);
      },
      "rois");
  expect_user_error(
      [&] {
        run("RoiAlign", {ramp(), roi(0, 0, 1, 1), batch0()}, {{"mode", a_str("min")}}, 16);
      },
      "mode");
}
