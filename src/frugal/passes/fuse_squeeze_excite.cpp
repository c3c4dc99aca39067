// fuse_squeeze_excite (passes/fuse_patterns.h): GlobalAveragePool -> 1x1 Conv (activation
// post-ops) -> 1x1 Conv (gate post-ops) -> Mul with the pool's input becomes one
// frugal.SqueezeExcite node (ops/squeeze_excite.h). At batch 1 these are five tiny kernels
// per block (MobileNetV3 has 8 such blocks, EfficientNet-B0 16), each paying its own call,
// and at two threads its own wake-up; fused, the block is one pass to pool, two small
// products and one pass to scale. Runs after fuse_activations, whose post-ops it reads.
#include <optional>

#include "frugal/ops/squeeze_excite.h"
#include "frugal/passes/fuse_patterns.h"
#include "frugal/passes/graph_edit.h"

namespace frugal::passes {
namespace {

// The producer of `value` when it is an ONNX-domain `op_type` and `value` feeds only the
// one slot that reads it.
const ir::Node* sole_producer(const ir::Graph& g, const Uses& uses, const std::string& value,
                              const char* op_type) {
  if (value.empty() || !uses.read_once(value)) return nullptr;
  const int64_t p = g.producer(value);
  if (p < 0) return nullptr;
  const ir::Node& n = g.nodes[static_cast<size_t>(p)];
  return n.op_type == op_type && is_onnx_domain(n) && n.outputs.size() == 1 ? &n : nullptr;
}

// A Conv that is a dense 1x1 product: constant weights [O, I, 1...], constant or no bias,
// group 1, no padding, unit strides and dilations, post-ops without "sum".
bool pointwise_conv(const ir::Graph& g, const ir::Node& n) {
  const Tensor* w = n.inputs.size() > 1 ? g.initializer(n.inputs[1]) : nullptr;
  if (!w || w->dtype() != DType::kF32 || w->shape().size() < 3) return false;
  for (size_t i = 2; i < w->shape().size(); ++i)
    if (w->shape()[i] != 1) return false;
  if (n.inputs.size() > 3 ||
      (n.inputs.size() == 3 && !n.inputs[2].empty() && !g.initializer(n.inputs[2])))
    return false;
  const std::string pad = n.attr_string("auto_pad", "NOTSET");
  if (n.attr_int("group", 1) != 1 || (pad != "NOTSET" && pad != "VALID")) return false;
  for (const char* key : {"pads"})
    for (int64_t v : n.attr_ints(key))
      if (v != 0) return false;
  for (const char* key : {"strides", "dilations"})
    for (int64_t v : n.attr_ints(key))
      if (v != 1) return false;
  return !ops::has_sum(ops::post_ops_of(n));
}

// The gate: one sigmoid or hard sigmoid post-op.
bool gate_post_ops(const ir::Node& n) {
  const std::vector<ops::PostOp> p = ops::post_ops_of(n);
  using K = ops::PostOp::Kind;
  return p.size() == 1 && (p[0].kind == K::kSigmoid || p[0].kind == K::kHardSigmoid);
}

std::vector<std::string> post_op_strings(const ir::Node& n) {
  return n.has_attr(ops::kPostOpsAttr) ? n.attr_strings(ops::kPostOpsAttr)
                                       : std::vector<std::string>{};
}

struct Block {
  size_t pool, fc1, fc2;
  std::string x;
};

// The block whose Mul is `mul`, or nullopt.
std::optional<Block> match(const ir::Graph& g, const Uses& uses, const ir::Node& mul) {
  if (mul.op_type != "Mul" || !is_onnx_domain(mul) || mul.inputs.size() != 2 ||
      mul.outputs.size() != 1)
    return std::nullopt;
  for (size_t s : {0, 1}) {
    const ir::Node* fc2 = sole_producer(g, uses, mul.inputs[s], "Conv");
    if (!fc2 || !pointwise_conv(g, *fc2) || !gate_post_ops(*fc2)) continue;
    const ir::Node* fc1 = sole_producer(g, uses, fc2->inputs[0], "Conv");
    if (!fc1 || !pointwise_conv(g, *fc1)) continue;
    const ir::Node* pool = sole_producer(g, uses, fc1->inputs[0], "GlobalAveragePool");
    if (!pool || pool->inputs[0] != mul.inputs[1 - s]) continue;
    auto index = [&](const ir::Node* n) { return static_cast<size_t>(n - g.nodes.data()); };
    return Block{index(pool), index(fc1), index(fc2), mul.inputs[1 - s]};
  }
  return std::nullopt;
}

// The weights must chain: W1 [Cr, C, 1...], W2 [C, Cr, 1...], C = X's channels (shape
// inference checks the fused node again; this keeps a mismatched graph unfused).
bool shapes_chain(const ir::Graph& g, const ops::GraphInfo& info, const Block& b) {
  auto it = info.values.find(b.x);
  if (it == info.values.end() || !it->second.shape || it->second.dtype != DType::kF32 ||
      it->second.shape->size() < 3)
    return false;
  const Shape& x = *it->second.shape;
  const Shape& w1 = g.initializer(g.nodes[b.fc1].inputs[1])->shape();
  const Shape& w2 = g.initializer(g.nodes[b.fc2].inputs[1])->shape();
  return w1.size() == x.size() && w2.size() == x.size() && w1[1] == x[1] && w2[0] == x[1] &&
         w2[1] == w1[0];
}

}  // namespace

ir::Graph fuse_squeeze_excite(const ir::Graph& in, const ops::InferOptions& options,
                              PassReport& report) {
  report = {"fuse_squeeze_excite", 0, {}};
  ir::Graph g = in;
  const ops::GraphInfo info = ops::infer_graph(g, options);
  const Uses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const std::optional<Block> b = match(g, uses, g.nodes[k]);
    if (!b || dead[b->pool] || dead[b->fc1] || dead[b->fc2] || !shapes_chain(g, info, *b)) continue;
    const ir::Node &fc1 = g.nodes[b->fc1], &fc2 = g.nodes[b->fc2];
    auto bias = [](const ir::Node& n) { return n.inputs.size() > 2 ? n.inputs[2] : ""; };
    ir::Node se;
    se.name = g.nodes[k].name;
    se.op_type = ops::kSqueezeExcite;
    se.domain = "frugal";
    se.inputs = {b->x, fc1.inputs[1], bias(fc1), fc2.inputs[1], bias(fc2)};
    se.outputs = g.nodes[k].outputs;
    se.attrs["inner"] = ir::Attribute{.value = post_op_strings(fc1)};
    se.attrs["gate"] = ir::Attribute{.value = post_op_strings(fc2)};
    report.nodes.push_back(g.nodes[b->pool].name + ", " + fc1.name + ", " + fc2.name + " and " +
                           se.name + " into " + se.name + " (SqueezeExcite)");
    report.changes += 3;
    dead[b->pool] = dead[b->fc1] = dead[b->fc2] = true;
    g.nodes[k] = std::move(se);
  }
  erase_nodes(g, dead);
  prune_values(g);
  return g;
}

}  // namespace frugal::passes
