// The XNOR/AND-popcount products under the cpu backend's binary layers
// (ops/binary_layer.h): for P packed activation rows and M packed weight rows of `words`
// 64-bit words each, dot[p][m] = popcount(m) - 2 popcount(m & (sx ^ sw)) with
// m = mask_x & mask_w. The weights are interleaved by blocks of 8 rows
// ([M/8][words][8], rows past M with zero masks), so that one AVX-512 VPOPCNTDQ
// instruction serves 8 outputs and no horizontal sum is needed.
#pragma once

#include <cstdint>
#include <vector>

namespace frugal::kernels::cpu {

enum class PopcountIsa { kScalar, kAvx512 };
// AVX-512 F + VPOPCNTDQ when the CPU has them, else std::popcount loops.
PopcountIsa best_popcount_isa();
const char* popcount_isa_name(PopcountIsa isa);  // "scalar" | "avx512_vpopcntdq"

// Weight rows (sign and mask, [M][words] each) in the interleaved layout.
struct PackedBinaryWeights {
  int64_t rows = 0, words = 0;
  std::vector<uint64_t> sign, mask;  // [blocks(rows)][words][8]
  static int64_t blocks(int64_t rows) { return (rows + 7) / 8; }
};
PackedBinaryWeights interleave_weights(const uint64_t* sign, const uint64_t* mask, int64_t rows,
                                       int64_t words);

// dot[p * ldd + m] for p < P, m < w.rows, from activation rows xs/xm ([P][w.words]).
// ldd >= 8 * blocks(w.rows): whole blocks are written.
void popcount_dots(PopcountIsa isa, const uint64_t* xs, const uint64_t* xm, int64_t P,
                   const PackedBinaryWeights& w, int32_t* dot, int64_t ldd);

// Activation rows gathered from bit planes, im2col-free: the planes hold `words` words per
// position (sign and mask, [positions][words]); the row of output p is the concatenation,
// tap by tap, of the words at position origins[p] + taps[t], so that a convolution reads
// its k*k taps' channel words in place. Weight rows are ntaps * words words, in that order.
struct TapRows {
  const uint64_t *xs = nullptr, *xm = nullptr;
  int64_t words = 0;
  const int64_t* taps = nullptr;
  int64_t ntaps = 0;
};
// dot[i * ldd + m] for output positions origins[i], i < P (the contract of popcount_dots).
void popcount_taps(PopcountIsa isa, const TapRows& a, const int64_t* origins, int64_t P,
                   const PackedBinaryWeights& w, int32_t* dot, int64_t ldd);

// Packs `channels` planes of `count` floats (value q of channel c at x[c * channel_stride +
// q]) into bit planes: bit c % 64 of word q * words + c / 64 of sign (x < 0) and mask
// (x != 0, NaN counts as 0) for q < count; the words of those positions are overwritten.
void pack_planes(PopcountIsa isa, const float* x, int64_t channel_stride, int64_t channels,
                 int64_t count, int64_t words, uint64_t* sign, uint64_t* mask);
// Packs a row of n contiguous floats into words(n) sign and mask words (overwritten).
void pack_signs(PopcountIsa isa, const float* x, int64_t n, uint64_t* sign, uint64_t* mask);
// Bit planes of one word per position widened: word q of (ws, wm) = words q + i * step of
// (s, m), i < count, shifted to bits i * bits (count * bits <= 64); s and m hold
// positions + (count - 1) * step words.
void widen_planes(PopcountIsa isa, const uint64_t* s, const uint64_t* m, int64_t positions,
                  int64_t count, int64_t step, int64_t bits, uint64_t* ws, uint64_t* wm);
// The layer's outputs straight from the products: y[r * y_stride + i] =
// ops::binary::output(alpha[r], beta, dot of origins[i] and weight row r, bias[r]) for
// r < w.rows, i < P. scratch: P * 8 * blocks(w.rows) dots (used by the portable path).
struct OutputScale {
  const float *alpha = nullptr, *bias = nullptr;  // [w.rows]
  float beta = 0;
  float* y = nullptr;
  int64_t y_stride = 0;  // between output rows
};
void popcount_outputs(PopcountIsa isa, const TapRows& a, const int64_t* origins, int64_t P,
                      const PackedBinaryWeights& w, const OutputScale& out, int32_t* scratch);

namespace detail {
void popcount_taps_scalar(const TapRows& a, const int64_t* origins, int64_t P,
                          const PackedBinaryWeights& w, int32_t* dot, int64_t ldd);
void popcount_taps_avx512(const TapRows& a, const int64_t* origins, int64_t P,
                          const PackedBinaryWeights& w, int32_t* dot, int64_t ldd);
void pack_planes_avx512(const float* x, int64_t channel_stride, int64_t channels, int64_t count,
                        int64_t words, uint64_t* sign, uint64_t* mask);
void pack_signs_avx512(const float* x, int64_t n, uint64_t* sign, uint64_t* mask);
void widen_planes_avx512(const uint64_t* s, const uint64_t* m, int64_t positions, int64_t count,
                         int64_t step, int64_t bits, uint64_t* ws, uint64_t* wm);
void popcount_outputs_avx512(const TapRows& a, const int64_t* origins, int64_t P,
                             const PackedBinaryWeights& w, const OutputScale& out);
}  // namespace detail

}  // namespace frugal::kernels::cpu
