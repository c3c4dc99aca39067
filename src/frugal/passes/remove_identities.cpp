// Identity and inference-mode Dropout copy their input; readers can read the input itself.
#include "frugal/ops/dropout.h"
#include "frugal/passes/graph_edit.h"
#include "frugal/passes/passes.h"

namespace frugal::passes {
namespace {

// True when the node is a plain copy of input 0 to output 0 in inference.
bool is_copy(const ir::Graph& g, const ir::Node& n, const Uses& uses) {
  if (!is_onnx_domain(n) || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() ||
      n.outputs[0].empty())
    return false;
  if (n.op_type == "Identity") return true;
  if (n.op_type != "Dropout") return false;
  // The mask output, when someone reads it, is data the copy does not produce.
  if (n.outputs.size() > 1 && !n.outputs[1].empty() &&
      (uses.readers(n.outputs[1]) > 0 || uses.is_graph_output(n.outputs[1])))
    return false;
  // training_mode (opset 12+) must be a constant false, or true with a constant ratio 0;
  // before opset 7, is_test=0 means training, but inference engines treat Dropout as a copy
  // there too, as frugal's does.
  if (!n.has_input(2)) return true;
  const Tensor* mode = g.initializer(n.inputs[2]);
  const Tensor* ratio = n.has_input(1) ? g.initializer(n.inputs[1]) : nullptr;
  if (!mode || mode->numel() != 1 || (n.has_input(1) && (!ratio || ratio->numel() != 1)))
    return false;
  return ops::dropout_not_copy_reason(ratio, mode).empty();
}

}  // namespace

ir::Graph remove_identities(const ir::Graph& in, PassReport& report) {
  report = {"remove_identities", 0, {}};
  ir::Graph g = in;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& n = g.nodes[k];
    // Uses is a pass over the whole graph, taken again after each removal: only for the
    // candidates (taking it for every node cost densenet121 60 ms of session init).
    if (n.op_type != "Identity" && n.op_type != "Dropout") continue;
    const Uses uses(g);
    if (!is_copy(g, n, uses)) continue;
    const std::string x = n.inputs[0], y = n.outputs[0];
    if (!uses.is_graph_output(y)) {
      redirect_readers(g, y, x);
    } else {
      // y names a graph output and keeps its name: the producer of x writes y instead,
      // which needs x to be a node's output that is not itself a graph output.
      const int64_t p = g.producer(x);
      if (p < 0 || uses.is_graph_output(x)) continue;
      for (auto& o : g.nodes[p].outputs)
        if (o == x) o = y;
      redirect_readers(g, x, y);
    }
    dead[k] = true;
    n.outputs.clear();  // so that producer() no longer finds it
    n.inputs.clear();
    ++report.changes;
    report.nodes.push_back(n.name + " (" + n.op_type + ")");
  }
  erase_nodes(g, dead);
  prune_values(g);
  return g;
}

}  // namespace frugal::passes
