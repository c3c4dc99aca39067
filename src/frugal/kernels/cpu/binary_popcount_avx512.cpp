// The AVX-512 VPOPCNTDQ popcount products: one 8-row weight block against one activation
// row per step; the activation word is broadcast, so the 8 lanes are 8 outputs. Two rows
// of activations per iteration reuse each loaded weight vector.
#include <immintrin.h>

#include "frugal/kernels/cpu/binary_popcount.h"

namespace frugal::kernels::cpu::detail {
namespace {

#define FRUGAL_VPOPCNT __attribute__((target("avx512f,avx512vpopcntdq")))

// popcount(m) - 2 popcount(m & (sx ^ sw)) summed into `all` and `differ` for one word.
FRUGAL_VPOPCNT inline void step(__m512i sx, __m512i mx, __m512i sw, __m512i mw, __m512i& all,
                                __m512i& differ) {
  const __m512i m = _mm512_and_si512(mx, mw);
  all = _mm512_add_epi64(all, _mm512_popcnt_epi64(m));
  differ =
      _mm512_add_epi64(differ, _mm512_popcnt_epi64(_mm512_and_si512(m, _mm512_xor_si512(sx, sw))));
}

FRUGAL_VPOPCNT inline void store(__m512i all, __m512i differ, int32_t* out) {
  const __m512i d = _mm512_sub_epi64(all, _mm512_slli_epi64(differ, 1));
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out), _mm512_cvtepi64_epi32(d));
}

}  // namespace

FRUGAL_VPOPCNT void popcount_dots_avx512(const uint64_t* xs, const uint64_t* xm, int64_t P,
                                         const PackedBinaryWeights& w, int32_t* dot, int64_t ldd) {
  const int64_t W = w.words;
  for (int64_t b = 0; b < PackedBinaryWeights::blocks(w.rows); ++b) {
    const uint64_t* ws = w.sign.data() + b * W * 8;
    const uint64_t* wm = w.mask.data() + b * W * 8;
    int64_t p = 0;
    for (; p + 2 <= P; p += 2) {
      __m512i all0 = _mm512_setzero_si512(), dif0 = all0, all1 = all0, dif1 = all0;
      const uint64_t *s0 = xs + p * W, *m0 = xm + p * W, *s1 = s0 + W, *m1 = m0 + W;
      for (int64_t i = 0; i < W; ++i) {
        const __m512i sw = _mm512_loadu_si512(ws + i * 8), mw = _mm512_loadu_si512(wm + i * 8);
        step(_mm512_set1_epi64(static_cast<long long>(s0[i])),
             _mm512_set1_epi64(static_cast<long long>(m0[i])), sw, mw, all0, dif0);
        step(_mm512_set1_epi64(static_cast<long long>(s1[i])),
             _mm512_set1_epi64(static_cast<long long>(m1[i])), sw, mw, all1, dif1);
      }
      store(all0, dif0, dot + p * ldd + b * 8);
      store(all1, dif1, dot + (p + 1) * ldd + b * 8);
    }
    for (; p < P; ++p) {
      __m512i all = _mm512_setzero_si512(), dif = all;
      for (int64_t i = 0; i < W; ++i)
        step(_mm512_set1_epi64(static_cast<long long>(xs[p * W + i])),
             _mm512_set1_epi64(static_cast<long long>(xm[p * W + i])),
             _mm512_loadu_si512(ws + i * 8), _mm512_loadu_si512(wm + i * 8), all, dif);
      store(all, dif, dot + p * ldd + b * 8);
    }
  }
}

}  // namespace frugal::kernels::cpu::detail
