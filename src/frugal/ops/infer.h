// Shape inference over a whole graph, with constant folding: every value gets its dtype
// and shape (and its contents when they are known before running), every node is
// checked against its operator definition, and unsupported nodes are collected (never
// discovered halfway through a run).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/ops/op.h"

namespace frugal::ops {

struct InferOptions {
  // Size given to unknown/symbolic leading (batch) dimensions of graph inputs.
  int64_t batch = 1;
  // Full shapes for named graph inputs, overriding the model's declaration.
  std::map<std::string, Shape> input_shapes;
  // Evaluate nodes whose inputs are all known (up to this many output elements).
  bool fold_constants = true;
  int64_t fold_max_elements = 1 << 20;
};

struct NodeStatus {
  enum class State {
    kStatic,       // shapes known before running
    kFolded,       // outputs computed at compile time; the node never runs
    kDynamic,      // output shape depends on run-time data: inferred again when running
    kUnsupported,  // the op, or this use of it, is not implemented
    kUnreached,    // depends on an unsupported node
  };
  State state = State::kStatic;
  std::string reason;  // for kUnsupported
};

struct GraphInfo {
  std::map<std::string, TensorInfo> values;
  std::vector<NodeStatus> nodes;  // parallel to graph.nodes
  std::map<std::string, Shape> input_shapes;  // concrete shapes used for graph inputs

  bool supported() const;
  // "Upsample (node 'up1'): mode 'cubic' is not supported; Foo (2 nodes): unknown operator"
  std::string unsupported_summary() const;
  const TensorInfo& at(const std::string& value) const;
};

// Infers the graph. Throws UserError for an inconsistent model or a bad input shape;
// unsupported nodes are recorded in GraphInfo, not thrown (see require_supported).
GraphInfo infer_graph(const ir::Graph& graph, const InferOptions& options = {});
// Throws UnsupportedError listing every unsupported node when there is any.
void require_supported(const ir::Graph& graph, const GraphInfo& info, const std::string& origin);

}  // namespace frugal::ops
