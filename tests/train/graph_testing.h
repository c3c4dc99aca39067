// Tiny graphs for training tests: one float input "x", one output "y", the given nodes and
// initializers.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::train::testing {

inline ir::Graph make_graph(const Shape& x_shape, std::vector<ir::Node> nodes,
                            std::map<std::string, Tensor> inits) {
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo in;
  in.name = "x";
  in.dtype = DType::kF32;
  std::vector<ir::Dim> dims;
  for (int64_t d : x_shape) dims.push_back(ir::Dim{d, ""});
  in.shape = dims;
  g.inputs.push_back(in);
  ir::ValueInfo out;
  out.name = "y";
  out.dtype = DType::kF32;
  g.outputs.push_back(out);
  g.nodes = std::move(nodes);
  g.initializers = std::move(inits);
  return g;
}

}  // namespace frugal::train::testing
