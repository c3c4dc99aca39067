// Broadcasting arithmetic: Add, Sub, Mul, Div, Pow. Integer results wrap modulo 2^bits.
#include <cmath>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

struct AddOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T a, T b) const {
    return wrap_add(a, b);
  }
};
struct SubOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T a, T b) const {
    return wrap_sub(a, b);
  }
};
struct MulOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T a, T b) const {
    return wrap_mul(a, b);
  }
};
// Integer division truncates toward zero as in C. Division by zero, undefined in ONNX,
// gives 0 rather than a trap; INT_MIN / -1 wraps to INT_MIN.
struct DivOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T a, T b) const {
    if constexpr (std::is_integral_v<T>) {
      if (b == 0) return 0;
      if constexpr (std::is_signed_v<T>)
        if (b == T(-1)) return wrap_neg(a);
      return static_cast<T>(a / b);
    } else {
      return a / b;
    }
  }
};

// Integer base to an integer power, wrapping on overflow. A negative exponent gives the
// truncated reciprocal: 1 and -1 keep their magnitude, every other base gives 0.
template <typename T, typename E>
T int_pow(T base, E exponent) {
  if constexpr (std::is_signed_v<E>) {
    if (exponent < 0) {
      if (base == 1) return 1;
      if constexpr (std::is_signed_v<T>)
        if (base == T(-1)) return (exponent % 2 == 0) ? T(1) : T(-1);
      return 0;
    }
  }
  T result = 1;
  using U = std::make_unsigned_t<E>;
  for (U e = static_cast<U>(exponent); e != 0; e >>= 1) {
    if (e & 1) result = wrap_mul(result, base);
    base = wrap_mul(base, base);
  }
  return result;
}

// The output has the base's type (opset 12 allows the exponent another type). Integer
// base with a float exponent: computed in double and converted back, as numpy's
// power(x, y).astype(x.dtype) does.
template <typename T, typename E>
T pow_value(T base, E exponent) {
  if constexpr (std::is_integral_v<T> && std::is_integral_v<E>) {
    return int_pow(base, exponent);
  } else {
    return convert<T>(std::pow(static_cast<double>(base), static_cast<double>(exponent)));
  }
}

void infer_pow(InferContext& ctx) {
  require_types(ctx, 0, kNumericTypes);
  require_types(ctx, 1, kNumericTypes);
  if (ctx.opset() < 12) ctx.require_same_dtype(0, 1);
  ctx.set_output(0, ctx.dtype(0), binary_output_shape(ctx));
}

void ref_pow(KernelContext& ctx) {
  const Tensor& a = ctx.input(0);
  const Tensor b = binary_rhs(ctx);
  visit_types<kNumericTypes>(a.dtype(), [&](auto base_tag) {
    using T = decltype(base_tag);
    visit_types<kNumericTypes>(b.dtype(), [&](auto exp_tag) {
      using E = decltype(exp_tag);
      if constexpr (std::is_same_v<T, float> && std::is_same_v<E, float>) {
        binary_map<T, T, E>(a, b, ctx.output(0), [](float x, float y) { return std::pow(x, y); });
      } else {
        binary_map<T, T, E>(a, b, ctx.output(0), [](T x, E y) { return pow_value(x, y); });
      }
    });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(Add, binary_def<AddOp>("Add"));
FRUGAL_REGISTER_OP(Sub, binary_def<SubOp>("Sub"));
FRUGAL_REGISTER_OP(Mul, binary_def<MulOp>("Mul"));
FRUGAL_REGISTER_OP(Div, binary_def<DivOp>("Div"));
FRUGAL_REGISTER_OP(
    Pow,
    OpDef{.op_type = "Pow", .min_inputs = 2, .max_inputs = 2, .infer = infer_pow, .ref = ref_pow});

}  // namespace frugal::ops
