// Emulated GEMM and convolution: multiplier inputs already in their number formats (the
// caller quantizes them), every product exact, the accumulator rounded to a chosen format.
//
// Accumulation of C(i, j) = sum_p A(i, p) * B(p, j), p in increasing order:
//   chunk = 0       acc <- round(acc + A(i, p) * B(p, j)) for every p (per-add rounding)
//   chunk = k       partial sums of k consecutive terms in the accumulator format, each added
//                   into a running total, also rounded (Wang et al., NeurIPS 2018)
//   compensated     the sums are double words (hi, lo) of the format (TwoSum carries, see
//                   numeric/expansions.h); the result is hi + lo. Round-to-nearest-even only.
// Each addition rounds the exact sum once (numeric::dot is the same computation for one
// element). With accumulate_into_c, C's initial value, rounded to the format, starts the sum.
//
// Stochastic rounding: addition t of element (i, j) draws the Philox(seed) word at counter
// (t * M + i) * N4 + j, N4 = N rounded up to a multiple of 4; t = 0 rounds C's initial value,
// t = 1..K are the term additions, K + 1 + c adds partial sum c into the total (chunked).
//
// Speed: non-compensated accumulation in a float format of at most 21 mantissa bits (or
// binary32 with nearest-even) with a deterministic rounding runs a vectorized AVX-512 kernel,
// exact as well (emu_gemm_avx512.cpp); stochastic rounding, compensated sums and other
// formats run element by element in double (exact, slow). Rows of C are split over threads
// for large products (results do not depend on the thread count).
#pragma once

#include <cstdint>

#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::kernels::emu {

struct Accumulator {
  numeric::NumberFormat format;  // default binary32
  numeric::Rounding rounding;    // default nearest-even
  int chunk = 0;                 // 0: round after every add into one accumulator
  bool compensated = false;

  bool operator==(const Accumulator&) const = default;
};

// C[M x N] = op(A)[M x K] * op(B)[K x N] (+ C when accumulate_into_c), row-major with leading
// dimensions lda, ldb, ldc; op(X) = X^T when trans_x. Throws UserError for a bad accumulator
// (block format, compensated with a mode other than nearest-even, chunk < 0).
void emu_gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, const float* A,
              int64_t lda, const float* B, int64_t ldb, float* C, int64_t ldc,
              const Accumulator& acc, bool accumulate_into_c = false);

// Threads emu_gemm may use from now on (0: hardware concurrency, the default).
void set_emu_threads(int threads);

// Convolution over up to three spatial dimensions, NC[D]HW, through im2col + emu_gemm per
// group (groups, depthwise, strides, dilations, pads). The bias (may be null) starts each
// output's accumulator. Geometry as three spatial dimensions (ops::as_3d).
struct ConvShape {
  int64_t batch = 1, in_channels = 1, out_channels = 1, group = 1;
  int64_t in[3] = {1, 1, 1}, kernel[3] = {1, 1, 1}, out[3] = {1, 1, 1};
  int64_t strides[3] = {1, 1, 1}, dilations[3] = {1, 1, 1}, pad_begin[3] = {0, 0, 0};
};
void emu_conv(const ConvShape& shape, const float* x, const float* w, const float* bias,
              float* y, const Accumulator& acc);

}  // namespace frugal::kernels::emu
