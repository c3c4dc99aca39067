// Quantization parameters of the cpu backend's int8 precision (cpu:int8):
//  - activations per tensor, unsigned 8-bit with a zero point, from a calibrated range:
//      x ~ scale * (q - zero_point), q in [0, 255];
//  - weights per output channel, signed 8-bit symmetric: w ~ scale[c] * q, q in [-127, 127]
//    (-128 unused, so that the grid is symmetric and negation is exact).
// The range is widened to include 0 so that zero (the padding value of a convolution) is
// exactly representable.
#pragma once

#include <optional>

#include <cstdint>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/kernels/backend.h"
#include "frugal/ops/dequantize.h"

namespace frugal::kernels::cpu {

struct ActivationQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
  // The dequantized value of q (for tests and error bounds).
  float dequantize(int32_t q) const { return scale * static_cast<float>(q - zero_point); }
};

// Throws UserError naming `value` when the range is not finite or min > max.
ActivationQuant activation_quant(const ValueRange& range, const std::string& value);

// Quantizes `rows` x `row_size` float32 values (one row per output channel) to int8 with
// one scale per row. An all-zero row gets scale 1.
struct ChannelQuant {
  Tensor values;              // int8, same shape as the input
  std::vector<float> scales;  // one per row
};
ChannelQuant quantize_rows(const Tensor& w, int64_t rows);
// The same, or nullopt when w holds an infinite or NaN value (found by the pass that takes
// each row's peak, not by a pass of its own over w).
std::optional<ChannelQuant> quantize_finite_rows(const Tensor& w, int64_t rows);

// quantize_finite_rows of the float32 weights `source` dequantizes to (ops/dequantize.h),
// bit for bit, computed from its 8-bit values: one table of 256 entries per row instead of
// a pass over the float32 weights (which are 4x larger and no longer in cache). With
// `transposed`, the weights are [K, rows] and each column is a row. Nullopt where the
// source's parameters do not follow the rows (per-axis along another axis), a scale is
// not finite, or a value would not be: the caller quantizes the float32 weights then.
std::optional<ChannelQuant> quantize_source_rows(const ops::WeightSource& source, int64_t rows,
                                                 bool transposed);

// True when no float32 value of t is infinite or NaN.
bool all_finite(const Tensor& t);

}  // namespace frugal::kernels::cpu
