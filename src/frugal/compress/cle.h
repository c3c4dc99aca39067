// Cross-layer equalization (Nagel et al., "Data-Free Quantization Through Weight
// Equalization and Bias Correction", ICCV 2019, section 4.1): for two layers A -> f -> B
// where f is positively homogeneous per channel (nothing, Relu, LeakyRelu, MaxPool,
// AveragePool, Clip(0, M) rewritten as Relu + Min with a per-channel cap), scale output
// channel i of A by 1/s_i and input channel i of B by s_i with s_i = sqrt(r1_i / r2_i)
// (r1_i, r2_i: the channel's weight ranges in A and B), which leaves the float function
// unchanged and gives both layers equal per-channel ranges, so that per-tensor (and
// per-channel) weight grids waste less. A, B: Conv (any group, depthwise included) or Gemm.
#pragma once

#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::compress {

// Equalizes every such pair, `iterations` sweeps (chains such as pointwise -> depthwise ->
// pointwise converge over a few). `notes` gets one line per equalized pair.
ir::Graph equalize_cross_layer(const ir::Graph& graph, std::vector<std::string>& notes,
                               int iterations = 4);

}  // namespace frugal::compress
