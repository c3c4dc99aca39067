// Vectorized e^x, sigmoid and tanh on 16 floats, shared by the cpu backend's AVX-512 loops
// (the own depthwise convolution's post-ops, the recurrent cells). Include it only after
// `#pragma GCC target("avx512f,avx512dq")` (internal linkage: each file compiles its own
// copy for its ISA, as squeeze_excite_loops.h).
#pragma once

#include <immintrin.h>

namespace frugal::kernels::cpu {
namespace {

// e^x (kNegate: e^-x, the negation folded into the range reduction): x - n ln2 in two
// steps (Cody and Waite, Cephes' split of ln2), e^r on |r| <= ln2 / 2 as its degree-6
// Taylor polynomial (truncation under 2e-7 relative), scaled by 2^n. Two operations fewer
// than Cephes' 1 + r + r^2 P(r) form at the same accuracy (about 2 ulp): the swish after
// EfficientNet's convolutions spends its time here (bench/RESULTS.md, "Swish after the
// convolution").
template <bool kNegate = false>
inline __m512 exp_ps(__m512 x) {
  const float lo = kNegate ? -88.7f : -87.3f, hi = kNegate ? 87.3f : 88.7f;
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
  const float log2e = kNegate ? -1.44269504088896341f : 1.44269504088896341f;
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(log2e)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  // r = (+-x) - n ln2, ln2 = 0.693359375 - 2.12194440e-4 (the first part exact in 9 bits)
  __m512 r = kNegate ? _mm512_fnmsub_ps(n, _mm512_set1_ps(0.693359375f), x)
                     : _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.0f / 720.0f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
  return _mm512_scalef_ps(p, n);
}

// 1 / d as rcp14 and one Newton step (about 2^-23 relative): a division costs more than
// the rest of a sigmoid.
inline __m512 reciprocal_ps(__m512 d) {
  const __m512 r = _mm512_rcp14_ps(d);
  return _mm512_fmadd_ps(r, _mm512_fnmadd_ps(d, r, _mm512_set1_ps(1.0f)), r);  // r + r (1 - d r)
}

// 1 / (1 + e^-x).
inline __m512 sigmoid_ps(__m512 x) {
  return reciprocal_ps(_mm512_add_ps(_mm512_set1_ps(1.0f), exp_ps<true>(x)));
}

// tanh x: below |x| = 0.625 Cephes' odd polynomial x + x^3 P(x^2) (where 1 - 2 / (e^2x + 1)
// would lose the low bits of small results), else sign(x) (1 - 2 / (e^2|x| + 1)).
inline __m512 tanh_ps(__m512 x) {
  const __m512 ax = _mm512_abs_ps(x);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 big = _mm512_fnmadd_ps(
      _mm512_set1_ps(2.0f), reciprocal_ps(_mm512_add_ps(exp_ps(_mm512_add_ps(ax, ax)), one)), one);
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-5.70498872745e-3f);
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(2.06390887954e-2f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-5.37397155531e-2f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(1.33314422036e-1f));
  p = _mm512_fmadd_ps(p, x2, _mm512_set1_ps(-3.33332819422e-1f));
  const __m512 small = _mm512_fmadd_ps(_mm512_mul_ps(p, x2), x, x);
  const __mmask16 is_small = _mm512_cmp_ps_mask(ax, _mm512_set1_ps(0.625f), _CMP_LT_OQ);
  // sign(x) * big: x's sign bit onto the non-negative `big`.
  const __m512 sign = _mm512_and_ps(x, _mm512_set1_ps(-0.0f));
  return _mm512_mask_blend_ps(is_small, _mm512_or_ps(big, sign), small);
}

}  // namespace
}  // namespace frugal::kernels::cpu
