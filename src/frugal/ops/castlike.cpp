// CastLike (opset 15): Cast to the dtype of the second input (whose values are unused).
// The same conversions as Cast: float to integer truncates toward zero and saturates,
// NaN becomes 0, integers wrap, anything to bool is "nonzero".
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

void infer_castlike(InferContext& ctx) {
  require_types(ctx, 0, kAllTypes);
  require_types(ctx, 1, kAllTypes);
  ctx.set_output(0, ctx.dtype(1), ctx.shape(0));
}

void ref_castlike(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  visit_types<kAllTypes>(x.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_types<kAllTypes>(y.dtype(), [&](auto to_tag) {
      using To = decltype(to_tag);
      unary_map<To, From>(x, y, [](From v) { return convert<To>(v); });
    });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(CastLike, OpDef{.op_type = "CastLike",
                                   .min_inputs = 2,
                                   .max_inputs = 2,
                                   .infer = infer_castlike,
                                   .ref = ref_castlike});

}  // namespace frugal::ops
