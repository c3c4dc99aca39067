// Small graphs by hand for the runtime tests: a float32 value of fixed shape, a node.
#pragma once

#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::runtime_testing {

inline ir::ValueInfo vi(const std::string& name, std::vector<int64_t> dims) {
  ir::ValueInfo v{name, DType::kF32, std::vector<ir::Dim>{}};
  for (auto d : dims) v.shape->push_back(ir::Dim{d, ""});
  return v;
}

inline ir::Node node(std::string name, std::string op, std::vector<std::string> in,
                     std::vector<std::string> out) {
  ir::Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

}  // namespace frugal::runtime_testing
