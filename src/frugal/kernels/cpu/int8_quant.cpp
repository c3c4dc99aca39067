#include "frugal/kernels/cpu/int8_quant.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <type_traits>

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

namespace {

// The rows' 8-bit values, their parameters and where each row's elements lie.
template <typename X>
struct SourceRows {
  const X* values;
  const float* scale;
  const X* zero_point;  // null: 0
  bool per_row;         // parameters per row, else one for all
  int64_t rows, row_size;
  bool transposed;  // element i of row r at values[i * rows + r], else [r * row_size + i]

  X at(int64_t r, int64_t i) const { return values[transposed ? i * rows + r : r * row_size + i]; }
  float scale_of(int64_t r) const { return scale[per_row ? r : 0]; }
  int32_t zero_of(int64_t r) const {
    return zero_point ? static_cast<int32_t>(zero_point[per_row ? r : 0]) : 0;
  }
};

// One row's parameters: its smallest and largest 8-bit values, from which its peak follows
// (dequantization, a product rounded to float32, is monotone), and the quantization of
// each value as quantize_finite_rows computes it from the dequantized row.
struct RowQuant {
  int32_t lo = 0, hi = 0, zero_point = 0;
  float source_scale = 1.0f, scale = 1.0f;
  // Each value quantizes to itself, by the argument at row_quant, without computing it.
  bool maps_to_itself = false;

  int8_t compute(int32_t v) const {
    return static_cast<int8_t>(std::clamp(
        round_even(ops::dequantize_value(v, zero_point, source_scale) / scale), -127.0f, 127.0f));
  }
};

// The row's values quantized, tabled for [lo, hi] where the row holds more values than
// that span, else computed value by value.
struct RowTable {
  const RowQuant& row;
  bool tabled;
  int8_t table[256] = {};

  RowTable(const RowQuant& r, int64_t row_size) : row(r), tabled(row_size > r.hi - r.lo + 1) {
    if (tabled)
      for (int32_t v = r.lo; v <= r.hi; ++v) table[v - r.lo] = r.compute(v);
  }
  int8_t operator()(int32_t v) const { return tabled ? table[v - row.lo] : row.compute(v); }
};

template <typename X>
std::optional<RowQuant> row_quant(const SourceRows<X>& src, int64_t c) {
  RowQuant t;
  if (src.transposed) {
    t.lo = t.hi = src.at(c, 0);
    for (int64_t i = 1; i < src.row_size; ++i) {
      const int32_t v = src.at(c, i);
      t.lo = std::min(t.lo, v), t.hi = std::max(t.hi, v);
    }
  } else {
    const X* row = src.values + c * src.row_size;
    X lo = row[0], hi = row[0];
    for (int64_t i = 1; i < src.row_size; ++i) lo = std::min(lo, row[i]), hi = std::max(hi, row[i]);
    t.lo = lo, t.hi = hi;
  }
  const float s = t.source_scale = src.scale_of(c);
  t.zero_point = src.zero_of(c);
  const uint32_t peak_bits_of_row =
      std::max(magnitude_bits(ops::dequantize_value(t.lo, t.zero_point, s)),
               magnitude_bits(ops::dequantize_value(t.hi, t.zero_point, s)));
  if (peak_bits_of_row >= kInfBits) return std::nullopt;
  const float peak = std::bit_cast<float>(peak_bits_of_row);
  t.scale = peak > 0.0f ? peak / 127.0f : 1.0f;
  // The file's grid (zero point 0, largest |v| 127, -128 unused, s > 0 normal and 127 s
  // finite): peak = 127 s (1 + d1), scale = s (1 + d1)(1 + d2) and v s / scale = v (1 + d3)
  // with |d3| < 2^-21 for every row value v, each d a float32 rounding (|d| <= 2^-24,
  // no subnormals): |v d3| < 127 * 2^-21 < 0.5, so every v rounds back to itself.
  // Int8WeightSource.MatchesQuantizingTheDequantizedWeights checks it against the float
  // path bit for bit.
  t.maps_to_itself = t.zero_point == 0 && t.lo >= -127 && std::max(-t.lo, t.hi) == 127 &&
                     s >= std::numeric_limits<float>::min() && std::isfinite(127.0f * s);
  return t;
}

// Whether row c quantizes each of its values to itself.
template <typename X>
bool maps_to_itself(const SourceRows<X>& src, int64_t c, const RowQuant& t) {
  if (t.maps_to_itself) return true;
  const RowTable q(t, src.row_size);
  if (q.tabled) {
    for (int32_t v = t.lo; v <= t.hi; ++v)
      if (q.table[v - t.lo] != v) return false;
    return true;
  }
  for (int64_t i = 0; i < src.row_size; ++i)
    if (q(src.at(c, i)) != src.at(c, i)) return false;
  return true;
}

// quantize_finite_rows of the dequantized rows. Where every row maps each int8 value to
// itself (a file quantized symmetric per channel with max|q| = 127, as frugal quantize
// writes it), the source's values are the result as they are: shared, not copied.
template <typename X>
std::optional<ChannelQuant> quantize_source(const SourceRows<X>& src, const Tensor& values,
                                            const Shape& out_shape) {
  std::vector<RowQuant> rows(static_cast<size_t>(src.rows));
  bool identity = std::is_same_v<X, int8_t> && !src.transposed;
  for (int64_t c = 0; c < src.rows; ++c) {
    auto t = row_quant(src, c);
    if (!t) return std::nullopt;
    rows[static_cast<size_t>(c)] = *t;
    identity = identity && maps_to_itself(src, c, *t);
  }
  ChannelQuant r;
  for (const auto& t : rows) r.scales.push_back(t.scale);
  if (identity) {
    r.values = values;
    return r;
  }
  r.values = Tensor::uninitialized(DType::kI8, out_shape);  // every value written below
  int8_t* dst = r.values.data<int8_t>();
  for (int64_t c = 0; c < src.rows; ++c) {
    const RowTable q(rows[static_cast<size_t>(c)], src.row_size);
    int8_t* out = dst + c * src.row_size;
    for (int64_t i = 0; i < src.row_size; ++i) out[i] = q(src.at(c, i));
  }
  return r;
}

template <typename X>
std::optional<ChannelQuant> quantize_source_as(const ops::WeightSource& s, int64_t rows,
                                               bool transposed) {
  const Tensor& x = s.values;
  const bool per_row = s.axis >= 0;
  if (per_row && s.axis != (transposed ? 1 : 0)) return std::nullopt;
  if (transposed && x.rank() != 2) return std::nullopt;
  if (x.rank() == 0 || (transposed ? x.dim(1) : x.dim(0)) != rows) return std::nullopt;
  const float* scale = s.scale.data<float>();
  for (int64_t c = 0; c < s.scale.numel(); ++c)
    if (!std::isfinite(scale[c])) return std::nullopt;
  const SourceRows<X> src{
      x.data<X>(), scale, s.zero_point.defined() ? s.zero_point.data<X>() : nullptr,
      per_row,     rows,  x.numel() / rows,
      transposed};
  if (src.row_size == 0) return std::nullopt;
  return quantize_source(src, x, transposed ? Shape{x.dim(1), x.dim(0)} : x.shape());
}

}  // namespace

std::optional<ChannelQuant> quantize_source_rows(const ops::WeightSource& source, int64_t rows,
                                                 bool transposed) {
  if (rows <= 0) return std::nullopt;
  if (source.values.dtype() == DType::kI8)
    return quantize_source_as<int8_t>(source, rows, transposed);
  if (source.values.dtype() == DType::kU8)
    return quantize_source_as<uint8_t>(source, rows, transposed);
  return std::nullopt;
}

ChannelQuant quantize_rows(const Tensor& w, int64_t rows) {
  std::optional<ChannelQuant> r = quantize_finite_rows(w, rows);
  FRUGAL_CHECK(r.has_value(), "quantize_rows: a non-finite value");
  return std::move(*r);
}

}  // namespace frugal::kernels::cpu
