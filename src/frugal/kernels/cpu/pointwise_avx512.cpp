// The AVX-512 loop of the own pointwise convolution (pointwise.h): 12 pixels x 16 output
// channels per step in 12 accumulators (named, not an array: GCC 12 keeps an array of
// vectors in memory across the loop), the input values broadcast from memory.
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstdint>
#include <vector>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/pointwise.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq")

namespace frugal::kernels::cpu {
namespace {

#define FRUGAL_PW_ROWS(M) M(0) M(1) M(2) M(3) M(4) M(5) M(6) M(7) M(8) M(9) M(10) M(11)
static_assert(PwPlan::kBlock == 12, "FRUGAL_PW_ROWS lists the block's rows");

// Block of 12 pixels: x holds 12 rows of k input channels, y receives 12 rows of n.
void block(const float* x, int64_t k, const float* w, const float* bias, float* y, int64_t n) {
  const __m512 b = _mm512_loadu_ps(bias);
#define FRUGAL_PW_INIT(r) __m512 a##r = b;
  FRUGAL_PW_ROWS(FRUGAL_PW_INIT)
#undef FRUGAL_PW_INIT
  for (int64_t i = 0; i < k; ++i, ++x, w += 16) {
    const __m512 wv = _mm512_loadu_ps(w);
#define FRUGAL_PW_FMA(r) a##r = _mm512_fmadd_ps(_mm512_set1_ps(x[r * k]), wv, a##r);
    FRUGAL_PW_ROWS(FRUGAL_PW_FMA)
#undef FRUGAL_PW_FMA
  }
  const __mmask16 m = n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1);
#define FRUGAL_PW_STORE(r) _mm512_mask_storeu_ps(y + r * n, m, a##r);
  FRUGAL_PW_ROWS(FRUGAL_PW_STORE)
#undef FRUGAL_PW_STORE
}

// One pixel (the rows past the last full block).
void row(const float* x, int64_t k, const float* w, const float* bias, float* y, int64_t n) {
  __m512 a = _mm512_loadu_ps(bias);
  for (int64_t i = 0; i < k; ++i)
    a = _mm512_fmadd_ps(_mm512_set1_ps(x[i]), _mm512_loadu_ps(w + 16 * i), a);
  _mm512_mask_storeu_ps(y, n >= 16 ? __mmask16(0xffff) : __mmask16((1u << n) - 1), a);
}

#undef FRUGAL_PW_ROWS

}  // namespace

void pw_run_avx512(const PwPlan& p, const float* src, float* dst, int64_t begin, int64_t end) {
  constexpr int64_t kBlock = PwPlan::kBlock;
  const int64_t k = p.in_channels, n = p.out_channels;
  const float* w = p.weights.data();
  const float* bias = p.bias.data();
  for (int64_t blk = begin; blk < end; ++blk) {
    const int64_t first = blk * kBlock;
    const int64_t rows = p.pixels - first < kBlock ? p.pixels - first : kBlock;
    float* y = dst + first * n;
    if (rows == kBlock)
      block(src + first * k, k, w, bias, y, n);
    else
      for (int64_t r = 0; r < rows; ++r) row(src + (first + r) * k, k, w, bias, y + r * n, n);
    if (!p.post_ops.empty()) dw_post_ops_avx512(y, rows * n, p.post_ops);
  }
}

}  // namespace frugal::kernels::cpu
#pragma GCC pop_options
