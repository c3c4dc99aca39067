// Elementwise trigonometric and hyperbolic functions beyond Sin/Cos/Tanh: Tan, Asin,
// Acos, Atan (opset 7), Sinh, Cosh, Asinh, Acosh, Atanh (opset 9). Outside a function's
// domain the result is NaN, as in C.
#include <cmath>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

#define FRUGAL_FLOAT_FUNCTOR(Name, fn)              \
  struct Name {                                     \
    static constexpr unsigned kTypes = kFloatTypes; \
    template <typename T>                           \
    T operator()(T x) const {                       \
      return fn(x);                                 \
    }                                               \
  };

FRUGAL_FLOAT_FUNCTOR(TanOp, std::tan)
FRUGAL_FLOAT_FUNCTOR(AsinOp, std::asin)
FRUGAL_FLOAT_FUNCTOR(AcosOp, std::acos)
FRUGAL_FLOAT_FUNCTOR(AtanOp, std::atan)
FRUGAL_FLOAT_FUNCTOR(SinhOp, std::sinh)
FRUGAL_FLOAT_FUNCTOR(CoshOp, std::cosh)
FRUGAL_FLOAT_FUNCTOR(AsinhOp, std::asinh)
FRUGAL_FLOAT_FUNCTOR(AcoshOp, std::acosh)
FRUGAL_FLOAT_FUNCTOR(AtanhOp, std::atanh)

#undef FRUGAL_FLOAT_FUNCTOR

}  // namespace

FRUGAL_REGISTER_OP(Tan, unary_def<TanOp>("Tan"));
FRUGAL_REGISTER_OP(Asin, unary_def<AsinOp>("Asin"));
FRUGAL_REGISTER_OP(Acos, unary_def<AcosOp>("Acos"));
FRUGAL_REGISTER_OP(Atan, unary_def<AtanOp>("Atan"));
FRUGAL_REGISTER_OP(Sinh, unary_def<SinhOp>("Sinh"));
FRUGAL_REGISTER_OP(Cosh, unary_def<CoshOp>("Cosh"));
FRUGAL_REGISTER_OP(Asinh, unary_def<AsinhOp>("Asinh"));
FRUGAL_REGISTER_OP(Acosh, unary_def<AcoshOp>("Acosh"));
FRUGAL_REGISTER_OP(Atanh, unary_def<AtanhOp>("Atanh"));

}  // namespace frugal::ops
