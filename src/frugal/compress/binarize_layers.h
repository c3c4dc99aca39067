// The layer-level pieces of compress/binarize.h that binary training reuses
// (train/binarize_train.h): which layers binarize() converts, and one layer's weight as
// signs and per-channel scale. In a header of its own so that compress/binarize.h (read by
// the compress pipeline) stays as it is.
#pragma once

#include <string>
#include <vector>

#include "frugal/compress/binarize.h"
#include "frugal/compress/prune.h"
#include "frugal/core/tensor.h"

namespace frugal::compress {

// A layer's weight as signs S (its stored shape) and alpha (one per output channel, shaped
// to broadcast over the layer's output: [rows] for Gemm/MatMul, [rows, 1, ...] for Conv),
// each row from binarize_row.
struct BinaryWeight {
  Tensor signs, alpha;
};
BinaryWeight binarize_weight(const Tensor& w, const PrunableLayer& l, bool ternary);

// The layers binarize() converts: prunable layers less the excluded ones (first and last
// unless :all, spec.exclude) and those it cannot convert (their reasons appended to
// `notes` when given).
std::vector<PrunableLayer> binarized_layers(const ir::Graph& graph, const BinarizeSpec& spec,
                                            std::vector<std::string>* notes = nullptr);

// Whether `:acts` binarizes this layer's input: Conv, and Gemm reading A untransposed.
bool takes_binary_acts(const ir::Node& n);

}  // namespace frugal::compress
