// Host-side decisions and preparation of the cuda backend, kept free of CUDA headers so that
// tests/cuda checks them in every CUDA build, with or without a GPU.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"
#include "frugal/kernels/cuda/im2col.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cuda {

// The inputs whose constant values a cuda kernel of `op_type` reads on the GPU: those are
// uploaded once at plan time. Every other constant is read on the host only while the
// kernel is built (Reshape's shape, BatchNorm's statistics, LayerNorm's Scale and B, the
// float weights an int8 kernel quantizes), so it takes no device memory.
std::vector<size_t> inputs_read_on_device(const std::string& op_type, bool int8, size_t inputs);

// Weights quantized symmetrically per output channel for an int8 GEMM: q [n, k_pad]
// row-major (zero columns from k on), scale[j] = max |w_j| / 127 (1 for an all-zero channel),
// q = w / scale rounded to nearest even, within +-127.
struct Int8Weights {
  std::vector<int8_t> q;
  std::vector<float> scale;
};
// w is [k, n] (trans false) or [n, k] (trans true) row-major. Throws UserError naming
// nothing for non-finite weights (the caller declines with its reason).
Int8Weights quantize_per_channel(const float* w, int64_t n, int64_t k, int64_t k_pad, bool trans);

// A 1-D or 2-D sliding window (ops/conv_geometry.h) as 2-D: a 1-D one gets a leading
// dimension of extent 1 (kernel 1, stride 1, dilation 1, no padding).
struct Window2d {
  int64_t kh = 1, kw = 1, sh = 1, sw = 1, dh = 1, dw = 1, ph = 0, pw = 0, ph_end = 0, pw_end = 0;
};
Window2d window_2d(const ops::WindowGeometry& g);

// The im2col geometry of a Conv node (x NCHW or NCW, w [M, C / groups, k...], y its output):
// any group count, symmetric or asymmetric pads, strides, dilations; K (the taps of one
// output channel) padded to kInt8KMultiple. An empty string when the node fits, else why
// not (rank, a group count that does not divide the channels).
std::string im2col_of(const ir::Node& conv, const Shape& x, const Shape& w, const Shape& y,
                      Im2col& g);

// The error of a run-time index out of range found on the GPU (gather_index.h), worded as
// ref's Gather words it: "NODE: index V is out of range for an axis of size D (...)".
std::string index_fault_message(const std::string& node, int64_t index, int64_t dim);

}  // namespace frugal::kernels::cuda
