// Helpers shared by the operators that only move data (Transpose, Slice, Pad, Tile,
// Expand, nearest Resize, ...). They work on element sizes, not types, so one routine
// serves every dtype, float16 and bfloat16 included.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

// Marks an output position along an axis that takes the fill value instead of an input element.
inline constexpr int64_t kFillOffset = std::numeric_limits<int64_t>::min();

// For every element of `out_shape` (row-major), copies the source element at element
// offset sum_d axis_offsets[d][i_d], or the `fill` element when any term is kFillOffset.
// axis_offsets[d] holds out_shape[d] entries. `fill` may be null when kFillOffset is unused.
void copy_by_axis_offsets(void* dst, const void* src, size_t elem_size, const Shape& out_shape,
                          const std::vector<std::vector<int64_t>>& axis_offsets,
                          const void* fill = nullptr);

// The bytes of `value` converted to `dtype` (any numeric dtype, float16/bfloat16 included),
// for fill values given as a float attribute. Integers saturate; NaN becomes 0.
std::vector<unsigned char> scalar_bytes(DType dtype, double value);

// Converts a double to an arithmetic type the way a reference kernel should: floats by
// rounding, integers by truncation with saturation (NaN -> 0) instead of undefined behaviour.
template <typename T>
T saturate_cast(double v) {
  if constexpr (std::is_floating_point_v<T>) {
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, bool>) {
    return v != 0;
  } else {
    if (std::isnan(v)) return T{0};
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest()))
      return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max()))
      return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }
}

// Fails (unsupported) for dtypes that have no tensor storage (string, undefined).
void require_storable(const InferContext& ctx, size_t input);

// Values of a 1-D integer input (shape, axes, pads, repeats...); fails naming the input
// when it is not an integer tensor of rank 1 (rank 0 is accepted when `allow_scalar`).
std::vector<int64_t> int_list_input(const ir::Node& node, const Tensor& t, const char* what,
                                    bool allow_scalar = false);

// No arithmetic: the cost of the pure data-movement operators.
inline Work no_arithmetic(const CostContext&) {
  return {};
}

}  // namespace frugal::ops
