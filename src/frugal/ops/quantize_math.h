// Rounding and saturation as ONNX's quantizing operators define them (QuantizeLinear,
// DynamicQuantizeLinear, QLinearConv, QLinearMatMul): round half to even, then clamp to
// the integer type's range. Shared so the integer reference kernels agree bit for bit.
#pragma once

#include <cmath>

#include "frugal/ops/elementwise.h"

namespace frugal::ops::quant {

// Nearest integer, halves to even. Explicit rather than std::nearbyint, whose result
// depends on the thread's floating-point rounding mode.
template <typename F>
F round_half_even(F v) {
  if (std::fabs(v - std::trunc(v)) == F(0.5)) return F(2) * std::round(v / F(2));
  return std::round(v);
}

// round_half_even(v) saturated to Q's range; NaN becomes 0.
template <typename Q, typename F>
Q round_saturate(F v) {
  return elementwise::convert<Q>(round_half_even(v));
}

// Requantizes an int32 accumulator: round(acc * multiplier) + zero_point, saturated to Q.
// Computed in double, where acc * multiplier is exact enough that ties are real ties.
template <typename Q>
Q requantize(int64_t acc, double multiplier, int64_t zero_point) {
  return round_saturate<Q>(round_half_even(static_cast<double>(acc) * multiplier) +
                           static_cast<double>(zero_point));
}

}  // namespace frugal::ops::quant
