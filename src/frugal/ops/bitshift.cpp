// BitShift (opset 11): shifts unsigned integers left or right (attribute direction) by
// the amounts in the second input, with numpy broadcasting. Bits shifted out are lost;
// a shift by the type's width or more gives 0 (C++ would be undefined).
#include <limits>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

bool shifts_left(const ir::Node& node) {
  return node.attr_string("direction", "") == "LEFT";
}

void infer_bitshift(InferContext& ctx) {
  require_types(ctx, 0, kUnsignedIntTypes);
  ctx.require_same_dtype(0, 1);
  const std::string dir = ctx.node().attr_string("direction", "");
  if (dir != "LEFT" && dir != "RIGHT") ctx.fail("direction '" + dir + "' must be LEFT or RIGHT");
  ctx.set_output(0, ctx.dtype(0), binary_output_shape(ctx));
}

void ref_bitshift(KernelContext& ctx) {
  const bool left = shifts_left(ctx.node());
  visit_types<kUnsignedIntTypes>(ctx.input(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    constexpr T kBits = std::numeric_limits<T>::digits;
    binary_map<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0), [left](T a, T s) -> T {
      if (s >= kBits) return 0;
      return left ? static_cast<T>(a << s) : static_cast<T>(a >> s);
    });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(BitShift, OpDef{.op_type = "BitShift",
                                   .min_inputs = 2,
                                   .max_inputs = 2,
                                   .infer = infer_bitshift,
                                   .ref = ref_bitshift});

}  // namespace frugal::ops
