// `frugal train --cluster keep`: fine-tuning of shared weights (Deep Compression, Han et al.
// ICLR 2016, section 3.3). The weights of each clustered layer (a Conv/Gemm/MatMul weight
// with at most 256 distinct values, as compress/cluster.h leaves it) keep their cluster
// index; the gradient of every weight of a cluster is summed into the cluster's centroid,
// and every weight of the cluster takes the centroid's update. A zero cluster (pruned
// weights) stays zero.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::train {

class ClusterKeep {
 public:
  // The clustered layers of `model` among `params` (trainable tensor names). UserError when
  // the model has no clustered layer (nothing to keep).
  ClusterKeep(const ir::Graph& model, const std::vector<std::string>& params);

  // Replaces the gradient of a clustered weight by its cluster's summed gradient (the same
  // for every member, 0 for the fixed zero cluster); other tensors are left alone.
  void tie_gradient(const std::string& param, Tensor& grad) const;
  // After the optimizer step: every member set to its cluster's first member's value, so
  // that rounding in the optimizer never splits a cluster.
  void snap(const std::string& param, Tensor& weight) const;

  size_t layers() const { return layers_.size(); }
  std::string describe() const;  // "3 layers, 32+32+16 centroids"

 private:
  struct Layer {
    std::vector<uint8_t> index;  // cluster of each element
    std::vector<int64_t> first;  // first member of each cluster
    int64_t zero_cluster = -1;   // the cluster whose value is 0 (pruned weights), or -1
  };
  std::map<std::string, Layer> layers_;
};

}  // namespace frugal::train
