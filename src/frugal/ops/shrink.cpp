// Shrink (opset 9): y = x + bias where x < -lambd, x - bias where x > lambd, else 0.
// Integer inputs are computed in double and converted back (saturating).
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

struct ShrinkOp {
  static constexpr unsigned kTypes = kNumericTypes;
  double lambd = 0.5, bias = 0.0;
  ShrinkOp() = default;
  explicit ShrinkOp(const ir::Node& node)
      : lambd(node.attr_float("lambd", 0.5f)), bias(node.attr_float("bias", 0.0f)) {}
  template <typename T>
  T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (x < T(-lambd)) return x + T(bias);
      if (x > T(lambd)) return x - T(bias);
      return T(0);
    }
    const double v = static_cast<double>(x);
    if (v < -lambd) return convert<T>(v + bias);
    if (v > lambd) return convert<T>(v - bias);
    return T(0);
  }
};

}  // namespace

FRUGAL_REGISTER_OP(Shrink, unary_def<ShrinkOp>("Shrink"));

}  // namespace frugal::ops
