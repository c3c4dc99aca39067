// Weight sharing by k-means (Han et al., "Deep Compression", ICLR 2016, section 3): the
// weights of each Conv/Gemm/MatMul layer are replaced by the nearest of k = 2^bits shared
// values (centroids), so a layer stores a codebook of k floats and a `bits`-wide index per
// weight. 1-D k-means per layer, initialized linearly over [min, max] (the paper's best),
// by density (equal steps of the weights' CDF) or by k random weights (seeded).
//
// With pruning, zeros stay zero: a layer with zeros keeps 0 as its first codebook entry and
// clusters only its non-zero weights into the other k - 1 centroids.
//
// A layer with no more distinct (non-zero) values than centroids (a small layer, or one
// pruning left with few non-zeros) is kept exactly: its values are its codebook, its index
// as wide as they need (fewer bits than asked, said in LayerCluster::exact, the notes and
// the encoded size). Only a layer the spec names (NAME=B) with fewer weights in all than
// 2^B centroids is refused: that request fits no state of the layer.
//
// The result is dense float32 weights with at most k distinct values per layer (any runtime
// runs it; the encoders of compress/weight_encoding.h see the codebook), or, exported with
// `as_gather`, a codebook initializer + uint8 index initializer + Gather per weight.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/ir/graph.h"

namespace frugal::compress {

enum class ClusterInit { kLinear, kDensity, kRandom };
const char* cluster_init_name(ClusterInit init);

// --cluster SPEC:  BITS | conv=B,fc=B[,NAME=B...] [:init=linear|density|random]
// BITS applies to every layer; conv= to Conv layers, fc= to Gemm/MatMul layers, a node name
// to that layer (names win over kinds). Bits 1..8 (the index is stored as uint8).
struct ClusterSpec {
  int all_bits = 0;   // 0: only the layers named by kind or name are clustered
  int conv_bits = 0;  // 0: use all_bits
  int fc_bits = 0;
  std::map<std::string, int> per_layer;
  ClusterInit init = ClusterInit::kLinear;
  int iterations = 30;  // Lloyd iterations at most (stops when no weight changes cluster)
  uint64_t seed = 0;    // random init
  // Bits for a layer (0: not clustered).
  int bits_for(const std::string& name, const std::string& op_type) const;
  std::string str() const;
};
// UserError "--cluster 'TEXT': reason" for a bad spec or bits outside 1..8.
ClusterSpec parse_cluster_spec(const std::string& text, const std::string& origin = "--cluster");

struct LayerCluster {
  std::string name, op_type, weight;
  int bits = 0;
  int64_t weights = 0, nonzeros = 0;
  bool zero_fixed = false;      // codebook[0] is a fixed 0 (the layer had zeros)
  std::vector<float> codebook;  // size <= 2^bits
  int iterations = 0;           // Lloyd iterations run
  double mse = 0;               // mean squared error of the clustered weights
  // The layer had no more distinct (non-zero) values than centroids: they are its codebook
  // (lossless), and `bits` is the index width they need, below the spec's.
  bool exact = false;
};

struct ClusterResult {
  ir::Graph graph;  // clustered weights (float32, <= 2^bits distinct values per layer)
  std::vector<LayerCluster> layers;
  std::vector<std::string> notes;
};

// 1-D k-means of `values` into `k` centroids (sorted ascending) and each value's centroid
// index. `values` must hold at least k elements (InternalError otherwise).
struct KMeans1D {
  std::vector<float> centroids;
  std::vector<uint8_t> index;
  int iterations = 0;
};
KMeans1D kmeans_1d(const std::vector<float>& values, int k, ClusterInit init, int max_iterations,
                   uint64_t seed);

// Clusters the layers `spec` names. UserError naming the layer when the spec names it with
// more centroids than it has weights. Appends {"cluster": SPEC, ...} to the "frugal.compress"
// metadata.
ClusterResult cluster(const ir::Graph& graph, const ClusterSpec& spec);

// Replaces each clustered weight of `clustered` by Gather(codebook float32 [k],
// index uint8 -> int32 Cast, same shape): the codebook + index form other runtimes run.
ir::Graph export_gather(const ClusterResult& clustered);

// The codebook of a weight: its sorted distinct values when at most 256, else empty.
std::vector<float> distinct_values(const Tensor& weight, size_t at_most = 256);

nlohmann::json to_json(const ClusterResult& result);

}  // namespace frugal::compress
