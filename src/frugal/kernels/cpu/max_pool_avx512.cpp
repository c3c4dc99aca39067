// The AVX-512 loop of the own NHWC MaxPool (max_pool.h). One vector holds 16 channels of
// one pixel; an output pixel keeps up to 64 channels (4 vectors) in registers over its
// window's taps, the last vector masked past the last channel. The taps' row and column
// ranges are clipped to the input once per output row and pixel, so the inner loop has
// no edge tests.
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <limits>

#include "frugal/kernels/cpu/max_pool.h"

namespace frugal::kernels::cpu {

bool max_pool_isa_available() {
  return __builtin_cpu_supports("avx512f");
}

#pragma GCC push_options
#pragma GCC target("avx512f")

namespace {

// The taps [first, last) of a window starting at `start` (in input coordinates, padding
// included) whose positions start + tap * dilation fall inside [0, size).
struct Taps {
  int64_t first = 0, last = 0;
};
Taps taps_inside(int64_t start, int64_t kernel, int64_t dilation, int64_t size) {
  Taps t;
  t.first = start >= 0 ? 0 : (-start + dilation - 1) / dilation;
  const int64_t end = size - start;  // taps with start + tap * dilation < size
  t.last = end <= 0 ? 0 : std::min(kernel, (end + dilation - 1) / dilation);
  if (t.last < t.first) t.last = t.first;
  return t;
}

__mmask16 lane_mask(int64_t lanes) {
  return lanes >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << lanes) - 1u);
}

// One output pixel's channels [c0, c0 + 16 * V) (the last vector masked by `tail`), over
// the window rows [rows.first, rows.last) and columns [cols.first, cols.last).
template <int V>
void pixel(const MaxPoolPlan& p, const float* image, int64_t h0, int64_t w0, Taps rows, Taps cols,
           int64_t c0, __mmask16 tail, float* out) {
  const __m512 lowest = _mm512_set1_ps(std::numeric_limits<float>::lowest());
  __m512 acc[V];
  for (int v = 0; v < V; ++v) acc[v] = lowest;
  for (int64_t r = rows.first; r < rows.last; ++r) {
    const float* row = image + ((h0 + r * p.dilation_h) * p.in_w) * p.channels + c0;
    for (int64_t c = cols.first; c < cols.last; ++c) {
      const float* px = row + (w0 + c * p.dilation_w) * p.channels;
      for (int v = 0; v < V - 1; ++v) acc[v] = _mm512_max_ps(acc[v], _mm512_loadu_ps(px + 16 * v));
      acc[V - 1] = _mm512_max_ps(acc[V - 1], _mm512_mask_loadu_ps(lowest, tail, px + 16 * (V - 1)));
    }
  }
  for (int v = 0; v < V - 1; ++v) _mm512_storeu_ps(out + 16 * v, acc[v]);
  _mm512_mask_storeu_ps(out + 16 * (V - 1), tail, acc[V - 1]);
}

void output_row(const MaxPoolPlan& p, const float* src, float* dst, int64_t image, int64_t oh) {
  const float* in = src + image * p.in_h * p.in_w * p.channels;
  float* out = dst + (image * p.out_h + oh) * p.out_w * p.channels;
  const int64_t h0 = oh * p.stride_h - p.pad_top;
  const Taps rows = taps_inside(h0, p.kernel_h, p.dilation_h, p.in_h);
  for (int64_t ow = 0; ow < p.out_w; ++ow, out += p.channels) {
    const int64_t w0 = ow * p.stride_w - p.pad_left;
    const Taps cols = taps_inside(w0, p.kernel_w, p.dilation_w, p.in_w);
    for (int64_t c0 = 0; c0 < p.channels; c0 += 64) {
      const int64_t left = std::min<int64_t>(64, p.channels - c0);
      const int vectors = static_cast<int>((left + 15) / 16);
      const __mmask16 tail = lane_mask(left - 16 * (vectors - 1));
      switch (vectors) {
        case 4:
          pixel<4>(p, in, h0, w0, rows, cols, c0, tail, out + c0);
          break;
        case 3:
          pixel<3>(p, in, h0, w0, rows, cols, c0, tail, out + c0);
          break;
        case 2:
          pixel<2>(p, in, h0, w0, rows, cols, c0, tail, out + c0);
          break;
        default:
          pixel<1>(p, in, h0, w0, rows, cols, c0, tail, out + c0);
          break;
      }
    }
  }
}

}  // namespace

void max_pool_nhwc_avx512(const MaxPoolPlan& p, const float* src, float* dst, int64_t begin,
                          int64_t end) {
  for (int64_t r = begin; r < end; ++r) output_row(p, src, dst, r / p.out_h, r % p.out_h);
}

#pragma GCC pop_options

}  // namespace frugal::kernels::cpu
