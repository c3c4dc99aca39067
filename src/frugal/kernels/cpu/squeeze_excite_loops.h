// The loops of the SqueezeExcite kernel (squeeze_excite.h), written once and included by
// one file per ISA (internal linkage: each file gets its own copy, compiled for its ISA).
// Plain loops the compiler vectorizes (no library templates: their instances would be
// shared between the files whatever ISA each was compiled for); the dot products keep 16 partial
// sums so that they vectorize without reassociating float additions.
#pragma once

#include <cstdint>

#include "frugal/kernels/cpu/squeeze_excite.h"

namespace frugal::kernels::cpu {
namespace {

void se_pool(const float* __restrict x, int64_t positions, int64_t channels, bool channels_last,
             int64_t p0, int64_t p1, float* __restrict sums) {
  if (channels_last) {
    for (int64_t c = 0; c < channels; ++c) sums[c] = 0.0f;
    for (int64_t p = p0; p < p1; ++p) {
      const float* __restrict row = x + p * channels;
      for (int64_t c = 0; c < channels; ++c) sums[c] += row[c];
    }
    return;
  }
  for (int64_t c = 0; c < channels; ++c) {
    const float* __restrict plane = x + c * positions;
    float part[16] = {};
    int64_t p = p0;
    for (; p + 16 <= p1; p += 16)
      for (int j = 0; j < 16; ++j) part[j] += plane[p + j];
    float s = 0.0f;
    for (; p < p1; ++p) s += plane[p];
    for (int j = 0; j < 16; ++j) s += part[j];
    sums[c] = s;
  }
}

float se_dot(const float* __restrict a, const float* __restrict b, int64_t n) {
  float part[16] = {};
  int64_t i = 0;
  for (; i + 16 <= n; i += 16)
    for (int j = 0; j < 16; ++j) part[j] += a[i + j] * b[i + j];
  float s = 0.0f;
  for (; i < n; ++i) s += a[i] * b[i];
  for (int j = 0; j < 16; ++j) s += part[j];
  return s;
}

// Four rows at a time, each summed exactly as se_dot sums it: four streams of weights in
// flight at once keep more memory requests outstanding than one (VGG-16's 411 MB
// classifier.0 at batch 1: 27.3 -> 21 ms, one thread; bench/RESULTS.md, session 14).
void se_dense_rows(const float* w, const float* bias, const float* v, int64_t out, int64_t in,
                   float* y) {
  int64_t o = 0;
  for (; o + 4 <= out; o += 4) {
    const float* __restrict r0 = w + o * in;
    const float* __restrict r1 = r0 + in;
    const float* __restrict r2 = r1 + in;
    const float* __restrict r3 = r2 + in;
    float p0[16] = {}, p1[16] = {}, p2[16] = {}, p3[16] = {};
    int64_t i = 0;
    for (; i + 16 <= in; i += 16)
      for (int j = 0; j < 16; ++j) {
        const float x = v[i + j];
        p0[j] += r0[i + j] * x;
        p1[j] += r1[i + j] * x;
        p2[j] += r2[i + j] * x;
        p3[j] += r3[i + j] * x;
      }
    float s[4] = {0.0f, 0.0f, 0.0f, 0.0f};
    for (; i < in; ++i) {
      s[0] += r0[i] * v[i];
      s[1] += r1[i] * v[i];
      s[2] += r2[i] * v[i];
      s[3] += r3[i] * v[i];
    }
    for (int j = 0; j < 16; ++j) {
      s[0] += p0[j];
      s[1] += p1[j];
      s[2] += p2[j];
      s[3] += p3[j];
    }
    for (int k = 0; k < 4; ++k) y[o + k] = (bias ? bias[o + k] : 0.0f) + s[k];
  }
  for (; o < out; ++o) y[o] = (bias ? bias[o] : 0.0f) + se_dot(w + o * in, v, in);
}

void se_dense_cols(const float* __restrict wt, const float* bias, const float* __restrict v,
                   int64_t out, int64_t in, float* __restrict y) {
  for (int64_t o = 0; o < out; ++o) y[o] = bias ? bias[o] : 0.0f;
  for (int64_t i = 0; i < in; ++i) {
    const float vi = v[i];
    const float* __restrict col = wt + i * out;
    for (int64_t o = 0; o < out; ++o) y[o] += col[o] * vi;
  }
}

void se_scale(const float* __restrict x, const float* __restrict g, int64_t positions,
              int64_t channels, bool in_channels_last, bool out_channels_last, int64_t p0,
              int64_t p1, float* __restrict y) {
  if (in_channels_last && out_channels_last) {
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t c = 0; c < channels; ++c) y[p * channels + c] = x[p * channels + c] * g[c];
  } else if (!in_channels_last && !out_channels_last) {
    for (int64_t c = 0; c < channels; ++c)
      for (int64_t p = p0; p < p1; ++p) y[c * positions + p] = x[c * positions + p] * g[c];
  } else {  // a transposition: rare (a neighbour that did not agree on the layout)
    const int64_t xs_p = in_channels_last ? channels : 1, xs_c = in_channels_last ? 1 : positions;
    const int64_t ys_p = out_channels_last ? channels : 1, ys_c = out_channels_last ? 1 : positions;
    for (int64_t p = p0; p < p1; ++p)
      for (int64_t c = 0; c < channels; ++c) y[p * ys_p + c * ys_c] = x[p * xs_p + c * xs_c] * g[c];
  }
}

}  // namespace
}  // namespace frugal::kernels::cpu
