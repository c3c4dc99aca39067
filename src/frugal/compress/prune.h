// Pruning: Graph -> Graph transforms that zero weights (unstructured magnitude pruning,
// layer-wise or global, and N:M semi-structured sparsity) or remove whole channels
// (compress/structured.h). The input graph is never modified: every function returns a new
// graph. docs/pruning.md describes the spec grammar and the report.
//
// Prunable weights: the constant weight of Conv (input 1), Gemm (input 1, B) and MatMul
// (input 1, a 2-D initializer). Biases, BatchNormalization parameters and anything computed
// at run time are never pruned. A layer is named by its node's name.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::compress {

// One prunable weight, seen as a matrix of `rows` outputs x `cols` reduction indices (the
// view the sparse kernels use: Conv [O, C/group*kh*kw]; Gemm/MatMul [N, K]).
struct PrunableLayer {
  std::string name;     // node name
  std::string op_type;  // Conv, Gemm, MatMul
  std::string weight;   // initializer name
  int64_t node = -1;    // index in graph.nodes
  Shape shape;          // weight shape as stored
  int64_t rows = 0, cols = 0;
  // The stored weight is [K, N] (Gemm with transB=0, MatMul): element (r, c) of the matrix
  // view is at c * rows + r. Otherwise it is at r * cols + c.
  bool transposed = false;
  // Input channels per group (Conv) or K (Gemm/MatMul): the dimension N:M groups run along.
  int64_t in_channels = 0;
  int64_t kernel_positions = 1;  // kh*kw... for Conv, 1 otherwise
  int64_t numel() const { return rows * cols; }
  // Offset in the stored tensor of matrix element (r, c).
  int64_t offset(int64_t r, int64_t c) const { return transposed ? c * rows + r : r * cols + c; }
};

// The prunable layers of a graph in node order. Nodes without a name get none (they cannot
// be addressed) and are skipped; a weight initializer read by more than one node is skipped
// too (pruning it for one layer would change the other).
std::vector<PrunableLayer> prunable_layers(const ir::Graph& graph);

// What to prune. Grammar (docs/pruning.md):
//   0.9                          every layer to 90% (magnitude, per layer)
//   global:0.9                   one magnitude threshold over all included weights
//   conv1=0.5,fc1=0.95,default=0.8   per layer (layers not named: default, or untouched)
//   nm:2:4                       N:M: at most N non-zeros in each group of M consecutive
//                                input channels (per output, per kernel position)
//   channels:0.5[:l1|l2|bn]      structured: remove 50% of output channels (compress/structured.h)
//   keep                         (training only) keep the zeros the model already has
struct PruneSpec {
  enum class Kind { kLayerwise, kGlobal, kNM, kChannels, kKeep };
  Kind kind = Kind::kLayerwise;
  double sparsity = 0;                      // layer-wise default, global target, channel ratio
  bool has_default = true;                  // layer-wise: `sparsity` applies to unnamed layers
  std::map<std::string, double> per_layer;  // layer-wise map
  int n = 0, m = 0;                         // N:M
  std::string criterion = "l1";             // channels: l1 | l2 | bn
  std::vector<std::string> exclude;         // names, globs (* ?), first, last

  // Throws UserError naming `option` and the bad part.
  static PruneSpec parse(const std::string& text, const std::string& option = "--prune");
  // Comma-separated exclude list ("first,last,fc*").
  void add_excludes(const std::string& list);
  std::string str() const;  // canonical text of the spec, excludes included
  bool structured() const { return kind == Kind::kChannels; }
};

// The target sparsity of each layer (parallel to `layers`; < 0: leave untouched), after
// resolving names, the default and the excludes. Throws UserError for a name or exclude
// pattern that matches no prunable layer (listing the prunable layers).
std::vector<double> resolve_targets(const std::vector<PrunableLayer>& layers,
                                    const PruneSpec& spec);
// Which layers the excludes remove (parallel to `layers`). Same errors as above.
std::vector<bool> excluded_layers(const std::vector<PrunableLayer>& layers,
                                  const std::vector<std::string>& exclude);

// A keep-mask per layer (1 keep, 0 prune; empty: layer untouched), in the stored weight's
// element order. Magnitude pruning removes exactly round(s * numel) weights of a layer
// (layer-wise) or round(s * total) of all included weights (global), smallest |w| first,
// ties broken by position so that the result is deterministic. `weights` is parallel to
// `layers`. `scale_sparsity` maps each target sparsity before use (gradual pruning).
using Masks = std::vector<std::vector<uint8_t>>;
Masks compute_masks(const std::vector<PrunableLayer>& layers,
                    const std::vector<const Tensor*>& weights, const PruneSpec& spec,
                    const std::function<double(double)>& scale_sparsity = {});

// N:M mask of one layer: in every group of M consecutive input channels (same output, same
// kernel position) the N largest |w| are kept. Empty when M does not divide the layer's
// input channels per group (the layer is left dense; `why` says so).
std::vector<uint8_t> nm_mask(const PrunableLayer& layer, const Tensor& weight, int n, int m,
                             std::string* why = nullptr);

// Does every group of M consecutive input channels hold at most N non-zeros?
bool satisfies_nm(const PrunableLayer& layer, const Tensor& weight, int n, int m);

struct PruneOutcome {
  ir::Graph graph;
  std::vector<std::string> notes;  // layers left alone and why
};

// Unstructured or N:M pruning: a new graph with the chosen weights set to zero (dense with
// zeros), and metadata key "frugal.compress" recording the spec. For a channels spec this
// calls compress::prune_channels. The input graph is not modified.
PruneOutcome prune(const ir::Graph& graph, const PruneSpec& spec);

// ModelProto.metadata_props key under which compress records what it did: a JSON object
// {"steps": [{"prune": SPEC, "layers": {NAME: {"sparsity": S, "pattern": P}}}, ...]}.
inline constexpr char kCompressMetadataKey[] = "frugal.compress";
// Appends one step to the graph's "frugal.compress" metadata (creating it when absent).
void append_compress_metadata(ir::Graph& graph, const nlohmann::json& step);

// Glob match with * and ? (whole string).
bool glob_match(const std::string& pattern, const std::string& text);

}  // namespace frugal::compress
