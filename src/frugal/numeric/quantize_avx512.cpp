// AVX-512 variant of the float-format rounding kernel (see quantize_kernels.h), 16 lanes,
// with a vectorized Philox4x32-10 for stochastic rounding. Bit-identical to the scalar
// kernel. Compiled for AVX-512 with a target pragma and only called when the CPU has it;
// everything inside the pragma is local to this file so no AVX-512 code leaks into
// functions the linker could share with other files.
// GCC 12 reports its own intrinsics (_mm512_undefined_*) as maybe-uninitialized
// (GCC bug 105593); the warning must be off before the header is read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "frugal/numeric/quantize_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

namespace frugal::numeric::detail {
namespace {

#include "frugal/numeric/block_scaling_impl.h"

#include "frugal/numeric/round_float_avx512_impl.h"

template <RoundingMode kMode>
void loop512(const float* in, float* out, size_t n, const FloatParams& fp, uint64_t seed,
             uint64_t first) {
  const Vec512Params p = broadcast(fp);
  size_t i = 0;
  if constexpr (kMode == RoundingMode::kStochastic) {
    // Philox blocks hold four consecutive counters: start the vector loop on a block edge.
    const size_t head = static_cast<size_t>((4 - (first & 3)) & 3);
    if (head) {
      const size_t m = head < n ? head : n;
      quantize_float_scalar(in, out, m, fp, kMode, seed, first);
      i = m;
    }
    const __m128i shift = _mm_cvtsi32_si128(32 - fp.random_bits);
    for (; i + 64 <= n; i += 64) {
      __m512i w[4], v[4];
      philox16(seed, (first + i) >> 2, w);
      words_to_elements(w, v);
      for (int q = 0; q < 4; ++q) {
        const __m512i x = _mm512_loadu_si512(in + i + 16 * q);
        const __m512i rnd = _mm512_srl_epi32(v[q], shift);
        _mm512_storeu_si512(out + i + 16 * q, round16<kMode>(x, p, rnd));
      }
    }
    if (i < n) quantize_float_scalar(in + i, out + i, n - i, fp, kMode, seed, first + i);
  } else {
    const __m512i no_random = _mm512_setzero_si512();
    for (; i + 16 <= n; i += 16) {
      const __m512i x = _mm512_loadu_si512(in + i);
      _mm512_storeu_si512(out + i, round16<kMode>(x, p, no_random));
    }
    if (i < n) {
      const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
      const __m512i x = _mm512_maskz_loadu_epi32(m, in + i);
      _mm512_mask_storeu_epi32(out + i, m, round16<kMode>(x, p, no_random));
    }
  }
}

// ---- MX blocks of a float element format, one pass per block.

// Stochastic rounding takes element i's word at counter first + i: Philox blocks of 64
// words are drawn as the loop reaches them (first is a multiple of 4).
template <RoundingMode kMode>
void fused_blocks512(const float* in, float* out, size_t n, size_t bs, const FloatParams& fp,
                     int emax, int lowest_x, uint64_t seed, uint64_t first) {
  const Vec512Params p = broadcast(fp);
  const __m512i no_random = _mm512_setzero_si512();
  const __m128i shift = _mm_cvtsi32_si128(32 - fp.random_bits);
  __m512i words[4];
  const __m512i magnitude = _mm512_set1_epi32(0x7fffffff);
  const __m512 tiny = _mm512_castsi512_ps(_mm512_set1_epi32(1));
  for (size_t b = 0; b < n; b += bs) {
    const float* v = in + b;
    float* o = out + b;
    __m512i amax = _mm512_setzero_si512();
    for (size_t i = 0; i < bs; i += 16)
      amax = _mm512_max_epu32(amax, _mm512_and_si512(_mm512_loadu_si512(v + i), magnitude));
    const unsigned m = _mm512_reduce_max_epu32(amax);
    if (m >= 0x7f800000u) {
      const __m512 nan = _mm512_set1_ps(__builtin_nanf(""));
      for (size_t i = 0; i < bs; i += 16) {
        if constexpr (kMode == RoundingMode::kStochastic) {  // keep the words in step
          if ((b + i) % 64 == 0) {
            __m512i w[4];
            philox16(seed, (first + b + i) >> 2, w);
            words_to_elements(w, words);
          }
        }
        _mm512_storeu_ps(o + i, nan);
      }
      continue;
    }
    int x = m ? block_floor_log2(m) - emax : 0;
    x = x < lowest_x ? lowest_x : x > 127 ? 127 : x;
    const __m512 down = _mm512_set1_ps(block_exp2(-x));
    const __m512 up = _mm512_set1_ps(block_exp2(x));
    for (size_t i = 0; i < bs; i += 16) {
      const __m512 xv = _mm512_loadu_ps(v + i);
      __m512 sv = _mm512_mul_ps(xv, down);
      if (x > 0) {  // underflow to zero keeps the smallest subnormal of its sign
        const __mmask16 lost = _mm512_cmp_ps_mask(sv, _mm512_setzero_ps(), _CMP_EQ_OQ) &
                               _mm512_cmp_ps_mask(xv, _mm512_setzero_ps(), _CMP_NEQ_UQ);
        const __m512 signed_tiny = _mm512_castsi512_ps(_mm512_or_si512(
            _mm512_castps_si512(tiny), _mm512_andnot_si512(magnitude, _mm512_castps_si512(xv))));
        sv = _mm512_mask_blend_ps(lost, sv, signed_tiny);
      }
      __m512i rnd = no_random;
      if constexpr (kMode == RoundingMode::kStochastic) {
        if ((b + i) % 64 == 0) {
          __m512i w[4];
          philox16(seed, (first + b + i) >> 2, w);
          words_to_elements(w, words);
        }
        rnd = _mm512_srl_epi32(words[((b + i) / 16) % 4], shift);
      }
      const __m512i r = round16<kMode>(_mm512_castps_si512(sv), p, rnd);
      _mm512_storeu_ps(o + i, _mm512_mul_ps(_mm512_castsi512_ps(r), up));
    }
  }
}

// ---- Integer and fixed-point formats (see AffineKernelParams), in double precision.

struct AffineVec512 {
  __m512d scale, zero_point, qmin, qmax, two_pow_r, half;
  __m512 scale_f;
};

template <RoundingMode kMode>
inline __m512d round_int8(__m512d y, const AffineVec512& p, __m256i rnd) {
  if constexpr (kMode == RoundingMode::kNearestEven)
    return _mm512_roundscale_pd(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kTowardZero)
    return _mm512_roundscale_pd(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kUp)
    return _mm512_roundscale_pd(y, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kDown)
    return _mm512_roundscale_pd(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kNearestAway) {
    // Ties away from zero: floor(|y| + 1/2) with y's sign.
    const __m512d a = _mm512_abs_pd(y);
    const __m512d r =
        _mm512_roundscale_pd(_mm512_add_pd(a, p.half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    return _mm512_castsi512_pd(
        _mm512_or_si512(_mm512_castpd_si512(r),
                        _mm512_andnot_si512(_mm512_castpd_si512(a), _mm512_castpd_si512(y))));
  }
  if constexpr (kMode == RoundingMode::kStochastic) {
    const __m512d lo = _mm512_roundscale_pd(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m512d frac = _mm512_sub_pd(y, lo);
    const __m512d fl = _mm512_roundscale_pd(_mm512_mul_pd(frac, p.two_pow_r),
                                            _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __mmask8 up =
        _mm512_cmp_pd_mask(_mm512_add_pd(fl, _mm512_cvtepu32_pd(rnd)), p.two_pow_r, _CMP_GE_OQ);
    return _mm512_mask_add_pd(lo, up, lo, _mm512_set1_pd(1.0));
  }
  return y;
}

template <RoundingMode kMode>
inline __m512 affine16(__m512 x, const AffineVec512& p, __m512i rnd) {
  const __m512d halves[2] = {_mm512_cvtps_pd(_mm512_castps512_ps256(x)),
                             _mm512_cvtps_pd(_mm512_extractf32x8_ps(x, 1))};
  const __m256i rnds[2] = {_mm512_castsi512_si256(rnd), _mm512_extracti64x4_epi64(rnd, 1)};
  __m256 v[2];
  for (int h = 0; h < 2; ++h) {
    __m512d k = _mm512_add_pd(round_int8<kMode>(_mm512_div_pd(halves[h], p.scale), p, rnds[h]),
                              p.zero_point);
    k = _mm512_min_pd(_mm512_max_pd(k, p.qmin), p.qmax);
    v[h] = _mm512_cvtpd_ps(_mm512_sub_pd(k, p.zero_point));
  }
  __m512 r = _mm512_insertf32x8(_mm512_castps256_ps512(v[0]), v[1], 1);
  r = _mm512_add_ps(_mm512_mul_ps(r, p.scale_f), _mm512_setzero_ps());  // + 0: no negative zero
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_blend_ps(
      nan, r,
      _mm512_castsi512_ps(
          _mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(static_cast<int>(kQuietBit)))));
}

template <RoundingMode kMode>
void affine_loop512(const float* in, float* out, size_t n, const AffineKernelParams& ap,
                    uint64_t seed, uint64_t first) {
  AffineVec512 p;
  p.scale = _mm512_set1_pd(ap.scale);
  p.zero_point = _mm512_set1_pd(ap.zero_point);
  p.qmin = _mm512_set1_pd(ap.qmin);
  p.qmax = _mm512_set1_pd(ap.qmax);
  p.two_pow_r = _mm512_set1_pd(static_cast<double>(uint64_t{1} << ap.random_bits));
  p.half = _mm512_set1_pd(0.5);
  p.scale_f = _mm512_set1_ps(ap.scale_f);
  size_t i = 0;
  if constexpr (kMode == RoundingMode::kStochastic) {
    const size_t head = static_cast<size_t>((4 - (first & 3)) & 3);
    if (head) {
      const size_t m = head < n ? head : n;
      quantize_affine_scalar(in, out, m, ap, kMode, seed, first);
      i = m;
    }
    const __m128i shift = _mm_cvtsi32_si128(32 - ap.random_bits);
    for (; i + 64 <= n; i += 64) {
      __m512i w[4], v[4];
      philox16(seed, (first + i) >> 2, w);
      words_to_elements(w, v);
      for (int q = 0; q < 4; ++q)
        _mm512_storeu_ps(out + i + 16 * q, affine16<kMode>(_mm512_loadu_ps(in + i + 16 * q), p,
                                                           _mm512_srl_epi32(v[q], shift)));
    }
  } else {
    const __m512i none = _mm512_setzero_si512();
    for (; i + 16 <= n; i += 16)
      _mm512_storeu_ps(out + i, affine16<kMode>(_mm512_loadu_ps(in + i), p, none));
  }
  if (i < n) quantize_affine_scalar(in + i, out + i, n - i, ap, kMode, seed, first + i);
}

// ---- Binary and ternary formats, in double like round_binary / round_ternary.

struct SignVec {
  __m512d s, minus_s, two_s, tau, two_pow_r, zero, one;
};

template <RoundingMode kMode, bool kTernary>
inline __m256 sign8(__m256 xf, const SignVec& p, __m256i rnd) {
  const __m512d x = _mm512_cvtps_pd(xf);
  const __m512d r = _mm512_cvtepu32_pd(rnd);
  __m512d v;
  if constexpr (!kTernary) {
    __mmask8 plus;
    if constexpr (kMode == RoundingMode::kUp) {
      plus = _mm512_cmp_pd_mask(x, p.minus_s, _CMP_GT_OQ);
    } else if constexpr (kMode == RoundingMode::kDown) {
      plus = _mm512_cmp_pd_mask(x, p.s, _CMP_GE_OQ);
    } else if constexpr (kMode == RoundingMode::kStochastic) {
      __m512d y = _mm512_div_pd(_mm512_add_pd(x, p.s), p.two_s);
      y = _mm512_min_pd(_mm512_max_pd(y, p.zero), p.one);
      const __m512d fl = _mm512_roundscale_pd(_mm512_mul_pd(y, p.two_pow_r),
                                              _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      plus = _mm512_cmp_pd_mask(y, p.one, _CMP_GE_OQ) |
             (_mm512_cmp_pd_mask(y, p.zero, _CMP_GT_OQ) &
              _mm512_cmp_pd_mask(_mm512_add_pd(fl, r), p.two_pow_r, _CMP_GE_OQ));
    } else {
      plus = _mm512_cmp_pd_mask(x, p.zero, _CMP_GE_OQ);  // nearest; 0 (a tie) goes to +scale
    }
    v = _mm512_mask_blend_pd(plus, p.minus_s, p.s);
  } else {
    const __m512d a = _mm512_abs_pd(x);
    __mmask8 nonzero;
    if constexpr (kMode == RoundingMode::kNearestEven) {
      nonzero = _mm512_cmp_pd_mask(a, p.tau, _CMP_GT_OQ);
    } else if constexpr (kMode == RoundingMode::kNearestAway) {
      nonzero = _mm512_cmp_pd_mask(a, p.tau, _CMP_GE_OQ) & _mm512_cmp_pd_mask(a, p.zero, _CMP_GT_OQ);
    } else if constexpr (kMode == RoundingMode::kTowardZero) {
      nonzero = _mm512_cmp_pd_mask(a, p.s, _CMP_GE_OQ);
    } else if constexpr (kMode == RoundingMode::kUp) {
      nonzero = _mm512_cmp_pd_mask(x, p.zero, _CMP_GT_OQ) | _mm512_cmp_pd_mask(x, p.minus_s, _CMP_LE_OQ);
    } else if constexpr (kMode == RoundingMode::kDown) {
      nonzero = _mm512_cmp_pd_mask(x, p.zero, _CMP_LT_OQ) | _mm512_cmp_pd_mask(x, p.s, _CMP_GE_OQ);
    } else {
      const __m512d fl = _mm512_roundscale_pd(_mm512_mul_pd(_mm512_div_pd(a, p.s), p.two_pow_r),
                                              _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
      nonzero = _mm512_cmp_pd_mask(a, p.s, _CMP_GE_OQ) |
                (_mm512_cmp_pd_mask(a, p.zero, _CMP_GT_OQ) &
                 _mm512_cmp_pd_mask(_mm512_add_pd(fl, r), p.two_pow_r, _CMP_GE_OQ));
    }
    const __mmask8 negative = _mm512_cmp_pd_mask(x, p.zero, _CMP_LT_OQ);
    v = _mm512_maskz_mov_pd(nonzero, _mm512_mask_blend_pd(negative, p.s, p.minus_s));
  }
  return _mm512_cvtpd_ps(v);
}

template <RoundingMode kMode, bool kTernary>
inline __m512 sign16(__m512 x, const SignVec& p, __m512i rnd) {
  const __m256 lo = sign8<kMode, kTernary>(_mm512_castps512_ps256(x), p,
                                           _mm512_castsi512_si256(rnd));
  const __m256 hi = sign8<kMode, kTernary>(_mm512_extractf32x8_ps(x, 1), p,
                                           _mm512_extracti64x4_epi64(rnd, 1));
  const __m512 r = _mm512_insertf32x8(_mm512_castps256_ps512(lo), hi, 1);
  const __mmask16 nan = _mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q);
  return _mm512_mask_blend_ps(
      nan, r,
      _mm512_castsi512_ps(
          _mm512_or_si512(_mm512_castps_si512(x), _mm512_set1_epi32(static_cast<int>(kQuietBit)))));
}

template <RoundingMode kMode, bool kTernary>
void sign_loop512(const float* in, float* out, size_t n, const SignVec& p, uint64_t seed,
                  uint64_t first, int random_bits) {
  if constexpr (kMode == RoundingMode::kStochastic) {
    const __m128i shift = _mm_cvtsi32_si128(32 - random_bits);
    for (size_t i = 0; i + 64 <= n; i += 64) {
      __m512i w[4], v[4];
      philox16(seed, (first + i) >> 2, w);
      words_to_elements(w, v);
      for (int q = 0; q < 4; ++q)
        _mm512_storeu_ps(out + i + 16 * q,
                         sign16<kMode, kTernary>(_mm512_loadu_ps(in + i + 16 * q), p,
                                                 _mm512_srl_epi32(v[q], shift)));
    }
  } else {
    const __m512i none = _mm512_setzero_si512();
    for (size_t i = 0; i + 16 <= n; i += 16)
      _mm512_storeu_ps(out + i, sign16<kMode, kTernary>(_mm512_loadu_ps(in + i), p, none));
  }
}

template <bool kTernary>
void sign_dispatch(const float* in, float* out, size_t n, const SignVec& p, RoundingMode mode,
                   uint64_t seed, uint64_t first, int bits) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return sign_loop512<RoundingMode::kNearestEven, kTernary>(in, out, n, p, seed, first, bits);
    case RoundingMode::kNearestAway:
      return sign_loop512<RoundingMode::kNearestAway, kTernary>(in, out, n, p, seed, first, bits);
    case RoundingMode::kTowardZero:
      return sign_loop512<RoundingMode::kTowardZero, kTernary>(in, out, n, p, seed, first, bits);
    case RoundingMode::kUp:
      return sign_loop512<RoundingMode::kUp, kTernary>(in, out, n, p, seed, first, bits);
    case RoundingMode::kDown:
      return sign_loop512<RoundingMode::kDown, kTernary>(in, out, n, p, seed, first, bits);
    case RoundingMode::kStochastic:
      return sign_loop512<RoundingMode::kStochastic, kTernary>(in, out, n, p, seed, first, bits);
  }
}

}  // namespace

void quantize_sign_avx512(const float* in, float* out, size_t n, const NumberFormat& e,
                          RoundingMode mode, uint64_t seed, uint64_t first, int random_bits) {
  SignVec p;
  const double s = e.scale;
  p.s = _mm512_set1_pd(s);
  p.minus_s = _mm512_set1_pd(-s);
  p.tau = _mm512_set1_pd(static_cast<double>(e.threshold) * s);
  p.two_pow_r = _mm512_set1_pd(static_cast<double>(uint64_t{1} << random_bits));
  p.two_s = _mm512_set1_pd(2 * s);
  p.zero = _mm512_setzero_pd();
  p.one = _mm512_set1_pd(1.0);
  if (e.kind == FormatKind::kTernary) {
    sign_dispatch<true>(in, out, n, p, mode, seed, first, random_bits);
  } else {
    sign_dispatch<false>(in, out, n, p, mode, seed, first, random_bits);
  }
}

void quantize_affine_avx512(const float* in, float* out, size_t n, const AffineKernelParams& p,
                            RoundingMode mode, uint64_t seed, uint64_t first) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return affine_loop512<RoundingMode::kNearestEven>(in, out, n, p, seed, first);
    case RoundingMode::kNearestAway:
      return affine_loop512<RoundingMode::kNearestAway>(in, out, n, p, seed, first);
    case RoundingMode::kTowardZero:
      return affine_loop512<RoundingMode::kTowardZero>(in, out, n, p, seed, first);
    case RoundingMode::kUp:
      return affine_loop512<RoundingMode::kUp>(in, out, n, p, seed, first);
    case RoundingMode::kDown:
      return affine_loop512<RoundingMode::kDown>(in, out, n, p, seed, first);
    case RoundingMode::kStochastic:
      return affine_loop512<RoundingMode::kStochastic>(in, out, n, p, seed, first);
  }
}

void quantize_float_avx512(const float* in, float* out, size_t n, const FloatParams& p,
                           RoundingMode mode, uint64_t seed, uint64_t first) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return loop512<RoundingMode::kNearestEven>(in, out, n, p, seed, first);
    case RoundingMode::kNearestAway:
      return loop512<RoundingMode::kNearestAway>(in, out, n, p, seed, first);
    case RoundingMode::kTowardZero:
      return loop512<RoundingMode::kTowardZero>(in, out, n, p, seed, first);
    case RoundingMode::kUp:
      return loop512<RoundingMode::kUp>(in, out, n, p, seed, first);
    case RoundingMode::kDown:
      return loop512<RoundingMode::kDown>(in, out, n, p, seed, first);
    case RoundingMode::kStochastic:
      return loop512<RoundingMode::kStochastic>(in, out, n, p, seed, first);
  }
}

void quantize_blocks_float_avx512(const float* in, float* out, size_t n, size_t bs,
                                  const FloatParams& p, RoundingMode mode, int emax, int lowest_x,
                                  uint64_t seed, uint64_t first) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return fused_blocks512<RoundingMode::kNearestEven>(in, out, n, bs, p, emax, lowest_x, seed,
                                                         first);
    case RoundingMode::kNearestAway:
      return fused_blocks512<RoundingMode::kNearestAway>(in, out, n, bs, p, emax, lowest_x, seed,
                                                         first);
    case RoundingMode::kTowardZero:
      return fused_blocks512<RoundingMode::kTowardZero>(in, out, n, bs, p, emax, lowest_x, seed,
                                                        first);
    case RoundingMode::kUp:
      return fused_blocks512<RoundingMode::kUp>(in, out, n, bs, p, emax, lowest_x, seed, first);
    case RoundingMode::kDown:
      return fused_blocks512<RoundingMode::kDown>(in, out, n, bs, p, emax, lowest_x, seed, first);
    case RoundingMode::kStochastic:
      return fused_blocks512<RoundingMode::kStochastic>(in, out, n, bs, p, emax, lowest_x, seed,
                                                        first);
  }
}

void block_scale_avx512(const float* in, float* tmp, int* scale_exp, size_t m, size_t bs, int emax,
                        int lowest_x) {
  block_scale_impl(in, tmp, scale_exp, m, bs, emax, lowest_x);
}

void block_unscale_avx512(const float* tmp, float* out, const int* scale_exp, size_t m, size_t bs) {
  block_unscale_impl(tmp, out, scale_exp, m, bs);
}

}  // namespace frugal::numeric::detail

#pragma GCC pop_options
