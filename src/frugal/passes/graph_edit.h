// Helpers the passes share to read and edit a graph's dataflow.
#pragma once

#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::passes {

// Who reads each value: node input slots and graph outputs.
class Uses {
 public:
  explicit Uses(const ir::Graph& graph);
  // Number of node input slots reading `value` (a node reading it twice counts twice).
  size_t readers(const std::string& value) const;
  bool is_graph_output(const std::string& value) const { return outputs_.count(value) != 0; }
  // True when `value` is read by exactly one input slot and is not a graph output: a node
  // producing it may then be rewritten to produce its reader's result instead.
  bool read_once(const std::string& value) const;

 private:
  std::map<std::string, size_t> readers_;
  std::set<std::string> outputs_;
};

bool is_onnx_domain(const ir::Node& node);

// Every node input reading `from` reads `to` instead.
void redirect_readers(ir::Graph& graph, const std::string& from, const std::string& to);

// Removes the nodes marked in `dead` (parallel to graph.nodes).
void erase_nodes(ir::Graph& graph, const std::vector<bool>& dead);

// Removes initializers and value_info entries of values nothing refers to any more.
void prune_values(ir::Graph& graph);

// A Clip bound: the attribute `attr` before opset 11, else the constant input `input`
// (`dflt` when omitted); nullopt when the bound is known only at run time.
std::optional<float> clip_bound(const ir::Graph& graph, const ir::Node& clip, size_t input,
                                const char* attr, float dflt);

// A tensor of `dtype` (float32 or float64) holding `values`.
Tensor tensor_from_doubles(DType dtype, const Shape& shape, const std::vector<double>& values);

}  // namespace frugal::passes
