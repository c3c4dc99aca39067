// The scalar sparse products (any CPU) and the run-time choice of the vectorized ones.
#include "frugal/kernels/cpu/sparse_matmul.h"

#include <algorithm>

namespace frugal::kernels::cpu {

SparseIsa best_sparse_isa() {
  static const SparseIsa isa =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
              __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq")
          ? SparseIsa::kAvx512
          : SparseIsa::kScalar;
  return isa;
}

const char* sparse_isa_name(SparseIsa isa) {
  return isa == SparseIsa::kAvx512 ? "avx512" : "scalar";
}

void sparse_matmul(SparseIsa isa, const SparseMatrix& a, int64_t r0, int64_t r1, const float* b,
                   int64_t ldb, int64_t cols, float* c, int64_t ldc, const float* bias) {
  if (r0 >= r1 || cols <= 0) return;
  if (isa == SparseIsa::kAvx512)
    detail::sparse_matmul_avx512(a, r0, r1, b, ldb, cols, c, ldc, bias);
  else
    detail::sparse_matmul_scalar(a, r0, r1, b, ldb, cols, c, ldc, bias);
}

namespace detail {

// Accumulates into C, one output row at a time, columns innermost (vectorizable by the
// compiler at the baseline ISA).
void sparse_matmul_scalar(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b,
                          int64_t ldb, int64_t cols, float* c, int64_t ldc, const float* bias) {
  auto axpy = [&](float v, int64_t k, float* crow) {
    const float* brow = b + k * ldb;
    for (int64_t p = 0; p < cols; ++p) crow[p] += v * brow[p];
  };
  for (int64_t r = r0; r < r1; ++r) std::fill_n(c + r * ldc, cols, bias ? bias[r] : 0.0f);
  switch (a.format) {
    case SparseFormat::kCsr:
      for (int64_t r = r0; r < r1; ++r)
        for (int32_t q = a.ptr[r]; q < a.ptr[r + 1]; ++q) axpy(a.val[q], a.col[q], c + r * ldc);
      break;
    case SparseFormat::kBcsr1x16:
    case SparseFormat::kBcsr4x16: {
      const int rb = a.block_rows;
      for (int64_t br = r0 / rb; br * rb < r1; ++br)
        for (int32_t blk = a.ptr[br]; blk < a.ptr[br + 1]; ++blk) {
          const int64_t c0 = a.col[blk];
          const int64_t width = std::min<int64_t>(16, a.cols - c0);
          for (int i = 0; i < rb; ++i) {
            const int64_t r = br * rb + i;
            if (r >= r1) break;
            const float* v = a.val.data() + (static_cast<int64_t>(blk) * rb + i) * 16;
            for (int64_t j = 0; j < width; ++j)
              if (v[j] != 0.0f) axpy(v[j], c0 + j, c + r * ldc);
          }
        }
      break;
    }
    case SparseFormat::kBitmap: {
      const int64_t chunks = a.chunks();
      for (int64_t r = r0; r < r1; ++r) {
        int32_t q = a.ptr[r];
        for (int64_t ch = 0; ch < chunks; ++ch) {
          unsigned m = a.mask[r * chunks + ch];
          while (m) {
            const int j = __builtin_ctz(m);
            m &= m - 1;
            axpy(a.val[q++], ch * 16 + j, c + r * ldc);
          }
        }
      }
      break;
    }
  }
}

}  // namespace detail
}  // namespace frugal::kernels::cpu
