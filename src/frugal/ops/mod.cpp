// Mod (opsets 10, 13): elementwise remainder with numpy broadcasting. fmod=0 (integers
// only) takes the divisor's sign, like Python's %; fmod=1 takes the dividend's sign, like
// C's fmod. An integer remainder by zero is 0 (C++ would be undefined), as numpy gives.
#include <cmath>
#include <type_traits>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

template <typename T>
T remainder(T a, T b, bool fmod) {
  if constexpr (std::is_floating_point_v<T>) {
    return std::fmod(a, b);  // only reached with fmod=1
  } else {
    if (b == 0) return 0;
    if constexpr (std::is_signed_v<T>) {
      if (b == T(-1)) return 0;  // also avoids the INT_MIN % -1 overflow
    }
    T r = static_cast<T>(a % b);
    if constexpr (std::is_signed_v<T>) {
      if (!fmod && r != 0 && ((r < 0) != (b < 0))) r = static_cast<T>(r + b);
    }
    return r;
  }
}

void infer_mod(InferContext& ctx) {
  require_types(ctx, 0, kNumericTypes);
  ctx.require_same_dtype(0, 1);
  const int64_t fmod = ctx.node().attr_int("fmod", 0);
  if (fmod != 0 && fmod != 1) ctx.fail("fmod " + std::to_string(fmod) + " must be 0 or 1");
  if (fmod == 0 && type_class(ctx.dtype(0)) == kFloatTypes)
    ctx.fail("fmod must be 1 for floating-point inputs");
  ctx.set_output(0, ctx.dtype(0), binary_output_shape(ctx));
}

void ref_mod(KernelContext& ctx) {
  const bool fmod = ctx.node().attr_int("fmod", 0) != 0;
  visit_types<kNumericTypes>(ctx.input(0).dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_map<T, T, T>(ctx.input(0), ctx.input(1), ctx.output(0),
                        [fmod](T a, T b) { return remainder(a, b, fmod); });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(
    Mod,
    OpDef{.op_type = "Mod", .min_inputs = 2, .max_inputs = 2, .infer = infer_mod, .ref = ref_mod});

}  // namespace frugal::ops
