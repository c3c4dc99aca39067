// Clip: y = min(max(x, lo), hi). Before opset 11 the bounds are float attributes
// "min"/"max"; from opset 11 they are optional scalar inputs 1 and 2 of x's dtype.
// Missing bounds are the dtype's extremes; when lo > hi every value becomes hi.
#include <algorithm>
#include <limits>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

void infer_clip(InferContext& ctx) {
  if (ctx.opset() < 11) {
    require_types(ctx, 0, kFloatTypes);
  } else {
    require_types(ctx, 0, kNumericTypes);
    for (size_t i = 1; i <= 2; ++i) {
      if (!ctx.has_input(i)) continue;
      ctx.require_same_dtype(0, i);
      if (shape_numel(ctx.shape(i)) != 1)
        ctx.fail(std::string(i == 1 ? "min" : "max") + " must be a scalar, got shape " +
                 shape_str(ctx.shape(i)));
    }
  }
  ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
}

template <typename T>
T bound(const KernelContext& ctx, size_t input, const char* attr, T dflt) {
  if (ctx.opset() < 11) {
    if (!ctx.node().has_attr(attr)) return dflt;
    return convert<T>(ctx.node().attr_float(attr, 0.0f));
  }
  if (!ctx.has_input(input)) return dflt;
  return ctx.input(input).data<T>()[0];
}

void ref_clip(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  visit_types<kNumericTypes>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T lo = bound<T>(ctx, 1, "min", std::numeric_limits<T>::lowest());
    const T hi = bound<T>(ctx, 2, "max", std::numeric_limits<T>::max());
    // Written so that NaN inputs stay NaN.
    unary_map<T, T>(x, ctx.output(0), [lo, hi](T v) {
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      return v;
    });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(Clip, OpDef{.op_type = "Clip",
                               .min_inputs = 1,
                               .max_inputs = 3,
                               .infer = infer_clip,
                               .ref = ref_clip});

}  // namespace frugal::ops
