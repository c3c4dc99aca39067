// The vectorized emulated GEMM: 16 columns of C per vector, up to 64 per strip, one row at a
// time, every sum rounded to the accumulator format.
//
// Why this is exact: each sum c + a * b (or c + d) is computed twice by the FMA, rounded up
// and rounded down in binary32; from the two follows the exact sum rounded to odd in binary32
// (truncated, last bit set when inexact). Rounding that to a format with at most 21 mantissa
// bits (binary32 has two more) gives the rounding of the exact sum in every deterministic mode
// (Boldo and Melquiond, "Emulation of FMA and correctly rounded sums: proved algorithms using
// rounding to odd", IEEE TC 2008). Sums in the format's normal range round with a few integer
// operations; other lanes with round16. Binary32 itself with nearest-even is the FMA alone.
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <vector>

#include "frugal/kernels/emu/emu_gemm_internal.h"
#include "frugal/numeric/quantize.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq")

namespace frugal::kernels::emu::detail {
namespace {

using numeric::RoundingMode;
using numeric::detail::FloatParams;
using numeric::detail::kQuietBit;

#include "frugal/numeric/round_float_avx512_impl.h"

struct Kernel512 {
  Vec512Params p;
  bool round_sums;
  // The common case, a sum in the format's normal range, rounds with constants: quantum
  // mask, half of it, the shift of the code's last bit; bits of the smallest normal - 1.
  __m512i mask, half, half_minus_one, min_normal_minus_one;
  __m128i shift;
};

Kernel512 make_kernel(const GemmJob& job) {
  Kernel512 k;
  k.p = broadcast(job.params);
  k.round_sums = job.round_sums;
  const int s = job.params.mant_shift > 0 ? job.params.mant_shift : 1;  // binary32: unused
  k.mask = _mm512_set1_epi32(static_cast<int>((1u << s) - 1));
  k.half = _mm512_set1_epi32(static_cast<int>(1u << (s - 1)));
  k.half_minus_one = _mm512_set1_epi32(static_cast<int>((1u << (s - 1)) - 1));
  k.min_normal_minus_one = _mm512_set1_epi32((job.params.emin_biased << 23) - 1);
  k.shift = _mm_cvtsi32_si128(s);
  return k;
}

// Lanes outside the format's normal range (zero excepted), where the quantum varies.
inline __mmask16 outside_normal_range(__m512i xb, const Kernel512& k) {
  const __m512i a = _mm512_and_si512(xb, _mm512_set1_epi32(0x7fffffff));
  return _mm512_cmplt_epu32_mask(_mm512_sub_epi32(a, _mm512_set1_epi32(1)),
                                 k.min_normal_minus_one) |
         _mm512_cmpgt_epu32_mask(a, k.p.max_bits);
}

// Rounds lanes that are zero or normal in the format: add an increment, clear the bits below
// the quantum (a carry moves into the next binade as it should; |x| <= max cannot overflow).
template <RoundingMode kMode>
inline __m512i round_normal(__m512i xb, const Kernel512& k) {
  __m512i inc = _mm512_setzero_si512();
  if constexpr (kMode == RoundingMode::kNearestEven) {
    inc = _mm512_add_epi32(k.half_minus_one,
                           _mm512_and_si512(_mm512_srl_epi32(xb, k.shift), _mm512_set1_epi32(1)));
  } else if constexpr (kMode == RoundingMode::kNearestAway) {
    inc = k.half;
  } else if constexpr (kMode == RoundingMode::kUp) {
    inc = _mm512_maskz_mov_epi32(static_cast<__mmask16>(~_mm512_movepi32_mask(xb)), k.mask);
  } else if constexpr (kMode == RoundingMode::kDown) {
    inc = _mm512_maskz_mov_epi32(_mm512_movepi32_mask(xb), k.mask);
  }
  return _mm512_andnot_si512(k.mask, _mm512_add_epi32(xb, inc));
}

// The exact sum, given its roundings up and down in binary32, rounded to odd in binary32
// (truncated, last bit set when inexact), then rounded to the format.
template <RoundingMode kMode>
inline __m512 round_from_bounds(__m512 up, __m512 down, const Kernel512& k) {
  const __mmask16 inexact = _mm512_cmp_ps_mask(up, down, _CMP_NEQ_UQ);
  const __m512i db = _mm512_castps_si512(down);
  const __m512i truncated = _mm512_mask_blend_epi32(_mm512_movepi32_mask(db), db,
                                                    _mm512_castps_si512(up));
  const __m512i odd = _mm512_mask_or_epi32(truncated, inexact, truncated, _mm512_set1_epi32(1));
  if (outside_normal_range(odd, k))
    return _mm512_castsi512_ps(round16<kMode>(odd, k.p, _mm512_setzero_si512()));
  return _mm512_castsi512_ps(round_normal<kMode>(odd, k));
}

constexpr int kUp = _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC;
constexpr int kDown = _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC;

// round(c + a * b) per lane.
template <RoundingMode kMode>
inline __m512 fma_step(__m512 a, __m512 b, __m512 c, const Kernel512& k) {
  if (!k.round_sums) return _mm512_fmadd_ps(a, b, c);
  return round_from_bounds<kMode>(_mm512_fmadd_round_ps(a, b, c, kUp),
                                  _mm512_fmadd_round_ps(a, b, c, kDown), k);
}

// round(c + d) per lane (adding a partial sum into the total).
template <RoundingMode kMode>
inline __m512 add_step(__m512 c, __m512 d, const Kernel512& k) {
  if (!k.round_sums) return _mm512_add_ps(c, d);
  return round_from_bounds<kMode>(_mm512_add_round_ps(c, d, kUp), _mm512_add_round_ps(c, d, kDown),
                                  k);
}

// One strip of NV vectors (16 * NV columns from j0) of row i.
// B's columns [j0, j0 + 16 * NV) come packed, 64 floats per row of B (bs).
template <RoundingMode kMode, int NV>
void strip(const GemmJob& job, const Kernel512& k, const float* bs, int64_t i, int64_t j0) {
  __mmask16 lanes[NV];
  for (int u = 0; u < NV; ++u) {
    const int64_t left = std::clamp<int64_t>(job.N - j0 - 16 * u, 0, 16);
    lanes[u] = static_cast<__mmask16>((1u << left) - 1);
  }
  float* crow = job.C + i * job.ldc + j0;
  __m512 total[NV], part[NV];
  for (int u = 0; u < NV; ++u) {
    total[u] = _mm512_maskz_loadu_ps(lanes[u], crow + 16 * u);
    part[u] = _mm512_setzero_ps();
  }
  const float* arow = job.A + i * job.a_row;
  const int64_t chunk = job.acc.chunk;
  if (chunk == 0) {
    for (int64_t p = 0; p < job.K; ++p) {
      const __m512 a = _mm512_set1_ps(arow[p * job.a_col]);
      const float* brow = bs + p * 64;
      for (int u = 0; u < NV; ++u)
        total[u] = fma_step<kMode>(a, _mm512_maskz_loadu_ps(lanes[u], brow + 16 * u), total[u], k);
    }
  } else {
    for (int64_t p0 = 0; p0 < job.K; p0 += chunk) {
      const int64_t p1 = std::min(job.K, p0 + chunk);
      for (int64_t p = p0; p < p1; ++p) {
        const __m512 a = _mm512_set1_ps(arow[p * job.a_col]);
        const float* brow = bs + p * 64;
        for (int u = 0; u < NV; ++u)
          part[u] = fma_step<kMode>(a, _mm512_maskz_loadu_ps(lanes[u], brow + 16 * u), part[u], k);
      }
      for (int u = 0; u < NV; ++u) {
        total[u] = add_step<kMode>(total[u], part[u], k);
        part[u] = _mm512_setzero_ps();
      }
    }
  }
  for (int u = 0; u < NV; ++u) _mm512_mask_storeu_ps(crow + 16 * u, lanes[u], total[u]);
}

// Column strips of 64 outermost: each strip of B is packed once (rows of B lie N floats
// apart, a power of two for square problems, which makes unpacked loads collide in cache
// sets) and then serves every row of C in [i0, i1).
template <RoundingMode kMode>
void rows(const GemmJob& job, int64_t i0, int64_t i1) {
  const Kernel512 k = make_kernel(job);
  std::vector<float> packed(static_cast<size_t>(job.K * 64));
  for (int64_t j0 = 0; j0 < job.N; j0 += 64) {
    const int64_t width = std::min<int64_t>(64, job.N - j0);
    for (int64_t p = 0; p < job.K; ++p) {
      const float* src = job.B + p * job.ldb + j0;
      float* dst = packed.data() + p * 64;
      std::copy(src, src + width, dst);
      std::fill(dst + width, dst + 64, 0.0f);
    }
    for (int64_t i = i0; i < i1; ++i) {
      if (width > 48) {
        strip<kMode, 4>(job, k, packed.data(), i, j0);
      } else if (width > 32) {
        strip<kMode, 3>(job, k, packed.data(), i, j0);
      } else if (width > 16) {
        strip<kMode, 2>(job, k, packed.data(), i, j0);
      } else {
        strip<kMode, 1>(job, k, packed.data(), i, j0);
      }
    }
  }
}

}  // namespace

void fast_rows_avx512(const GemmJob& job, int64_t i0, int64_t i1) {
  switch (job.acc.rounding.mode) {
    case RoundingMode::kNearestEven: return rows<RoundingMode::kNearestEven>(job, i0, i1);
    case RoundingMode::kNearestAway: return rows<RoundingMode::kNearestAway>(job, i0, i1);
    case RoundingMode::kTowardZero: return rows<RoundingMode::kTowardZero>(job, i0, i1);
    case RoundingMode::kUp: return rows<RoundingMode::kUp>(job, i0, i1);
    case RoundingMode::kDown: return rows<RoundingMode::kDown>(job, i0, i1);
    case RoundingMode::kStochastic: break;  // not vectorized (fast_kernel_available)
  }
}

}  // namespace frugal::kernels::emu::detail

#pragma GCC pop_options

namespace frugal::kernels::emu::detail {

bool fast_kernel_available(const Accumulator& acc) {
  using numeric::FormatKind;
  if (acc.format.kind != FormatKind::kFloat || acc.format.block != 0) return false;
  const auto mode = acc.rounding.mode;
  // Stochastic rounding would need more than binary32's bits of the exact sum.
  if (mode == RoundingMode::kStochastic) return false;
  // Rounding to odd first is exact when binary32 has 2 bits more than the format (at most 21
  // mantissa bits); binary32 itself with nearest-even is the FMA's own rounding.
  const bool binary32 = acc.format == numeric::NumberFormat{};
  if (!(acc.format.mantissa_bits <= 21 || (binary32 && mode == RoundingMode::kNearestEven)))
    return false;
  return numeric::isa_supported(numeric::Isa::kAvx512);
}

}  // namespace frugal::kernels::emu::detail
