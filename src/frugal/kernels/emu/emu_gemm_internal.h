// Internal to kernels/emu: the job description shared by the exact element-by-element path
// (emu_gemm.cpp) and the vectorized kernel (emu_gemm_avx512.cpp).
#pragma once

#include <cstdint>

#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/numeric/quantize_kernels.h"

namespace frugal::kernels::emu::detail {

// One GEMM after argument handling: A(i, p) = A[i * a_row + p * a_col], B row-major K x N
// (transposed B has been packed), C row-major; C already holds each element's initial
// accumulator value (0, or C rounded to the format).
struct GemmJob {
  int64_t M = 0, N = 0, K = 0;
  const float* A = nullptr;
  int64_t a_row = 0, a_col = 0;
  const float* B = nullptr;
  int64_t ldb = 0;
  float* C = nullptr;
  int64_t ldc = 0;
  Accumulator acc;
  // Vectorized kernel only: rounding parameters of acc.format, and whether rounding is needed
  // at all (binary32 with nearest-even is the plain FMA).
  numeric::detail::FloatParams params;
  bool round_sums = true;
};

// Can the vectorized kernel run this accumulator on this CPU?
bool fast_kernel_available(const Accumulator& acc);
// Rows [i0, i1) with the vectorized kernel.
void fast_rows_avx512(const GemmJob& job, int64_t i0, int64_t i1);

}  // namespace frugal::kernels::emu::detail
