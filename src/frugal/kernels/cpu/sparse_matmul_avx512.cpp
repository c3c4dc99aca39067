// The AVX-512 sparse products (sparse_matmul.h). Columns of B and C are the vector lanes:
// each non-zero A[r, k] is broadcast and multiplied with up to 64 columns of B's row k held
// in 4 vectors (masked at the right edge, masked loads do not fault), summed into
// registers, stored once. A matrix-vector product (P == 1) instead vectorizes over k:
// csr gathers 16 x values per instruction, bcsr loads the 16 x values of a block, bitmap
// expands the packed values of a 16-column chunk into the lanes its mask names.
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>

#include "frugal/kernels/cpu/sparse_matmul.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,bmi,popcnt")

namespace frugal::kernels::cpu::detail {
namespace {

// Lane masks of the NV vectors covering `width` (<= 16 NV) columns.
template <int NV>
void lane_masks(int64_t width, __mmask16 (&m)[NV]) {
  for (int i = 0; i < NV; ++i) {
    const int64_t left = width - 16 * i;
    m[i] = left >= 16 ? __mmask16(0xFFFF) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
  }
}

// ---- P >= 2: rows of C, NV vectors of columns at a time ----

// With few vectors per row, one accumulator chain would wait on the FMA latency: U
// independent sets of accumulators take consecutive non-zeros, summed at the end.
template <int NV>
void csr_tile(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b, int64_t ldb,
              int64_t p0, int64_t width, float* c, int64_t ldc, const float* bias) {
  constexpr int U = NV == 1 ? 4 : NV == 2 ? 2 : 1;
  __mmask16 m[NV];
  lane_masks<NV>(width, m);
  const int32_t* ptr = a.ptr.data();
  const int32_t* col = a.col.data();
  const float* val = a.val.data();
  for (int64_t r = r0; r < r1; ++r) {
    __m512 acc[U][NV];
    for (int u = 0; u < U; ++u)
      for (int i = 0; i < NV; ++i) acc[u][i] = _mm512_setzero_ps();
    int32_t q = ptr[r];
    const int32_t end = ptr[r + 1];
    for (; q + U <= end; q += U)
      for (int u = 0; u < U; ++u) {
        const __m512 v = _mm512_set1_ps(val[q + u]);
        const float* brow = b + static_cast<int64_t>(col[q + u]) * ldb + p0;
        for (int i = 0; i < NV; ++i)
          acc[u][i] = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m[i], brow + 16 * i), acc[u][i]);
      }
    for (; q < end; ++q) {
      const __m512 v = _mm512_set1_ps(val[q]);
      const float* brow = b + static_cast<int64_t>(col[q]) * ldb + p0;
      for (int i = 0; i < NV; ++i)
        acc[0][i] = _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m[i], brow + 16 * i), acc[0][i]);
    }
    const __m512 init = _mm512_set1_ps(bias ? bias[r] : 0.0f);
    float* crow = c + r * ldc + p0;
    for (int i = 0; i < NV; ++i) {
      __m512 sum = init;
      for (int u = 0; u < U; ++u) sum = _mm512_add_ps(sum, acc[u][i]);
      _mm512_mask_storeu_ps(crow + 16 * i, m[i], sum);
    }
  }
}

template <int NV>
void bitmap_tile(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b, int64_t ldb,
                 int64_t p0, int64_t width, float* c, int64_t ldc, const float* bias) {
  __mmask16 m[NV];
  lane_masks<NV>(width, m);
  const int64_t chunks = a.chunks();
  for (int64_t r = r0; r < r1; ++r) {
    // Two accumulator sets take alternate non-zeros (FMA latency, as in csr_tile).
    __m512 acc0[NV], acc1[NV];
    for (int i = 0; i < NV; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();
    const float* val = a.val.data() + a.ptr[r];
    const uint16_t* mask = a.mask.data() + r * chunks;
    for (int64_t ch = 0; ch < chunks; ++ch) {
      unsigned bits = mask[ch];
      const float* bchunk = b + ch * 16 * ldb + p0;
      while (bits) {
        const int j = __builtin_ctz(bits);
        bits &= bits - 1;
        const __m512 v = _mm512_set1_ps(*val++);
        for (int i = 0; i < NV; ++i)
          acc0[i] =
              _mm512_fmadd_ps(v, _mm512_maskz_loadu_ps(m[i], bchunk + j * ldb + 16 * i), acc0[i]);
        if (!bits) break;
        const int j2 = __builtin_ctz(bits);
        bits &= bits - 1;
        const __m512 v2 = _mm512_set1_ps(*val++);
        for (int i = 0; i < NV; ++i)
          acc1[i] =
              _mm512_fmadd_ps(v2, _mm512_maskz_loadu_ps(m[i], bchunk + j2 * ldb + 16 * i), acc1[i]);
      }
    }
    const __m512 init = _mm512_set1_ps(bias ? bias[r] : 0.0f);
    float* crow = c + r * ldc + p0;
    for (int i = 0; i < NV; ++i)
      _mm512_mask_storeu_ps(crow + 16 * i, m[i],
                            _mm512_add_ps(init, _mm512_add_ps(acc0[i], acc1[i])));
  }
}

// R rows of a block row share each loaded row of B.
template <int R, int NV>
void bcsr_tile(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b, int64_t ldb,
               int64_t p0, int64_t width, float* c, int64_t ldc, const float* bias) {
  __mmask16 m[NV];
  lane_masks<NV>(width, m);
  for (int64_t br = r0 / R; br * R < r1; ++br) {
    __m512 acc[R][NV];
    for (int i = 0; i < R; ++i) {
      const int64_t r = br * R + i;
      const __m512 init = _mm512_set1_ps(bias && r < r1 ? bias[r] : 0.0f);
      for (int v = 0; v < NV; ++v) acc[i][v] = init;
    }
    for (int32_t blk = a.ptr[br]; blk < a.ptr[br + 1]; ++blk) {
      const int64_t c0 = a.col[blk];
      const int64_t kw = std::min<int64_t>(16, a.cols - c0);
      const float* vals = a.val.data() + static_cast<int64_t>(blk) * R * 16;
      for (int64_t j = 0; j < kw; ++j) {
        const float* brow = b + (c0 + j) * ldb + p0;
        __m512 bv[NV];
        for (int v = 0; v < NV; ++v) bv[v] = _mm512_maskz_loadu_ps(m[v], brow + 16 * v);
        for (int i = 0; i < R; ++i) {
          const __m512 w = _mm512_set1_ps(vals[i * 16 + j]);
          for (int v = 0; v < NV; ++v) acc[i][v] = _mm512_fmadd_ps(w, bv[v], acc[i][v]);
        }
      }
    }
    for (int i = 0; i < R; ++i) {
      const int64_t r = br * R + i;
      if (r >= r1) break;
      float* crow = c + r * ldc + p0;
      for (int v = 0; v < NV; ++v) _mm512_mask_storeu_ps(crow + 16 * v, m[v], acc[i][v]);
    }
  }
}

template <int NV>
void tile(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b, int64_t ldb, int64_t p0,
          int64_t width, float* c, int64_t ldc, const float* bias) {
  switch (a.format) {
    case SparseFormat::kCsr:
      return csr_tile<NV>(a, r0, r1, b, ldb, p0, width, c, ldc, bias);
    case SparseFormat::kBitmap:
      return bitmap_tile<NV>(a, r0, r1, b, ldb, p0, width, c, ldc, bias);
    case SparseFormat::kBcsr1x16:
      return bcsr_tile<1, NV>(a, r0, r1, b, ldb, p0, width, c, ldc, bias);
    case SparseFormat::kBcsr4x16:
      return bcsr_tile<4, NV>(a, r0, r1, b, ldb, p0, width, c, ldc, bias);
  }
}

// ---- P == 1: y = A x + bias ----

float reduce(__m512 v) {
  return _mm512_reduce_add_ps(v);
}

void csr_spmv(const SparseMatrix& a, int64_t r0, int64_t r1, const float* x, float* y,
              const float* bias) {
  const int32_t* ptr = a.ptr.data();
  const int32_t* col = a.col.data();
  const float* val = a.val.data();
  for (int64_t r = r0; r < r1; ++r) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    int32_t q = ptr[r];
    const int32_t end = ptr[r + 1];
    for (; q + 32 <= end; q += 32) {
      const __m512i i0 = _mm512_loadu_si512(col + q), i1 = _mm512_loadu_si512(col + q + 16);
      acc0 = _mm512_fmadd_ps(_mm512_loadu_ps(val + q), _mm512_i32gather_ps(i0, x, 4), acc0);
      acc1 = _mm512_fmadd_ps(_mm512_loadu_ps(val + q + 16), _mm512_i32gather_ps(i1, x, 4), acc1);
    }
    for (; q < end; q += 16) {
      const __mmask16 m = end - q >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << (end - q)) - 1);
      const __m512i idx = _mm512_maskz_loadu_epi32(m, col + q);
      const __m512 xv = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), m, idx, x, 4);
      acc0 = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(m, val + q), xv, acc0);
    }
    y[r] = (bias ? bias[r] : 0.0f) + reduce(_mm512_add_ps(acc0, acc1));
  }
}

// The popcount(m) packed values at `val` spread into the lanes `m` names: a masked load of
// exactly those values (no read past the row) and the register form of expand (the memory
// form, vexpandps from memory, is microcoded and several times slower on AMD Zen 4).
__m512 expand(__mmask16 m, const float* val) {
  const __mmask16 low = static_cast<__mmask16>((1u << __builtin_popcount(m)) - 1);
  return _mm512_maskz_expand_ps(m, _mm512_maskz_loadu_ps(low, val));
}

void bitmap_spmv(const SparseMatrix& a, int64_t r0, int64_t r1, const float* x, float* y,
                 const float* bias) {
  const int64_t chunks = a.chunks();
  for (int64_t r = r0; r < r1; ++r) {
    __m512 acc0 = _mm512_setzero_ps(), acc1 = _mm512_setzero_ps();
    const float* val = a.val.data() + a.ptr[r];
    const uint16_t* mask = a.mask.data() + r * chunks;
    int64_t ch = 0;
    for (; ch + 2 <= chunks; ch += 2) {
      const __mmask16 m0 = mask[ch], m1 = mask[ch + 1];
      const __m512 v0 = expand(m0, val);
      val += __builtin_popcount(m0);
      const __m512 v1 = expand(m1, val);
      val += __builtin_popcount(m1);
      acc0 = _mm512_fmadd_ps(v0, _mm512_maskz_loadu_ps(m0, x + ch * 16), acc0);
      acc1 = _mm512_fmadd_ps(v1, _mm512_maskz_loadu_ps(m1, x + ch * 16 + 16), acc1);
    }
    if (ch < chunks) {
      const __mmask16 m0 = mask[ch];
      acc0 = _mm512_fmadd_ps(expand(m0, val), _mm512_maskz_loadu_ps(m0, x + ch * 16), acc0);
    }
    y[r] = (bias ? bias[r] : 0.0f) + reduce(_mm512_add_ps(acc0, acc1));
  }
}

template <int R>
void bcsr_spmv(const SparseMatrix& a, int64_t r0, int64_t r1, const float* x, float* y,
               const float* bias) {
  for (int64_t br = r0 / R; br * R < r1; ++br) {
    __m512 acc[R];
    for (int i = 0; i < R; ++i) acc[i] = _mm512_setzero_ps();
    for (int32_t blk = a.ptr[br]; blk < a.ptr[br + 1]; ++blk) {
      const int64_t c0 = a.col[blk];
      const int64_t left = a.cols - c0;
      const __mmask16 m = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
      const __m512 xv = _mm512_maskz_loadu_ps(m, x + c0);
      const float* vals = a.val.data() + static_cast<int64_t>(blk) * R * 16;
      for (int i = 0; i < R; ++i)
        acc[i] = _mm512_fmadd_ps(_mm512_loadu_ps(vals + 16 * i), xv, acc[i]);
    }
    for (int i = 0; i < R; ++i) {
      const int64_t r = br * R + i;
      if (r >= r1) break;
      y[r] = (bias ? bias[r] : 0.0f) + reduce(acc[i]);
    }
  }
}

}  // namespace

void sparse_matmul_avx512(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b,
                          int64_t ldb, int64_t cols, float* c, int64_t ldc, const float* bias) {
  if (cols == 1 && ldb == 1) {
    // y[r] lives at c[r * ldc]; the vector kernels write contiguous y, so go through rows
    // one by one only when ldc != 1.
    if (ldc == 1) {
      switch (a.format) {
        case SparseFormat::kCsr:
          return csr_spmv(a, r0, r1, b, c, bias);
        case SparseFormat::kBitmap:
          return bitmap_spmv(a, r0, r1, b, c, bias);
        case SparseFormat::kBcsr1x16:
          return bcsr_spmv<1>(a, r0, r1, b, c, bias);
        case SparseFormat::kBcsr4x16:
          return bcsr_spmv<4>(a, r0, r1, b, c, bias);
      }
    }
  }
  int64_t p0 = 0;
  for (; p0 + 64 <= cols; p0 += 64) tile<4>(a, r0, r1, b, ldb, p0, 64, c, ldc, bias);
  const int64_t left = cols - p0;
  if (left > 32)
    tile<4>(a, r0, r1, b, ldb, p0, left, c, ldc, bias);
  else if (left > 16)
    tile<2>(a, r0, r1, b, ldb, p0, left, c, ldc, bias);
  else if (left > 0)
    tile<1>(a, r0, r1, b, ldb, p0, left, c, ldc, bias);
}

}  // namespace frugal::kernels::cpu::detail

#pragma GCC pop_options
