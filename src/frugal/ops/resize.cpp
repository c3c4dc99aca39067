// Resize (opset 10: scales; 11+: roi, scales, sizes) and Upsample (opset 7: scales
// attribute; 9: scales input), sharing one plan and one kernel. Modes: nearest (any dtype,
// a pure copy), linear and cubic (N-dimensional, separable, float and double).
//
// Each output coordinate x maps to an input coordinate by the coordinate transformation
// mode, as in the ONNX reference implementation, where the "resized length" in the
// formulas is scale * input length (not rounded; the conformance data depends on it).
// Before opset 11 there was no such attribute: coordinates are asymmetric (x / scale) and
// nearest takes floor when enlarging and ceil when shrinking, as ONNX Runtime does.
#include <cmath>
#include <cstring>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/resize.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

[[noreturn]] void fail(const ir::Node& node, const std::string& why) {
  throw UserError(node.describe() + ": " + why);
}
[[noreturn]] void decline(const ir::Node& node, const std::string& why) {
  throw UnsupportedError(node.describe() + ": " + why);
}

enum class Mode { kNearest, kLinear, kCubic };
enum class Coord {
  kHalfPixel,
  kHalfPixelSymmetric,
  kPytorchHalfPixel,
  kAlignCorners,
  kAsymmetric,
  kTfHalfPixelForNn,
  kTfCropAndResize,
};
enum class Nearest { kRoundPreferFloor, kRoundPreferCeil, kFloor, kCeil, kLegacy };

struct ResizePlan {
  Mode mode = Mode::kNearest;
  Coord coord = Coord::kAsymmetric;
  Nearest nearest = Nearest::kLegacy;
  double cubic_a = -0.75;
  bool exclude_outside = false;
  double extrapolation = 0.0;
  std::vector<double> scales;  // per input axis
  Shape out;
};

// Inputs as given to the node (null when omitted). `roi` is only needed by the kernel.
struct ResizeInputs {
  const Tensor* roi = nullptr;
  const Tensor* scales = nullptr;
  const Tensor* sizes = nullptr;
};

bool is_upsample(const ir::Node& node) {
  return node.op_type == "Upsample";
}

Mode parse_mode(const ir::Node& node) {
  const std::string m = node.attr_string("mode", "nearest");
  if (m == "nearest") return Mode::kNearest;
  if (m == "linear" || m == "bilinear") return Mode::kLinear;  // Upsample-1 said "bilinear"
  if (m == "cubic" && !is_upsample(node)) return Mode::kCubic;
  fail(node,
       "mode '" + m + "' is not one of nearest, linear" + (is_upsample(node) ? "" : ", cubic"));
}

Coord parse_coord(const ir::Node& node) {
  const std::string c = node.attr_string("coordinate_transformation_mode", "half_pixel");
  if (c == "half_pixel") return Coord::kHalfPixel;
  if (c == "half_pixel_symmetric") return Coord::kHalfPixelSymmetric;
  if (c == "pytorch_half_pixel") return Coord::kPytorchHalfPixel;
  if (c == "align_corners") return Coord::kAlignCorners;
  if (c == "asymmetric") return Coord::kAsymmetric;
  if (c == "tf_half_pixel_for_nn") return Coord::kTfHalfPixelForNn;
  if (c == "tf_crop_and_resize") return Coord::kTfCropAndResize;
  fail(node, "coordinate_transformation_mode '" + c + "' is not known");
}

Nearest parse_nearest(const ir::Node& node) {
  const std::string n = node.attr_string("nearest_mode", "round_prefer_floor");
  if (n == "round_prefer_floor") return Nearest::kRoundPreferFloor;
  if (n == "round_prefer_ceil") return Nearest::kRoundPreferCeil;
  if (n == "floor") return Nearest::kFloor;
  if (n == "ceil") return Nearest::kCeil;
  fail(node, "nearest_mode '" + n + "' is not known");
}

bool given(const Tensor* t) {
  return t && t->numel() > 0;
}

ResizePlan plan_resize(const ir::Node& node, int64_t opset, const Shape& in,
                       const ResizeInputs& inputs) {
  ResizePlan plan;
  const int64_t r = static_cast<int64_t>(in.size());
  plan.mode = parse_mode(node);
  const bool modern = !is_upsample(node) && opset >= 11;
  if (modern) {
    plan.coord = parse_coord(node);
    plan.nearest = parse_nearest(node);
    plan.cubic_a = node.attr_float("cubic_coeff_a", -0.75f);
    plan.exclude_outside = node.attr_int("exclude_outside", 0) != 0;
    plan.extrapolation = node.attr_float("extrapolation_value", 0.0f);
  }

  // The axes that scales/sizes/roi describe (opset 18), all axes otherwise.
  std::vector<int64_t> axes;
  if (modern && node.has_attr("axes")) {
    std::vector<bool> seen(in.size(), false);
    for (int64_t a : node.attr_ints("axes")) {
      const int64_t n = a < 0 ? a + r : a;
      if (n < 0 || n >= r || seen[n])
        fail(node, "axes entry " + std::to_string(a) + " is out of range or repeated");
      seen[n] = true;
      axes.push_back(n);
    }
  } else {
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  }
  const size_t k = axes.size();

  std::vector<double> scales;
  std::vector<int64_t> sizes;
  if (is_upsample(node) && opset < 9) {
    for (float s : node.attr_floats("scales")) scales.push_back(s);
  } else if (given(inputs.scales)) {
    if (given(inputs.sizes)) fail(node, "has both scales and sizes");
    if (inputs.scales->dtype() != DType::kF32 && inputs.scales->dtype() != DType::kF64)
      fail(node, "scales must be a float32 or float64 tensor");
    scales = inputs.scales->to_double();
  } else if (given(inputs.sizes)) {
    sizes = int_list_input(node, *inputs.sizes, "sizes");
  } else {
    fail(node, "needs scales or sizes");
  }
  if (!scales.empty() || sizes.empty()) {
    if (scales.size() != k)
      fail(node,
           "has " + std::to_string(scales.size()) + " scales for " + std::to_string(k) + " axes");
  } else if (sizes.size() != k) {
    fail(node, "has " + std::to_string(sizes.size()) + " sizes for " + std::to_string(k) + " axes");
  }

  plan.scales.assign(in.size(), 1.0);
  plan.out = in;
  if (!sizes.empty()) {
    for (int64_t s : sizes)
      if (s < 0) fail(node, "size " + std::to_string(s) + " is negative");
    const std::string policy =
        modern ? node.attr_string("keep_aspect_ratio_policy", "stretch") : "stretch";
    if (policy == "stretch") {
      for (size_t i = 0; i < k; ++i) {
        plan.out[axes[i]] = sizes[i];
        plan.scales[axes[i]] = in[axes[i]] == 0 ? 1.0 : static_cast<double>(sizes[i]) / in[axes[i]];
      }
    } else if (policy == "not_larger" || policy == "not_smaller") {
      // One scale for all the axes, the largest (smallest) that keeps every axis within
      // (at least) its requested size.
      double scale = policy == "not_larger" ? INFINITY : 0.0;
      for (size_t i = 0; i < k; ++i) {
        if (in[axes[i]] == 0) continue;
        const double s = static_cast<double>(sizes[i]) / in[axes[i]];
        scale = policy == "not_larger" ? std::min(scale, s) : std::max(scale, s);
      }
      if (!std::isfinite(scale)) scale = 1.0;
      for (size_t i = 0; i < k; ++i) {
        plan.scales[axes[i]] = scale;
        plan.out[axes[i]] = static_cast<int64_t>(std::floor(scale * in[axes[i]] + 0.5));
      }
    } else {
      fail(node, "keep_aspect_ratio_policy '" + policy + "' is not known");
    }
  } else {
    for (size_t i = 0; i < k; ++i) {
      const double s = scales[i];
      if (!(s > 0) || !std::isfinite(s))
        fail(node, "scale " + std::to_string(s) + " is not a positive number");
      const double o = std::floor(s * static_cast<double>(in[axes[i]]));
      if (o > static_cast<double>(int64_t{1} << 52)) fail(node, "output shape overflows");
      plan.scales[axes[i]] = s;
      plan.out[axes[i]] = static_cast<int64_t>(o);
    }
  }
  for (int64_t d = 0; d < r; ++d)
    if (in[d] == 0 && plan.out[d] > 0)
      fail(node, "cannot resize the empty axis " + std::to_string(d));

  if (modern && node.attr_int("antialias", 0) != 0 && plan.mode != Mode::kNearest) {
    for (double s : plan.scales)
      if (s < 1) decline(node, "antialias when downscaling is not supported");
  }
  return plan;
}

// Region of interest per axis for tf_crop_and_resize (start, end as fractions of the axis).
void roi_of(const ir::Node& node, const Tensor* roi, const Shape& in, std::vector<double>& start,
            std::vector<double>& end) {
  const int64_t r = static_cast<int64_t>(in.size());
  start.assign(in.size(), 0.0);
  end.assign(in.size(), 1.0);
  std::vector<int64_t> axes;
  if (node.has_attr("axes")) {
    for (int64_t a : node.attr_ints("axes")) axes.push_back(a < 0 ? a + r : a);
  } else {
    for (int64_t d = 0; d < r; ++d) axes.push_back(d);
  }
  if (!given(roi)) fail(node, "tf_crop_and_resize needs a roi input");
  if (roi->dtype() != DType::kF32 && roi->dtype() != DType::kF64)
    fail(node, "roi must be a float32 or float64 tensor");
  const auto v = roi->to_double();
  if (v.size() != 2 * axes.size())
    fail(node, "roi has " + std::to_string(v.size()) + " values, expected " +
                   std::to_string(2 * axes.size()));
  for (size_t i = 0; i < axes.size(); ++i) {
    start[axes[i]] = v[i];
    end[axes[i]] = v[axes.size() + i];
  }
}

// Where output index x of an axis falls in the input's coordinates.
double input_coordinate(const ResizePlan& p, int64_t x, int64_t in_len, int64_t out_len,
                        double scale, double roi_start, double roi_end) {
  const double xf = static_cast<double>(x), lin = static_cast<double>(in_len);
  const double resized = scale * lin;  // the unrounded output length
  switch (p.coord) {
    case Coord::kHalfPixel:
      return (xf + 0.5) / scale - 0.5;
    case Coord::kHalfPixelSymmetric: {
      const double adjustment = static_cast<double>(out_len) / resized;
      const double offset = lin / 2 * (1 - adjustment);
      return offset + (xf + 0.5) / scale - 0.5;
    }
    case Coord::kPytorchHalfPixel:
      return out_len > 1 ? (xf + 0.5) / scale - 0.5 : 0.0;
    case Coord::kAlignCorners:
      return resized == 1 ? 0.0 : xf * (lin - 1) / (resized - 1);
    case Coord::kAsymmetric:
      return xf / scale;
    case Coord::kTfHalfPixelForNn:
      return (xf + 0.5) / scale;
    case Coord::kTfCropAndResize:
      if (out_len > 1)
        return roi_start * (lin - 1) + xf * (roi_end - roi_start) * (lin - 1) / (resized - 1);
      return 0.5 * (roi_start + roi_end) * (lin - 1);
  }
  return 0.0;
}

// Keys' cubic convolution weight at distance t (|t| < 2) with parameter a.
double cubic_weight(double t, double a) {
  t = std::fabs(t);
  if (t <= 1) return ((a + 2) * t - (a + 3)) * t * t + 1;
  if (t < 2) return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
  return 0.0;
}

AxisTaps axis_taps(const ResizePlan& p, int64_t in_len, int64_t out_len, double scale,
                   double roi_start, double roi_end) {
  AxisTaps t;
  t.taps = p.mode == Mode::kNearest ? 1 : p.mode == Mode::kLinear ? 2 : 4;
  t.index.resize(static_cast<size_t>(out_len * t.taps));
  t.weight.resize(t.index.size());
  t.outside.resize(static_cast<size_t>(out_len));
  t.identity = in_len == out_len;
  auto clamp = [&](int64_t i) { return std::clamp<int64_t>(i, 0, in_len - 1); };
  for (int64_t x = 0; x < out_len; ++x) {
    double c = input_coordinate(p, x, in_len, out_len, scale, roi_start, roi_end);
    t.outside[x] = p.coord == Coord::kTfCropAndResize && !(c >= 0 && c <= in_len - 1);
    if (t.outside[x]) c = 0;  // its value is replaced; keeps a NaN or huge roi harmless
    const double f = std::floor(c), frac = c - f;
    const int64_t base = static_cast<int64_t>(f);
    int64_t* idx = &t.index[x * t.taps];
    double* w = &t.weight[x * t.taps];
    if (p.mode == Mode::kNearest) {
      bool up = false;
      switch (p.nearest) {
        case Nearest::kRoundPreferFloor:
          up = frac > 0.5;
          break;
        case Nearest::kRoundPreferCeil:
          up = frac >= 0.5;
          break;
        case Nearest::kFloor:
          up = false;
          break;
        case Nearest::kCeil:
          up = frac > 0;
          break;
        case Nearest::kLegacy:
          up = scale < 1 && frac > 0;
          break;
      }
      idx[0] = clamp(up ? base + 1 : base);
      w[0] = 1.0;
    } else if (p.mode == Mode::kLinear) {
      idx[0] = clamp(base);
      idx[1] = clamp(base + 1);
      w[0] = 1 - frac;
      w[1] = frac;
    } else {
      double sum = 0;
      for (int j = 0; j < 4; ++j) {
        const int64_t i = base - 1 + j;
        w[j] = cubic_weight(c - static_cast<double>(i), p.cubic_a);
        if (p.exclude_outside && (i < 0 || i >= in_len)) w[j] = 0;
        sum += w[j];
        idx[j] = clamp(i);
      }
      if (p.exclude_outside && sum != 0)
        for (int j = 0; j < 4; ++j) w[j] /= sum;
    }
    if (t.identity) {
      double on_x = 0, off_x = 0;
      for (int j = 0; j < t.taps; ++j) (idx[j] == x ? on_x : off_x) += std::fabs(w[j]);
      t.identity = !t.outside[x] && on_x == 1.0 && off_x == 0.0;
    }
  }
  return t;
}

const Tensor* optional_value(const InferContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return nullptr;
  if (shape_numel(ctx.shape(i)) == 0) return nullptr;  // an empty placeholder
  return &ctx.require_value(i);
}

ResizeInputs infer_inputs(const InferContext& ctx) {
  if (is_upsample(ctx.node()))
    return {.scales = ctx.opset() >= 9 ? optional_value(ctx, 1) : nullptr};
  if (ctx.opset() < 11) return {.scales = optional_value(ctx, 1)};
  return {.scales = optional_value(ctx, 2), .sizes = optional_value(ctx, 3)};
}

ResizeInputs given_inputs(const ir::Node& node, int64_t opset,
                          const std::vector<const Tensor*>& inputs) {
  auto in = [&](size_t i) { return i < inputs.size() ? inputs[i] : nullptr; };
  if (is_upsample(node)) return {.scales = opset >= 9 ? in(1) : nullptr};
  if (opset < 11) return {.scales = in(1)};
  return {.roi = in(1), .scales = in(2), .sizes = in(3)};
}

void infer_resize(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  const ResizePlan plan = plan_resize(ctx.node(), ctx.opset(), in, infer_inputs(ctx));
  if (plan.mode == Mode::kNearest) {
    require_storable(ctx, 0);
  } else {
    ctx.require_dtype(0, {DType::kF32, DType::kF64});
  }
  ctx.set_output(0, ctx.dtype(0), plan.out);
}

template <typename T>
void resize_interpolate(const Tensor& x, Tensor& y, const std::vector<AxisTaps>& taps) {
  const Shape& in = x.shape();
  const size_t r = in.size();
  std::vector<double> cur(static_cast<size_t>(x.numel()));
  const T* src = x.data<T>();
  for (size_t i = 0; i < cur.size(); ++i) cur[i] = static_cast<double>(src[i]);
  // One axis at a time: N-linear (N-cubic) interpolation is separable.
  // Shrinking axes go first so that no intermediate is larger than the input or output.
  std::vector<size_t> order;
  for (size_t d = 0; d < r; ++d)
    if (y.shape()[d] < in[d]) order.push_back(d);
  for (size_t d = 0; d < r; ++d)
    if (y.shape()[d] >= in[d]) order.push_back(d);
  Shape shape = in;
  for (size_t d : order) {
    if (taps[d].identity) continue;
    const int64_t in_len = shape[d], out_len = y.shape()[d];
    int64_t outer = 1, inner = 1;
    for (size_t e = 0; e < d; ++e) outer *= shape[e];
    for (size_t e = d + 1; e < r; ++e) inner *= shape[e];
    std::vector<double> next(static_cast<size_t>(outer * out_len * inner), 0.0);
    const int k = taps[d].taps;
    for (int64_t o = 0; o < outer; ++o) {
      for (int64_t xo = 0; xo < out_len; ++xo) {
        double* dst = &next[(o * out_len + xo) * inner];
        for (int j = 0; j < k; ++j) {
          const double w = taps[d].weight[xo * k + j];
          if (w == 0) continue;
          const double* row = &cur[(o * in_len + taps[d].index[xo * k + j]) * inner];
          for (int64_t i = 0; i < inner; ++i) dst[i] += w * row[i];
        }
      }
    }
    cur = std::move(next);
    shape[d] = out_len;
  }
  T* out = y.data<T>();
  for (size_t i = 0; i < cur.size(); ++i) out[i] = static_cast<T>(cur[i]);
}

// tf_crop_and_resize: output points whose input coordinate leaves the input on any axis
// take the extrapolation value.
template <typename T>
void apply_extrapolation(Tensor& y, const std::vector<AxisTaps>& taps, double value) {
  const Shape& out = y.shape();
  const int64_t n = y.numel();
  if (n == 0) return;
  T* data = y.data<T>();
  std::vector<int64_t> idx(out.size(), 0);
  for (int64_t i = 0; i < n; ++i) {
    bool outside = false;
    for (size_t d = 0; d < out.size() && !outside; ++d) outside = taps[d].outside[idx[d]];
    if (outside) data[i] = static_cast<T>(value);
    for (size_t d = out.size(); d-- > 0;) {
      if (++idx[d] < out[d]) break;
      idx[d] = 0;
    }
  }
}

}  // namespace

ResizeTaps resize_taps(const ir::Node& node, int64_t opset, const Shape& in,
                       const std::vector<const Tensor*>& given) {
  const ResizeInputs inputs = given_inputs(node, opset, given);
  const ResizePlan plan = plan_resize(node, opset, in, inputs);
  ResizeTaps r;
  r.out = plan.out;
  r.nearest = plan.mode == Mode::kNearest;
  r.crop = plan.coord == Coord::kTfCropAndResize;
  r.extrapolation = plan.extrapolation;
  std::vector<double> roi_start(in.size(), 0.0), roi_end(in.size(), 1.0);
  if (r.crop) roi_of(node, inputs.roi, in, roi_start, roi_end);
  for (size_t d = 0; d < in.size(); ++d)
    r.axes.push_back(axis_taps(plan, in[d], plan.out[d], plan.scales[d], roi_start[d], roi_end[d]));
  return r;
}

namespace {

void ref_resize(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  std::vector<const Tensor*> given;
  for (size_t i = 0; i < ctx.num_inputs(); ++i)
    given.push_back(ctx.has_input(i) ? &ctx.input(i) : nullptr);
  const ResizeTaps r = resize_taps(ctx.node(), ctx.opset(), x.shape(), given);
  if (y.numel() == 0) return;
  const std::vector<AxisTaps>& taps = r.axes;

  if (r.nearest) {
    const auto strides = strides_of(x.shape());
    std::vector<std::vector<int64_t>> offsets(taps.size());
    for (size_t d = 0; d < taps.size(); ++d) {
      offsets[d].resize(static_cast<size_t>(y.shape()[d]));
      for (int64_t i = 0; i < y.shape()[d]; ++i)
        offsets[d][i] = taps[d].outside[i] ? kFillOffset : taps[d].index[i] * strides[d];
    }
    const auto fill = scalar_bytes(x.dtype(), r.extrapolation);
    copy_by_axis_offsets(y.raw(), x.raw(), dtype_size(x.dtype()), y.shape(), offsets, fill.data());
    return;
  }
  if (x.dtype() == DType::kF64) {
    resize_interpolate<double>(x, y, taps);
    if (r.crop) apply_extrapolation<double>(y, taps, r.extrapolation);
  } else {
    resize_interpolate<float>(x, y, taps);
    if (r.crop) apply_extrapolation<float>(y, taps, r.extrapolation);
  }
}

// Multiply-adds per output element: taps per resized axis (a separable approximation).
// roi, scales and sizes are not parameters.
Work resize_cost(const CostContext& c) {
  const std::string mode = c.node.attr_string("mode", "nearest");
  if (mode == "nearest") return {.params = 0};
  const int64_t taps = mode == "cubic" ? 4 : 2;
  int64_t resized = 0;
  for (size_t d = 0; d < c.in[0].size() && d < c.out[0].size(); ++d)
    resized += c.in[0][d] != c.out[0][d];
  return {.flops = 2 * taps * std::max<int64_t>(resized, 1) * shape_numel(c.out[0]), .params = 0};
}

}  // namespace

FRUGAL_REGISTER_OP(Resize, OpDef{.op_type = "Resize",
                                 .max_inputs = 4,
                                 .infer = infer_resize,
                                 .ref = ref_resize,
                                 .cost = resize_cost});
FRUGAL_REGISTER_OP(Upsample, OpDef{.op_type = "Upsample",
                                   .max_inputs = 2,
                                   .infer = infer_resize,
                                   .ref = ref_resize,
                                   .cost = resize_cost});

}  // namespace frugal::ops
