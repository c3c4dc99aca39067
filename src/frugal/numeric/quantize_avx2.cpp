// AVX2 variant of the float-format rounding kernel (see quantize_kernels.h), 8 lanes, with a
// vectorized Philox4x32-10 for stochastic rounding. Bit-identical to the scalar kernel.
// Compiled for AVX2 with a target pragma and only called when the CPU has it; everything
// inside the pragma is local to this file.
// GCC 12 reports its own intrinsics (_mm512_undefined_*) as maybe-uninitialized
// (GCC bug 105593); the warning must be off before the header is read.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstddef>
#include <cstdint>

#include "frugal/numeric/quantize_kernels.h"

#pragma GCC push_options
#pragma GCC target("avx2")

namespace frugal::numeric::detail {
namespace {

#include "frugal/numeric/block_scaling_impl.h"

struct Vec256Params {
  __m256i mant_shift, emin_biased, tiny_bits, half_tiny_minus_one, tiny_shift_base, max_bits,
      overflow_bits, inf_bits, random_bits, parity_fix, two_pow_r;
};

Vec256Params broadcast(const FloatParams& p) {
  Vec256Params v;
  v.mant_shift = _mm256_set1_epi32(p.mant_shift);
  v.emin_biased = _mm256_set1_epi32(p.emin_biased);
  v.tiny_bits = _mm256_set1_epi32(static_cast<int>(p.tiny_bits));
  v.half_tiny_minus_one = _mm256_set1_epi32(static_cast<int>(p.half_tiny_bits - 1));
  v.tiny_shift_base = _mm256_set1_epi32(p.tiny_exp - p.random_bits + 150);
  v.max_bits = _mm256_set1_epi32(static_cast<int>(p.max_bits));
  v.overflow_bits = _mm256_set1_epi32(static_cast<int>(p.overflow_bits));
  v.inf_bits = _mm256_set1_epi32(static_cast<int>(p.inf_bits));
  v.random_bits = _mm256_set1_epi32(p.random_bits);
  v.parity_fix = _mm256_set1_epi32(static_cast<int>(p.bias_parity_fix));
  v.two_pow_r =
      _mm256_set1_epi32(static_cast<int>(p.random_bits >= 32 ? 0u : (1u << p.random_bits)));
  return v;
}

inline __m256i nonzero(__m256i x) {
  return _mm256_xor_si256(_mm256_cmpeq_epi32(x, _mm256_setzero_si256()), _mm256_set1_epi32(-1));
}
inline bool any(__m256i m) {
  return !_mm256_testz_si256(m, m);
}
inline __m256i select(__m256i if_false, __m256i if_true, __m256i m) {
  return _mm256_blendv_epi8(if_false, if_true, m);
}

template <RoundingMode kMode>
inline __m256i round8(__m256i u, const Vec256Params& p, __m256i rnd) {
  const __m256i zero = _mm256_setzero_si256();
  const __m256i one = _mm256_set1_epi32(1);
  const __m256i sign = _mm256_and_si256(u, _mm256_set1_epi32(static_cast<int>(0x80000000u)));
  const __m256i a = _mm256_and_si256(u, _mm256_set1_epi32(0x7fffffff));
  const __m256i negative = _mm256_srai_epi32(u, 31);
  const __m256i fe = _mm256_srli_epi32(a, 23);
  const __m256i fe1 = _mm256_max_epi32(fe, one);

  const __m256i s =
      _mm256_add_epi32(p.mant_shift, _mm256_max_epi32(_mm256_sub_epi32(p.emin_biased, fe1), zero));
  const __m256i mask = _mm256_sub_epi32(_mm256_sllv_epi32(one, s), one);
  __m256i inc = zero;
  if constexpr (kMode == RoundingMode::kNearestEven) {
    __m256i odd = _mm256_and_si256(_mm256_srlv_epi32(a, s), one);
    odd = _mm256_andnot_si256(_mm256_cmpeq_epi32(s, zero), odd);
    const __m256i s23 = _mm256_cmpeq_epi32(s, _mm256_set1_epi32(23));
    if (any(s23)) {
      const __m256i normal_odd = _mm256_xor_si256(_mm256_and_si256(fe, one), p.parity_fix);
      const __m256i odd23 = select(normal_odd, one, _mm256_cmpgt_epi32(p.emin_biased, fe));
      odd = select(odd, odd23, s23);
    }
    inc = _mm256_add_epi32(_mm256_srli_epi32(mask, 1), odd);
  } else if constexpr (kMode == RoundingMode::kNearestAway) {
    inc = _mm256_srli_epi32(_mm256_add_epi32(mask, one), 1);
  } else if constexpr (kMode == RoundingMode::kUp) {
    inc = _mm256_andnot_si256(negative, mask);
  } else if constexpr (kMode == RoundingMode::kDown) {
    inc = _mm256_and_si256(negative, mask);
  } else if constexpr (kMode == RoundingMode::kStochastic) {
    const __m256i rs = _mm256_sub_epi32(p.random_bits, s);
    inc = _mm256_sllv_epi32(_mm256_srlv_epi32(rnd, _mm256_max_epi32(rs, zero)),
                            _mm256_max_epi32(_mm256_sub_epi32(zero, rs), zero));
  }
  __m256i r = _mm256_andnot_si256(mask, _mm256_add_epi32(a, inc));
  const __m256i over = _mm256_cmpgt_epi32(r, p.max_bits);
  if (any(over)) {
    __m256i ovf = p.overflow_bits;
    if constexpr (kMode == RoundingMode::kTowardZero) ovf = p.max_bits;
    if constexpr (kMode == RoundingMode::kUp) ovf = select(p.overflow_bits, p.max_bits, negative);
    if constexpr (kMode == RoundingMode::kDown) ovf = select(p.max_bits, p.overflow_bits, negative);
    r = select(r, ovf, over);
  }

  const __m256i tiny = _mm256_cmpgt_epi32(p.tiny_bits, a);
  if (any(tiny)) {
    __m256i up = zero;
    if constexpr (kMode == RoundingMode::kNearestEven)
      up = _mm256_cmpgt_epi32(a, _mm256_add_epi32(p.half_tiny_minus_one, one));
    if constexpr (kMode == RoundingMode::kNearestAway)
      up = _mm256_cmpgt_epi32(a, p.half_tiny_minus_one);
    if constexpr (kMode == RoundingMode::kUp) up = _mm256_andnot_si256(negative, nonzero(a));
    if constexpr (kMode == RoundingMode::kDown) up = _mm256_and_si256(negative, nonzero(a));
    if constexpr (kMode == RoundingMode::kStochastic) {
      const __m256i sig = select(a,
                                 _mm256_or_si256(_mm256_and_si256(a, _mm256_set1_epi32(0x7fffff)),
                                                 _mm256_set1_epi32(0x800000)),
                                 nonzero(fe));
      const __m256i d = _mm256_sub_epi32(p.tiny_shift_base, fe1);
      const __m256i fl = _mm256_sllv_epi32(_mm256_srlv_epi32(sig, _mm256_max_epi32(d, zero)),
                                           _mm256_max_epi32(_mm256_sub_epi32(zero, d), zero));
      const __m256i threshold = _mm256_sub_epi32(p.two_pow_r, fl);
      const __m256i ge = _mm256_cmpeq_epi32(_mm256_max_epu32(rnd, threshold), rnd);
      up = _mm256_and_si256(nonzero(fl), ge);
    }
    r = select(r, _mm256_and_si256(up, p.tiny_bits), tiny);
  }

  const __m256i inf = _mm256_set1_epi32(0x7f800000);
  r = select(r, p.inf_bits, _mm256_cmpeq_epi32(a, inf));
  r = _mm256_or_si256(r, sign);
  return select(r, _mm256_or_si256(u, _mm256_set1_epi32(static_cast<int>(kQuietBit))),
                _mm256_cmpgt_epi32(a, inf));
}

inline void mul_hi_lo(__m256i a, __m256i m, __m256i& hi, __m256i& lo) {
  const __m256i even = _mm256_mul_epu32(a, m);
  const __m256i odd = _mm256_mul_epu32(_mm256_srli_epi64(a, 32), m);
  lo = _mm256_blend_epi32(even, _mm256_slli_epi64(odd, 32), 0xAA);
  hi = _mm256_blend_epi32(_mm256_srli_epi64(even, 32), odd, 0xAA);
}

// Philox4x32-10 (stream 0) for blocks b0 .. b0+7; w[j] lane l = word j of block b0 + l.
inline void philox8(uint64_t seed, uint64_t b0, __m256i w[4]) {
  const __m256i iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i base_lo = _mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(b0)));
  __m256i c0 = _mm256_add_epi32(base_lo, iota);
  const __m256i flip = _mm256_set1_epi32(static_cast<int>(0x80000000u));
  const __m256i carry =
      _mm256_cmpgt_epi32(_mm256_xor_si256(base_lo, flip), _mm256_xor_si256(c0, flip));
  __m256i c1 =
      _mm256_sub_epi32(_mm256_set1_epi32(static_cast<int>(static_cast<uint32_t>(b0 >> 32))), carry);
  __m256i c2 = _mm256_setzero_si256();
  __m256i c3 = _mm256_setzero_si256();
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  const __m256i m0 = _mm256_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m256i m1 = _mm256_set1_epi32(static_cast<int>(0xCD9E8D57u));
  for (int round = 0; round < 10; ++round) {
    __m256i hi0, lo0, hi1, lo1;
    mul_hi_lo(c0, m0, hi0, lo0);
    mul_hi_lo(c2, m1, hi1, lo1);
    c0 = _mm256_xor_si256(_mm256_xor_si256(hi1, c1), _mm256_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm256_xor_si256(_mm256_xor_si256(hi0, c3), _mm256_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  w[0] = c0;
  w[1] = c1;
  w[2] = c2;
  w[3] = c3;
}

// v[q] = random words of elements 8q .. 8q+7 (element 4l + j is word j of block l).
inline void words_to_elements(const __m256i w[4], __m256i v[4]) {
  const __m256i t0 = _mm256_unpacklo_epi32(w[0], w[1]);
  const __m256i t1 = _mm256_unpackhi_epi32(w[0], w[1]);
  const __m256i t2 = _mm256_unpacklo_epi32(w[2], w[3]);
  const __m256i t3 = _mm256_unpackhi_epi32(w[2], w[3]);
  const __m256i r0 = _mm256_unpacklo_epi64(t0, t2);  // lane L: block 4L
  const __m256i r1 = _mm256_unpackhi_epi64(t0, t2);  // block 4L + 1
  const __m256i r2 = _mm256_unpacklo_epi64(t1, t3);  // block 4L + 2
  const __m256i r3 = _mm256_unpackhi_epi64(t1, t3);  // block 4L + 3
  v[0] = _mm256_permute2x128_si256(r0, r1, 0x20);    // blocks 0, 1
  v[1] = _mm256_permute2x128_si256(r2, r3, 0x20);    // blocks 2, 3
  v[2] = _mm256_permute2x128_si256(r0, r1, 0x31);    // blocks 4, 5
  v[3] = _mm256_permute2x128_si256(r2, r3, 0x31);    // blocks 6, 7
}

template <RoundingMode kMode>
void loop256(const float* in, float* out, size_t n, const FloatParams& fp, uint64_t seed,
             uint64_t first) {
  const Vec256Params p = broadcast(fp);
  size_t i = 0;
  if constexpr (kMode == RoundingMode::kStochastic) {
    const size_t head = static_cast<size_t>((4 - (first & 3)) & 3);
    if (head) {
      const size_t m = head < n ? head : n;
      quantize_float_scalar(in, out, m, fp, kMode, seed, first);
      i = m;
    }
    const __m128i shift = _mm_cvtsi32_si128(32 - fp.random_bits);
    for (; i + 32 <= n; i += 32) {
      __m256i w[4], v[4];
      philox8(seed, (first + i) >> 2, w);
      words_to_elements(w, v);
      for (int q = 0; q < 4; ++q) {
        const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i + 8 * q));
        const __m256i rnd = _mm256_srl_epi32(v[q], shift);
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + 8 * q), round8<kMode>(x, p, rnd));
      }
    }
  } else {
    const __m256i no_random = _mm256_setzero_si256();
    for (; i + 8 <= n; i += 8) {
      const __m256i x = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(in + i));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i), round8<kMode>(x, p, no_random));
    }
  }
  if (i < n) quantize_float_scalar(in + i, out + i, n - i, fp, kMode, seed, first + i);
}

// ---- Integer and fixed-point formats (see AffineKernelParams), in double precision.

struct AffineVec256 {
  __m256d scale, zero_point, qmin, qmax, two_pow_r, half, two_pow_31;
  __m256 scale_f;
};

template <RoundingMode kMode>
inline __m256d round_int4(__m256d y, const AffineVec256& p, __m128i rnd) {
  if constexpr (kMode == RoundingMode::kNearestEven)
    return _mm256_round_pd(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kTowardZero)
    return _mm256_round_pd(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kUp)
    return _mm256_round_pd(y, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kDown)
    return _mm256_round_pd(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  if constexpr (kMode == RoundingMode::kNearestAway) {
    const __m256d sign = _mm256_set1_pd(-0.0);
    const __m256d a = _mm256_andnot_pd(sign, y);
    const __m256d r =
        _mm256_round_pd(_mm256_add_pd(a, p.half), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    return _mm256_or_pd(r, _mm256_and_pd(sign, y));
  }
  if constexpr (kMode == RoundingMode::kStochastic) {
    const __m256d lo = _mm256_round_pd(y, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    const __m256d frac = _mm256_sub_pd(y, lo);
    const __m256d fl = _mm256_round_pd(_mm256_mul_pd(frac, p.two_pow_r),
                                       _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
    // Unsigned 32-bit words to double: flip the top bit, convert signed, add 2^31 back.
    const __m256d r = _mm256_add_pd(
        _mm256_cvtepi32_pd(_mm_xor_si128(rnd, _mm_set1_epi32(static_cast<int>(0x80000000u)))),
        p.two_pow_31);
    const __m256d up = _mm256_cmp_pd(_mm256_add_pd(fl, r), p.two_pow_r, _CMP_GE_OQ);
    return _mm256_add_pd(lo, _mm256_and_pd(up, _mm256_set1_pd(1.0)));
  }
  return y;
}

template <RoundingMode kMode>
inline __m256 affine8(__m256 x, const AffineVec256& p, __m256i rnd) {
  const __m256d halves[2] = {_mm256_cvtps_pd(_mm256_castps256_ps128(x)),
                             _mm256_cvtps_pd(_mm256_extractf128_ps(x, 1))};
  const __m128i rnds[2] = {_mm256_castsi256_si128(rnd), _mm256_extracti128_si256(rnd, 1)};
  __m128 v[2];
  for (int h = 0; h < 2; ++h) {
    __m256d k = _mm256_add_pd(round_int4<kMode>(_mm256_div_pd(halves[h], p.scale), p, rnds[h]),
                              p.zero_point);
    k = _mm256_min_pd(_mm256_max_pd(k, p.qmin), p.qmax);
    v[h] = _mm256_cvtpd_ps(_mm256_sub_pd(k, p.zero_point));
  }
  __m256 r = _mm256_insertf128_ps(_mm256_castps128_ps256(v[0]), v[1], 1);
  r = _mm256_add_ps(_mm256_mul_ps(r, p.scale_f), _mm256_setzero_ps());  // + 0: no negative zero
  const __m256 nan = _mm256_cmp_ps(x, x, _CMP_UNORD_Q);
  const __m256 quiet =
      _mm256_or_ps(x, _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(kQuietBit))));
  return _mm256_blendv_ps(r, quiet, nan);
}

template <RoundingMode kMode>
void affine_loop256(const float* in, float* out, size_t n, const AffineKernelParams& ap,
                    uint64_t seed, uint64_t first) {
  AffineVec256 p;
  p.scale = _mm256_set1_pd(ap.scale);
  p.zero_point = _mm256_set1_pd(ap.zero_point);
  p.qmin = _mm256_set1_pd(ap.qmin);
  p.qmax = _mm256_set1_pd(ap.qmax);
  p.two_pow_r = _mm256_set1_pd(static_cast<double>(uint64_t{1} << ap.random_bits));
  p.half = _mm256_set1_pd(0.5);
  p.two_pow_31 = _mm256_set1_pd(2147483648.0);
  p.scale_f = _mm256_set1_ps(ap.scale_f);
  size_t i = 0;
  if constexpr (kMode == RoundingMode::kStochastic) {
    const size_t head = static_cast<size_t>((4 - (first & 3)) & 3);
    if (head) {
      const size_t m = head < n ? head : n;
      quantize_affine_scalar(in, out, m, ap, kMode, seed, first);
      i = m;
    }
    const __m128i shift = _mm_cvtsi32_si128(32 - ap.random_bits);
    for (; i + 32 <= n; i += 32) {
      __m256i w[4], v[4];
      philox8(seed, (first + i) >> 2, w);
      words_to_elements(w, v);
      for (int q = 0; q < 4; ++q)
        _mm256_storeu_ps(out + i + 8 * q, affine8<kMode>(_mm256_loadu_ps(in + i + 8 * q), p,
                                                         _mm256_srl_epi32(v[q], shift)));
    }
  } else {
    const __m256i none = _mm256_setzero_si256();
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(out + i, affine8<kMode>(_mm256_loadu_ps(in + i), p, none));
  }
  if (i < n) quantize_affine_scalar(in + i, out + i, n - i, ap, kMode, seed, first + i);
}

}  // namespace

void quantize_affine_avx2(const float* in, float* out, size_t n, const AffineKernelParams& p,
                          RoundingMode mode, uint64_t seed, uint64_t first) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return affine_loop256<RoundingMode::kNearestEven>(in, out, n, p, seed, first);
    case RoundingMode::kNearestAway:
      return affine_loop256<RoundingMode::kNearestAway>(in, out, n, p, seed, first);
    case RoundingMode::kTowardZero:
      return affine_loop256<RoundingMode::kTowardZero>(in, out, n, p, seed, first);
    case RoundingMode::kUp:
      return affine_loop256<RoundingMode::kUp>(in, out, n, p, seed, first);
    case RoundingMode::kDown:
      return affine_loop256<RoundingMode::kDown>(in, out, n, p, seed, first);
    case RoundingMode::kStochastic:
      return affine_loop256<RoundingMode::kStochastic>(in, out, n, p, seed, first);
  }
}

void quantize_float_avx2(const float* in, float* out, size_t n, const FloatParams& p,
                         RoundingMode mode, uint64_t seed, uint64_t first) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return loop256<RoundingMode::kNearestEven>(in, out, n, p, seed, first);
    case RoundingMode::kNearestAway:
      return loop256<RoundingMode::kNearestAway>(in, out, n, p, seed, first);
    case RoundingMode::kTowardZero:
      return loop256<RoundingMode::kTowardZero>(in, out, n, p, seed, first);
    case RoundingMode::kUp:
      return loop256<RoundingMode::kUp>(in, out, n, p, seed, first);
    case RoundingMode::kDown:
      return loop256<RoundingMode::kDown>(in, out, n, p, seed, first);
    case RoundingMode::kStochastic:
      return loop256<RoundingMode::kStochastic>(in, out, n, p, seed, first);
  }
}

void block_scale_avx2(const float* in, float* tmp, int* scale_exp, size_t m, size_t bs, int emax,
                      int lowest_x) {
  block_scale_impl(in, tmp, scale_exp, m, bs, emax, lowest_x);
}

void block_unscale_avx2(const float* tmp, float* out, const int* scale_exp, size_t m, size_t bs) {
  block_unscale_impl(tmp, out, scale_exp, m, bs);
}

}  // namespace frugal::numeric::detail

#pragma GCC pop_options
