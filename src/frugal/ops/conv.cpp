// Conv: 1-D, 2-D and 3-D convolution with groups (depthwise included), dilations, strides,
// explicit or automatic pads and an optional bias. The reference kernel lowers each group
// to a matrix product: im2col of a bounded chunk of output positions into a workspace,
// then W_g [M/g x C/g*k] times col [C/g*k x chunk] straight into the output rows.
#include <algorithm>
#include <vector>

#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/op.h"
#include "frugal/ops/ref_gemm.h"

namespace frugal::ops {
namespace {

// Bounds the im2col workspace (elements): larger outputs are processed in column chunks.
constexpr int64_t kColBudget = int64_t{1} << 22;

std::vector<int64_t> spatial_of(const Shape& s) {
  return {s.begin() + 2, s.end()};
}

void infer_conv(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  ctx.require_same_dtype(0, 1);
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  if (x.size() < 3)
    ctx.fail("input X has shape " + shape_str(x) +
             ", expected N x C x D1 [x D2 [x D3]] (rank 3 to 5)");
  if (w.size() != x.size())
    ctx.fail("weight W has shape " + shape_str(w) + ", expected rank " + std::to_string(x.size()) +
             " like X " + shape_str(x));
  const int64_t group = ctx.node().attr_int("group", 1);
  if (group <= 0) ctx.fail("group " + std::to_string(group) + " must be positive");
  if (x[1] != w[1] * group)
    ctx.fail("X has " + std::to_string(x[1]) + " channels but W " + shape_str(w) + " with group " +
             std::to_string(group) + " expects " + std::to_string(w[1] * group));
  if (w[0] % group != 0)
    ctx.fail("W has " + std::to_string(w[0]) + " output channels, not a multiple of group " +
             std::to_string(group));
  std::vector<int64_t> kernel = spatial_of(w);
  if (ctx.node().has_attr("kernel_shape") && ctx.node().attr_ints("kernel_shape") != kernel)
    ctx.fail("kernel_shape attribute does not match W " + shape_str(w));
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    const Shape& b = ctx.shape(2);
    if (b.size() != 1 || b[0] != w[0])
      ctx.fail("bias B has shape " + shape_str(b) + ", expected " + std::to_string(w[0]));
  }
  WindowGeometry g = sliding_window(ctx.node(), spatial_of(x), kernel, false);
  if (g.rank() > 3) ctx.unsupported("more than 3 spatial dimensions");
  Shape y = {x[0], w[0]};
  y.insert(y.end(), g.out.begin(), g.out.end());
  ctx.set_output(0, ctx.dtype(0), y);
}

// Copies the receptive fields of output positions [p0, p0 + len) of one group's input
// (channels x ID x IH x IW) into col, one row per (channel, kd, kh, kw) tap.
template <typename T>
void im2col(const T* x, int64_t channels, const WindowGeometry& g, int64_t p0, int64_t len,
            T* col) {
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2];
  const int64_t OH = g.out[1], OW = g.out[2];
  const int64_t KD = g.kernel[0], KH = g.kernel[1], KW = g.kernel[2];
  T* dst = col;
  for (int64_t c = 0; c < channels; ++c) {
    const T* xc = x + c * ID * IH * IW;
    for (int64_t kd = 0; kd < KD; ++kd)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw, dst += len) {
          int64_t od = p0 / (OH * OW), oh = (p0 / OW) % OH, ow = p0 % OW;
          for (int64_t q = 0; q < len;) {
            const int64_t run = std::min(OW - ow, len - q);
            const int64_t id = od * g.strides[0] - g.pad_begin[0] + kd * g.dilations[0];
            const int64_t ih = oh * g.strides[1] - g.pad_begin[1] + kh * g.dilations[1];
            if (id < 0 || id >= ID || ih < 0 || ih >= IH) {
              std::fill(dst + q, dst + q + run, T(0));
            } else {
              const T* xrow = xc + (id * IH + ih) * IW;
              const int64_t sw = g.strides[2];
              int64_t iw = ow * sw - g.pad_begin[2] + kw * g.dilations[2];
              for (int64_t r = 0; r < run; ++r, iw += sw)
                dst[q + r] = (iw >= 0 && iw < IW) ? xrow[iw] : T(0);
            }
            q += run;
            ow += run;
            if (ow == OW) {
              ow = 0;
              if (++oh == OH) {
                oh = 0;
                ++od;
              }
            }
          }
        }
  }
}

template <typename T>
void conv_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  Tensor& Y = ctx.output(0);
  const WindowGeometry g = as_3d(
      ctx.node(), sliding_window(ctx.node(), spatial_of(X.shape()), spatial_of(W.shape()), false));
  const int64_t N = X.dim(0), C = X.dim(1), M = W.dim(0);
  const int64_t group = ctx.node().attr_int("group", 1);
  const int64_t Cg = C / group, Mg = M / group;
  const int64_t K = Cg * g.kernel_numel();  // one output's multiply-accumulates
  const int64_t P = g.out_numel(), Pin = g.in_numel();

  T* y = Y.data<T>();
  const T* bias = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      std::fill(y + (n * M + m) * P, y + (n * M + m + 1) * P, bias ? bias[m] : T(0));
  if (K == 0 || P == 0) return;

  bool pointwise = true;  // 1x1 kernel, stride 1, no pads: the input already is col
  for (size_t d = 0; d < 3; ++d)
    pointwise = pointwise && g.kernel[d] == 1 && g.strides[d] == 1 && g.pad_begin[d] == 0 &&
                g.pad_end[d] == 0;
  const int64_t chunk = std::clamp<int64_t>(kColBudget / K, 1, P);
  std::vector<T> col(pointwise ? 0 : static_cast<size_t>(K * chunk));

  const T* x = X.data<T>();
  const T* w = W.data<T>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const T* xg = x + (n * C + gi * Cg) * Pin;
      const T* wg = w + gi * Mg * K;
      T* yg = y + (n * M + gi * Mg) * P;
      for (int64_t p0 = 0; p0 < P; p0 += chunk) {
        const int64_t len = std::min(chunk, P - p0);
        if (pointwise) {
          gemm_accumulate<T>(Mg, len, K, wg, K, 1, xg + p0, Pin, yg + p0, P);
        } else {
          im2col<T>(xg, Cg, g, p0, len, col.data());
          gemm_accumulate<T>(Mg, len, K, wg, K, 1, col.data(), len, yg + p0, P);
        }
      }
    }
}

void ref_conv(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    conv_kernel<double>(ctx);
  } else {
    conv_kernel<float>(ctx);
  }
}

// MACs = N * M * out_spatial * (C / group) * prod(kernel) = |Y| * prod(W.shape[1:]).
Work cost_conv(const CostContext& c) {
  Work w;
  int64_t per_output = 1;
  for (size_t d = 1; d < c.in[1].size(); ++d) per_output *= c.in[1][d];
  w.macs = shape_numel(c.out[0]) * per_output;
  if (c.in.size() > 2 && !c.in[2].empty()) w.flops = shape_numel(c.out[0]);  // bias adds
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(Conv, OpDef{.op_type = "Conv",
                               .min_inputs = 2,
                               .max_inputs = 3,
                               .infer = infer_conv,
                               .ref = ref_conv,
                               .cost = cost_conv});

}  // namespace frugal::ops
