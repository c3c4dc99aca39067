// ConvTranspose: the adjoint of Conv (1-D, 2-D, 3-D) with groups, strides, dilations,
// pads, output_padding, output_shape and auto_pad. The reference kernel computes, per
// group and per bounded chunk of input positions, col = W_g^T x X_g (one row per output
// channel and kernel tap) and scatters col into the output (col2im).
#include <algorithm>
#include <vector>

#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/op.h"
#include "frugal/ops/ref_gemm.h"

namespace frugal::ops {
namespace {

constexpr int64_t kColBudget = int64_t{1} << 22;  // workspace elements, see conv.cpp

std::vector<int64_t> spatial_of(const Shape& s) {
  return {s.begin() + 2, s.end()};
}

void infer_conv_transpose(InferContext& ctx) {
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
  if (x[1] != w[0])
    ctx.fail("X has " + std::to_string(x[1]) + " channels but W " + shape_str(w) + " expects " +
             std::to_string(w[0]));
  if (x[1] % group != 0)
    ctx.fail("X has " + std::to_string(x[1]) + " channels, not a multiple of group " +
             std::to_string(group));
  std::vector<int64_t> kernel = spatial_of(w);
  if (ctx.node().has_attr("kernel_shape") && ctx.node().attr_ints("kernel_shape") != kernel)
    ctx.fail("kernel_shape attribute does not match W " + shape_str(w));
  const int64_t out_channels = w[1] * group;
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    const Shape& b = ctx.shape(2);
    if (b.size() != 1 || b[0] != out_channels)
      ctx.fail("bias B has shape " + shape_str(b) + ", expected " + std::to_string(out_channels));
  }
  WindowGeometry g = transposed_window(ctx.node(), spatial_of(x), kernel);
  if (g.rank() > 3) ctx.unsupported("more than 3 spatial dimensions");
  Shape y = {x[0], out_channels};
  y.insert(y.end(), g.out.begin(), g.out.end());
  ctx.set_output(0, ctx.dtype(0), y);
}

// Adds col (rows: out channel x kd x kh x kw; columns: input positions [p0, p0 + len)) into
// the group's output. Input position i and tap k land on output i * stride + k * dilation
// - pad_begin along each dimension, when that is inside the output.
template <typename T>
void col2im(const T* col, int64_t channels, const WindowGeometry& g, int64_t p0, int64_t len,
            T* y) {
  const int64_t IH = g.in[1], IW = g.in[2];
  const int64_t OD = g.out[0], OH = g.out[1], OW = g.out[2];
  const int64_t KD = g.kernel[0], KH = g.kernel[1], KW = g.kernel[2];
  const T* src = col;
  for (int64_t m = 0; m < channels; ++m) {
    T* ym = y + m * OD * OH * OW;
    for (int64_t kd = 0; kd < KD; ++kd)
      for (int64_t kh = 0; kh < KH; ++kh)
        for (int64_t kw = 0; kw < KW; ++kw, src += len) {
          int64_t id = p0 / (IH * IW), ih = (p0 / IW) % IH, iw = p0 % IW;
          for (int64_t q = 0; q < len;) {
            const int64_t run = std::min(IW - iw, len - q);
            const int64_t od = id * g.strides[0] - g.pad_begin[0] + kd * g.dilations[0];
            const int64_t oh = ih * g.strides[1] - g.pad_begin[1] + kh * g.dilations[1];
            if (od >= 0 && od < OD && oh >= 0 && oh < OH) {
              T* yrow = ym + (od * OH + oh) * OW;
              const int64_t sw = g.strides[2];
              int64_t ow = iw * sw - g.pad_begin[2] + kw * g.dilations[2];
              for (int64_t r = 0; r < run; ++r, ow += sw)
                if (ow >= 0 && ow < OW) yrow[ow] += src[q + r];
            }
            q += run;
            iw += run;
            if (iw == IW) {
              iw = 0;
              if (++ih == IH) {
                ih = 0;
                ++id;
              }
            }
          }
        }
  }
}

template <typename T>
void conv_transpose_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const Tensor& W = ctx.input(1);
  Tensor& Y = ctx.output(0);
  const WindowGeometry g = as_3d(
      ctx.node(), transposed_window(ctx.node(), spatial_of(X.shape()), spatial_of(W.shape())));
  const int64_t N = X.dim(0), C = X.dim(1);
  const int64_t group = ctx.node().attr_int("group", 1);
  const int64_t Cg = C / group, Mg = W.dim(1), M = Mg * group;
  const int64_t R = Mg * g.kernel_numel();  // rows of col: (output channel, tap)
  const int64_t P = g.out_numel(), Pin = g.in_numel();

  T* y = Y.data<T>();
  const T* bias = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m)
      std::fill(y + (n * M + m) * P, y + (n * M + m + 1) * P, bias ? bias[m] : T(0));
  if (R == 0 || Pin == 0 || Cg == 0 || P == 0) return;

  const int64_t chunk = std::clamp<int64_t>(kColBudget / R, 1, Pin);
  std::vector<T> col(static_cast<size_t>(R * chunk));
  const T* x = X.data<T>();
  const T* w = W.data<T>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t gi = 0; gi < group; ++gi) {
      const T* xg = x + (n * C + gi * Cg) * Pin;
      const T* wg = w + gi * Cg * R;  // Cg x R, read transposed
      T* yg = y + (n * M + gi * Mg) * P;
      for (int64_t p0 = 0; p0 < Pin; p0 += chunk) {
        const int64_t len = std::min(chunk, Pin - p0);
        std::fill(col.begin(), col.begin() + R * len, T(0));
        gemm_accumulate<T>(R, len, Cg, wg, 1, R, xg + p0, Pin, col.data(), len);
        col2im<T>(col.data(), Mg, g, p0, len, yg);
      }
    }
}

void ref_conv_transpose(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    conv_transpose_kernel<double>(ctx);
  } else {
    conv_transpose_kernel<float>(ctx);
  }
}

// MACs = N * C * in_spatial * (M / group) * prod(kernel) = |X| * prod(W.shape[1:]).
Work cost_conv_transpose(const CostContext& c) {
  Work w;
  int64_t per_input = 1;
  for (size_t d = 1; d < c.in[1].size(); ++d) per_input *= c.in[1][d];
  w.macs = shape_numel(c.in[0]) * per_input;
  if (c.in.size() > 2 && !c.in[2].empty()) w.flops = shape_numel(c.out[0]);  // bias adds
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(ConvTranspose, OpDef{.op_type = "ConvTranspose",
                                        .min_inputs = 2,
                                        .max_inputs = 3,
                                        .infer = infer_conv_transpose,
                                        .ref = ref_conv_transpose,
                                        .cost = cost_conv_transpose});

}  // namespace frugal::ops
