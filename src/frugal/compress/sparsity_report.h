// Exact per-layer accounting of a pruned model against its original: parameters,
// non-zeros, sparsity, dense bytes, sparse-encoded bytes (the formats of
// kernels/cpu/sparse_format.h: csr, bcsr1x16, bcsr4x16, bitmap; the smallest is reported)
// and MACs before/after (effective MACs = non-zero weights x output positions).
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/compress/prune.h"
#include "frugal/ir/graph.h"

namespace frugal::compress {

struct LayerSparsity {
  std::string name, op_type;
  Shape shape_before, shape_after;  // weight shapes (differ after channel pruning)
  int64_t params_before = 0;        // weight elements in the original
  int64_t params = 0;               // weight elements now
  int64_t nonzeros = 0;
  double sparsity = 0;        // 1 - nonzeros / params (of the layer as it is now)
  int64_t dense_bytes = 0;    // params x 4 (float32)
  int64_t sparse_bytes = 0;   // smallest of the sparse formats
  std::string sparse_format;  // its name
  int64_t best_bytes = 0;     // min(dense, sparse)
  int64_t positions = 0;      // output positions per weight row (batch 1)
  int64_t macs_before = 0;    // params_before x positions in the original (dense)
  int64_t macs_after = 0;     // nonzeros x positions now
};

struct SparsityReport {
  std::vector<LayerSparsity> layers;  // prunable layers of the original, in node order
  // Sums over `layers`.
  int64_t params_before = 0, params = 0, nonzeros = 0, dense_bytes = 0, best_bytes = 0;
  int64_t macs_before = 0, macs_after = 0;
  // Every float initializer of the model (weights, biases, BN): elements before/after and
  // the stored bytes with the prunable weights in their best encoding.
  int64_t model_params_before = 0, model_params = 0;
  int64_t model_bytes_before = 0, model_bytes_after = 0;
  // 1 - nonzeros / params: of the layers as they are now (channel pruning shrinks params).
  double sparsity() const {
    return params ? 1.0 - static_cast<double>(nonzeros) / static_cast<double>(params) : 0.0;
  }
};

// Compares `after` (pruned from `before`, layers matched by node name) with `before`.
// A layer of `before` missing from `after` is an InternalError.
SparsityReport sparsity_report(const ir::Graph& before, const ir::Graph& after);

nlohmann::json to_json(const SparsityReport& report);

// A layer's weight as the row-major rows x cols matrix of its PrunableLayer view.
std::vector<float> matrix_of(const PrunableLayer& layer, const Tensor& weight);

// Output positions of each layer per weight row (numel(output) / rows at batch 1; 0 when the
// shape is unknown), parallel to `layers`: a dense layer's MACs are params x positions.
std::vector<int64_t> output_positions(const ir::Graph& graph,
                                      const std::vector<PrunableLayer>& layers);

}  // namespace frugal::compress
