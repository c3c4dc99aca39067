// The portable popcount products and packing (std::popcount, scalar loops) and the
// run-time choice of the AVX-512 ones.
#include "frugal/kernels/cpu/binary_popcount.h"

#include <algorithm>
#include <bit>
#include <cstddef>
#include <numeric>
#include <vector>

#include "frugal/kernels/cpu/binary_loops.h"
#include "frugal/ops/binary_layer.h"

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
  std::vector<int64_t> origins(static_cast<size_t>(std::max<int64_t>(P, 0)));
  std::iota(origins.begin(), origins.end(), int64_t{0});
  const int64_t tap = 0;
  popcount_taps(isa, TapRows{xs, xm, w.words, &tap, 1}, origins.data(), P, w, dot, ldd);
}

void popcount_taps(PopcountIsa isa, const TapRows& a, const int64_t* origins, int64_t P,
                   const PackedBinaryWeights& w, int32_t* dot, int64_t ldd) {
  if (P <= 0 || w.rows <= 0) return;
  if (isa == PopcountIsa::kAvx512)
    detail::popcount_taps_avx512(a, origins, P, w, dot, ldd);
  else
    detail::popcount_taps_scalar(a, origins, P, w, dot, ldd);
}

void pack_planes(PopcountIsa isa, const float* x, int64_t channel_stride, int64_t channels,
                 int64_t count, int64_t words, uint64_t* sign, uint64_t* mask) {
  if (isa == PopcountIsa::kAvx512) {
    detail::pack_planes_avx512(x, channel_stride, channels, count, words, sign, mask);
    return;
  }
  std::fill(sign, sign + count * words, uint64_t{0});
  std::fill(mask, mask + count * words, uint64_t{0});
  for (int64_t c = 0; c < channels; ++c)
    for (int64_t q = 0; q < count; ++q)
      ops::binary::set_bits(x[c * channel_stride + q], c, sign + q * words, mask + q * words);
}

void pack_signs(PopcountIsa isa, const float* x, int64_t n, uint64_t* sign, uint64_t* mask) {
  if (isa == PopcountIsa::kAvx512) {
    detail::pack_signs_avx512(x, n, sign, mask);
    return;
  }
  std::fill(sign, sign + ops::binary::words(n), uint64_t{0});
  std::fill(mask, mask + ops::binary::words(n), uint64_t{0});
  ops::binary::pack_row(x, n, 1, sign, mask);
}

void widen_planes(PopcountIsa isa, const uint64_t* s, const uint64_t* m, int64_t positions,
                  int64_t count, int64_t step, int64_t bits, uint64_t* ws, uint64_t* wm) {
  if (isa == PopcountIsa::kAvx512)
    detail::widen_planes_avx512(s, m, positions, count, step, bits, ws, wm);
  else
    detail::widen_loop(s, m, positions, count, step, bits, ws, wm);
}

void popcount_outputs(PopcountIsa isa, const TapRows& a, const int64_t* origins, int64_t P,
                      const PackedBinaryWeights& w, const OutputScale& out, int32_t* scratch) {
  if (P <= 0 || w.rows <= 0) return;
  if (isa == PopcountIsa::kAvx512) {
    detail::popcount_outputs_avx512(a, origins, P, w, out);
    return;
  }
  const int64_t ld = 8 * PackedBinaryWeights::blocks(w.rows);
  detail::popcount_taps_scalar(a, origins, P, w, scratch, ld);
  detail::outputs_loop(scratch, ld, P, w.rows, out.alpha, out.beta, out.bias, out.y, out.y_stride);
}

namespace detail {

void popcount_taps_scalar(const TapRows& a, const int64_t* origins, int64_t P,
                          const PackedBinaryWeights& w, int32_t* dot, int64_t ldd) {
  const int64_t W = w.words;
  for (int64_t b = 0; b < PackedBinaryWeights::blocks(w.rows); ++b) {
    const uint64_t* ws = w.sign.data() + b * W * 8;
    const uint64_t* wm = w.mask.data() + b * W * 8;
    for (int64_t p = 0; p < P; ++p)
      for (int64_t j = 0; j < 8; ++j) {
        int64_t all = 0, differ = 0;
        for (int64_t t = 0; t < a.ntaps; ++t) {
          const int64_t at = (origins[p] + a.taps[t]) * a.words;
          for (int64_t i = 0; i < a.words; ++i) {
            const int64_t wi = (t * a.words + i) * 8 + j;
            const uint64_t m = a.xm[at + i] & wm[wi];
            all += std::popcount(m);
            differ += std::popcount(m & (a.xs[at + i] ^ ws[wi]));
          }
        }
        dot[p * ldd + b * 8 + j] = static_cast<int32_t>(all - 2 * differ);
      }
  }
}

}  // namespace detail

}  // namespace frugal::kernels::cpu
