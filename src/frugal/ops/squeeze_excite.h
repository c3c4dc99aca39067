// frugal.SqueezeExcite: a squeeze-and-excitation block as one node (Hu et al., "Squeeze-and-
// Excitation Networks", CVPR 2018; MobileNetV3's and EfficientNet's blocks), what the
// fuse_squeeze_excite pass (passes/fuse_patterns.h) makes of GlobalAveragePool, a 1x1 Conv
// with its activation, a 1x1 Conv with its gate and the Mul that scales the input:
//   s = mean over the spatial axes of X                      [N, C]
//   h = inner(W1 s + B1)                                     [N, Cr]
//   g = gate(W2 h + B2)                                      [N, C]
//   Y = X * g (g broadcast over the spatial axes)            X's shape
// Inputs: X [N, C, spatial...], W1 [Cr, C, 1...], B1 [Cr] (optional), W2 [C, Cr, 1...],
// B2 [C] (optional). Attributes "inner" and "gate": post-op lists in the entry syntax of
// ops/post_ops.h ("relu", "swish", "hardsigmoid:A:B", "sigmoid"; no "sum"), each possibly
// empty.
#pragma once

#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/ops/post_ops.h"

namespace frugal::ops {

inline constexpr const char* kSqueezeExcite = "SqueezeExcite";

// The node's attribute `attr` ("inner" or "gate") as post-ops; throws UserError naming the
// node for a malformed entry or a "sum".
std::vector<PostOp> squeeze_excite_activations(const ir::Node& node, const char* attr);

}  // namespace frugal::ops
