// Fusion of activations (SiLU's Mul(x, Sigmoid(x)) among them) and residual adds into the
// Conv, ConvTranspose, Gemm or MatMul that produces their input, as the post-ops of
// ops/post_ops.h. The fused node computes
// the same values in one pass over its output (no intermediate tensor, no extra kernel).
#include <limits>
#include <optional>

#include "frugal/ops/post_ops.h"
#include "frugal/passes/fuse_patterns.h"
#include "frugal/passes/graph_edit.h"
#include "frugal/passes/passes.h"
#include "frugal/passes/pool_before_concat.h"

namespace frugal::passes {
namespace {

bool is_f32(const ops::GraphInfo& info, const std::string& value) {
  auto it = info.values.find(value);
  return it != info.values.end() && it->second.dtype == DType::kF32 && it->second.shape;
}

const Shape* shape_of(const ops::GraphInfo& info, const std::string& value) {
  auto it = info.values.find(value);
  return it != info.values.end() && it->second.shape ? &*it->second.shape : nullptr;
}

// A BatchNormalization takes activations only as a per-channel scale-shift: inference
// form, one output, constant statistics (what is left of it after fold_batch_norm, e.g.
// DenseNet's pre-activation BN + ReLU). Every other operator that accepts post-ops takes them.
bool takes_activation(const ir::Graph& g, const ir::Node& n) {
  if (n.op_type != "BatchNormalization") return true;
  if (n.outputs.size() != 1 || n.inputs.size() != 5 || n.attr_int("training_mode", 0) != 0 ||
      (g.opset("") < 9 && n.attr_int("spatial", 1) == 0))
    return false;
  for (size_t i = 1; i < 5; ++i)
    if (!g.initializer(n.inputs[i])) return false;
  return true;
}

// The node producing `value` when it may take post-ops: a Conv, ConvTranspose, Gemm,
// MatMul or scale-shift BatchNormalization whose float32 `value` nothing but one input
// slot reads. Null otherwise.
ir::Node* fusable_producer(ir::Graph& g, const Uses& uses, const ops::GraphInfo& info,
                           const std::string& value) {
  if (value.empty() || !uses.read_once(value) || !is_f32(info, value)) return nullptr;
  const int64_t p = g.producer(value);
  if (p < 0) return nullptr;
  ir::Node& n = g.nodes[p];
  if (!is_onnx_domain(n) || !ops::accepts_post_ops(n.op_type) || n.outputs[0] != value ||
      !takes_activation(g, n))
    return nullptr;
  return &n;
}

std::vector<std::string> post_op_list(const ir::Node& n) {
  return n.has_attr(ops::kPostOpsAttr) ? n.attr_strings(ops::kPostOpsAttr)
                                       : std::vector<std::string>{};
}

// The post-op an activation node computes, or nullopt when it is not one we fuse.
std::optional<ops::PostOp> activation_post_op(const ir::Graph& g, const ir::Node& n) {
  if (!is_onnx_domain(n) || n.inputs.empty() || n.outputs.size() != 1) return std::nullopt;
  using K = ops::PostOp::Kind;
  const std::string& t = n.op_type;
  if (t == "Relu") return ops::PostOp{K::kRelu};
  if (t == "Sigmoid") return ops::PostOp{K::kSigmoid};
  if (t == "HardSwish") return ops::PostOp{K::kHardSwish};
  if (t == "Gelu") {
    const std::string form = n.attr_string("approximate", "none");
    if (form != "none" && form != "tanh") return std::nullopt;  // Gelu's kernel reports it
    return ops::PostOp{form == "tanh" ? K::kGeluTanh : K::kGelu};
  }
  if (t == "LeakyRelu") return ops::PostOp{K::kLeakyRelu, n.attr_float("alpha", 0.01f)};
  if (t == "HardSigmoid")
    return ops::PostOp{K::kHardSigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
  if (t == "Clip") {
    const float inf = std::numeric_limits<float>::infinity();
    const auto lo = clip_bound(g, n, 1, "min", -inf), hi = clip_bound(g, n, 2, "max", inf);
    if (!lo || !hi) return std::nullopt;  // bounds known only at run time
    return ops::PostOp{K::kClip, *lo, *hi};
  }
  return std::nullopt;
}

// SiLU as torch.onnx exports it, Mul(x, Sigmoid(x)) in either operand order: the index of
// the Sigmoid node when `mul` is that pattern and the Sigmoid's result feeds nothing else.
std::optional<size_t> swish_sigmoid(const ir::Graph& g, const Uses& uses, const ir::Node& mul) {
  if (mul.op_type != "Mul" || !is_onnx_domain(mul) || mul.inputs.size() != 2 ||
      mul.outputs.size() != 1)
    return std::nullopt;
  for (size_t s : {0, 1}) {
    const int64_t k = g.producer(mul.inputs[s]);
    if (k < 0) continue;
    const ir::Node& sig = g.nodes[static_cast<size_t>(k)];
    if (sig.op_type == "Sigmoid" && is_onnx_domain(sig) && sig.inputs.size() == 1 &&
        sig.inputs[0] == mul.inputs[1 - s] && uses.read_once(mul.inputs[s]))
      return static_cast<size_t>(k);
  }
  return std::nullopt;
}

// The producer of x in x * Sigmoid(x) may take the swish post-op when x feeds exactly the
// Sigmoid and the Mul (fusable_producer's rule with two readers instead of one).
ir::Node* swish_producer(ir::Graph& g, const Uses& uses, const ops::GraphInfo& info,
                         const std::string& x) {
  if (uses.readers(x) != 2 || uses.is_graph_output(x) || !is_f32(info, x)) return nullptr;
  const int64_t p = g.producer(x);
  if (p < 0) return nullptr;
  ir::Node& n = g.nodes[static_cast<size_t>(p)];
  if (!is_onnx_domain(n) || !ops::accepts_post_ops(n.op_type) || n.outputs[0] != x ||
      !takes_activation(g, n))
    return nullptr;
  return &n;
}

// A Mul by or an Add of a one-element float32 constant, either operand order, that keeps its
// data operand's shape: the linear post-op it computes and that operand. PaddleOCR's
// PP-LCNetV3 scales and shifts each activation by learnable scalars this way.
std::optional<std::pair<std::string, ops::PostOp>> affine_post_op(const ir::Graph& g,
                                                                  const ops::GraphInfo& info,
                                                                  const ir::Node& n) {
  if ((n.op_type != "Mul" && n.op_type != "Add") || !is_onnx_domain(n) || n.inputs.size() != 2 ||
      n.outputs.size() != 1)
    return std::nullopt;
  for (size_t i : {0, 1}) {
    const Tensor* c = g.initializer(n.inputs[1 - i]);
    const Shape* x = shape_of(info, n.inputs[i]);
    const Shape* y = shape_of(info, n.outputs[0]);
    if (!c || c->numel() != 1 || c->dtype() != DType::kF32 || !x || !y || *x != *y) continue;
    const auto v = static_cast<float>(c->at_double(0));
    const ops::PostOp op = n.op_type == "Mul" ? ops::PostOp{ops::PostOp::Kind::kLinear, v, 0.0f}
                                              : ops::PostOp{ops::PostOp::Kind::kLinear, 1.0f, v};
    return std::make_pair(n.inputs[i], op);
  }
  return std::nullopt;
}

// `list` with the linear post-op `op` appended, composed with a linear post-op that ends it.
std::vector<std::string> with_linear(const ir::Node& p, std::vector<std::string> list,
                                     const ops::PostOp& op) {
  const std::vector<ops::PostOp> parsed =
      list.empty() ? std::vector<ops::PostOp>{} : ops::post_ops_of(p);
  if (!parsed.empty() && parsed.back().kind == ops::PostOp::Kind::kLinear) {
    const ops::PostOp& last = parsed.back();  // a (A x + B) + b
    list.back() =
        ops::post_op_entry({ops::PostOp::Kind::kLinear, op.a * last.a, op.a * last.b + op.b});
  } else {
    list.push_back(ops::post_op_entry(op));
  }
  return list;
}

}  // namespace

ir::Graph fuse_activations(const ir::Graph& in, const ops::InferOptions& options,
                           PassReport& report) {
  report = {"fuse_activations", 0, {}};
  ir::Graph g = in;
  const ops::GraphInfo info = ops::infer_graph(g, options);
  const Uses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& act = g.nodes[k];
    if (const auto sig = swish_sigmoid(g, uses, act); sig && !dead[*sig]) {
      ir::Node* p = swish_producer(g, uses, info, g.nodes[*sig].inputs[0]);
      if (!p) continue;
      std::vector<std::string> list = post_op_list(*p);
      list.push_back(ops::post_op_entry({ops::PostOp::Kind::kSwish}));
      p->attrs[ops::kPostOpsAttr] = ir::Attribute{.value = list};
      p->outputs[0] = act.outputs[0];
      dead[k] = dead[*sig] = true;
      act.outputs.clear();
      g.nodes[*sig].outputs.clear();
      ++report.changes;
      report.nodes.push_back(act.name + " (Mul of Sigmoid: swish) into " + p->name);
      continue;
    }
    if (const auto affine = affine_post_op(g, info, act)) {
      ir::Node* p = fusable_producer(g, uses, info, affine->first);
      if (!p) continue;
      p->attrs[ops::kPostOpsAttr] =
          ir::Attribute{.value = with_linear(*p, post_op_list(*p), affine->second)};
      p->outputs[0] = act.outputs[0];
      dead[k] = true;
      act.outputs.clear();
      ++report.changes;
      report.nodes.push_back(act.name + " (" + act.op_type + ": linear) into " + p->name);
      continue;
    }
    const auto op = activation_post_op(g, act);
    if (!op) continue;
    ir::Node* p = fusable_producer(g, uses, info, act.inputs[0]);
    if (!p) continue;
    std::vector<std::string> list = post_op_list(*p);
    list.push_back(ops::post_op_entry(*op));
    p->attrs[ops::kPostOpsAttr] = ir::Attribute{.value = list};
    p->outputs[0] = act.outputs[0];
    dead[k] = true;
    act.outputs.clear();
    ++report.changes;
    report.nodes.push_back(act.name + " (" + act.op_type + ") into " + p->name);
  }
  erase_nodes(g, dead);
  prune_values(g);
  return g;
}

ir::Graph fuse_residual_add(const ir::Graph& in, const ops::InferOptions& options,
                            PassReport& report) {
  report = {"fuse_residual_add", 0, {}};
  ir::Graph g = in;
  if (g.opset("") < 7) return g;  // legacy broadcast attributes
  const ops::GraphInfo info = ops::infer_graph(g, options);
  const Uses uses(g);
  std::vector<bool> dead(g.nodes.size(), false);
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    ir::Node& add = g.nodes[k];
    if (add.op_type != "Add" || !is_onnx_domain(add) || add.inputs.size() != 2 ||
        add.outputs.size() != 1 || add.inputs[0] == add.inputs[1])
      continue;
    const Shape* out = shape_of(info, add.outputs[0]);
    if (!out) continue;
    // Prefer fusing into the operand computed last: the other one is then ready already.
    size_t first = 0, second = 1;
    if (g.producer(add.inputs[1]) > g.producer(add.inputs[0])) std::swap(first, second);
    for (size_t pick : {first, second}) {
      const std::string& x = add.inputs[pick];
      const std::string& s = add.inputs[1 - pick];
      ir::Node* p = fusable_producer(g, uses, info, x);
      // A residual add stays after a BatchNormalization (no kernel fuses it there).
      if (!p || p->op_type == "BatchNormalization" || !is_f32(info, s) ||
          *shape_of(info, x) != *out)
        continue;
      std::vector<std::string> list = post_op_list(*p);
      bool summed = false;
      for (const auto& e : list) summed |= e == "sum";
      if (summed) continue;
      // The sum operand sits right after the op's own inputs (post_ops.h).
      const size_t index = ops::sum_operand_index(p->op_type);
      if (p->inputs.size() > index) continue;
      p->inputs.resize(index);
      p->inputs.push_back(s);
      list.push_back("sum");
      p->attrs[ops::kPostOpsAttr] = ir::Attribute{.value = list};
      p->outputs[0] = add.outputs[0];
      dead[k] = true;
      add.outputs.clear();
      ++report.changes;
      report.nodes.push_back(add.name + " (Add) into " + p->name);
      break;
    }
  }
  erase_nodes(g, dead);
  prune_values(g);
  // The sum operand's producer may come after the fused node in the file's order.
  g.validate_and_sort();
  return g;
}

ir::Graph remove_dead_nodes(const ir::Graph& in, PassReport& report) {
  report = {"remove_dead_nodes", 0, {}};
  ir::Graph g = in;
  std::vector<bool> dead(g.nodes.size(), false);
  // Backwards, so that a chain of dead nodes goes in one sweep.
  std::set<std::string> read;
  for (const auto& o : g.outputs) read.insert(o.name);
  for (size_t k = g.nodes.size(); k-- > 0;) {
    const ir::Node& n = g.nodes[k];
    bool used = false;
    for (const auto& o : n.outputs) used |= !o.empty() && read.count(o);
    if (!used) {
      dead[k] = true;
      ++report.changes;
      report.nodes.push_back(n.name + " (" + n.op_type + ")");
      continue;
    }
    for (const auto& i : n.inputs)
      if (!i.empty()) read.insert(i);
  }
  erase_nodes(g, dead);
  prune_values(g);
  return g;
}

// The order passes.h lists, with fuse_layer_norm, fuse_gelu, fuse_hard_swish and
// fuse_attention (fuse_patterns.h) after remove_identities, pool_before_concat
// (pool_before_concat.h) before split_conv_over_concat, and pool_spatial_means (fuse_patterns.h)
// then fuse_squeeze_excite after fuse_activations.
Optimized optimize(const ir::Graph& graph, const ops::InferOptions& options, bool keep_attention,
                   bool squeeze_excite) {
  Optimized r;
  r.passes.resize(14);
  r.graph = fold_constants(graph, options, r.passes[0]);
  r.graph = remove_identities(r.graph, r.passes[1]);
  r.graph = fuse_layer_norm(r.graph, options, r.passes[2]);
  r.graph = fuse_gelu(r.graph, options, r.passes[3]);
  r.graph = fuse_hard_swish(r.graph, options, r.passes[4]);
  if (keep_attention)
    r.passes[5] = {"fuse_attention", 0, {}};
  else
    r.graph = fuse_attention(r.graph, options, r.passes[5]);
  r.graph = fold_batch_norm(r.graph, r.passes[6]);
  r.graph = pool_before_concat(r.graph, options, r.passes[7]);
  if (keep_attention)
    r.passes[8] = {"split_conv_over_concat", 0, {}};
  else
    r.graph = split_conv_over_concat(r.graph, options, r.passes[8]);
  r.graph = fuse_residual_add(r.graph, options, r.passes[9]);
  r.graph = fuse_activations(r.graph, options, r.passes[10]);
  r.graph = pool_spatial_means(r.graph, options, r.passes[11]);
  if (squeeze_excite)
    r.graph = fuse_squeeze_excite(r.graph, options, r.passes[12]);
  else
    r.passes[12] = {"fuse_squeeze_excite", 0, {}};
  r.graph = remove_dead_nodes(r.graph, r.passes[13]);
  return r;
}

}  // namespace frugal::passes
