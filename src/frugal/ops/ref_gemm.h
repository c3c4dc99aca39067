// The plain matrix product behind the reference Conv, ConvTranspose, Gemm and MatMul
// kernels: C[M x N] += A[M x K] * B[K x N], accumulating in the element type.
// Blocked over N and K and four rows of C at a time, so that a C tile stays in L1 and a
// B block in L2 and the contiguous inner loop over N vectorizes; no threads, no packing.
#pragma once

#include <algorithm>
#include <cstdint>
#include <type_traits>

namespace frugal::ops {
namespace ref_gemm_detail {

template <typename T>
void rows4(int64_t n, T a0, T a1, T a2, T a3, const T* __restrict b, T* __restrict c0,
           T* __restrict c1, T* __restrict c2, T* __restrict c3) {
  for (int64_t j = 0; j < n; ++j) {
    const T bj = b[j];
    c0[j] += a0 * bj;
    c1[j] += a1 * bj;
    c2[j] += a2 * bj;
    c3[j] += a3 * bj;
  }
}

template <typename T>
void row1(int64_t n, T a, const T* __restrict b, T* __restrict c) {
  for (int64_t j = 0; j < n; ++j) c[j] += a * b[j];
}

template <typename T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_row, int64_t a_col,
                  const T* b, int64_t ldb, T* c, int64_t ldc) {
  constexpr int64_t kBlockN = 256, kBlockK = 128;
  for (int64_t j0 = 0; j0 < n; j0 += kBlockN) {
    const int64_t nb = std::min(kBlockN, n - j0);
    for (int64_t k0 = 0; k0 < k; k0 += kBlockK) {
      const int64_t k1 = std::min(k, k0 + kBlockK);
      int64_t i = 0;
      for (; i + 4 <= m; i += 4) {
        T* c0 = c + i * ldc + j0;
        const T* ai = a + i * a_row;
        for (int64_t p = k0; p < k1; ++p) {
          const T* ap = ai + p * a_col;
          rows4<T>(nb, ap[0], ap[a_row], ap[2 * a_row], ap[3 * a_row], b + p * ldb + j0, c0,
                   c0 + ldc, c0 + 2 * ldc, c0 + 3 * ldc);
        }
      }
      for (; i < m; ++i)
        for (int64_t p = k0; p < k1; ++p)
          row1<T>(nb, a[i * a_row + p * a_col], b + p * ldb + j0, c + i * ldc + j0);
    }
  }
}

}  // namespace ref_gemm_detail

// C[M x N] += A * B. A(i, p) is a[i * a_row + p * a_col] (so a transposed A costs no copy);
// B and C are row-major with leading dimensions ldb and ldc. Signed integers wrap on
// overflow (computed as unsigned) rather than invoking undefined behaviour.
template <typename T>
void gemm_accumulate(int64_t m, int64_t n, int64_t k, const T* a, int64_t a_row, int64_t a_col,
                     const T* b, int64_t ldb, T* c, int64_t ldc) {
  if (m <= 0 || n <= 0 || k <= 0) return;
  if constexpr (std::is_integral_v<T> && std::is_signed_v<T>) {
    using U = std::make_unsigned_t<T>;
    ref_gemm_detail::gemm_blocked<U>(m, n, k, reinterpret_cast<const U*>(a), a_row, a_col,
                                     reinterpret_cast<const U*>(b), ldb, reinterpret_cast<U*>(c),
                                     ldc);
  } else {
    ref_gemm_detail::gemm_blocked<T>(m, n, k, a, a_row, a_col, b, ldb, c, ldc);
  }
}

}  // namespace frugal::ops
