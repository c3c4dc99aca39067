// Pooling: MaxPool (with its optional Indices output), AveragePool, GlobalAveragePool and
// GlobalMaxPool over 1-D, 2-D and 3-D windows. Padding never contributes a value: a max
// ignores it and an average counts it only with count_include_pad.
#include <algorithm>
#include <limits>
#include <type_traits>
#include <vector>

#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

std::vector<int64_t> spatial_of(const Shape& s) {
  return {s.begin() + 2, s.end()};
}

void require_pool_rank(const InferContext& ctx) {
  if (ctx.rank(0) < 3)
    ctx.fail("input X has shape " + shape_str(ctx.shape(0)) +
             ", expected N x C x D1 [x D2 [x D3]] (rank 3 to 5)");
}

std::vector<int64_t> kernel_shape(const InferContext& ctx) {
  if (!ctx.node().has_attr("kernel_shape")) ctx.fail("attribute kernel_shape is required");
  return ctx.node().attr_ints("kernel_shape");
}

bool flag_attr(const InferContext& ctx, const std::string& name) {
  const int64_t v = ctx.node().attr_int(name, 0);
  if (v != 0 && v != 1) ctx.fail(name + " " + std::to_string(v) + " must be 0 or 1");
  return v != 0;
}

WindowGeometry pool_window(const ir::Node& node, const Shape& x) {
  return as_3d(node, sliding_window(node, spatial_of(x), node.attr_ints("kernel_shape"),
                                    node.attr_int("ceil_mode", 0) != 0));
}

// Output shape N x C x out...; declines more than three spatial dimensions.
Shape infer_window_output(InferContext& ctx) {
  require_pool_rank(ctx);
  const Shape& x = ctx.shape(0);
  flag_attr(ctx, "ceil_mode");
  WindowGeometry g = sliding_window(ctx.node(), spatial_of(x), kernel_shape(ctx),
                                    ctx.node().attr_int("ceil_mode", 0) != 0);
  if (g.rank() > 3) ctx.unsupported("more than 3 spatial dimensions");
  Shape y = {x[0], x[1]};
  y.insert(y.end(), g.out.begin(), g.out.end());
  return y;
}

// Taps k in [lo, hi) of a window starting at `start` (stride and pads applied) whose
// position start + k * dilation lies in [0, size).
void valid_taps(int64_t start, int64_t size, int64_t kernel, int64_t dilation, int64_t& lo,
                int64_t& hi) {
  lo = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  hi = size - start <= 0 ? 0 : std::min(kernel, (size - start + dilation - 1) / dilation);
  if (hi < lo) hi = lo;
}

// One window of a 3-D geometry: its first input coordinates and, per dimension, the taps
// that fall inside the input.
struct Taps {
  int64_t d0, h0, w0;  // first input coordinate of the window (may be negative)
  int64_t dlo, dhi, hlo, hhi, wlo, whi;
};
// Calls f(output_offset_in_plane, taps) for every output position, in row-major order.
template <typename F>
void for_each_window(const WindowGeometry& g, F&& f) {
  int64_t o = 0;
  for (int64_t od = 0; od < g.out[0]; ++od)
    for (int64_t oh = 0; oh < g.out[1]; ++oh)
      for (int64_t ow = 0; ow < g.out[2]; ++ow, ++o) {
        Taps t;
        t.d0 = od * g.strides[0] - g.pad_begin[0];
        t.h0 = oh * g.strides[1] - g.pad_begin[1];
        t.w0 = ow * g.strides[2] - g.pad_begin[2];
        valid_taps(t.d0, g.in[0], g.kernel[0], g.dilations[0], t.dlo, t.dhi);
        valid_taps(t.h0, g.in[1], g.kernel[1], g.dilations[1], t.hlo, t.hhi);
        valid_taps(t.w0, g.in[2], g.kernel[2], g.dilations[2], t.wlo, t.whi);
        f(o, t);
      }
}

// ---- MaxPool ----

void infer_max_pool(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64, DType::kI8, DType::kU8});
  Shape y = infer_window_output(ctx);
  flag_attr(ctx, "storage_order");
  ctx.set_output(0, ctx.dtype(0), y);
  if (ctx.has_output(1)) ctx.set_output(1, DType::kI64, y);
}

template <typename T>
void max_pool_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const WindowGeometry g = pool_window(ctx.node(), X.shape());
  const bool column_major = ctx.node().attr_int("storage_order", 0) != 0;
  int64_t* indices = ctx.has_output(1) ? ctx.output(1).data<int64_t>() : nullptr;
  const int64_t planes = X.dim(0) * X.dim(1), P = g.out_numel(), Pin = g.in_numel();
  const int64_t ID = g.in[0], IH = g.in[1], IW = g.in[2];
  const T* x = X.data<T>();
  T* y = Y.data<T>();
  for (int64_t c = 0; c < planes; ++c) {
    const T* xc = x + c * Pin;
    for_each_window(g, [&](int64_t o, const Taps& t) {
      T best = std::numeric_limits<T>::lowest();
      int64_t best_d = -1, best_h = 0, best_w = 0;
      for (int64_t kd = t.dlo; kd < t.dhi; ++kd) {
        const int64_t id = t.d0 + kd * g.dilations[0];
        for (int64_t kh = t.hlo; kh < t.hhi; ++kh) {
          const int64_t ih = t.h0 + kh * g.dilations[1];
          const T* row = xc + (id * IH + ih) * IW;
          for (int64_t kw = t.wlo; kw < t.whi; ++kw) {
            const int64_t iw = t.w0 + kw * g.dilations[2];
            // The first maximum wins, as in ONNX's reference.
            if (best_d < 0 || row[iw] > best) {
              best = row[iw];
              best_d = id;
              best_h = ih;
              best_w = iw;
            }
          }
        }
      }
      y[c * P + o] = best;
      if (indices) {
        // Flat index into X: row-major, or column-major over the spatial dims.
        int64_t at = -1;
        if (best_d >= 0)
          at = c * Pin + (column_major ? best_d + ID * (best_h + IH * best_w)
                                       : (best_d * IH + best_h) * IW + best_w);
        indices[c * P + o] = at;
      }
    });
  }
}

void ref_max_pool(KernelContext& ctx) {
  switch (ctx.input(0).dtype()) {
    case DType::kF64:
      return max_pool_kernel<double>(ctx);
    case DType::kI8:
      return max_pool_kernel<int8_t>(ctx);
    case DType::kU8:
      return max_pool_kernel<uint8_t>(ctx);
    default:
      return max_pool_kernel<float>(ctx);
  }
}

// ---- AveragePool ----

void infer_average_pool(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  Shape y = infer_window_output(ctx);
  flag_attr(ctx, "count_include_pad");
  ctx.set_output(0, ctx.dtype(0), y);
}

// Taps of a window inside the padded input [-pad_begin, size + pad_end).
int64_t padded_taps(int64_t start, int64_t size, int64_t pad_begin, int64_t pad_end, int64_t kernel,
                    int64_t dilation) {
  int64_t lo = 0, hi = 0;
  valid_taps(start + pad_begin, size + pad_begin + pad_end, kernel, dilation, lo, hi);
  return hi - lo;
}

template <typename T>
void average_pool_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  Tensor& Y = ctx.output(0);
  const WindowGeometry g = pool_window(ctx.node(), X.shape());
  const bool include_pad = ctx.node().attr_int("count_include_pad", 0) != 0;
  const int64_t planes = X.dim(0) * X.dim(1), P = g.out_numel(), Pin = g.in_numel();
  const int64_t IH = g.in[1], IW = g.in[2];
  const T* x = X.data<T>();
  T* y = Y.data<T>();
  for (int64_t c = 0; c < planes; ++c) {
    const T* xc = x + c * Pin;
    for_each_window(g, [&](int64_t o, const Taps& t) {
      double sum = 0;
      for (int64_t kd = t.dlo; kd < t.dhi; ++kd) {
        const int64_t id = t.d0 + kd * g.dilations[0];
        for (int64_t kh = t.hlo; kh < t.hhi; ++kh) {
          const T* row = xc + (id * IH + t.h0 + kh * g.dilations[1]) * IW;
          for (int64_t kw = t.wlo; kw < t.whi; ++kw) sum += row[t.w0 + kw * g.dilations[2]];
        }
      }
      int64_t count = (t.dhi - t.dlo) * (t.hhi - t.hlo) * (t.whi - t.wlo);
      if (include_pad) {
        count = 1;
        for (int d = 0; d < 3; ++d) {
          const int64_t start = d == 0 ? t.d0 : d == 1 ? t.h0 : t.w0;
          count *= padded_taps(start, g.in[d], g.pad_begin[d], g.pad_end[d], g.kernel[d],
                               g.dilations[d]);
        }
      }
      y[c * P + o] = count > 0 ? static_cast<T>(sum / static_cast<double>(count)) : T(0);
    });
  }
}

void ref_average_pool(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    average_pool_kernel<double>(ctx);
  } else {
    average_pool_kernel<float>(ctx);
  }
}

// One comparison or addition per tap of every window.
Work cost_window_pool(const CostContext& c) {
  Work w;
  int64_t taps = 1;
  for (int64_t k : c.node.attr_ints("kernel_shape")) taps *= k;
  w.flops = shape_numel(c.out[0]) * taps;
  return w;
}

// ---- GlobalAveragePool / GlobalMaxPool ----

void infer_global_pool(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  const Shape& x = ctx.shape(0);
  if (x.size() < 2)
    ctx.fail("input X has shape " + shape_str(x) + ", expected N x C x D1 ... (rank >= 2)");
  Shape y(x.size(), 1);
  y[0] = x[0];
  y[1] = x[1];
  ctx.set_output(0, ctx.dtype(0), y);
}

template <typename T, bool kMax>
void global_pool_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t planes = X.dim(0) * X.dim(1);
  const int64_t size = planes == 0 ? 0 : X.numel() / planes;
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  for (int64_t c = 0; c < planes; ++c) {
    const T* xc = x + c * size;
    if constexpr (kMax) {
      T best = size > 0 ? xc[0] : std::numeric_limits<T>::lowest();
      for (int64_t i = 1; i < size; ++i) best = xc[i] > best ? xc[i] : best;
      y[c] = best;
    } else {
      double sum = 0;
      for (int64_t i = 0; i < size; ++i) sum += xc[i];
      y[c] = size > 0 ? static_cast<T>(sum / static_cast<double>(size)) : T(0);
    }
  }
}

template <bool kMax>
void ref_global_pool(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    global_pool_kernel<double, kMax>(ctx);
  } else {
    global_pool_kernel<float, kMax>(ctx);
  }
}

Work cost_global_pool(const CostContext& c) {
  Work w;
  w.flops = shape_numel(c.in[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(MaxPool, OpDef{.op_type = "MaxPool",
                                  .max_outputs = 2,
                                  .infer = infer_max_pool,
                                  .ref = ref_max_pool,
                                  .cost = cost_window_pool});
FRUGAL_REGISTER_OP(AveragePool, OpDef{.op_type = "AveragePool",
                                      .infer = infer_average_pool,
                                      .ref = ref_average_pool,
                                      .cost = cost_window_pool});
FRUGAL_REGISTER_OP(GlobalAveragePool, OpDef{.op_type = "GlobalAveragePool",
                                            .infer = infer_global_pool,
                                            .ref = ref_global_pool<false>,
                                            .cost = cost_global_pool});
FRUGAL_REGISTER_OP(GlobalMaxPool, OpDef{.op_type = "GlobalMaxPool",
                                        .infer = infer_global_pool,
                                        .ref = ref_global_pool<true>,
                                        .cost = cost_global_pool});

}  // namespace frugal::ops
