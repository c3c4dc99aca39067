// The AVX-512 float-format rounding of 16 lanes (round16) and the vectorized Philox4x32-10,
// shared by the quantize kernel (quantize_avx512.cpp) and the emulated GEMM
// (kernels/emu/emu_gemm_avx512.cpp). Included inside an anonymous namespace of a file
// compiled with the AVX-512 target pragma, after <immintrin.h> and quantize_kernels.h.
// Bit-identical to round_float_bits (quantize_kernels.h).
#pragma once

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
