// The cpu kernel of frugal.SqueezeExcite (ops/squeeze_excite.h): one node for a whole
// squeeze-and-excitation block. Per image: the channel sums over the spatial positions
// (one pass over X), the two small products with the activations, then Y = X * g (one
// pass). X and Y may each be plain or channels-last (NHWC, the layout the depthwise
// convolution before the block and the 1x1 convolution after it use here): the Session
// agrees on it with the neighbours (layout.h) and no reorder is left around the block.
// The loops exist twice, compiled for the baseline ISA and for AVX-512
// (squeeze_excite_avx512.cpp), from one definition (squeeze_excite_loops.h).
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cpu {

// The loops, for one ISA. Element (position p, channel c) of an image sits at p * c_count + c
// when channels-last, else at c * positions + p.
struct SeLoops {
  // sums[c] = sum of positions [p0, p1) of each channel (float sums, the caller keeps the
  // ranges short).
  void (*pool)(const float* x, int64_t positions, int64_t channels, bool channels_last, int64_t p0,
               int64_t p1, float* sums);
  // y[o] = bias[o] + sum_i w[o * in + i] v[i] (bias may be null).
  void (*dense_rows)(const float* w, const float* bias, const float* v, int64_t out, int64_t in,
                     float* y);
  // y[o] = bias[o] + sum_i wt[i * out + o] v[i]: the same product, weights transposed.
  void (*dense_cols)(const float* wt, const float* bias, const float* v, int64_t out, int64_t in,
                     float* y);
  // y = x * g[channel] over positions [p0, p1), each side in its layout.
  void (*scale)(const float* x, const float* g, int64_t positions, int64_t channels,
                bool in_channels_last, bool out_channels_last, int64_t p0, int64_t p1, float* y);
  // The post-ops in place on n floats, or null: ops::apply_post_ops then.
  void (*post_ops)(float* v, int64_t n, const std::vector<ops::PostOp>& ops);
};

const SeLoops& se_loops_baseline();
const SeLoops& se_loops_avx512();  // only where dw_isa_available() (depthwise.h)

std::unique_ptr<kernels::Kernel> make_squeeze_excite(const Build& b);

// A Gemm of one row by constant transposed weights run on the same dot loop
// (gemv_kernel.cpp), or null when the node is not that case (make_gemm then builds oneDNN's).
std::unique_ptr<kernels::Kernel> make_gemv(const Build& b);

}  // namespace frugal::kernels::cpu
