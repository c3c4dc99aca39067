// RMSNormalization (opset 23): X is viewed as rows of its dimensions from `axis` on; each
// row is divided by its root mean square, then scaled elementwise by Scale (which
// broadcasts to X.shape[axis:]):
//   Y = X / sqrt(mean(X^2) + epsilon) * Scale
// T5's and LLaMA's norm. fuse_layer_norm (passes/fuse_patterns.h) also makes it from the
// Pow/ReduceMean/Add/Sqrt/Div (or Reciprocal and Mul) chain that exports write, whatever the
// model's opset.
#include <cmath>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

void infer_rms_norm(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  const int64_t stash = ctx.node().attr_int("stash_type", 1);
  if (stash != 1) ctx.unsupported("stash_type " + std::to_string(stash) + " (float32 only)");
  const Shape& x = ctx.shape(0);
  if (x.empty()) ctx.fail("input X must have rank >= 1");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", -1), static_cast<int64_t>(x.size()));
  const Shape normalized(x.begin() + axis, x.end());
  ctx.require_same_dtype(0, 1);
  const Shape& s = ctx.shape(1);
  bool fits = s.size() <= normalized.size();
  for (size_t i = 0; fits && i < s.size(); ++i) {
    const int64_t d = s[s.size() - 1 - i], n = normalized[normalized.size() - 1 - i];
    fits = d == n || d == 1;
  }
  if (!fits)
    ctx.fail("Scale " + shape_str(s) + " does not broadcast to the normalized shape " +
             shape_str(normalized));
  ctx.set_output(0, ctx.dtype(0), x);
}

template <typename T>
void rms_norm_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  int64_t axis = ctx.node().attr_int("axis", -1);
  if (axis < 0) axis += X.rank();
  const Shape normalized(X.shape().begin() + axis, X.shape().end());
  const int64_t size = shape_numel(normalized);
  const int64_t rows = size == 0 ? 0 : X.numel() / size;
  const double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  Tensor scale(dtype_of<T>(), normalized);
  elementwise::broadcast_copy<T>(ctx.input(1), scale);
  const T* w = scale.data<T>();
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  for (int64_t row = 0; row < rows; ++row) {
    const T* xr = x + row * size;
    double squares = 0;
    for (int64_t i = 0; i < size; ++i) squares += double(xr[i]) * xr[i];
    const double inv = 1.0 / std::sqrt(squares / static_cast<double>(size) + epsilon);
    for (int64_t i = 0; i < size; ++i) y[row * size + i] = static_cast<T>(xr[i] * inv * w[i]);
  }
}

void ref_rms_norm(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64)
    rms_norm_kernel<double>(ctx);
  else
    rms_norm_kernel<float>(ctx);
}

// A square and a sum per element, then two multiplies.
Work cost_rms_norm(const CostContext& c) {
  Work w;
  w.flops = 4 * shape_numel(c.in[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(RMSNormalization, OpDef{.op_type = "RMSNormalization",
                                           .min_inputs = 2,
                                           .max_inputs = 2,
                                           .infer = infer_rms_norm,
                                           .ref = ref_rms_norm,
                                           .cost = cost_rms_norm});

}  // namespace frugal::ops
