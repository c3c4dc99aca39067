#include "frugal/passes/graph_edit.h"

namespace frugal::passes {

Uses::Uses(const ir::Graph& graph) {
  for (const auto& n : graph.nodes)
    for (const auto& i : n.inputs)
      if (!i.empty()) ++readers_[i];
  for (const auto& o : graph.outputs) outputs_.insert(o.name);
}

size_t Uses::readers(const std::string& value) const {
  auto it = readers_.find(value);
  return it == readers_.end() ? 0 : it->second;
}

bool Uses::read_once(const std::string& value) const {
  return readers(value) == 1 && !is_graph_output(value);
}

bool is_onnx_domain(const ir::Node& node) {
  return node.domain.empty() || node.domain == "ai.onnx";
}

void redirect_readers(ir::Graph& graph, const std::string& from, const std::string& to) {
  for (auto& n : graph.nodes)
    for (auto& i : n.inputs)
      if (i == from) i = to;
}

void erase_nodes(ir::Graph& graph, const std::vector<bool>& dead) {
  std::vector<ir::Node> kept;
  kept.reserve(graph.nodes.size());
  for (size_t k = 0; k < graph.nodes.size(); ++k)
    if (!dead[k]) kept.push_back(std::move(graph.nodes[k]));
  graph.nodes = std::move(kept);
}

void prune_values(ir::Graph& graph) {
  std::set<std::string> referenced;
  for (const auto& n : graph.nodes) {
    referenced.insert(n.inputs.begin(), n.inputs.end());
    referenced.insert(n.outputs.begin(), n.outputs.end());
  }
  for (const auto& o : graph.outputs) referenced.insert(o.name);
  for (const auto& i : graph.inputs) referenced.insert(i.name);
  for (auto it = graph.initializers.begin(); it != graph.initializers.end();)
    it = referenced.count(it->first) ? std::next(it) : graph.initializers.erase(it);
  for (auto it = graph.value_info.begin(); it != graph.value_info.end();)
    it = referenced.count(it->first) ? std::next(it) : graph.value_info.erase(it);
}

Tensor tensor_from_doubles(DType dtype, const Shape& shape, const std::vector<double>& values) {
  if (dtype == DType::kF64) return Tensor::from_vector<double>(shape, values);
  std::vector<float> f(values.begin(), values.end());
  return Tensor::from_vector<float>(shape, f);
}

std::optional<float> clip_bound(const ir::Graph& graph, const ir::Node& clip, size_t input,
                                const char* attr, float dflt) {
  if (graph.opset("") < 11) return clip.attr_float(attr, dflt);
  if (!clip.has_input(input)) return dflt;
  const Tensor* t = graph.initializer(clip.inputs[input]);
  if (!t || t->numel() != 1) return std::nullopt;
  return static_cast<float>(t->at_double(0));
}

}  // namespace frugal::passes
