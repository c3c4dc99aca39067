#include "frugal/kernels/cpu/int8_quant.h"

#include <algorithm>
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

ChannelQuant quantize_rows(const Tensor& w, int64_t rows) {
  FRUGAL_CHECK(w.dtype() == DType::kF32 && rows > 0 && w.numel() % rows == 0,
               "quantize_rows: float32 values divisible into rows expected");
  const int64_t row_size = w.numel() / rows;
  ChannelQuant r{Tensor(DType::kI8, w.shape()), std::vector<float>(static_cast<size_t>(rows))};
  const float* src = w.data<float>();
  int8_t* dst = r.values.data<int8_t>();
  for (int64_t c = 0; c < rows; ++c) {
    const float* row = src + c * row_size;
    float peak = 0.0f;
    for (int64_t i = 0; i < row_size; ++i) peak = std::max(peak, std::fabs(row[i]));
    const float scale = peak > 0.0f ? peak / 127.0f : 1.0f;
    r.scales[static_cast<size_t>(c)] = scale;
    for (int64_t i = 0; i < row_size; ++i)
      dst[c * row_size + i] =
          static_cast<int8_t>(std::clamp(std::nearbyint(row[i] / scale), -127.0f, 127.0f));
  }
  return r;
}

}  // namespace frugal::kernels::cpu
