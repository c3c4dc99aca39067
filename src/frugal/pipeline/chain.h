// A graph seen as a chain of nodes in topological order, and what any contiguous run of
// nodes [first, last) costs when it becomes a pipeline segment: parameters, MACs, the
// values (and bytes) crossing its two ends, and its memory need. Branches and residuals
// are allowed: every value live across a cut is passed on.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/ops/cost.h"
#include "frugal/ops/infer.h"

namespace frugal::pipeline {

struct SegmentStats {
  size_t first = 0, last = 0;  // nodes [first, last) in topological order
  int64_t params = 0;          // elements of the float initializers it reads
  int64_t param_bytes = 0;     // those at the partition's precision, other constants as stored
  int64_t macs = 0;
  int64_t layers = 0;            // nodes with MACs
  int64_t bytes_in = 0;          // values it reads that an earlier segment or the caller makes
  int64_t bytes_out = 0;         // values it makes that a later segment or the caller reads
  int64_t activation_bytes = 0;  // peak of its live activations (inputs and outputs included)
  std::vector<std::string> inputs, outputs;  // graph order of first use / production
  int64_t memory_bytes() const { return param_bytes + activation_bytes; }
};

class Chain {
 public:
  // Infers shapes (batch 1 unless `infer` says otherwise) and costs; throws UserError for
  // an unsupported or inconsistent model. `bytes_per_param` prices float32 parameters and
  // activations (the partition's precision: 1 for int8).
  Chain(const ir::Graph& graph, double bytes_per_param, const ops::InferOptions& infer = {});

  size_t size() const { return graph_.nodes.size(); }
  // The model with every value's dtype and shape recorded in value_info (so that a cut
  // value has a declared type when it becomes a segment's input); batch dimensions stay
  // symbolic where the model's inputs are.
  const ir::Graph& graph() const { return graph_; }
  const ops::GraphInfo& info() const { return info_; }
  const ops::NodeCost& node_cost(size_t node) const { return cost_.nodes[node]; }
  // Requires first < last <= size().
  SegmentStats stats(size_t first, size_t last) const;
  // The segment as a model of its own (ir::extract between its inputs and outputs).
  ir::Graph segment_graph(size_t first, size_t last) const;
  // Bytes of the values live across the cut before node `cut` (0 < cut < size()).
  int64_t cut_bytes(size_t cut) const { return stats(cut, size()).bytes_in; }

 private:
  struct Value {
    std::string name;
    int64_t bytes = 0;
    int64_t producer = -1;        // node index; -1: graph input
    std::vector<size_t> readers;  // node indices, sorted, unique
    bool output = false;
    bool constant = false;  // initializer
    int64_t param_elems = 0, param_bytes = 0;
  };
  ir::Graph graph_;
  ops::GraphInfo info_;
  ops::GraphCost cost_;
  std::vector<Value> values_;
  std::vector<std::vector<size_t>> node_inputs_, node_outputs_;  // value ids
  std::vector<int64_t> macs_prefix_, layers_prefix_;

  void index_values(double bytes_per_param);
  void annotate_shapes(const ops::InferOptions& infer);
};

}  // namespace frugal::pipeline
