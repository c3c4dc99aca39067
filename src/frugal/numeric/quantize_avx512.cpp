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

struct Vec512Params {
  __m512i mant_shift, emin_biased, tiny_bits, half_tiny_bits, tiny_shift_base, max_bits,
      overflow_bits, inf_bits, random_bits, parity_fix, two_pow_r;
};

Vec512Params broadcast(const FloatParams& p) {
  Vec512Params v;
  v.mant_shift = _mm512_set1_epi32(p.mant_shift);
  v.emin_biased = _mm512_set1_epi32(p.emin_biased);
  v.tiny_bits = _mm512_set1_epi32(static_cast<int>(p.tiny_bits));
  v.half_tiny_bits = _mm512_set1_epi32(static_cast<int>(p.half_tiny_bits));
  v.tiny_shift_base = _mm512_set1_epi32(p.tiny_exp - p.random_bits + 150);
  v.max_bits = _mm512_set1_epi32(static_cast<int>(p.max_bits));
  v.overflow_bits = _mm512_set1_epi32(static_cast<int>(p.overflow_bits));
  v.inf_bits = _mm512_set1_epi32(static_cast<int>(p.inf_bits));
  v.random_bits = _mm512_set1_epi32(p.random_bits);
  v.parity_fix = _mm512_set1_epi32(static_cast<int>(p.bias_parity_fix));
  v.two_pow_r =
      _mm512_set1_epi32(static_cast<int>(p.random_bits >= 32 ? 0u : (1u << p.random_bits)));
  return v;
}

template <RoundingMode kMode>
inline __m512i round16(__m512i u, const Vec512Params& p, __m512i rnd) {
  const __m512i zero = _mm512_setzero_si512();
  const __m512i one = _mm512_set1_epi32(1);
  const __m512i sign = _mm512_and_si512(u, _mm512_set1_epi32(static_cast<int>(0x80000000u)));
  const __m512i a = _mm512_and_si512(u, _mm512_set1_epi32(0x7fffffff));
  const __mmask16 negative = _mm512_test_epi32_mask(sign, sign);
  const __m512i fe = _mm512_srli_epi32(a, 23);
  const __m512i fe1 = _mm512_max_epi32(fe, one);

  // Normal and subnormal range of the format.
  const __m512i s =
      _mm512_add_epi32(p.mant_shift, _mm512_max_epi32(_mm512_sub_epi32(p.emin_biased, fe1), zero));
  const __m512i mask = _mm512_sub_epi32(_mm512_sllv_epi32(one, s), one);
  __m512i inc = zero;
  if constexpr (kMode == RoundingMode::kNearestEven) {
    __m512i odd = _mm512_and_si512(_mm512_srlv_epi32(a, s), one);
    odd = _mm512_maskz_mov_epi32(_mm512_test_epi32_mask(s, s), odd);
    const __mmask16 s23 = _mm512_cmpeq_epi32_mask(s, _mm512_set1_epi32(23));
    if (s23) {
      const __m512i normal_odd = _mm512_xor_si512(_mm512_and_si512(fe, one), p.parity_fix);
      const __m512i odd23 =
          _mm512_mask_blend_epi32(_mm512_cmplt_epi32_mask(fe, p.emin_biased), normal_odd, one);
      odd = _mm512_mask_blend_epi32(s23, odd, odd23);
    }
    inc = _mm512_add_epi32(_mm512_srli_epi32(mask, 1), odd);
  } else if constexpr (kMode == RoundingMode::kNearestAway) {
    inc = _mm512_srli_epi32(_mm512_add_epi32(mask, one), 1);
  } else if constexpr (kMode == RoundingMode::kUp) {
    inc = _mm512_maskz_mov_epi32(static_cast<__mmask16>(~negative), mask);
  } else if constexpr (kMode == RoundingMode::kDown) {
    inc = _mm512_maskz_mov_epi32(negative, mask);
  } else if constexpr (kMode == RoundingMode::kStochastic) {
    const __m512i rs = _mm512_sub_epi32(p.random_bits, s);
    inc = _mm512_sllv_epi32(_mm512_srlv_epi32(rnd, _mm512_max_epi32(rs, zero)),
                            _mm512_max_epi32(_mm512_sub_epi32(zero, rs), zero));
  }
  __m512i r = _mm512_andnot_si512(mask, _mm512_add_epi32(a, inc));
  const __mmask16 over = _mm512_cmpgt_epi32_mask(r, p.max_bits);
  if (over) {
    __m512i ovf = p.overflow_bits;
    if constexpr (kMode == RoundingMode::kTowardZero) ovf = p.max_bits;
    if constexpr (kMode == RoundingMode::kUp)
      ovf = _mm512_mask_blend_epi32(negative, p.overflow_bits, p.max_bits);
    if constexpr (kMode == RoundingMode::kDown)
      ovf = _mm512_mask_blend_epi32(negative, p.max_bits, p.overflow_bits);
    r = _mm512_mask_blend_epi32(over, r, ovf);
  }

  // Below the smallest positive value: 0 or t.
  const __mmask16 tiny = _mm512_cmplt_epi32_mask(a, p.tiny_bits);
  if (tiny) {
    __mmask16 up = 0;
    if constexpr (kMode == RoundingMode::kNearestEven)
      up = _mm512_cmpgt_epi32_mask(a, p.half_tiny_bits);
    if constexpr (kMode == RoundingMode::kNearestAway)
      up = _mm512_cmpge_epi32_mask(a, p.half_tiny_bits);
    if constexpr (kMode == RoundingMode::kUp)
      up = _mm512_test_epi32_mask(a, a) & static_cast<__mmask16>(~negative);
    if constexpr (kMode == RoundingMode::kDown) up = _mm512_test_epi32_mask(a, a) & negative;
    if constexpr (kMode == RoundingMode::kStochastic) {
      const __mmask16 normal_in = _mm512_test_epi32_mask(fe, fe);
      const __m512i sig =
          _mm512_mask_blend_epi32(normal_in, a,
                                  _mm512_or_si512(_mm512_and_si512(a, _mm512_set1_epi32(0x7fffff)),
                                                  _mm512_set1_epi32(0x800000)));
      const __m512i d = _mm512_sub_epi32(p.tiny_shift_base, fe1);
      const __m512i fl = _mm512_sllv_epi32(_mm512_srlv_epi32(sig, _mm512_max_epi32(d, zero)),
                                           _mm512_max_epi32(_mm512_sub_epi32(zero, d), zero));
      const __m512i threshold = _mm512_sub_epi32(p.two_pow_r, fl);
      up = _mm512_test_epi32_mask(fl, fl) & _mm512_cmpge_epu32_mask(rnd, threshold);
    }
    r = _mm512_mask_blend_epi32(tiny, r, _mm512_maskz_mov_epi32(up, p.tiny_bits));
  }

  // inf and NaN inputs.
  const __m512i inf = _mm512_set1_epi32(0x7f800000);
  const __mmask16 is_inf = _mm512_cmpeq_epi32_mask(a, inf);
  const __mmask16 is_nan = _mm512_cmpgt_epi32_mask(a, inf);
  r = _mm512_mask_blend_epi32(is_inf, r, p.inf_bits);
  r = _mm512_or_si512(r, sign);
  return _mm512_mask_blend_epi32(
      is_nan, r, _mm512_or_si512(u, _mm512_set1_epi32(static_cast<int>(kQuietBit))));
}

// 32x32 -> 64-bit products of every lane, split into high and low words.
inline void mul_hi_lo(__m512i a, __m512i m, __m512i& hi, __m512i& lo) {
  const __m512i even = _mm512_mul_epu32(a, m);
  const __m512i odd = _mm512_mul_epu32(_mm512_srli_epi64(a, 32), m);
  lo = _mm512_mask_blend_epi32(0xAAAA, even, _mm512_slli_epi64(odd, 32));
  hi = _mm512_mask_blend_epi32(0xAAAA, _mm512_srli_epi64(even, 32), odd);
}

// Philox4x32-10 (same as frugal::Philox, stream 0) for blocks b0 .. b0+15; w[j] lane l is
// word j of block b0 + l.
inline void philox16(uint64_t seed, uint64_t b0, __m512i w[4]) {
  const __m512i iota = _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
  const __m512i base_lo = _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(b0)));
  __m512i c0 = _mm512_add_epi32(base_lo, iota);
  const __mmask16 carry = _mm512_cmplt_epu32_mask(c0, base_lo);
  __m512i c1 = _mm512_mask_add_epi32(
      _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(b0 >> 32))), carry,
      _mm512_set1_epi32(static_cast<int>(static_cast<uint32_t>(b0 >> 32))), _mm512_set1_epi32(1));
  __m512i c2 = _mm512_setzero_si512();
  __m512i c3 = _mm512_setzero_si512();
  uint32_t k0 = static_cast<uint32_t>(seed), k1 = static_cast<uint32_t>(seed >> 32);
  const __m512i m0 = _mm512_set1_epi32(static_cast<int>(0xD2511F53u));
  const __m512i m1 = _mm512_set1_epi32(static_cast<int>(0xCD9E8D57u));
  for (int round = 0; round < 10; ++round) {
    __m512i hi0, lo0, hi1, lo1;
    mul_hi_lo(c0, m0, hi0, lo0);
    mul_hi_lo(c2, m1, hi1, lo1);
    c0 = _mm512_xor_si512(_mm512_xor_si512(hi1, c1), _mm512_set1_epi32(static_cast<int>(k0)));
    c1 = lo1;
    c2 = _mm512_xor_si512(_mm512_xor_si512(hi0, c3), _mm512_set1_epi32(static_cast<int>(k1)));
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  w[0] = c0;
  w[1] = c1;
  w[2] = c2;
  w[3] = c3;
}

// From w[j] lane l = word j of block l to v[q] = words of elements 16q .. 16q+15, where
// element 4l + j is word j of block l.
inline void words_to_elements(const __m512i w[4], __m512i v[4]) {
  const __m512i t0 = _mm512_unpacklo_epi32(w[0], w[1]);
  const __m512i t1 = _mm512_unpackhi_epi32(w[0], w[1]);
  const __m512i t2 = _mm512_unpacklo_epi32(w[2], w[3]);
  const __m512i t3 = _mm512_unpackhi_epi32(w[2], w[3]);
  // r_k, 128-bit lane L: the four words of block 4L + k.
  const __m512i r0 = _mm512_unpacklo_epi64(t0, t2);
  const __m512i r1 = _mm512_unpackhi_epi64(t0, t2);
  const __m512i r2 = _mm512_unpacklo_epi64(t1, t3);
  const __m512i r3 = _mm512_unpackhi_epi64(t1, t3);
  const __m512i u0 = _mm512_shuffle_i32x4(r0, r1, 0x44);  // r0.L0 r0.L1 r1.L0 r1.L1
  const __m512i u1 = _mm512_shuffle_i32x4(r0, r1, 0xEE);  // r0.L2 r0.L3 r1.L2 r1.L3
  const __m512i u2 = _mm512_shuffle_i32x4(r2, r3, 0x44);
  const __m512i u3 = _mm512_shuffle_i32x4(r2, r3, 0xEE);
  v[0] = _mm512_shuffle_i32x4(u0, u2, 0x88);  // blocks 0..3
  v[1] = _mm512_shuffle_i32x4(u0, u2, 0xDD);  // blocks 4..7
  v[2] = _mm512_shuffle_i32x4(u1, u3, 0x88);  // blocks 8..11
  v[3] = _mm512_shuffle_i32x4(u1, u3, 0xDD);  // blocks 12..15
}

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

template <RoundingMode kMode>
void fused_blocks512(const float* in, float* out, size_t n, size_t bs, const FloatParams& fp,
                     int emax, int lowest_x) {
  const Vec512Params p = broadcast(fp);
  const __m512i no_random = _mm512_setzero_si512();
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
      for (size_t i = 0; i < bs; i += 16) _mm512_storeu_ps(o + i, nan);
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
      const __m512i r = round16<kMode>(_mm512_castps_si512(sv), p, no_random);
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

}  // namespace

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
                                  const FloatParams& p, RoundingMode mode, int emax, int lowest_x) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return fused_blocks512<RoundingMode::kNearestEven>(in, out, n, bs, p, emax, lowest_x);
    case RoundingMode::kNearestAway:
      return fused_blocks512<RoundingMode::kNearestAway>(in, out, n, bs, p, emax, lowest_x);
    case RoundingMode::kTowardZero:
      return fused_blocks512<RoundingMode::kTowardZero>(in, out, n, bs, p, emax, lowest_x);
    case RoundingMode::kUp:
      return fused_blocks512<RoundingMode::kUp>(in, out, n, bs, p, emax, lowest_x);
    case RoundingMode::kDown:
      return fused_blocks512<RoundingMode::kDown>(in, out, n, bs, p, emax, lowest_x);
    case RoundingMode::kStochastic:
      break;  // needs the counter-ordered random words: not fused
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
