#include <immintrin.h>

#include "frugal/kernels/cpu/round_held.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

namespace frugal::kernels::cpu {
namespace {

inline __m512 to_half_grid(__m512 v) {
  return _mm512_cvtph_ps(_mm512_cvtps_ph(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
}

inline __m512 to_bf16_grid(__m512 v) {
  const __m512i x = _mm512_castps_si512(v);
  const __m512i high = _mm512_set1_epi32(static_cast<int32_t>(0xffff0000u));
  // NaN (exponent all ones, mantissa nonzero): keep its upper half, quiet.
  const __mmask16 nan = _mm512_cmpgt_epu32_mask(_mm512_and_si512(x, _mm512_set1_epi32(0x7fffffff)),
                                                _mm512_set1_epi32(0x7f800000));
  const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(x, 16), _mm512_set1_epi32(1));
  const __m512i rounded = _mm512_add_epi32(x, _mm512_add_epi32(_mm512_set1_epi32(0x7fff), lsb));
  const __m512i quiet = _mm512_or_si512(x, _mm512_set1_epi32(0x00400000));
  return _mm512_castsi512_ps(_mm512_and_si512(_mm512_mask_blend_epi32(nan, rounded, quiet), high));
}

}  // namespace

bool round_held_available() {
  return __builtin_cpu_supports("avx512f");
}

void round_held_avx512(bool to_half, const float* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m512 v = _mm512_loadu_ps(src + i);
    _mm512_storeu_ps(dst + i, to_half ? to_half_grid(v) : to_bf16_grid(v));
  }
  if (i < n) {
    const __mmask16 m = static_cast<__mmask16>((1u << (n - i)) - 1);
    const __m512 v = _mm512_maskz_loadu_ps(m, src + i);
    _mm512_mask_storeu_ps(dst + i, m, to_half ? to_half_grid(v) : to_bf16_grid(v));
  }
}

}  // namespace frugal::kernels::cpu
#pragma GCC pop_options
