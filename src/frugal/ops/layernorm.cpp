// LayerNormalization (opset 17): X is viewed as rows of its dimensions from `axis` on;
// each row is normalised by its own mean and (population) variance, then scaled and
// shifted elementwise by Scale and B (which broadcast to X.shape[axis:]):
//   Y = (X - mean) / sqrt(var + epsilon) * Scale + B
// Optional outputs Mean and InvStdDev have X's leading dimensions and 1s after them.
#include <cmath>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

int64_t norm_axis(const InferContext& ctx, int64_t rank) {
  return ctx.axis(ctx.node().attr_int("axis", -1), rank);
}

// Shape b broadcasts one way onto `to` (numpy rules, `to` unchanged).
bool broadcasts_onto(const Shape& b, const Shape& to) {
  if (b.size() > to.size()) return false;
  for (size_t i = 0; i < b.size(); ++i) {
    const int64_t d = b[b.size() - 1 - i], t = to[to.size() - 1 - i];
    if (d != t && d != 1) return false;
  }
  return true;
}

void infer_layer_norm(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  const int64_t stash = ctx.node().attr_int("stash_type", 1);
  if (stash != 1) ctx.unsupported("stash_type " + std::to_string(stash) + " (float32 only)");
  const Shape& x = ctx.shape(0);
  if (x.empty()) ctx.fail("input X must have rank >= 1");
  const int64_t axis = norm_axis(ctx, static_cast<int64_t>(x.size()));
  const Shape normalized(x.begin() + axis, x.end());
  for (size_t i = 1; i <= 2; ++i) {
    if (!ctx.has_input(i)) continue;
    ctx.require_same_dtype(0, i);
    if (!broadcasts_onto(ctx.shape(i), normalized))
      ctx.fail(std::string(i == 1 ? "Scale " : "B ") + shape_str(ctx.shape(i)) +
               " does not broadcast to the normalized shape " + shape_str(normalized));
  }
  ctx.set_output(0, ctx.dtype(0), x);
  Shape stat(x.begin(), x.begin() + axis);
  stat.resize(x.size(), 1);
  if (ctx.has_output(1)) ctx.set_output(1, DType::kF32, stat);
  if (ctx.has_output(2)) ctx.set_output(2, DType::kF32, stat);
}

// Scale or B expanded to the normalized shape (one value per element of a row).
template <typename T>
std::vector<T> expand_to_row(const KernelContext& ctx, size_t i, const Shape& normalized, T fill) {
  std::vector<T> row(static_cast<size_t>(shape_numel(normalized)), fill);
  if (!ctx.has_input(i)) return row;
  Tensor full(dtype_of<T>(), normalized);
  elementwise::broadcast_copy<T>(ctx.input(i), full);
  const T* p = full.data<T>();
  row.assign(p, p + full.numel());
  return row;
}

template <typename T>
void layer_norm_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t r = X.rank();
  int64_t axis = ctx.node().attr_int("axis", -1);
  if (axis < 0) axis += r;
  const Shape normalized(X.shape().begin() + axis, X.shape().end());
  const int64_t size = shape_numel(normalized);
  const int64_t rows = size == 0 ? 0 : X.numel() / size;
  const double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  const std::vector<T> scale = expand_to_row<T>(ctx, 1, normalized, T(1));
  const std::vector<T> bias = expand_to_row<T>(ctx, 2, normalized, T(0));
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  float* mean_out = ctx.has_output(1) ? ctx.output(1).data<float>() : nullptr;
  float* inv_out = ctx.has_output(2) ? ctx.output(2).data<float>() : nullptr;
  for (int64_t row = 0; row < rows; ++row) {
    const T* xr = x + row * size;
    T* yr = y + row * size;
    double mean = 0;
    for (int64_t i = 0; i < size; ++i) mean += xr[i];
    mean /= static_cast<double>(size);
    double var = 0;  // two passes: no cancellation from E[x^2] - E[x]^2
    for (int64_t i = 0; i < size; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= static_cast<double>(size);
    const double inv = 1.0 / std::sqrt(var + epsilon);
    for (int64_t i = 0; i < size; ++i)
      yr[i] = static_cast<T>((xr[i] - mean) * inv * scale[i] + bias[i]);
    if (mean_out) mean_out[row] = static_cast<float>(mean);
    if (inv_out) inv_out[row] = static_cast<float>(inv);
  }
}

void ref_layer_norm(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64)
    layer_norm_kernel<double>(ctx);
  else
    layer_norm_kernel<float>(ctx);
}

// Mean, variance (two passes), then a subtract, two multiplies and an add per element.
Work cost_layer_norm(const CostContext& c) {
  Work w;
  w.flops = 7 * shape_numel(c.in[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(LayerNormalization, OpDef{.op_type = "LayerNormalization",
                                             .min_inputs = 2,
                                             .max_inputs = 3,
                                             .min_outputs = 1,
                                             .max_outputs = 3,
                                             .infer = infer_layer_norm,
                                             .ref = ref_layer_norm,
                                             .cost = cost_layer_norm});

}  // namespace frugal::ops
