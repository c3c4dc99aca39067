// Elementwise math on one input: Sqrt, Reciprocal, Exp, Log, Neg, Abs, Floor, Ceil, Round,
// Sign, Erf, Sin, Cos, Tanh, IsNaN, IsInf.
#include <cmath>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

struct SqrtOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::sqrt(x);
  }
};
struct ReciprocalOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return T(1) / x;
  }
};
struct ExpOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::exp(x);
  }
};
struct LogOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::log(x);
  }
};
struct NegOp {
  static constexpr unsigned kTypes = kSignedTypes;
  template <typename T>
  T operator()(T x) const {
    return wrap_neg(x);
  }
};
struct AbsOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>)
      return std::abs(x);
    else if constexpr (std::is_signed_v<T>)
      return x < 0 ? wrap_neg(x) : x;  // INT_MIN stays
    else
      return x;
  }
};
struct FloorOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::floor(x);
  }
};
struct CeilOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::ceil(x);
  }
};
// Halves round to the nearest even integer. Done explicitly rather than with nearbyint,
// which depends on the thread's floating-point rounding mode.
struct RoundOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    const T away = std::round(x);  // halves away from zero
    if (std::abs(x - std::trunc(x)) == T(0.5)) return T(2) * std::round(x / T(2));
    return away;
  }
};
// -1, 0 or 1; NaN stays NaN.
struct SignOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T x) const {
    if (x > T(0)) return T(1);
    if constexpr (std::is_signed_v<T>)
      if (x < T(0)) return T(-1);
    return x;
  }
};
// ONNX allows integer inputs too: erf is taken in double and converted back.
struct ErfOp {
  static constexpr unsigned kTypes = kNumericTypes;
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>)
      return std::erf(x);
    else
      return convert<T>(std::erf(static_cast<double>(x)));
  }
};
struct SinOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::sin(x);
  }
};
struct CosOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::cos(x);
  }
};
struct TanhOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return std::tanh(x);
  }
};
struct IsNaNOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  bool operator()(T x) const {
    return std::isnan(x);
  }
};
struct IsInfOp {
  static constexpr unsigned kTypes = kFloatTypes;
  bool negative = true, positive = true;
  IsInfOp() = default;
  explicit IsInfOp(const ir::Node& node)
      : negative(node.attr_int("detect_negative", 1) != 0),
        positive(node.attr_int("detect_positive", 1) != 0) {}
  template <typename T>
  bool operator()(T x) const {
    return std::isinf(x) && (x > 0 ? positive : negative);
  }
};

}  // namespace

FRUGAL_REGISTER_OP(Sqrt, unary_def<SqrtOp>("Sqrt"));
FRUGAL_REGISTER_OP(Reciprocal, unary_def<ReciprocalOp>("Reciprocal"));
FRUGAL_REGISTER_OP(Exp, unary_def<ExpOp>("Exp"));
FRUGAL_REGISTER_OP(Log, unary_def<LogOp>("Log"));
FRUGAL_REGISTER_OP(Neg, unary_def<NegOp>("Neg"));
FRUGAL_REGISTER_OP(Abs, unary_def<AbsOp>("Abs"));
FRUGAL_REGISTER_OP(Floor, unary_def<FloorOp>("Floor"));
FRUGAL_REGISTER_OP(Ceil, unary_def<CeilOp>("Ceil"));
FRUGAL_REGISTER_OP(Round, unary_def<RoundOp>("Round"));
FRUGAL_REGISTER_OP(Sign, unary_def<SignOp>("Sign"));
FRUGAL_REGISTER_OP(Erf, unary_def<ErfOp>("Erf"));
FRUGAL_REGISTER_OP(Sin, unary_def<SinOp>("Sin"));
FRUGAL_REGISTER_OP(Cos, unary_def<CosOp>("Cos"));
FRUGAL_REGISTER_OP(Tanh, unary_def<TanhOp>("Tanh"));
FRUGAL_REGISTER_OP(IsNaN, unary_def<IsNaNOp>("IsNaN"));
FRUGAL_REGISTER_OP(IsInf, unary_def<IsInfOp>("IsInf"));

}  // namespace frugal::ops
