// Integer convolution and matrix product, the ground truth for int8 kernels:
//   ConvInteger, MatMulInteger: int32 = sum (x - x_zero) * (w - w_zero)
//   QLinearConv, QLinearMatMul: the same sum (plus QLinearConv's int32 bias), requantized:
//     y = saturate(round_half_even(acc * x_scale * w_scale / y_scale) + y_zero)
// Operands are uint8 or int8; zero points are per tensor, per output channel (weights),
// per row of A or per column of B. Products are exact; the int32 accumulation wraps
// modulo 2^32 as the spec allows, never invoking undefined behaviour.
#include <algorithm>
#include <vector>

#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/op.h"
#include "frugal/ops/quantize_math.h"
#include "frugal/ops/ref_gemm.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

std::string dt(DType t) {
  return std::string(dtype_name(t));
}

// Accepts uint8 or int8 for input i; other dtypes are invalid models.
void require_8bit(const InferContext& ctx, size_t i, const char* what) {
  const DType t = ctx.dtype(i);
  if (t != DType::kU8 && t != DType::kI8)
    ctx.fail(std::string(what) + " has dtype " + dt(t) + ", expected uint8 or int8");
}

// Input i (optional when `optional`) holds one value, or `per` values when per > 0.
void require_count(const InferContext& ctx, size_t i, const char* what, int64_t per) {
  const Shape& s = ctx.shape(i);
  const int64_t n = shape_numel(s);
  if (s.size() > 1 || (n != 1 && n != per))
    ctx.fail(std::string(what) + " has shape " + shape_str(s) + ", expected one value" +
             (per > 0 ? " or " + std::to_string(per) + " (1-D)" : std::string()));
}

void require_float_scale(const InferContext& ctx, size_t i, const char* what) {
  if (ctx.dtype(i) != DType::kF32)
    ctx.fail(std::string(what) + " has dtype " + dt(ctx.dtype(i)) + ", expected float32");
}

// Values of a small integer or float tensor (scales, zero points) as int32 / double.
std::vector<int32_t> ints_of(const KernelContext& ctx, size_t i) {
  if (!ctx.has_input(i)) return {0};
  std::vector<int32_t> v;
  for (int64_t x : ctx.input(i).to_int64()) v.push_back(static_cast<int32_t>(x));
  return v;
}
std::vector<double> doubles_of(const KernelContext& ctx, size_t i) {
  return ctx.input(i).to_double();
}

int32_t wrap_to_int32(uint32_t v) {
  return static_cast<int32_t>(v);  // modular since C++20
}

// ---------------------------------------------------------------- convolution

struct ConvShapes {
  int64_t n = 0, c = 0, m = 0, group = 1;
  WindowGeometry g;  // as given (for the output shape)
};

ConvShapes conv_shapes(const InferContext& ctx, size_t x_in, size_t w_in) {
  const Shape& x = ctx.shape(x_in);
  const Shape& w = ctx.shape(w_in);
  if (x.size() < 3) ctx.fail("input x has shape " + shape_str(x) + ", expected N x C x D1 ...");
  if (w.size() != x.size())
    ctx.fail("weight w has shape " + shape_str(w) + ", expected rank " + std::to_string(x.size()));
  ConvShapes s;
  s.group = ctx.node().attr_int("group", 1);
  if (s.group <= 0) ctx.fail("group " + std::to_string(s.group) + " must be positive");
  if (x[1] != w[1] * s.group)
    ctx.fail("x has " + std::to_string(x[1]) + " channels but w " + shape_str(w) + " with group " +
             std::to_string(s.group) + " expects " + std::to_string(w[1] * s.group));
  if (w[0] % s.group != 0)
    ctx.fail("w has " + std::to_string(w[0]) + " output channels, not a multiple of group " +
             std::to_string(s.group));
  const std::vector<int64_t> kernel(w.begin() + 2, w.end());
  if (ctx.node().has_attr("kernel_shape") && ctx.node().attr_ints("kernel_shape") != kernel)
    ctx.fail("kernel_shape attribute does not match w " + shape_str(w));
  s.n = x[0];
  s.c = x[1];
  s.m = w[0];
  s.g = sliding_window(ctx.node(), {x.begin() + 2, x.end()}, kernel, false);
  if (s.g.rank() > 3) ctx.unsupported("more than 3 spatial dimensions");
  return s;
}

Shape conv_output_shape(const ConvShapes& s) {
  Shape y = {s.n, s.m};
  y.insert(y.end(), s.g.out.begin(), s.g.out.end());
  return y;
}

// First and one-past-last output index o along a dimension whose input index
// o * stride + offset falls inside [0, size).
std::pair<int64_t, int64_t> valid_range(int64_t out, int64_t stride, int64_t offset, int64_t size) {
  int64_t lo = 0;
  if (offset < 0) lo = (-offset + stride - 1) / stride;
  int64_t hi = offset >= size ? 0 : (size - 1 - offset) / stride + 1;
  hi = std::min(hi, out);
  return {lo, std::max(lo, hi)};
}

// acc[n, m, out] = sum over (c, kernel taps) of (x - x_zero) * (w - w_zero[m]), padding
// contributing 0. Accumulates in uint32 so that overflow wraps instead of being undefined.
template <typename X, typename W>
void conv_accumulate(const Tensor& xt, int32_t x_zero, const Tensor& wt,
                     const std::vector<int32_t>& w_zero, const WindowGeometry& g3, int64_t group,
                     std::vector<uint32_t>& acc) {
  const X* x = xt.data<X>();
  const W* w = wt.data<W>();
  const int64_t N = xt.dim(0), C = xt.dim(1), M = wt.dim(0);
  const int64_t Cg = C / group, Mg = M / group;
  const int64_t ID = g3.in[0], IH = g3.in[1], IW = g3.in[2];
  const int64_t OD = g3.out[0], OH = g3.out[1], OW = g3.out[2];
  const int64_t KD = g3.kernel[0], KH = g3.kernel[1], KW = g3.kernel[2];
  const int64_t in_sp = ID * IH * IW, out_sp = OD * OH * OW;
  acc.assign(static_cast<size_t>(N * M * out_sp), 0u);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const int64_t grp = m / Mg;
      const int32_t wz = w_zero.size() == 1 ? w_zero[0] : w_zero[static_cast<size_t>(m)];
      uint32_t* y = acc.data() + (n * M + m) * out_sp;
      for (int64_t c = 0; c < Cg; ++c) {
        const X* xc = x + (n * C + grp * Cg + c) * in_sp;
        const W* wc = w + (m * Cg + c) * KD * KH * KW;
        for (int64_t kd = 0; kd < KD; ++kd)
          for (int64_t kh = 0; kh < KH; ++kh)
            for (int64_t kw = 0; kw < KW; ++kw) {
              const uint32_t wv = static_cast<uint32_t>(int32_t(wc[(kd * KH + kh) * KW + kw]) - wz);
              if (wv == 0) continue;
              const auto [d0, d1] =
                  valid_range(OD, g3.strides[0], kd * g3.dilations[0] - g3.pad_begin[0], ID);
              const auto [h0, h1] =
                  valid_range(OH, g3.strides[1], kh * g3.dilations[1] - g3.pad_begin[1], IH);
              const int64_t w_off = kw * g3.dilations[2] - g3.pad_begin[2];
              const auto [w0, w1] = valid_range(OW, g3.strides[2], w_off, IW);
              for (int64_t od = d0; od < d1; ++od)
                for (int64_t oh = h0; oh < h1; ++oh) {
                  const int64_t id = od * g3.strides[0] + kd * g3.dilations[0] - g3.pad_begin[0];
                  const int64_t ih = oh * g3.strides[1] + kh * g3.dilations[1] - g3.pad_begin[1];
                  const X* xrow = xc + (id * IH + ih) * IW;
                  uint32_t* yrow = y + (od * OH + oh) * OW;
                  for (int64_t ow = w0; ow < w1; ++ow)
                    yrow[ow] += wv * static_cast<uint32_t>(
                                         int32_t(xrow[ow * g3.strides[2] + w_off]) - x_zero);
                }
            }
      }
    }
}

template <typename X>
void conv_accumulate_w(const Tensor& x, int32_t x_zero, const Tensor& w,
                       const std::vector<int32_t>& w_zero, const WindowGeometry& g3, int64_t group,
                       std::vector<uint32_t>& acc) {
  if (w.dtype() == DType::kU8)
    conv_accumulate<X, uint8_t>(x, x_zero, w, w_zero, g3, group, acc);
  else
    conv_accumulate<X, int8_t>(x, x_zero, w, w_zero, g3, group, acc);
}

// Runs the integer convolution of the kernel context's x and w (inputs x_in, w_in).
std::vector<uint32_t> conv_kernel(const KernelContext& ctx, size_t x_in, size_t w_in,
                                  int32_t x_zero, const std::vector<int32_t>& w_zero,
                                  const Shape& y_shape) {
  const Tensor& x = ctx.input(x_in);
  const Tensor& w = ctx.input(w_in);
  const std::vector<int64_t> kernel(w.shape().begin() + 2, w.shape().end());
  WindowGeometry g =
      sliding_window(ctx.node(), {x.shape().begin() + 2, x.shape().end()}, kernel, false);
  const WindowGeometry g3 = as_3d(ctx.node(), g);
  FRUGAL_CHECK(shape_numel(y_shape) == x.dim(0) * w.dim(0) * g3.out_numel(), "conv output size");
  const int64_t group = ctx.node().attr_int("group", 1);
  std::vector<uint32_t> acc;
  if (x.dtype() == DType::kU8)
    conv_accumulate_w<uint8_t>(x, x_zero, w, w_zero, g3, group, acc);
  else
    conv_accumulate_w<int8_t>(x, x_zero, w, w_zero, g3, group, acc);
  return acc;
}

void infer_conv_integer(InferContext& ctx) {
  require_8bit(ctx, 0, "x");
  require_8bit(ctx, 1, "w");
  const ConvShapes s = conv_shapes(ctx, 0, 1);
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    require_count(ctx, 2, "x_zero_point", 0);
  }
  if (ctx.has_input(3)) {
    ctx.require_same_dtype(1, 3);
    require_count(ctx, 3, "w_zero_point", s.m);
  }
  ctx.set_output(0, DType::kI32, conv_output_shape(s));
}

void ref_conv_integer(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const std::vector<uint32_t> acc =
      conv_kernel(ctx, 0, 1, ints_of(ctx, 2)[0], ints_of(ctx, 3), y.shape());
  int32_t* py = y.data<int32_t>();
  for (size_t i = 0; i < acc.size(); ++i) py[i] = wrap_to_int32(acc[i]);
}

// QLinearConv inputs: x, x_scale, x_zero_point, w, w_scale, w_zero_point, y_scale,
// y_zero_point, B.
void infer_qlinear_conv(InferContext& ctx) {
  require_8bit(ctx, 0, "x");
  require_8bit(ctx, 3, "w");
  require_8bit(ctx, 7, "y_zero_point");
  const ConvShapes s = conv_shapes(ctx, 0, 3);
  for (size_t i : {1, 4, 6}) require_float_scale(ctx, i, "scale");
  require_count(ctx, 1, "x_scale", 0);
  require_count(ctx, 6, "y_scale", 0);
  require_count(ctx, 4, "w_scale", s.m);
  ctx.require_same_dtype(0, 2);
  require_count(ctx, 2, "x_zero_point", 0);
  ctx.require_same_dtype(3, 5);
  require_count(ctx, 5, "w_zero_point", s.m);
  require_count(ctx, 7, "y_zero_point", 0);
  if (ctx.has_input(8)) {
    if (ctx.dtype(8) != DType::kI32)
      ctx.fail("bias B has dtype " + dt(ctx.dtype(8)) + ", expected int32");
    if (ctx.shape(8) != Shape{s.m})
      ctx.fail("bias B has shape " + shape_str(ctx.shape(8)) + ", expected " + std::to_string(s.m));
  }
  ctx.set_output(0, ctx.dtype(7), conv_output_shape(s));
}

template <typename Q>
void requantize_conv(const KernelContext& ctx, const std::vector<uint32_t>& acc) {
  Tensor& y = ctx.output(0);
  const int64_t N = y.dim(0), M = y.dim(1);
  const int64_t out_sp = N * M == 0 ? 0 : y.numel() / (N * M);
  const double x_scale = doubles_of(ctx, 1)[0], y_scale = doubles_of(ctx, 6)[0];
  const std::vector<double> w_scale = doubles_of(ctx, 4);
  const int64_t y_zero = ints_of(ctx, 7)[0];
  const int32_t* bias = ctx.has_input(8) ? ctx.input(8).data<int32_t>() : nullptr;
  Q* py = y.data<Q>();
  for (int64_t n = 0; n < N; ++n)
    for (int64_t m = 0; m < M; ++m) {
      const double mult = x_scale * w_scale[w_scale.size() == 1 ? 0 : m] / y_scale;
      const uint32_t b = bias ? static_cast<uint32_t>(bias[m]) : 0u;
      const int64_t base = (n * M + m) * out_sp;
      for (int64_t i = 0; i < out_sp; ++i)
        py[base + i] = quant::requantize<Q>(wrap_to_int32(acc[base + i] + b), mult, y_zero);
    }
}

void ref_qlinear_conv(KernelContext& ctx) {
  const std::vector<uint32_t> acc =
      conv_kernel(ctx, 0, 3, ints_of(ctx, 2)[0], ints_of(ctx, 5), ctx.output(0).shape());
  if (ctx.output(0).dtype() == DType::kU8)
    requantize_conv<uint8_t>(ctx, acc);
  else
    requantize_conv<int8_t>(ctx, acc);
}

// MACs = |Y| * (C / group) * kernel size: the weight's elements per output channel.
Work cost_conv(const CostContext& c, size_t w_in) {
  Work w;
  const Shape& ws = c.in[w_in];
  if (ws.empty() || ws[0] == 0) return w;
  w.macs = shape_numel(c.out[0]) * (shape_numel(ws) / ws[0]);
  return w;
}

// ---------------------------------------------------------------- matrix product

// The operands as batched matrices (numpy MatMul semantics: a 1-D A is a row, a 1-D B a
// column, the added dimension dropped from the result).
struct MatShapes {
  Shape a_batch, b_batch, out;
  int64_t m = 1, k = 1, n = 1;
};

template <typename Ctx>
MatShapes mat_shapes(const Ctx& ctx, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    ctx.fail("operands must have rank >= 1, got " + shape_str(a) + " and " + shape_str(b));
  MatShapes s;
  s.m = a.size() == 1 ? 1 : a[a.size() - 2];
  s.k = a.back();
  s.n = b.size() == 1 ? 1 : b.back();
  const int64_t kb = b.size() == 1 ? b[0] : b[b.size() - 2];
  if (s.k != kb) ctx.fail("inner dimensions differ: A " + shape_str(a) + " and B " + shape_str(b));
  if (a.size() > 1) s.a_batch.assign(a.begin(), a.end() - 2);
  if (b.size() > 1) s.b_batch.assign(b.begin(), b.end() - 2);
  return s;
}

Shape mat_output_shape(const InferContext& ctx, const MatShapes& s, const Shape& a,
                       const Shape& b) {
  Shape out = broadcast_shapes(ctx, {s.a_batch, s.b_batch});
  if (a.size() != 1) out.push_back(s.m);
  if (b.size() != 1) out.push_back(s.n);
  return out;
}

// The shape a zero point is broadcast against: A with its K dimension set to 1 (one value
// per row), or B with its K dimension set to 1 (one value per column). A 1-D per-row zero
// point [M] is read as [M, 1].
Shape zero_point_target(const Shape& operand, bool rows) {
  Shape t = operand;
  if (t.size() == 1) return {1};
  t[t.size() - (rows ? 1 : 2)] = 1;
  return t;
}
Shape zero_point_shape(const Shape& zp, const Shape& operand, bool rows) {
  if (rows && zp.size() == 1 && operand.size() >= 2 && zp[0] == operand[operand.size() - 2] &&
      zp[0] != 1)
    return {zp[0], 1};
  return zp;
}

void check_zero_point(const InferContext& ctx, size_t zp_in, size_t operand_in, bool rows) {
  ctx.require_same_dtype(operand_in, zp_in);
  const Shape& op = ctx.shape(operand_in);
  const Shape zp = zero_point_shape(ctx.shape(zp_in), op, rows);
  const Shape target = zero_point_target(op, rows);
  bool ok = shape_numel(zp) == 1 || zp.size() <= target.size();
  for (size_t i = 0; ok && i < zp.size(); ++i) {
    const int64_t d = zp[zp.size() - 1 - i], t = target[target.size() - 1 - i];
    ok = d == t || d == 1;
  }
  if (!ok)
    ctx.fail("zero point " + shape_str(ctx.shape(zp_in)) + " does not give one value per " +
             (rows ? "row of A " : "column of B ") + shape_str(op));
}

// operand - zero point, as int32, laid out like the operand.
template <typename T>
std::vector<int32_t> centered(const Tensor& operand, const Tensor* zero, bool rows) {
  const T* p = operand.data<T>();
  std::vector<int32_t> out(static_cast<size_t>(operand.numel()));
  if (!zero || zero->numel() == 1) {
    const int32_t z = zero ? static_cast<int32_t>(zero->to_int64()[0]) : 0;
    for (size_t i = 0; i < out.size(); ++i) out[i] = int32_t(p[i]) - z;
    return out;
  }
  const Shape target = zero_point_target(operand.shape(), rows);
  const Shape zs = zero_point_shape(zero->shape(), operand.shape(), rows);
  std::vector<int32_t> zt(static_cast<size_t>(shape_numel(target)));
  const T* pz = zero->data<T>();
  for_each_broadcast(target, {zs}, [&](int64_t i, const int64_t* off) { zt[i] = pz[off[0]]; });
  // Expand the per-row / per-column values over the operand.
  for_each_broadcast(operand.shape(), {target},
                     [&](int64_t i, const int64_t* off) { out[i] = int32_t(p[i]) - zt[off[0]]; });
  return out;
}

std::vector<int32_t> centered_8bit(const Tensor& operand, const Tensor* zero, bool rows) {
  if (operand.dtype() == DType::kU8) return centered<uint8_t>(operand, zero, rows);
  return centered<int8_t>(operand, zero, rows);
}

// acc = (A - a_zero) x (B - b_zero), int32 with wrap-around, shaped like the output.
std::vector<int32_t> matmul_accumulate(const KernelContext& ctx, size_t a_in, size_t a_zero,
                                       size_t b_in, size_t b_zero, const Shape& out) {
  const Tensor& A = ctx.input(a_in);
  const Tensor& B = ctx.input(b_in);
  const MatShapes s = mat_shapes(ctx, A.shape(), B.shape());
  const std::vector<int32_t> a =
      centered_8bit(A, ctx.has_input(a_zero) ? &ctx.input(a_zero) : nullptr, true);
  const std::vector<int32_t> b =
      centered_8bit(B, ctx.has_input(b_zero) ? &ctx.input(b_zero) : nullptr, false);
  const size_t kept = (A.rank() != 1) + (B.rank() != 1);
  const Shape batch(out.begin(), out.end() - static_cast<std::ptrdiff_t>(kept));
  std::vector<int32_t> y(static_cast<size_t>(shape_numel(out)), 0);
  const int64_t a_mat = s.m * s.k, b_mat = s.k * s.n, y_mat = s.m * s.n;
  for_each_broadcast(batch, {s.a_batch, s.b_batch}, [&](int64_t i, const int64_t* off) {
    gemm_accumulate<int32_t>(s.m, s.n, s.k, a.data() + off[0] * a_mat, s.k, 1,
                             b.data() + off[1] * b_mat, s.n, y.data() + i * y_mat, s.n);
  });
  return y;
}

void infer_matmul_integer(InferContext& ctx) {
  require_8bit(ctx, 0, "A");
  require_8bit(ctx, 1, "B");
  const Shape& a = ctx.shape(0);
  const Shape& b = ctx.shape(1);
  const MatShapes s = mat_shapes(ctx, a, b);
  if (ctx.has_input(2)) check_zero_point(ctx, 2, 0, true);
  if (ctx.has_input(3)) check_zero_point(ctx, 3, 1, false);
  ctx.set_output(0, DType::kI32, mat_output_shape(ctx, s, a, b));
}

void ref_matmul_integer(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const std::vector<int32_t> acc = matmul_accumulate(ctx, 0, 2, 1, 3, y.shape());
  std::copy(acc.begin(), acc.end(), y.data<int32_t>());
}

// QLinearMatMul inputs: a, a_scale, a_zero_point, b, b_scale, b_zero_point, y_scale,
// y_zero_point. Scales and zero points of A are per tensor or per row ([M]), of B per
// tensor or per column ([N]).
void infer_qlinear_matmul(InferContext& ctx) {
  require_8bit(ctx, 0, "a");
  require_8bit(ctx, 3, "b");
  require_8bit(ctx, 7, "y_zero_point");
  const Shape& a = ctx.shape(0);
  const Shape& b = ctx.shape(3);
  const MatShapes s = mat_shapes(ctx, a, b);
  for (size_t i : {1, 4, 6}) require_float_scale(ctx, i, "scale");
  ctx.require_same_dtype(0, 2);
  ctx.require_same_dtype(3, 5);
  require_count(ctx, 1, "a_scale", s.m);
  require_count(ctx, 2, "a_zero_point", s.m);
  require_count(ctx, 4, "b_scale", s.n);
  require_count(ctx, 5, "b_zero_point", s.n);
  require_count(ctx, 6, "y_scale", 0);
  require_count(ctx, 7, "y_zero_point", 0);
  ctx.set_output(0, ctx.dtype(7), mat_output_shape(ctx, s, a, b));
}

template <typename Q>
void requantize_matmul(const KernelContext& ctx, const std::vector<int32_t>& acc) {
  Tensor& y = ctx.output(0);
  const MatShapes s = mat_shapes(ctx, ctx.input(0).shape(), ctx.input(3).shape());
  const std::vector<double> as = doubles_of(ctx, 1), bs = doubles_of(ctx, 4);
  const double ys = doubles_of(ctx, 6)[0];
  const int64_t y_zero = ints_of(ctx, 7)[0];
  Q* py = y.data<Q>();
  const int64_t mats = s.m * s.n == 0 ? 0 : y.numel() / (s.m * s.n);
  for (int64_t t = 0; t < mats; ++t)
    for (int64_t i = 0; i < s.m; ++i)
      for (int64_t j = 0; j < s.n; ++j) {
        const double mult = as[as.size() == 1 ? 0 : i] * bs[bs.size() == 1 ? 0 : j] / ys;
        const size_t o = static_cast<size_t>((t * s.m + i) * s.n + j);
        py[o] = quant::requantize<Q>(acc[o], mult, y_zero);
      }
}

void ref_qlinear_matmul(KernelContext& ctx) {
  const std::vector<int32_t> acc = matmul_accumulate(ctx, 0, 2, 3, 5, ctx.output(0).shape());
  if (ctx.output(0).dtype() == DType::kU8)
    requantize_matmul<uint8_t>(ctx, acc);
  else
    requantize_matmul<int8_t>(ctx, acc);
}

// MACs = |Y| * K.
Work cost_matmul(const CostContext& c, size_t a_in) {
  Work w;
  w.macs = shape_numel(c.out[0]) * (c.in[a_in].empty() ? 0 : c.in[a_in].back());
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(ConvInteger,
                   OpDef{.op_type = "ConvInteger",
                         .min_inputs = 2,
                         .max_inputs = 4,
                         .infer = infer_conv_integer,
                         .ref = ref_conv_integer,
                         .cost = [](const CostContext& c) { return cost_conv(c, 1); }});
FRUGAL_REGISTER_OP(QLinearConv,
                   OpDef{.op_type = "QLinearConv",
                         .min_inputs = 8,
                         .max_inputs = 9,
                         .infer = infer_qlinear_conv,
                         .ref = ref_qlinear_conv,
                         .cost = [](const CostContext& c) { return cost_conv(c, 3); }});
FRUGAL_REGISTER_OP(MatMulInteger,
                   OpDef{.op_type = "MatMulInteger",
                         .min_inputs = 2,
                         .max_inputs = 4,
                         .infer = infer_matmul_integer,
                         .ref = ref_matmul_integer,
                         .cost = [](const CostContext& c) { return cost_matmul(c, 0); }});
FRUGAL_REGISTER_OP(QLinearMatMul,
                   OpDef{.op_type = "QLinearMatMul",
                         .min_inputs = 8,
                         .max_inputs = 8,
                         .infer = infer_qlinear_matmul,
                         .ref = ref_qlinear_matmul,
                         .cost = [](const CostContext& c) { return cost_matmul(c, 0); }});

}  // namespace frugal::ops
