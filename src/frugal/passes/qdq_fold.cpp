#include "frugal/passes/qdq_fold.h"

#include <cmath>
#include <optional>

#include "frugal/passes/graph_edit.h"

namespace frugal::passes {
namespace {

// A constant per-tensor value (initializer with one element), or nullopt.
std::optional<double> constant_scalar(const ir::Graph& g, const std::string& name) {
  auto it = g.initializers.find(name);
  if (it == g.initializers.end() || it->second.numel() != 1) return std::nullopt;
  return it->second.at_double(0);
}

struct Pair {
  std::string why;  // empty when foldable
  QdqRange range;
};

Pair examine(const ir::Graph& g, const ir::Node& q, const ir::Node& dq) {
  Pair p;
  auto input = [](const ir::Node& n, size_t i) {
    return i < n.inputs.size() ? n.inputs[i] : std::string();
  };
  const auto s_q = constant_scalar(g, input(q, 1)), s_dq = constant_scalar(g, input(dq, 1));
  if (!s_q || !s_dq) {
    p.why = "scale is not a constant per-tensor value";
    return p;
  }
  double z_q = 0, z_dq = 0;
  DType type = DType::kU8;  // ONNX's default without a zero point
  for (auto [n, z] : {std::pair{&q, &z_q}, std::pair{&dq, &z_dq}}) {
    const std::string zp = input(*n, 2);
    if (zp.empty()) continue;
    const auto v = constant_scalar(g, zp);
    if (!v) {
      p.why = "zero point is not a constant per-tensor value";
      return p;
    }
    *z = *v;
    type = g.initializers.at(zp).dtype();
  }
  if (*s_q != *s_dq || z_q != z_dq) {
    p.why = "QuantizeLinear and DequantizeLinear use different scales or zero points";
    return p;
  }
  if (!(*s_q > 0) || !std::isfinite(*s_q)) {
    p.why = "scale is not a positive finite number";
    return p;
  }
  double lo, hi;
  if (type == DType::kU8) {
    lo = 0, hi = 255;
  } else if (type == DType::kI8) {
    lo = -128, hi = 127;
  } else {
    p.why = std::string(dtype_name(type)) + " quantization is not run in int8";
    return p;
  }
  p.range = {static_cast<float>(*s_q * (lo - z_q)), static_cast<float>(*s_q * (hi - z_q))};
  return p;
}

}  // namespace

QdqFolded fold_qdq(const ir::Graph& graph) {
  QdqFolded r{graph, {}, 0, {}};
  ir::Graph& g = r.graph;
  const Uses uses(g);
  std::map<std::string, size_t> producer;
  for (size_t k = 0; k < g.nodes.size(); ++k)
    for (const auto& o : g.nodes[k].outputs) producer[o] = k;
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& dq = g.nodes[k];
    if (dq.op_type != "DequantizeLinear" || !is_onnx_domain(dq) || dq.inputs.empty()) continue;
    auto pit = producer.find(dq.inputs[0]);
    if (pit == producer.end()) continue;  // a weight (constant): folded as a constant
    const ir::Node& q = g.nodes[pit->second];
    if (q.op_type != "QuantizeLinear" || !is_onnx_domain(q)) continue;
    const std::string name = q.name + " -> " + dq.name;
    if (!uses.read_once(dq.inputs[0])) {
      r.notes.push_back(name + ": left in float32: the quantized value has other readers");
      continue;
    }
    if (uses.is_graph_output(dq.outputs[0])) {
      r.notes.push_back(name + ": left in float32: its output is a graph output");
      continue;
    }
    const Pair p = examine(g, q, dq);
    if (!p.why.empty()) {
      r.notes.push_back(name + ": left in float32: " + p.why);
      continue;
    }
    const std::string x = q.inputs[0];
    auto [it, fresh] = r.ranges.emplace(x, p.range);
    if (!fresh && (it->second.min != p.range.min || it->second.max != p.range.max)) {
      r.notes.push_back(name + ": left in float32: '" + x +
                        "' is already quantized with other parameters by another pair");
      continue;
    }
    redirect_readers(g, dq.outputs[0], x);
    dead[k] = dead[pit->second] = true;
    ++r.pairs_folded;
  }
  erase_nodes(g, dead);
  prune_values(g);
  return r;
}

}  // namespace frugal::passes
