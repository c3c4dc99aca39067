#include "frugal/passes/qdq_fold.h"

#include <cmath>
#include <optional>

#include "frugal/ops/dequantize.h"
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

// The axis of a weight DequantizeLinear's parameters (-1: one per tensor), or nullopt when
// its inputs are not all constants of the types and counts the operator allows; such a
// node is left to fold_constants, which names what is wrong.
std::optional<int64_t> constant_weight_axis(const ir::Graph& g, const ir::Node& dq) {
  const auto constant = [&](size_t i) -> const Tensor* {
    if (i >= dq.inputs.size() || dq.inputs[i].empty()) return nullptr;
    auto it = g.initializers.find(dq.inputs[i]);
    return it == g.initializers.end() ? nullptr : &it->second;
  };
  const Tensor *x = constant(0), *scale = constant(1), *zero = constant(2);
  if (!x || !scale || (dq.inputs.size() > 2 && !dq.inputs[2].empty() && !zero)) return std::nullopt;
  if ((x->dtype() != DType::kI8 && x->dtype() != DType::kU8) || scale->dtype() != DType::kF32 ||
      scale->rank() > 1 ||
      (zero && (zero->dtype() != x->dtype() || zero->numel() != scale->numel())))
    return std::nullopt;
  if (scale->numel() == 1) return -1;
  const int64_t rank = x->rank(), axis = dq.attr_int("axis", 1);
  const int64_t a = axis < 0 ? axis + rank : axis;
  if (scale->rank() != 1 || g.opset("") < 13 || a < 0 || a >= rank || x->dim(a) != scale->numel())
    return std::nullopt;
  return a;
}

// Each DequantizeLinear of a constant 8-bit weight becomes its float32 initializer, as
// fold_constants would make it but without zeroing the tensor first, and the nodes reading
// it as their input 1 (Conv, Gemm, MatMul) are told its 8-bit source (ops/dequantize.h),
// from which cpu:int8 requantizes it without reading the float32 values.
size_t fold_weight_dequantize(ir::Graph& g, std::vector<bool>& dead) {
  const Uses uses(g);
  std::map<std::string, std::vector<size_t>> weight_readers;  // nodes reading a value as input 1
  for (size_t r = 0; r < g.nodes.size(); ++r)
    if (g.nodes[r].has_input(1)) weight_readers[g.nodes[r].inputs[1]].push_back(r);
  size_t folded = 0;
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& dq = g.nodes[k];
    if (dead[k] || dq.op_type != "DequantizeLinear" || !is_onnx_domain(dq) ||
        dq.outputs.size() != 1 || uses.is_graph_output(dq.outputs[0]))
      continue;
    const auto axis = constant_weight_axis(g, dq);
    if (!axis) continue;
    const Tensor& x = g.initializers.at(dq.inputs[0]);
    const bool has_zero = dq.inputs.size() > 2 && !dq.inputs[2].empty();
    const ops::WeightSource source{x, g.initializers.at(dq.inputs[1]),
                                   has_zero ? g.initializers.at(dq.inputs[2]) : Tensor(), *axis};
    Tensor y = Tensor::uninitialized(DType::kF32, x.shape());  // every value written
    ops::dequantize_into(x, source.scale, has_zero ? &source.zero_point : nullptr, *axis, y);
    for (size_t r : weight_readers[dq.outputs[0]]) ops::attach_weight_source(g.nodes[r], source, y);
    g.initializers[dq.outputs[0]] = std::move(y);
    dead[k] = true;
    ++folded;
  }
  return folded;
}

}  // namespace

QdqFolded fold_qdq(const ir::Graph& graph) {
  QdqFolded r{graph, {}, 0, 0, {}};
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
  r.weights_dequantized = fold_weight_dequantize(g, dead);
  erase_nodes(g, dead);
  prune_values(g);
  return r;
}

}  // namespace frugal::passes
