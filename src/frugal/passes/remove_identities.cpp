// Identity and inference-mode Dropout copy their input, and so does a product by a scalar
// one (PaddleOCR's swish writes x * sigmoid(1 * x)); readers can read the input itself.
#include <optional>

#include "frugal/ops/dropout.h"
#include "frugal/passes/graph_edit.h"
#include "frugal/passes/passes.h"

namespace frugal::passes {
namespace {

// True when `value` is a constant of rank 0 holding exactly 1: a product by it copies the
// other operand (rank 0 broadcasts to any shape without changing it; ONNX gives both operands
// one dtype).
bool is_scalar_one(const ir::Graph& g, const std::string& value) {
  const Tensor* t = g.initializer(value);
  return t && t->rank() == 0 && t->at_double(0) == 1.0;
}

// The input of Mul(x, 1), Mul(1, x) or Div(x, 1) that the node copies.
std::optional<size_t> times_one(const ir::Graph& g, const ir::Node& n) {
  if (n.inputs.size() != 2 || n.outputs.size() != 1) return std::nullopt;
  if (n.op_type == "Div")
    return is_scalar_one(g, n.inputs[1]) ? std::optional<size_t>(0) : std::nullopt;
  if (n.op_type != "Mul") return std::nullopt;
  for (size_t i : {0, 1})
    if (is_scalar_one(g, n.inputs[1 - i])) return i;
  return std::nullopt;
}

// The input the node copies to its output 0 in inference, or nullopt.
std::optional<size_t> copied_input(const ir::Graph& g, const ir::Node& n, const Uses& uses) {
  if (!is_onnx_domain(n) || n.inputs.empty() || n.inputs[0].empty() || n.outputs.empty() ||
      n.outputs[0].empty())
    return std::nullopt;
  if (n.op_type == "Identity") return 0;
  if (n.op_type == "Mul" || n.op_type == "Div") return times_one(g, n);
  if (n.op_type != "Dropout") return std::nullopt;
  // The mask output, when someone reads it, is data the copy does not produce.
  if (n.outputs.size() > 1 && !n.outputs[1].empty() &&
      (uses.readers(n.outputs[1]) > 0 || uses.is_graph_output(n.outputs[1])))
    return false;
  // training_mode (opset 12+) must be a constant false, or true with a constant ratio 0;
  // before opset 7, is_test=0 means training, but inference engines treat Dropout as a copy
  // there too, as frugal's does.
  if (!n.has_input(2)) return 0;
  const Tensor* mode = g.initializer(n.inputs[2]);
  const Tensor* ratio = n.has_input(1) ? g.initializer(n.inputs[1]) : nullptr;
  if (!mode || mode->numel() != 1 || (n.has_input(1) && (!ratio || ratio->numel() != 1)))
    return std::nullopt;
  if (!ops::dropout_not_copy_reason(ratio, mode).empty()) return std::nullopt;
  return 0;
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
    if (n.op_type != "Identity" && n.op_type != "Dropout" && !times_one(g, n)) continue;
    const Uses uses(g);
    const std::optional<size_t> copied = copied_input(g, n, uses);
    if (!copied) continue;
    const std::string x = n.inputs[*copied], y = n.outputs[0];
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
