// The AVX-512 VPOPCNTDQ popcount products and the AVX-512 packing of activations.
// Products: 8-row weight blocks (one lane per output) against a tile of output positions,
// each activation word broadcast; a tile of 4 positions x 2 weight blocks keeps 16
// accumulators in registers and reuses every loaded weight vector 4 times and every
// broadcast word twice. Packing: _mm512_cmp_ps_mask turns 16 floats into 16 sign bits.
// The scale and bias are applied in the tiles' registers and scattered into the NCHW
// output (no dots buffer). Widening: binary_loops.h's loop compiled for AVX-512.
#include <immintrin.h>

#include <algorithm>

#include "frugal/kernels/cpu/binary_loops.h"
#include "frugal/kernels/cpu/binary_popcount.h"

// GCC 12 reports the deliberately undefined pass-through operand of the inlined
// _mm512_slli_epi64 / _mm512_cvtepi64_epi32 (_mm512_undefined_epi32) as uninitialized.
#pragma GCC diagnostic ignored "-Wuninitialized"

namespace frugal::kernels::cpu::detail {
namespace {

#define FRUGAL_VPOPCNT __attribute__((target("avx512f,avx512vpopcntdq,fma")))

// popcount(m) - 2 popcount(m & (sx ^ sw)) summed into `all` and `differ` for one word.
FRUGAL_VPOPCNT inline void step(__m512i sx, __m512i mx, __m512i sw, __m512i mw, __m512i& all,
                                __m512i& differ) {
  const __m512i m = _mm512_and_si512(mx, mw);
  all = _mm512_add_epi64(all, _mm512_popcnt_epi64(m));
  differ =
      _mm512_add_epi64(differ, _mm512_popcnt_epi64(_mm512_and_si512(m, _mm512_xor_si512(sx, sw))));
}

// Where a tile's dots go: 8 dots (int32) of output position p, outputs o8 .. o8 + 7.
struct DotSink {
  int32_t* dot;
  int64_t ldd;
  FRUGAL_VPOPCNT void operator()(__m256i d, int64_t p, int64_t o8) const {
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(dot + p * ldd + o8), d);
  }
};
// Or straight into the layer's outputs: y = fma(alpha, beta * dot, bias) (binary_layer.h's
// formula; vfmadd rounds once, as std::fma), scattered to rows o8 .. o8 + 7 of y.
struct OutputSink {
  const OutputScale* out;
  int64_t rows;
  __m512i row_offsets;  // lane * y_stride
  FRUGAL_VPOPCNT void operator()(__m256i d, int64_t p, int64_t o8) const {
    const auto live = static_cast<__mmask16>(rows - o8 >= 8 ? 0xff : (1u << (rows - o8)) - 1);
    const __m256 alpha = _mm512_castps512_ps256(_mm512_maskz_loadu_ps(live, out->alpha + o8));
    const __m256 bias = _mm512_castps512_ps256(_mm512_maskz_loadu_ps(live, out->bias + o8));
    const __m256 scaled = _mm256_mul_ps(_mm256_set1_ps(out->beta), _mm256_cvtepi32_ps(d));
    _mm512_mask_i64scatter_ps(out->y + o8 * out->y_stride + p, static_cast<__mmask8>(live),
                              row_offsets, _mm256_fmadd_ps(alpha, scaled, bias), 4);
  }
};

FRUGAL_VPOPCNT inline __m256i dots_of(__m512i all, __m512i differ) {
  return _mm512_cvtepi64_epi32(_mm512_sub_epi64(all, _mm512_slli_epi64(differ, 1)));
}

// kPix output positions p .. p + kPix (origins o[p..]) against kBlocks weight blocks from
// block b.
template <int kPix, int kBlocks, typename Sink>
FRUGAL_VPOPCNT inline void tile(const TapRows& a, const int64_t* origins, int64_t p,
                                const PackedBinaryWeights& w, int64_t b, const Sink& sink) {
  const int64_t* o = origins + p;
  const int64_t W = w.words;
  __m512i all[kBlocks][kPix], dif[kBlocks][kPix];
  for (int k = 0; k < kBlocks; ++k)
    for (int j = 0; j < kPix; ++j) all[k][j] = dif[k][j] = _mm512_setzero_si512();
  for (int64_t t = 0; t < a.ntaps; ++t) {
    const uint64_t *s[kPix], *m[kPix];
    for (int j = 0; j < kPix; ++j) {
      s[j] = a.xs + (o[j] + a.taps[t]) * a.words;
      m[j] = a.xm + (o[j] + a.taps[t]) * a.words;
    }
    for (int64_t i = 0; i < a.words; ++i) {
      const int64_t wi = ((b * W) + t * a.words + i) * 8;
      __m512i sw[kBlocks], mw[kBlocks];
      for (int k = 0; k < kBlocks; ++k) {
        sw[k] = _mm512_loadu_si512(w.sign.data() + wi + k * W * 8);
        mw[k] = _mm512_loadu_si512(w.mask.data() + wi + k * W * 8);
      }
      for (int j = 0; j < kPix; ++j) {
        const __m512i sx = _mm512_set1_epi64(static_cast<long long>(s[j][i]));
        const __m512i mx = _mm512_set1_epi64(static_cast<long long>(m[j][i]));
        for (int k = 0; k < kBlocks; ++k) step(sx, mx, sw[k], mw[k], all[k][j], dif[k][j]);
      }
    }
  }
  for (int k = 0; k < kBlocks; ++k)
    for (int j = 0; j < kPix; ++j) sink(dots_of(all[k][j], dif[k][j]), p + j, (b + k) * 8);
}

template <int kBlocks, typename Sink>
FRUGAL_VPOPCNT void block_column(const TapRows& a, const int64_t* origins, int64_t P,
                                 const PackedBinaryWeights& w, int64_t b, const Sink& sink) {
  int64_t p = 0;
  for (; p + 4 <= P; p += 4) tile<4, kBlocks>(a, origins, p, w, b, sink);
  for (; p < P; ++p) tile<1, kBlocks>(a, origins, p, w, b, sink);
}

template <typename Sink>
FRUGAL_VPOPCNT void all_blocks(const TapRows& a, const int64_t* origins, int64_t P,
                               const PackedBinaryWeights& w, const Sink& sink) {
  const int64_t blocks = PackedBinaryWeights::blocks(w.rows);
  int64_t b = 0;
  for (; b + 2 <= blocks; b += 2) block_column<2>(a, origins, P, w, b, sink);
  if (b < blocks) block_column<1>(a, origins, P, w, b, sink);
}

}  // namespace

FRUGAL_VPOPCNT void popcount_taps_avx512(const TapRows& a, const int64_t* origins, int64_t P,
                                         const PackedBinaryWeights& w, int32_t* dot, int64_t ldd) {
  all_blocks(a, origins, P, w, DotSink{dot, ldd});
}

FRUGAL_VPOPCNT void popcount_outputs_avx512(const TapRows& a, const int64_t* origins, int64_t P,
                                            const PackedBinaryWeights& w, const OutputScale& out) {
  const int64_t ys = out.y_stride;
  all_blocks(a, origins, P, w,
             OutputSink{&out, w.rows,
                        _mm512_set_epi64(7 * ys, 6 * ys, 5 * ys, 4 * ys, 3 * ys, 2 * ys, ys, 0)});
}

FRUGAL_VPOPCNT void pack_planes_avx512(const float* x, int64_t channel_stride, int64_t channels,
                                       int64_t count, int64_t words, uint64_t* sign,
                                       uint64_t* mask) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512i lane =
      _mm512_set_epi64(7 * words, 6 * words, 5 * words, 4 * words, 3 * words, 2 * words, words, 0);
  for (int64_t q = 0; q < count; q += 16) {
    const __mmask16 live =
        count - q >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << (count - q)) - 1);
    for (int64_t wd = 0; wd < words; ++wd) {
      __m512i s[2] = {_mm512_setzero_si512(), _mm512_setzero_si512()}, m[2] = {s[0], s[1]};
      const int64_t c_end = std::min(channels, (wd + 1) * 64);
      for (int64_t c = wd * 64; c < c_end; ++c) {
        const __m512 v = _mm512_maskz_loadu_ps(live, x + c * channel_stride + q);
        const __mmask16 neg = _mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ);
        const __mmask16 nonzero = _mm512_cmp_ps_mask(v, zero, _CMP_NEQ_OQ);
        const __m512i bit = _mm512_set1_epi64(static_cast<long long>(uint64_t{1} << (c % 64)));
        for (int h = 0; h < 2; ++h) {
          s[h] = _mm512_mask_or_epi64(s[h], static_cast<__mmask8>(neg >> (8 * h)), s[h], bit);
          m[h] = _mm512_mask_or_epi64(m[h], static_cast<__mmask8>(nonzero >> (8 * h)), m[h], bit);
        }
      }
      for (int h = 0; h < 2; ++h) {
        const auto keep = static_cast<__mmask8>(live >> (8 * h));
        const int64_t at = (q + 8 * h) * words + wd;
        if (words == 1) {  // contiguous positions
          _mm512_mask_storeu_epi64(sign + at, keep, s[h]);
          _mm512_mask_storeu_epi64(mask + at, keep, m[h]);
        } else {
          _mm512_mask_i64scatter_epi64(sign + at, keep, lane, s[h], 8);
          _mm512_mask_i64scatter_epi64(mask + at, keep, lane, m[h], 8);
        }
      }
    }
  }
}

FRUGAL_VPOPCNT void pack_signs_avx512(const float* x, int64_t n, uint64_t* sign, uint64_t* mask) {
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t k = 0; k < n; k += 64) {
    uint64_t s = 0, m = 0;
    for (int64_t h = 0; h < 4 && k + 16 * h < n; ++h) {
      const int64_t left = n - k - 16 * h;
      const __mmask16 live =
          left >= 16 ? __mmask16{0xffff} : static_cast<__mmask16>((1u << left) - 1);
      const __m512 v = _mm512_maskz_loadu_ps(live, x + k + 16 * h);
      s |= uint64_t{_mm512_cmp_ps_mask(v, zero, _CMP_LT_OQ)} << (16 * h);
      m |= uint64_t{_mm512_cmp_ps_mask(v, zero, _CMP_NEQ_OQ)} << (16 * h);
    }
    sign[k / 64] = s;
    mask[k / 64] = m;
  }
}

FRUGAL_VPOPCNT void widen_planes_avx512(const uint64_t* s, const uint64_t* m, int64_t positions,
                                        int64_t count, int64_t step, int64_t bits, uint64_t* ws,
                                        uint64_t* wm) {
  widen_loop(s, m, positions, count, step, bits, ws, wm);
}

}  // namespace frugal::kernels::cpu::detail
