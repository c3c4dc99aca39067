#include "frugal/kernels/cpu/int8_quant.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace frugal::kernels::cpu {

ActivationQuant activation_quant(const ValueRange& range, const std::string& value) {
  if (!std::isfinite(range.min) || !std::isfinite(range.max) || range.min > range.max)
    throw UserError("activation range of '" + value + "' is [" + std::to_string(range.min) + ", " +
                    std::to_string(range.max) + "]: not a finite interval");
  const float lo = std::min(range.min, 0.0f), hi = std::max(range.max, 0.0f);
  ActivationQuant q;
  if (hi - lo <= 0.0f) return q;  // all zeros: any scale represents them
  q.scale = (hi - lo) / 255.0f;
  // Rounding the zero point moves the grid by at most half a step; the ends of the range
  // stay within half a step of the grid's ends, so saturation costs at most that much.
  q.zero_point = static_cast<int32_t>(std::clamp(std::nearbyint(-lo / q.scale), 0.0f, 255.0f));
  return q;
}

namespace {

// |v|'s bits: for finite floats, ordered as the magnitudes are; >= kInfBits when not finite.
constexpr uint32_t kInfBits = 0x7f800000u;
uint32_t magnitude_bits(float v) {
  return std::bit_cast<uint32_t>(v) & 0x7fffffffu;
}

// The largest |v| of n values as bits, in one pass the compiler vectorizes (an unsigned max
// has no NaN case to keep in order, unlike a float max).
uint32_t peak_bits(const float* v, int64_t n) {
  uint32_t peak = 0;
  for (int64_t i = 0; i < n; ++i) peak = std::max(peak, magnitude_bits(v[i]));
  return peak;
}

// Rounds half to even as std::nearbyint does in the default rounding mode, for |v| < 2^22,
// without a call per value: adding 1.5 * 2^23 leaves no fraction bits.
float round_even(float v) {
  constexpr float kShift = 12582912.0f;
  return (v + kShift) - kShift;
}

}  // namespace

bool all_finite(const Tensor& t) {
  return peak_bits(t.data<float>(), t.numel()) < kInfBits;
}

std::optional<ChannelQuant> quantize_finite_rows(const Tensor& w, int64_t rows) {
  FRUGAL_CHECK(w.dtype() == DType::kF32 && rows > 0 && w.numel() % rows == 0,
               "quantize_rows: float32 values divisible into rows expected");
  const int64_t row_size = w.numel() / rows;
  // Every value is written below.
  ChannelQuant r{Tensor::uninitialized(DType::kI8, w.shape()),
                 std::vector<float>(static_cast<size_t>(rows))};
  const float* src = w.data<float>();
  int8_t* dst = r.values.data<int8_t>();
  for (int64_t c = 0; c < rows; ++c) {
    const float* row = src + c * row_size;
    const uint32_t peak_bits_of_row = peak_bits(row, row_size);
    if (peak_bits_of_row >= kInfBits) return std::nullopt;
    const float peak = std::bit_cast<float>(peak_bits_of_row);
    const float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
    r.scales[static_cast<size_t>(c)] = scale;
    int8_t* out = dst + c * row_size;
    for (int64_t i = 0; i < row_size; ++i)
      out[i] = static_cast<int8_t>(std::clamp(round_even(row[i] / scale), -127.0f, 127.0f));
  }
  return r;
}

ChannelQuant quantize_rows(const Tensor& w, int64_t rows) {
  std::optional<ChannelQuant> r = quantize_finite_rows(w, rows);
  FRUGAL_CHECK(r.has_value(), "quantize_rows: a non-finite value");
  return std::move(*r);
}

}  // namespace frugal::kernels::cpu
