// Internal to numeric: the float-format rounding kernel shared by the scalar, AVX2 and
// AVX-512 variants. Rounding works on the bits of binary32 magnitudes:
//   - a magnitude below the smallest positive value t of the format (t = smallest subnormal,
//     or smallest normal without subnormals) rounds to 0 or t;
//   - otherwise the format's quantum at x is 2^s units of the magnitude's last bit, with
//     s = 23 - M + max(0, emin_biased - max(biased exponent of x, 1)); rounding adds an
//     increment and clears the low s bits, a carry moving into the next binade as it should;
//   - results beyond the largest finite value overflow to inf, NaN or the maximum.
#pragma once

#include <cstddef>
#include <cstdint>

#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::numeric::detail {

struct FloatParams {
  int32_t mant_shift = 0;       // 23 - M
  int32_t emin_biased = 1;      // emin + 127, >= 1
  uint32_t tiny_bits = 0;       // binary32 bits of t
  uint32_t half_tiny_bits = 0;  // bits of t / 2
  int32_t tiny_exp = 0;         // log2 t
  uint32_t max_bits = 0;        // bits of the largest finite value
  uint32_t overflow_bits = 0;   // magnitude after an overflow that rounds away (inf, NaN or max)
  uint32_t inf_bits = 0;        // magnitude for an infinite input
  int32_t random_bits = 32;     // R
  // Ties to even look at the code's last bit. It is bit s of the magnitude except when
  // s = 23 (only the implicit bit is kept): then lo is the smallest subnormal (odd code) or,
  // for M = 0, a normal whose code parity is that of (biased exponent + bias + 1).
  uint32_t bias_parity_fix = 0;  // (bias + 1) & 1
};

FloatParams make_float_params(const NumberFormat& format, int random_bits);

constexpr uint32_t kQuietBit = 0x00400000u;
constexpr uint32_t kInfBits = 0x7f800000u;

// The random R-bit word of element `counter` (top R bits of Philox's 32-bit word).
inline uint32_t random_word_bits(uint32_t word, int r) {
  return r >= 32 ? word : word >> (32 - r);
}

// Rounds binary32 bits `u`. `rnd` is the element's R-bit random word (stochastic only).
template <RoundingMode kMode>
inline uint32_t round_float_bits(uint32_t u, const FloatParams& p, uint32_t rnd) {
  const uint32_t sign = u & 0x80000000u;
  const uint32_t a = u & 0x7fffffffu;
  if (a >= kInfBits) return a == kInfBits ? (sign | p.inf_bits) : (u | kQuietBit);
  // Which way the magnitude goes for the directed modes.
  bool away = false;
  if constexpr (kMode == RoundingMode::kUp) away = sign == 0;
  if constexpr (kMode == RoundingMode::kDown) away = sign != 0;
  const uint32_t R = static_cast<uint32_t>(p.random_bits);
  if (a < p.tiny_bits) {
    bool up = false;
    if constexpr (kMode == RoundingMode::kNearestEven) up = a > p.half_tiny_bits;
    if constexpr (kMode == RoundingMode::kNearestAway) up = a >= p.half_tiny_bits;
    if constexpr (kMode == RoundingMode::kUp || kMode == RoundingMode::kDown) up = away && a != 0;
    if constexpr (kMode == RoundingMode::kStochastic) {
      // floor(a / t * 2^R) from the integer significand and exponent of a.
      const int32_t fe = static_cast<int32_t>(a >> 23);
      const uint32_t sig = fe ? ((a & 0x7fffffu) | 0x800000u) : a;
      const int32_t d = p.tiny_exp - static_cast<int32_t>(R) - (fe ? fe : 1) + 150;
      const uint32_t fl = d >= 32 || d <= -32 ? 0 : d >= 0 ? sig >> d : sig << -d;
      up = fl != 0 && rnd >= static_cast<uint32_t>((uint64_t{1} << R) - fl);
    }
    return sign | (up ? p.tiny_bits : 0u);
  }
  const int32_t fe = static_cast<int32_t>(a >> 23);
  int32_t s = p.emin_biased - (fe ? fe : 1);
  s = p.mant_shift + (s > 0 ? s : 0);
  const uint32_t mask = (uint32_t{1} << s) - 1;
  uint32_t inc = 0;
  if constexpr (kMode == RoundingMode::kNearestEven) {
    uint32_t odd = s == 0 ? 0 : (a >> s) & 1;
    if (s == 23)
      odd = fe < p.emin_biased ? 1 : ((static_cast<uint32_t>(fe) & 1) ^ p.bias_parity_fix);
    inc = (mask >> 1) + odd;
  }
  if constexpr (kMode == RoundingMode::kNearestAway) inc = (mask + 1) >> 1;
  if constexpr (kMode == RoundingMode::kUp || kMode == RoundingMode::kDown) inc = away ? mask : 0;
  if constexpr (kMode == RoundingMode::kStochastic) {
    const int32_t rs = static_cast<int32_t>(R) - s;
    inc = rs >= 32 ? 0 : rs >= 0 ? rnd >> rs : rnd << -rs;
  }
  uint32_t r = (a + inc) & ~mask;
  if (r > p.max_bits) {
    bool toward = kMode == RoundingMode::kTowardZero;
    if constexpr (kMode == RoundingMode::kUp || kMode == RoundingMode::kDown) toward = !away;
    r = toward ? p.max_bits : p.overflow_bits;
  }
  return sign | r;
}

// Double-precision reference rounding of the exact value x (no validation of the format);
// `rnd` is the R-bit random word for stochastic rounding.
double round_float_double(double x, const NumberFormat& f, const FloatRange& range,
                          RoundingMode mode, uint32_t rnd, int bits);
// Any element kind (float, fixed, int, binary, ternary), no validation.
double round_element(double x, const NumberFormat& e, RoundingMode mode, uint32_t rnd, int bits);

// Kernels over n floats; element i uses Philox(seed) word at counter first + i.
using FloatKernel = void (*)(const float* in, float* out, size_t n, const FloatParams& p,
                             RoundingMode mode, uint64_t seed, uint64_t first);
void quantize_float_scalar(const float* in, float* out, size_t n, const FloatParams& p,
                           RoundingMode mode, uint64_t seed, uint64_t first);
void quantize_float_avx2(const float* in, float* out, size_t n, const FloatParams& p,
                         RoundingMode mode, uint64_t seed, uint64_t first);
void quantize_float_avx512(const float* in, float* out, size_t n, const FloatParams& p,
                           RoundingMode mode, uint64_t seed, uint64_t first);

// Integer and fixed-point formats: k = round(x / scale) + zero_point clamped to [qmin, qmax],
// value = binary32 (k - zero_point) * scale (fixed<I>.<F>: scale 2^-F, zero point 0). The
// division is done in double, which rounds exactly for codes of at most 16 bits.
struct AffineKernelParams {
  double scale = 1;   // divisor
  float scale_f = 1;  // multiplier for the carried value
  double zero_point = 0;
  double qmin = 0, qmax = 0;
  int32_t random_bits = 32;
};
AffineKernelParams make_affine_params(const NumberFormat& format, int random_bits);

using AffineKernel = void (*)(const float* in, float* out, size_t n, const AffineKernelParams& p,
                              RoundingMode mode, uint64_t seed, uint64_t first);
void quantize_affine_avx2(const float* in, float* out, size_t n, const AffineKernelParams& p,
                          RoundingMode mode, uint64_t seed, uint64_t first);
void quantize_affine_avx512(const float* in, float* out, size_t n, const AffineKernelParams& p,
                            RoundingMode mode, uint64_t seed, uint64_t first);
// The reference, element by element (also the tails of the vector kernels).
void quantize_affine_scalar(const float* in, float* out, size_t n, const AffineKernelParams& p,
                            RoundingMode mode, uint64_t seed, uint64_t first);

// Binary and ternary formats (round_element's rules, compared in double as it does): n a
// multiple of 16, and for stochastic rounding of 64 with `first` a multiple of 4. AVX-512.
void quantize_sign_avx512(const float* in, float* out, size_t n, const NumberFormat& e,
                          RoundingMode mode, uint64_t seed, uint64_t first, int random_bits);

// MX block scaling (block_scaling_impl.h) compiled per instruction set.
using BlockScaleFn = void (*)(const float* in, float* tmp, int* scale_exp, size_t m, size_t bs,
                              int emax, int lowest_x);
using BlockUnscaleFn = void (*)(const float* tmp, float* out, const int* scale_exp, size_t m,
                                size_t bs);
void block_scale_scalar(const float*, float*, int*, size_t, size_t, int, int);
void block_scale_avx2(const float*, float*, int*, size_t, size_t, int, int);
void block_scale_avx512(const float*, float*, int*, size_t, size_t, int, int);
void block_unscale_scalar(const float*, float*, const int*, size_t, size_t);
void block_unscale_avx2(const float*, float*, const int*, size_t, size_t);
void block_unscale_avx512(const float*, float*, const int*, size_t, size_t);

// Whole MX blocks of a float element format in one pass (block size a multiple of 16, n a
// multiple of the block size; stochastic rounding: element i uses the word at counter
// first + i, first a multiple of 4): AVX-512.
void quantize_blocks_float_avx512(const float* in, float* out, size_t n, size_t bs,
                                  const FloatParams& p, RoundingMode mode, int emax, int lowest_x,
                                  uint64_t seed, uint64_t first);

}  // namespace frugal::numeric::detail
