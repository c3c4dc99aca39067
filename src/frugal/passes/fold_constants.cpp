// Constant folding as a pass: what ops::infer_graph already evaluates at compile time
// (Constant nodes, shape arithmetic on known shapes) becomes initializers, and the nodes
// that computed it leave the graph.
#include "frugal/passes/graph_edit.h"
#include "frugal/passes/passes.h"

namespace frugal::passes {

ir::Graph fold_constants(const ir::Graph& in, const ops::InferOptions& options,
                         PassReport& report) {
  report = {"fold_constants", 0, {}};
  ir::Graph g = in;
  const ops::GraphInfo info = ops::infer_graph(g, options);
  using State = ops::NodeStatus::State;
  std::vector<bool> folded(g.nodes.size(), false);
  bool reads_shapes = false;  // a folded node read a value known only by its shape
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (info.nodes[k].state != State::kFolded) continue;
    folded[k] = true;
    for (const auto& i : g.nodes[k].inputs) {
      if (i.empty()) continue;
      auto it = info.values.find(i);
      reads_shapes |= it == info.values.end() || !it->second.value;
    }
  }
  // Folded values that stay in use: read by a node that runs, or graph outputs.
  std::set<std::string> needed;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    if (!folded[k]) needed.insert(g.nodes[k].inputs.begin(), g.nodes[k].inputs.end());
  for (const auto& o : g.outputs) needed.insert(o.name);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    if (!folded[k]) continue;
    const ir::Node& n = g.nodes[k];
    for (const auto& o : n.outputs)
      if (!o.empty() && needed.count(o)) g.initializers[o] = *info.at(o).value;
    report.nodes.push_back(n.name + " (" + n.op_type + ")");
    ++report.changes;
  }
  if (report.changes == 0) return g;
  erase_nodes(g, folded);
  if (reads_shapes) {
    for (auto& v : g.inputs) {
      const Shape& s = info.input_shapes.at(v.name);
      std::vector<ir::Dim> dims;
      for (int64_t d : s) dims.push_back({d, ""});
      v.shape = dims;
    }
    report.nodes.push_back("graph input shapes bound to the session's");
  }
  prune_values(g);
  return g;
}

}  // namespace frugal::passes
