// RoiAlign (opsets 10, 16): pools each region of interest (rois [R, 4] as x1, y1, x2, y2
// in input coordinates times spatial_scale, on image batch_indices[r]) of X [N, C, H, W]
// into output_height x output_width bins, giving [R, C, output_height, output_width].
// Each bin averages (mode avg) a grid of bilinearly interpolated samples, sampling_ratio
// per side (or ceil(bin size) when 0). coordinate_transformation_mode half_pixel (the
// default from opset 16) shifts coordinates by -0.5; output_half_pixel (opset 10's only
// behaviour) does not, and stretches regions to at least 1 x 1.
// Sample placement, border handling and mode max (the largest of the weighted corner
// values of any sample, not the largest interpolated value) follow ONNX Runtime, which
// the ONNX reference implementation matches.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

struct Options {
  bool max_mode = false, half_pixel = true;
  int64_t out_h = 1, out_w = 1, sampling_ratio = 0;
  double spatial_scale = 1;
};

Options options_of(const ir::Node& node, int64_t opset) {
  Options o;
  const std::string mode = node.attr_string("mode", "avg");
  if (mode != "avg" && mode != "max")
    throw UserError(node.describe() + ": mode '" + mode + "' must be avg or max");
  o.max_mode = mode == "max";
  const std::string ct = opset < 16
                             ? "output_half_pixel"
                             : node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (ct != "half_pixel" && ct != "output_half_pixel")
    throw UserError(node.describe() + ": coordinate_transformation_mode '" + ct +
                    "' must be half_pixel or output_half_pixel");
  o.half_pixel = ct == "half_pixel";
  o.out_h = node.attr_int("output_height", 1);
  o.out_w = node.attr_int("output_width", 1);
  o.sampling_ratio = node.attr_int("sampling_ratio", 0);
  o.spatial_scale = node.attr_float("spatial_scale", 1.0f);
  constexpr int64_t kMax = int64_t{1} << 20;
  if (o.out_h < 1 || o.out_w < 1 || o.out_h > kMax || o.out_w > kMax)
    throw UserError(node.describe() + ": output_height and output_width must be positive");
  if (o.sampling_ratio < 0 || o.sampling_ratio > kMax)
    throw UserError(node.describe() + ": sampling_ratio must be >= 0");
  return o;
}

void infer_roi_align(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  ctx.require_same_dtype(0, 1);
  const Options o = options_of(ctx.node(), ctx.opset());
  const Shape& x = ctx.shape(0);
  const Shape& rois = ctx.shape(1);
  if (x.size() != 4) ctx.fail("X has shape " + shape_str(x) + ", expected N x C x H x W");
  if (rois.size() != 2 || rois[1] != 4)
    ctx.fail("rois has shape " + shape_str(rois) + ", expected num_rois x 4");
  if (ctx.dtype(2) != DType::kI64) ctx.fail("batch_indices must be int64");
  if (ctx.shape(2) != Shape{rois[0]})
    ctx.fail("batch_indices has shape " + shape_str(ctx.shape(2)) + ", expected " +
             std::to_string(rois[0]));
  ctx.set_output(0, ctx.dtype(0), {rois[0], x[1], o.out_h, o.out_w});
}

// Bilinear weights and positions of one sample (weights 0 when it falls outside).
struct Sample {
  int64_t pos[4] = {0, 0, 0, 0};
  double w[4] = {0, 0, 0, 0};
};

Sample make_sample(double y, double x, int64_t H, int64_t W) {
  Sample s;
  if (!(y >= -1.0 && y <= double(H) && x >= -1.0 && x <= double(W))) return s;
  y = std::max(y, 0.0);
  x = std::max(x, 0.0);
  int64_t y_low = static_cast<int64_t>(y), x_low = static_cast<int64_t>(x), y_high, x_high;
  if (y_low >= H - 1) {
    y_high = y_low = H - 1;
    y = double(y_low);
  } else {
    y_high = y_low + 1;
  }
  if (x_low >= W - 1) {
    x_high = x_low = W - 1;
    x = double(x_low);
  } else {
    x_high = x_low + 1;
  }
  const double ly = y - double(y_low), lx = x - double(x_low), hy = 1 - ly, hx = 1 - lx;
  s.pos[0] = y_low * W + x_low;
  s.pos[1] = y_low * W + x_high;
  s.pos[2] = y_high * W + x_low;
  s.pos[3] = y_high * W + x_high;
  s.w[0] = hy * hx;
  s.w[1] = hy * lx;
  s.w[2] = ly * hx;
  s.w[3] = ly * lx;
  return s;
}

// Samples per bin side: sampling_ratio, or ceil(extent / bins) bounded to a sane count.
int64_t grid_size(int64_t sampling_ratio, double extent, int64_t bins) {
  if (sampling_ratio > 0) return sampling_ratio;
  const double g = std::ceil(extent / double(bins));
  return g >= 1 ? static_cast<int64_t>(std::min(g, 1e6)) : 0;
}

template <typename T>
void roi_align_kernel(KernelContext& ctx) {
  const Options o = options_of(ctx.node(), ctx.opset());
  const Tensor& X = ctx.input(0);
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  const int64_t R = ctx.input(1).dim(0);
  const T* x = X.data<T>();
  const T* rois = ctx.input(1).data<T>();
  const int64_t* batch = ctx.input(2).data<int64_t>();
  T* y = ctx.output(0).data<T>();
  const double offset = o.half_pixel ? 0.5 : 0.0;
  std::vector<Sample> samples;
  for (int64_t r = 0; r < R; ++r) {
    if (batch[r] < 0 || batch[r] >= N)
      ctx.fail("batch index " + std::to_string(batch[r]) + " is outside [0, " + std::to_string(N) +
               ")");
    const T* roi = rois + r * 4;
    const double x1 = double(roi[0]) * o.spatial_scale - offset;
    const double y1 = double(roi[1]) * o.spatial_scale - offset;
    double roi_w = double(roi[2]) * o.spatial_scale - offset - x1;
    double roi_h = double(roi[3]) * o.spatial_scale - offset - y1;
    if (!o.half_pixel) {
      roi_w = std::max(roi_w, 1.0);
      roi_h = std::max(roi_h, 1.0);
    }
    const double bin_h = roi_h / double(o.out_h), bin_w = roi_w / double(o.out_w);
    const int64_t gh = grid_size(o.sampling_ratio, roi_h, o.out_h);
    const int64_t gw = grid_size(o.sampling_ratio, roi_w, o.out_w);
    const double count = double(std::max<int64_t>(gh * gw, 1));
    // The samples depend on the region only: computed once, used for every channel.
    constexpr double kMaxSamples = double(int64_t{1} << 26);
    if (double(o.out_h) * double(o.out_w) * double(gh) * double(gw) > kMaxSamples)
      ctx.fail("region " + std::to_string(r) + " needs more than 2^26 sampling points");
    samples.clear();
    for (int64_t ph = 0; ph < o.out_h; ++ph)
      for (int64_t pw = 0; pw < o.out_w; ++pw)
        for (int64_t iy = 0; iy < gh; ++iy)
          for (int64_t ix = 0; ix < gw; ++ix)
            samples.push_back(make_sample(
                y1 + double(ph) * bin_h + (double(iy) + 0.5) * bin_h / double(gh),
                x1 + double(pw) * bin_w + (double(ix) + 0.5) * bin_w / double(gw), H, W));
    const size_t per_bin = static_cast<size_t>(gh * gw);
    for (int64_t c = 0; c < C; ++c) {
      const T* plane = x + (batch[r] * C + c) * H * W;
      T* out = y + (r * C + c) * o.out_h * o.out_w;
      for (int64_t b = 0; b < o.out_h * o.out_w; ++b) {
        double acc = 0;
        bool first = true;
        for (size_t k = 0; k < per_bin; ++k) {
          const Sample& s = samples[static_cast<size_t>(b) * per_bin + k];
          if (o.max_mode) {
            double v = s.w[0] * double(plane[s.pos[0]]);
            for (int q = 1; q < 4; ++q) v = std::max(v, s.w[q] * double(plane[s.pos[q]]));
            acc = first ? v : std::max(acc, v);
            first = false;
          } else {
            for (int q = 0; q < 4; ++q) acc += s.w[q] * double(plane[s.pos[q]]);
          }
        }
        out[b] = static_cast<T>(o.max_mode ? acc : acc / count);
      }
    }
  }
}

void ref_roi_align(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64)
    roi_align_kernel<double>(ctx);
  else
    roi_align_kernel<float>(ctx);
}

}  // namespace

FRUGAL_REGISTER_OP(RoiAlign, OpDef{.op_type = "RoiAlign",
                                   .min_inputs = 3,
                                   .max_inputs = 3,
                                   .infer = infer_roi_align,
                                   .ref = ref_roi_align});

}  // namespace frugal::ops
