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

namespace detail {
void popcount_dots_scalar(const uint64_t* xs, const uint64_t* xm, int64_t P,
                          const PackedBinaryWeights& w, int32_t* dot, int64_t ldd);
void popcount_dots_avx512(const uint64_t* xs, const uint64_t* xm, int64_t P,
                          const PackedBinaryWeights& w, int32_t* dot, int64_t ldd);
}  // namespace detail

}  // namespace frugal::kernels::cpu
