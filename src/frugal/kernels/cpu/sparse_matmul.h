// The sparse products under the cpu backend's sparse kernels: C = A B (+ bias per row) with
// A a SparseMatrix (sparse_format.h) and B, C dense row-major. Gemm/MatMul compute
// Y^T = W^T X^T this way (A = W^T, B = X^T, P = batch), Conv computes each image's
// Y[g] = W[g] im2col(X[g]) (P = OH * OW), so the activations are what the vectors span.
//
// P == 1 with a contiguous B is a sparse matrix-vector product with its own loops (csr:
// gathers of x; bcsr: one x vector per block; bitmap: expand-loads of the packed values).
// Otherwise each non-zero (or block column) broadcasts its value against up to 64
// consecutive columns of B's row (4 AVX-512 vectors; the last one masked).
#pragma once

#include <cstdint>

#include "frugal/kernels/cpu/sparse_format.h"

namespace frugal::kernels::cpu {

enum class SparseIsa { kScalar, kAvx512 };
// AVX-512 (F, BW, VL, DQ) when the CPU has it, else the scalar loops.
SparseIsa best_sparse_isa();
const char* sparse_isa_name(SparseIsa isa);  // "scalar" | "avx512"

// For rows r in [r0, r1) of `a` and columns p in [0, cols): C[r * ldc + p] =
// (bias ? bias[r] : 0) + sum_k A[r, k] B[k * ldb + p]. For bcsr formats, r0 is a multiple
// of the block rows (R). Reads no C element before writing it.
void sparse_matmul(SparseIsa isa, const SparseMatrix& a, int64_t r0, int64_t r1, const float* b,
                   int64_t ldb, int64_t cols, float* c, int64_t ldc, const float* bias);

namespace detail {
void sparse_matmul_scalar(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b,
                          int64_t ldb, int64_t cols, float* c, int64_t ldc, const float* bias);
void sparse_matmul_avx512(const SparseMatrix& a, int64_t r0, int64_t r1, const float* b,
                          int64_t ldb, int64_t cols, float* c, int64_t ldc, const float* bias);
}  // namespace detail

}  // namespace frugal::kernels::cpu
