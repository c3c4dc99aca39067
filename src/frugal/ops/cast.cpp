// Cast to the dtype in attribute "to" (an ONNX TensorProto.DataType code) between
// float32/float64, all integer types and bool. Float to integer truncates toward zero,
// saturating out-of-range values and mapping NaN to 0 (ONNX leaves these undefined);
// integer to narrower integer wraps; anything to bool is "nonzero". A cast to float16 or
// bfloat16 writes float32 holding the values rounded to that type's grid (core/dtype.h
// held_type: frugal has no 16-bit float tensors); a later cast from it reads float32.
#include <type_traits>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

DType cast_target(const ir::Node& node) {
  return dtype_from_onnx(static_cast<int32_t>(node.attr_int("to")));
}

void infer_cast(InferContext& ctx) {
  require_types(ctx, 0, kAllTypes);
  const int64_t code = ctx.node().attr_int("to");
  const DType to = cast_target(ctx.node());
  if (to == DType::kUndefined)
    ctx.fail("attribute 'to' = " + std::to_string(code) + " is not a known dtype");
  if (type_class(held_type(to)) == 0)
    ctx.unsupported("cast to " + std::string(dtype_name(to)) + " is not supported");
  ctx.set_output(0, held_type(to), ctx.shape(0));
}

void ref_cast(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const DType to = cast_target(ctx.node());
  visit_types<kAllTypes>(x.dtype(), [&](auto from_tag) {
    using From = decltype(from_tag);
    visit_types<kAllTypes>(y.dtype(), [&](auto to_tag) {
      using To = decltype(to_tag);
      if constexpr (std::is_same_v<To, float>)
        unary_map<To, From>(x, y, [to](From v) { return round_to_held(to, convert<To>(v)); });
      else
        unary_map<To, From>(x, y, [](From v) { return convert<To>(v); });
    });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(Cast, OpDef{.op_type = "Cast", .infer = infer_cast, .ref = ref_cast});

}  // namespace frugal::ops
