// int8 convolution on the GPU as one int8 GEMM (cuda_int8.cpp): the geometry of the im2col
// matrix and of the GEMM's channels-last result, written once for the device kernels
// (cuda_kernels.cu) and the host code and tests. C++17, no CUDA or frugal header.
#pragma once

#include <cstdint>

#include "frugal/kernels/cuda/host_device.h"

namespace frugal::kernels::cuda {

// cuBLASLt's int8 kernels read rows of A and W in 4-byte units: K is padded with zero
// columns to a multiple of this.
inline constexpr int64_t kInt8KMultiple = 4;

// A 2-D convolution with one group over NCHW x (1-D as h = kh = 1) is the product of
// A [rows(), k_pad] and the weights W [M, k_pad]: row r of A is one output position (image,
// output row, output column), column j one tap (channel, kernel row, kernel column: the
// order of ONNX's weight [M, C / groups, kh, kw] flattened per output channel), then zero
// columns from k = (c / groups) kh kw up to k_pad. With groups > 1 (grouped, depthwise) no
// GEMM is formed: each output element sums its k taps directly (grouped_conv_source).
struct Im2col {
  int64_t n = 1, c = 1, h = 1, w = 1, oh = 1, ow = 1;
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int64_t k = 1, k_pad = 4;
  int64_t groups = 1;
  FRUGAL_HOST_DEVICE int64_t rows() const { return n * oh * ow; }
};

FRUGAL_HOST_DEVICE inline int64_t round_up_k(int64_t k) {
  return (k + kInt8KMultiple - 1) / kInt8KMultiple * kInt8KMultiple;
}

// x's index at A[row, col], or -1 where A holds 0 (a padding cell, or a column past k). The
// channel is counted within the first group (g.c is x's channel count, all groups).
FRUGAL_HOST_DEVICE inline int64_t im2col_source(const Im2col& g, int64_t row, int64_t col) {
  if (col >= g.k) return -1;
  const int64_t kx = col % g.kw, ky = (col / g.kw) % g.kh, ch = col / (g.kw * g.kh);
  const int64_t ox = row % g.ow, oy = (row / g.ow) % g.oh, img = row / (g.ow * g.oh);
  const int64_t iy = oy * g.sh - g.ph + ky * g.dh, ix = ox * g.sw - g.pw + kx * g.dw;
  if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return -1;
  return ((img * g.c + ch) * g.h + iy) * g.w + ix;
}

// x's index read by tap `tap` (< g.k) of element i of the NCHW result y [n, m, oh, ow], or
// -1 (a padding cell): output channel oc reads the c / groups input channels of its group,
// oc / (m / groups). With one group, im2col_source of i's output position.
FRUGAL_HOST_DEVICE inline int64_t grouped_conv_source(const Im2col& g, int64_t m, int64_t i,
                                                      int64_t tap) {
  const int64_t inner = g.oh * g.ow, oc = (i / inner) % m;
  const int64_t s = im2col_source(g, i / (inner * m) * inner + i % inner, tap);
  if (s < 0) return -1;
  return s + oc / (m / g.groups) * (g.c / g.groups) * g.h * g.w;
}

// Where element i of an NCHW result [n, channels, inner] sits in the GEMM's channels-last
// result D [n * inner, channels].
FRUGAL_HOST_DEVICE inline int64_t channels_last_index(int64_t i, int64_t channels, int64_t inner) {
  const int64_t p = i % inner, c = (i / inner) % channels, img = i / (inner * channels);
  return (img * inner + p) * channels + c;
}

}  // namespace frugal::kernels::cuda
