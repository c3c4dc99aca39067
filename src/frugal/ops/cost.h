// Static cost of a graph: per node, parameters, multiply-accumulates, other arithmetic,
// and bytes read and written (all inputs including weights; all outputs).
#pragma once

#include <vector>

#include "frugal/ops/infer.h"

namespace frugal::ops {

struct NodeCost {
  int64_t params = 0;
  int64_t macs = 0;
  int64_t flops = 0;
  int64_t bytes_read = 0;
  int64_t bytes_written = 0;
};

struct GraphCost {
  std::vector<NodeCost> nodes;  // parallel to graph.nodes (zero for folded/unsupported nodes)
  NodeCost total;
  int64_t weight_bytes = 0;  // bytes of all initializers
};

GraphCost analyze_cost(const ir::Graph& graph, const GraphInfo& info);

}  // namespace frugal::ops
