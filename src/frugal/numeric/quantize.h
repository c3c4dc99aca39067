// Quantize: round every element of a span of floats to a number format. Results stay
// binary32 floats, each exactly representable in the target format (NaN stays NaN, even in
// formats without a NaN code, so that bad values remain visible).
//
// Float formats run a vectorized kernel (AVX-512 or AVX2 chosen at run time, scalar
// otherwise); spans of at least 1M elements are split over threads. Results are bit-identical
// across ISAs and thread counts: stochastic rounding draws element i's bits from Philox at
// counter (counter_offset + i).
//
// Sign of zero: float formats keep it (-tiny rounds to -0); the other kinds return +0.
// Block formats (MX): each run of `block` elements gets the shared scale 2^X with
// X = floor(log2(max |v|)) - emax(element), X in [-127, 127] (raised further for element
// formats with very small subnormals so that every value stays a binary32); elements are
// rounded as v / 2^X and saturate; a block holding NaN or inf becomes all NaN.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::numeric {

enum class Isa : uint8_t { kAuto, kScalar, kAvx2, kAvx512 };
Isa best_isa();               // what kAuto means on this CPU
bool isa_supported(Isa isa);  // can this CPU run it
std::string_view isa_name(Isa isa);

struct QuantizeOptions {
  uint64_t counter_offset = 0;  // stochastic rounding: element i uses counter offset + i
  int threads = 0;              // 0: automatic; 1: the calling thread only
  Isa isa = Isa::kAuto;         // kernel variant (tests and benchmarks force one)
};

// out[i] = round(in[i]). `in` and `out` have the same size and may be the same memory.
// Throws UserError for an invalid format, a size mismatch or a per-channel format (use
// quantize_per_channel or quantize_tensor).
void quantize(std::span<const float> in, std::span<float> out, const NumberFormat& format,
              const Rounding& rounding, const QuantizeOptions& options = {});

// One value in double precision: the result is the rounding of the exact x (not of x
// rounded to binary32 first). Block formats round in the element format (shared scale 1).
// For binary32 inputs this equals what quantize() produces for element `counter`.
double round_value(double x, const NumberFormat& format, const Rounding& rounding,
                   uint64_t counter = 0);

// Integer formats with one scale and zero point per channel. Element i belongs to channel
// (i / inner) % scales.size(), so a [C, inner] tensor or an [N, C, inner] tensor both work.
struct AffineParams {
  std::vector<float> scales;
  std::vector<int32_t> zero_points;
};
// Min/max calibration per channel: symmetric (zero point 0, scale = max|x| / qmax) or
// asymmetric (covers [min(x, 0), max(x, 0)]). Channels that are all zero get scale 1.
AffineParams choose_affine_params(std::span<const float> data, const NumberFormat& format,
                                  int64_t channels, int64_t inner, bool symmetric);
void quantize_per_channel(std::span<const float> in, std::span<float> out,
                          const NumberFormat& format, const AffineParams& params, int64_t inner,
                          const Rounding& rounding, const QuantizeOptions& options = {});

// A float32 tensor rounded to `format`; an int format with channel_axis >= 0 gets symmetric
// per-channel scales from the data along that axis.
Tensor quantize_tensor(const Tensor& t, const NumberFormat& format, const Rounding& rounding,
                       const QuantizeOptions& options = {});

}  // namespace frugal::numeric
