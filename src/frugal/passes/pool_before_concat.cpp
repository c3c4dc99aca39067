// pool_before_concat (pool_before_concat.h).
#include "frugal/passes/pool_before_concat.h"

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "frugal/passes/graph_edit.h"

namespace frugal::passes {
namespace {

bool switched_off() {
  const char* v = std::getenv("FRUGAL_NO_POOL_BEFORE_CONCAT");
  return v && std::string(v) == "1";
}

// Whether `cat` is a Concat of two or more values along axis 0 or 1 of a known rank >= 3.
bool concat_over_planes(const ir::Node& cat, const ops::GraphInfo& info) {
  if (cat.op_type != "Concat" || !is_onnx_domain(cat) || cat.outputs.size() != 1 ||
      cat.inputs.size() < 2)
    return false;
  for (const auto& in : cat.inputs)
    if (in.empty()) return false;
  auto it = info.values.find(cat.outputs[0]);
  if (it == info.values.end() || !it->second.shape || it->second.shape->size() < 3) return false;
  int64_t axis = cat.attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(it->second.shape->size());
  return axis == 0 || axis == 1;
}

bool single_output_max_pool(const ir::Node& n, const std::string& value) {
  return n.op_type == "MaxPool" && is_onnx_domain(n) && n.inputs.size() == 1 &&
         n.inputs[0] == value && n.outputs.size() == 1;
}

// The k MaxPools and the Concat of their outputs that replace `pool` over `cat`.
std::vector<ir::Node> swapped(const ir::Node& cat, const ir::Node& pool) {
  std::vector<ir::Node> nodes;
  ir::Node out_cat = cat;
  out_cat.inputs.clear();
  out_cat.outputs = pool.outputs;
  for (size_t i = 0; i < cat.inputs.size(); ++i) {
    const std::string tag = "/part" + std::to_string(i);
    ir::Node part = pool;
    part.name = pool.name + tag;
    part.inputs = {cat.inputs[i]};
    part.outputs = {pool.outputs[0] + tag};
    out_cat.inputs.push_back(part.outputs[0]);
    nodes.push_back(std::move(part));
  }
  nodes.push_back(std::move(out_cat));
  return nodes;
}

}  // namespace

ir::Graph pool_before_concat(const ir::Graph& in, const ops::InferOptions& options,
                             PassReport& report) {
  report = {"pool_before_concat", 0, {}};
  ir::Graph g = in;
  if (switched_off()) return g;
  const ops::GraphInfo info = ops::infer_graph(g, options);
  const Uses uses(g);
  std::map<std::string, size_t> reader;
  for (size_t r = 0; r < g.nodes.size(); ++r)
    for (const auto& i : g.nodes[r].inputs) reader[i] = r;
  std::vector<bool> dead(g.nodes.size(), false);
  std::vector<ir::Node> added;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& cat = g.nodes[k];
    if (!concat_over_planes(cat, info) || !uses.read_once(cat.outputs[0])) continue;
    const size_t r = reader.at(cat.outputs[0]);
    if (!single_output_max_pool(g.nodes[r], cat.outputs[0])) continue;
    for (ir::Node& n : swapped(cat, g.nodes[r])) added.push_back(std::move(n));
    dead[k] = dead[r] = true;
    ++report.changes;
    report.nodes.push_back(g.nodes[r].name + " before " + cat.name + " (" +
                           std::to_string(cat.inputs.size()) + " parts)");
  }
  erase_nodes(g, dead);
  for (auto& n : added) g.nodes.push_back(std::move(n));
  prune_values(g);
  g.validate_and_sort();
  return g;
}

}  // namespace frugal::passes
