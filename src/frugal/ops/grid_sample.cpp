// GridSample (opset 16): samples X [N, C, H, W] at the normalized locations of grid
// [N, H_out, W_out, 2] ((x, y) in [-1, 1]; -1 is the left/top edge, or with
// align_corners=1 the centre of the first pixel), giving [N, C, H_out, W_out].
// mode: bilinear (default), nearest (halves to even) or bicubic (A = -0.75);
// padding_mode for locations outside X: zeros (default), border (clamp) or reflection.
// The conventions are those of PyTorch's grid_sample, which ONNX adopted: bilinear and
// nearest pad the sampling location, bicubic pads each of its 16 taps.
#include <array>
#include <cmath>

#include "frugal/ops/elementwise.h"
#include "frugal/ops/quantize_math.h"

namespace frugal::ops {
namespace {

enum class Mode { kBilinear, kNearest, kBicubic };
enum class Padding { kZeros, kBorder, kReflection };

struct Options {
  Mode mode = Mode::kBilinear;
  Padding padding = Padding::kZeros;
  bool align_corners = false;
};

Options options_of(const ir::Node& node) {
  Options o;
  const std::string mode = node.attr_string("mode", "bilinear");
  if (mode == "nearest")
    o.mode = Mode::kNearest;
  else if (mode == "bicubic")
    o.mode = Mode::kBicubic;
  else if (mode != "bilinear")
    throw UserError(node.describe() + ": mode '" + mode + "' must be bilinear, nearest or bicubic");
  const std::string pad = node.attr_string("padding_mode", "zeros");
  if (pad == "border")
    o.padding = Padding::kBorder;
  else if (pad == "reflection")
    o.padding = Padding::kReflection;
  else if (pad != "zeros")
    throw UserError(node.describe() + ": padding_mode '" + pad +
                    "' must be zeros, border or reflection");
  o.align_corners = node.attr_int("align_corners", 0) != 0;
  return o;
}

void infer_grid_sample(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  ctx.require_same_dtype(0, 1);
  options_of(ctx.node());
  const Shape& x = ctx.shape(0);
  const Shape& g = ctx.shape(1);
  if (x.size() != 4) ctx.fail("X has shape " + shape_str(x) + ", expected N x C x H x W");
  if (g.size() != 4 || g[0] != x[0] || g[3] != 2)
    ctx.fail("grid has shape " + shape_str(g) + ", expected " + std::to_string(x[0]) +
             " x H_out x W_out x 2");
  ctx.set_output(0, ctx.dtype(0), {x[0], x[1], g[1], g[2]});
}

// Normalized coordinate -> pixel coordinate.
double unnormalize(double c, int64_t size, bool align_corners) {
  return align_corners ? (c + 1) / 2 * double(size - 1) : ((c + 1) * double(size) - 1) / 2;
}

// Reflects c into [low, high] (given doubled, so that half-pixel bounds stay integers).
double reflect(double c, int64_t twice_low, int64_t twice_high) {
  if (twice_low == twice_high) return 0;
  const double low = double(twice_low) / 2, span = double(twice_high - twice_low) / 2;
  c = std::fabs(c - low);
  const double extra = std::fmod(c, span);
  const bool even_flips = std::fmod(std::floor(c / span), 2.0) == 0;
  return even_flips ? low + extra : low + span - extra;
}

// Applies border or reflection padding to a pixel coordinate.
double pad_coordinate(double c, int64_t size, const Options& o) {
  if (o.padding == Padding::kZeros) return c;
  if (o.padding == Padding::kReflection)
    c = o.align_corners ? reflect(c, 0, 2 * (size - 1)) : reflect(c, -1, 2 * size - 1);
  return std::min(double(size - 1), std::max(c, 0.0));
}

double cubic_near(double t, double a) {  // |t| <= 1
  return ((a + 2) * t - (a + 3)) * t * t + 1;
}
double cubic_far(double t, double a) {  // 1 < |t| < 2
  return ((a * t - 5 * a) * t + 8 * a) * t - 4 * a;
}
std::array<double, 4> cubic_weights(double t) {
  constexpr double kA = -0.75;
  return {cubic_far(t + 1, kA), cubic_near(t, kA), cubic_near(1 - t, kA), cubic_far(2 - t, kA)};
}

template <typename T>
void grid_sample_kernel(KernelContext& ctx) {
  const Options o = options_of(ctx.node());
  const Tensor& X = ctx.input(0);
  const Tensor& G = ctx.input(1);
  Tensor& Y = ctx.output(0);
  const int64_t N = X.dim(0), C = X.dim(1), H = X.dim(2), W = X.dim(3);
  const int64_t HO = G.dim(1), WO = G.dim(2);
  const T* x = X.data<T>();
  const T* grid = G.data<T>();
  T* y = Y.data<T>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c) {
      const T* plane = x + (n * C + c) * H * W;
      // Out-of-range pixels read as 0 (zeros padding, and bilinear taps beyond a border).
      // Coordinates are whole numbers held in doubles, range-checked before conversion.
      auto pixel = [&](double yy, double xx) -> double {
        if (!(yy >= 0 && yy < double(H) && xx >= 0 && xx < double(W))) return 0.0;
        return double(plane[static_cast<int64_t>(yy) * W + static_cast<int64_t>(xx)]);
      };
      for (int64_t i = 0; i < HO * WO; ++i) {
        const T* g = grid + (n * HO * WO + i) * 2;
        double gx = unnormalize(double(g[0]), W, o.align_corners);
        double gy = unnormalize(double(g[1]), H, o.align_corners);
        double v = 0;
        if (!std::isfinite(gx) || !std::isfinite(gy)) {
          v = 0;  // NaN or infinite grid values sample nothing
        } else if (o.mode == Mode::kBicubic) {
          const double fx = std::floor(gx), fy = std::floor(gy);
          const auto wx = cubic_weights(gx - fx), wy = cubic_weights(gy - fy);
          for (int j = 0; j < 4; ++j)
            for (int k = 0; k < 4; ++k) {
              const double ty = pad_coordinate(fy - 1 + j, H, o);
              const double tx = pad_coordinate(fx - 1 + k, W, o);
              v += wy[j] * wx[k] * pixel(ty, tx);
            }
        } else {
          gx = pad_coordinate(gx, W, o);
          gy = pad_coordinate(gy, H, o);
          if (o.mode == Mode::kNearest) {
            v = pixel(quant::round_half_even(gy), quant::round_half_even(gx));
          } else {
            const double x0 = std::floor(gx), y0 = std::floor(gy);
            const double lx = gx - x0, ly = gy - y0;
            v = (1 - ly) * ((1 - lx) * pixel(y0, x0) + lx * pixel(y0, x0 + 1)) +
                ly * ((1 - lx) * pixel(y0 + 1, x0) + lx * pixel(y0 + 1, x0 + 1));
          }
        }
        y[(n * C + c) * HO * WO + i] = static_cast<T>(v);
      }
    }
}

void ref_grid_sample(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64)
    grid_sample_kernel<double>(ctx);
  else
    grid_sample_kernel<float>(ctx);
}

// Bilinear: 4 taps, about 8 flops per output; bicubic 16 taps.
Work cost_grid_sample(const CostContext& c) {
  Work w;
  const bool cubic = c.node.attr_string("mode", "bilinear") == "bicubic";
  w.flops = shape_numel(c.out[0]) * (cubic ? 40 : 10);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(GridSample, OpDef{.op_type = "GridSample",
                                     .min_inputs = 2,
                                     .max_inputs = 2,
                                     .infer = infer_grid_sample,
                                     .ref = ref_grid_sample,
                                     .cost = cost_grid_sample});

}  // namespace frugal::ops
