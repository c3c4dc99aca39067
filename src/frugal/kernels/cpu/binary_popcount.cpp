// The portable popcount products (std::popcount) and the run-time choice of the AVX-512 one.
#include "frugal/kernels/cpu/binary_popcount.h"

#include <bit>
#include <cstddef>

namespace frugal::kernels::cpu {

PopcountIsa best_popcount_isa() {
  static const PopcountIsa isa =
      __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vpopcntdq")
          ? PopcountIsa::kAvx512
          : PopcountIsa::kScalar;
  return isa;
}

const char* popcount_isa_name(PopcountIsa isa) {
  return isa == PopcountIsa::kAvx512 ? "avx512_vpopcntdq" : "scalar";
}

PackedBinaryWeights interleave_weights(const uint64_t* sign, const uint64_t* mask, int64_t rows,
                                       int64_t words) {
  PackedBinaryWeights w;
  w.rows = rows;
  w.words = words;
  const size_t n = static_cast<size_t>(PackedBinaryWeights::blocks(rows) * words * 8);
  w.sign.assign(n, 0);
  w.mask.assign(n, 0);  // rows past `rows` stay all-zero: their dots are 0
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < words; ++i) {
      const size_t at = static_cast<size_t>(((r / 8) * words + i) * 8 + r % 8);
      w.sign[at] = sign[r * words + i];
      w.mask[at] = mask[r * words + i];
    }
  return w;
}

void popcount_dots(PopcountIsa isa, const uint64_t* xs, const uint64_t* xm, int64_t P,
                   const PackedBinaryWeights& w, int32_t* dot, int64_t ldd) {
  if (P <= 0 || w.rows <= 0) return;
  if (isa == PopcountIsa::kAvx512)
    detail::popcount_dots_avx512(xs, xm, P, w, dot, ldd);
  else
    detail::popcount_dots_scalar(xs, xm, P, w, dot, ldd);
}

namespace detail {

void popcount_dots_scalar(const uint64_t* xs, const uint64_t* xm, int64_t P,
                          const PackedBinaryWeights& w, int32_t* dot, int64_t ldd) {
  const int64_t W = w.words;
  for (int64_t b = 0; b < PackedBinaryWeights::blocks(w.rows); ++b) {
    const uint64_t* ws = w.sign.data() + b * W * 8;
    const uint64_t* wm = w.mask.data() + b * W * 8;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t j = 0; j < 8; ++j) {
        int64_t all = 0, differ = 0;
        for (int64_t i = 0; i < W; ++i) {
          const uint64_t m = xm[p * W + i] & wm[i * 8 + j];
          all += std::popcount(m);
          differ += std::popcount(m & (xs[p * W + i] ^ ws[i * 8 + j]));
        }
        dot[p * ldd + b * 8 + j] = static_cast<int32_t>(all - 2 * differ);
      }
  }
}

}  // namespace detail

}  // namespace frugal::kernels::cpu
