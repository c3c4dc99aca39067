// frugal.BlockCirculant: a fully-connected (or 1x1-convolution) layer whose [out, in] weight
// matrix is made of P x Q circulant b x b blocks (CirCNN: Ding et al., "CirCNN: Accelerating
// and Compressing Deep Neural Networks Using Block-Circulant Weight Matrices", MICRO 2017).
// Each block is stored as its first column, so the weight is [P, Q, b] (O(n) storage):
//   block (p, q) element (i, j) = w[p][q][(i - j) mod b]
//   y[.., p*b + i, ..] = bias[p*b + i] + sum_q sum_j w[p][q][(i - j) mod b] x[.., q*b + j, ..]
// i.e. y_p = sum_q w_pq (*) x_q, circular convolutions that an FFT of size b turns into
// products (kernels/circulant_fft.h). Inputs: X, W [P, Q, b] (b a power of two), optional
// bias [out_features]. Attributes: axis (default -1), the feature axis of X (-1 for a
// fully-connected layer, 1 for a 1x1 convolution over NCHW); in_features and out_features
// (default Q*b and P*b), the layer's sizes when b does not divide them: the blocks cover the
// layer zero-padded (X's missing features are zeros, outputs past out_features are dropped).
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"

namespace frugal::ops {

inline constexpr const char* kFrugalDomain = "frugal";
inline constexpr const char* kBlockCirculant = "BlockCirculant";

struct CirculantBlocks {
  int64_t p = 0, q = 0, b = 0;  // block rows, block columns, block size
  int64_t in = 0, out = 0;      // the layer's sizes, at most padded_in() and padded_out()
  int64_t padded_out() const { return p * b; }
  int64_t padded_in() const { return q * b; }
  // Index in the [P, Q, b] weight of dense entry (r, c): block (r / b, c / b), whose
  // circulant holds w[(r - c) mod b] (b a power of two).
  int64_t weight_index(int64_t r, int64_t c) const { return circulant_index(r, c, q, b); }
  static int64_t circulant_index(int64_t r, int64_t c, int64_t q, int64_t b) {
    return ((r / b) * q + c / b) * b + ((r - c) & (b - 1));
  }
};
// From the weight [P, Q, b] and the node's in_features / out_features.
CirculantBlocks circulant_blocks(const Shape& weight, const ir::Node& node);

// X seen as [outer, features, inner] around its feature axis.
struct FeatureLayout {
  int64_t outer = 1, features = 0, inner = 1;
};
FeatureLayout feature_layout(const Shape& x, int64_t axis);

// The dense [out, in] row-major matrix the blocks stand for.
std::vector<float> circulant_dense(const float* w, const CirculantBlocks& s);

}  // namespace frugal::ops
