// Bit-packed binary layers (domain "frugal"), XNOR-Net style (Rastegari et al., ECCV 2016):
// both the weights and the activations are signs, so that a dot product is XOR/AND and
// popcount. Defined here once, for the reference kernels (ops/binary_layer.cpp), the
// optimized kernels (kernels/<backend>/) and the compress transform that writes them.
//
//   frugal.BinaryGemm(X [N, K], W_sign [M, words(K)] uint64, alpha [M], B [M]?, W_mask?)
//       -> Y [N, M]
//   frugal.BinaryConv(X [N, C, D...], W_sign [M, words(C/group * prod(kernel_shape))],
//       alpha [M], B [M]?, W_mask?) -> Y [N, M, out...]; Conv's attributes, kernel_shape
//       required.
//
// Value k of a row is bit k % 64 of word k / 64 (Conv: k runs over (c, kd, kh, kw) in
// the order of Conv's weight). A weight is 0 where W_mask has a 0 bit (ternary; absent:
// all ones), else -1 where W_sign has a 1 bit, else +1. An activation is sign(x) (0 for 0,
// NaN and padding). So with m = mask_x & mask_w, the product of the signs summed over a
// row is dot = popcount(m) - 2 * popcount(m & (sign_x ^ sign_w)), an exact integer, and
//   Y = alpha[m] * (beta * dot) + B[m]   (the last multiply-add fused: std::fma)
// with beta the activation scale (attribute act_scale): "tensor" (default) = mean |x| of
// each sample's whole input, "row" = mean |x| of the values that one output reads (Gemm:
// the sample's row; Conv: the receptive field of the output position in its group, padding
// counted as 0: XNOR-Net's K matrix), "none" = 1. Means are summed in double, a sample's
// in the order of sample_scale, a row's in k order, so every kernel that follows this
// header is bit-exact with the reference.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <string>

#include "frugal/ir/graph.h"

namespace frugal::ops::binary {

inline constexpr const char* kDomain = "frugal";
inline constexpr const char* kGemm = "BinaryGemm";
inline constexpr const char* kConv = "BinaryConv";
// Input positions after X.
inline constexpr size_t kSignInput = 1, kAlphaInput = 2, kBiasInput = 3, kMaskInput = 4;

enum class ActScale { kTensor, kRow, kNone };
// The node's act_scale attribute; UserError naming the node for another value.
ActScale act_scale_of(const ir::Node& node);
const char* act_scale_name(ActScale s);

inline constexpr int64_t words(int64_t k) {
  return (k + 63) / 64;
}

// -1, 0 or +1 (NaN counts as 0).
inline int sign_of(float v) {
  return v > 0 ? 1 : (v < 0 ? -1 : 0);
}

// Sets value k's bits from v: mask for v != 0, sign for v < 0.
inline void set_bits(float v, int64_t k, uint64_t* sign, uint64_t* mask) {
  const int s = sign_of(v);
  const uint64_t bit = uint64_t{1} << (k % 64);
  if (s != 0) mask[k / 64] |= bit;
  if (s < 0) sign[k / 64] |= bit;
}

// Packs n values (stride apart) into zeroed words(n)-word sign and mask rows.
inline void pack_row(const float* x, int64_t n, int64_t stride, uint64_t* sign, uint64_t* mask) {
  for (int64_t k = 0; k < n; ++k) set_bits(x[k * stride], k, sign, mask);
}

// The signed dot product of two packed rows of `nwords` words (portable).
inline int64_t packed_dot(const uint64_t* xs, const uint64_t* xm, const uint64_t* ws,
                          const uint64_t* wm, int64_t nwords) {
  int64_t all = 0, differ = 0;
  for (int64_t i = 0; i < nwords; ++i) {
    const uint64_t m = xm[i] & wm[i];
    all += std::popcount(m);
    differ += std::popcount(m & (xs[i] ^ ws[i]));
  }
  return all - 2 * differ;
}

// beta from the sum of |x| over `count` values, and one output (the one formula).
inline float mean_abs(double sum_abs, int64_t count) {
  return count > 0 ? static_cast<float>(sum_abs / static_cast<double>(count)) : 0.0f;
}
// beta of a sample's whole input of n values (act_scale "tensor"; 1 for "none"). |x| is
// summed in double into 8 interleaved partial sums (value i into sum i % 8), added
// 0 to 7 at the end: one dependency chain per sum instead of one for the whole input.
inline float sample_scale(ActScale s, const float* x, int64_t n) {
  if (s == ActScale::kNone) return 1.0f;
  double part[8] = {};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    for (int64_t j = 0; j < 8; ++j) part[j] += std::abs(x[i + j]);
  for (int64_t j = 0; i + j < n; ++j) part[j] += std::abs(x[i + j]);
  double sum = 0;
  for (double p : part) sum += p;
  return mean_abs(sum, n);
}
// One fused multiply-add (one rounding), written out so that no compiler choice of
// contracting or not (code built for FMA-capable ISAs vs generic code) can change a bit.
inline float output(float alpha, float beta, int64_t dot, float bias) {
  const float scaled = beta * static_cast<float>(dot);
  return std::fma(alpha, scaled, bias);
}

}  // namespace frugal::ops::binary
