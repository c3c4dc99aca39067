#include "frugal/ops/infer.h"

#include <set>

#include "frugal/ops/post_ops.h"

namespace frugal::ops {

bool GraphInfo::supported() const {
  for (const auto& s : nodes)
    if (s.state == NodeStatus::State::kUnsupported) return false;
  return true;
}

const TensorInfo& GraphInfo::at(const std::string& value) const {
  auto it = values.find(value);
  if (it == values.end()) throw InternalError("no inferred info for value '" + value + "'");
  return it->second;
}

std::string GraphInfo::unsupported_summary() const {
  std::string s;
  std::set<std::string> seen;
  for (const auto& n : nodes) {
    if (n.state != NodeStatus::State::kUnsupported || !seen.insert(n.reason).second) continue;
    s += (s.empty() ? "" : "; ") + n.reason;
  }
  return s;
}

namespace {

void check_arity(const OpDef& def, const ir::Node& n) {
  // A fused sum operand (post_ops.h) is checked by infer_with_post_ops, not counted here.
  int ni = static_cast<int>(own_input_count(n));
  // Trailing omitted optional inputs do not count.
  while (ni > 0 && n.inputs[ni - 1].empty()) --ni;
  int no = static_cast<int>(n.outputs.size());
  if (ni < def.min_inputs || (def.max_inputs >= 0 && ni > def.max_inputs))
    throw UserError(n.describe() + ": has " + std::to_string(ni) + " inputs, expected " +
                    std::to_string(def.min_inputs) +
                    (def.max_inputs == def.min_inputs
                         ? std::string()
                         : " to " + (def.max_inputs < 0 ? std::string("any number")
                                                        : std::to_string(def.max_inputs))));
  for (int i = 0; i < def.min_inputs; ++i)
    if (n.inputs[i].empty())
      throw UserError(n.describe() + ": required input " + std::to_string(i) + " is empty");
  if (no < def.min_outputs || (def.max_outputs >= 0 && no > def.max_outputs))
    throw UserError(n.describe() + ": has " + std::to_string(no) + " outputs, expected " +
                    std::to_string(def.min_outputs) + " to " + std::to_string(def.max_outputs));
}

Shape input_shape(const ir::ValueInfo& v, const InferOptions& opt) {
  auto it = opt.input_shapes.find(v.name);
  if (it != opt.input_shapes.end()) {
    shape_numel(it->second);
    return it->second;
  }
  if (!v.shape)
    throw UserError("graph input '" + v.name + "' has no declared shape; give its shape");
  Shape s;
  for (size_t i = 0; i < v.shape->size(); ++i) {
    const ir::Dim& d = (*v.shape)[i];
    if (d.known()) {
      s.push_back(d.value);
    } else if (i == 0) {
      s.push_back(opt.batch);
    } else {
      throw UserError("graph input '" + v.name + "' dimension " + std::to_string(i) + " is " +
                      (d.param.empty() ? std::string("unknown") : "symbolic ('" + d.param + "')") +
                      "; give the input's full shape");
    }
  }
  return s;
}

// "1xNx10" for declared dimensions (a symbol by its name, an unknown one as ?).
std::string dims_str(const std::vector<ir::Dim>& dims) {
  std::string out;
  for (size_t i = 0; i < dims.size(); ++i) {
    if (i) out += "x";
    out += dims[i].known() ? std::to_string(dims[i].value)
                           : (dims[i].param.empty() ? "?" : dims[i].param);
  }
  return dims.empty() ? "a scalar" : out;
}

// True when some graph input took its leading dimension from InferOptions::batch.
bool batch_is_free(const ir::Graph& g, const InferOptions& opt) {
  for (const auto& v : g.inputs)
    if (!opt.input_shapes.count(v.name) && v.shape && !v.shape->empty() && !(*v.shape)[0].known())
      return true;
  return false;
}

// A batch asked of a model whose inputs are all fixed (to another batch) would be ignored,
// and every figure measured for it would be labelled with a batch that never ran.
void check_batch_applies(const ir::Graph& g, const InferOptions& opt) {
  if (opt.batch == 1 || batch_is_free(g, opt) || g.inputs.empty()) return;
  // A batch equal to the fixed one, or to that of a full shape given for an input
  // (bench/peers/frugal_peer gives both), is what the model runs anyway.
  for (const auto& in : g.inputs)
    if (in.shape && !in.shape->empty() && (*in.shape)[0].value == opt.batch) return;
  for (const auto& [name, shape] : opt.input_shapes)
    if (!shape.empty() && shape[0] == opt.batch) return;
  const auto& v = g.inputs.front();
  throw UserError("batch " + std::to_string(opt.batch) +
                  " asked, but every input of the model has a fixed shape (input '" + v.name +
                  "' is " + (v.shape ? dims_str(*v.shape) : std::string("?")) +
                  "); give the input's full shape instead");
}

// Graph outputs whose declared dimensions contradict inference (an exporter's error, or a
// corrupt file) are refused rather than trusted by one reader and ignored by another. The
// leading dimension is exempt where the batch was set, and nothing is checked where the
// caller overrode input shapes (declared output shapes then legitimately go stale).
void check_declared_outputs(const ir::Graph& g, const GraphInfo& info, const InferOptions& opt) {
  if (!opt.input_shapes.empty()) return;
  const bool skip_batch = opt.batch != 1;
  for (const auto& out : g.outputs) {
    auto it = info.values.find(out.name);
    // A shape without dimensions is taken as "not declared": graphs built in code and some
    // exporters write it for an unknown shape, not only for a scalar.
    if (!out.shape || out.shape->empty() || it == info.values.end() || !it->second.shape) continue;
    const Shape& got = *it->second.shape;
    const auto& want = *out.shape;
    bool differs = want.size() != got.size();
    for (size_t d = 0; !differs && d < want.size(); ++d)
      differs = want[d].known() && want[d].param.empty() && !(d == 0 && skip_batch) &&
                want[d].value != got[d];
    if (differs)
      throw UserError("graph output '" + out.name + "' is declared " + dims_str(want) +
                      " but the graph computes " + shape_str(got));
  }
}

}  // namespace

GraphInfo infer_graph(const ir::Graph& g, const InferOptions& opt) {
  check_batch_applies(g, opt);
  GraphInfo info;
  for (const auto& [name, t] : g.initializers) info.values[name] = {t.dtype(), t.shape(), t};
  for (const auto& v : g.inputs) {
    if (v.dtype == DType::kUndefined)
      throw UserError("graph input '" + v.name + "' has no declared element type");
    Shape s = input_shape(v, opt);
    check_fits_in_memory(v.name, v.dtype, s);
    info.input_shapes[v.name] = s;
    info.values[v.name] = {v.dtype, s, std::nullopt};
  }
  for (const auto& [name, s] : opt.input_shapes)
    if (!g.find_input(name)) throw UserError("the model has no input named '" + name + "'");

  info.nodes.resize(g.nodes.size());
  std::set<std::string> unreached;  // values downstream of an unsupported node
  const int64_t opset = g.opset("");
  for (size_t k = 0; k < g.nodes.size(); ++k) {
    const ir::Node& n = g.nodes[k];
    NodeStatus& st = info.nodes[k];
    bool blocked = false;
    for (const auto& in : n.inputs) blocked |= !in.empty() && unreached.count(in);
    const OpDef* def = find_op(n.domain, n.op_type);
    auto mark_unreached = [&] {
      for (const auto& o : n.outputs)
        if (!o.empty()) unreached.insert(o);
    };
    if (!def) {
      st.state = NodeStatus::State::kUnsupported;
      st.reason = n.op_type + (n.domain.empty() ? "" : " (domain " + n.domain + ")") +
                  ": operator not implemented";
      mark_unreached();
      continue;
    }
    check_arity(*def, n);
    if (blocked) {
      st.state = NodeStatus::State::kUnreached;
      mark_unreached();
      continue;
    }
    std::vector<const TensorInfo*> ins(n.inputs.size(), nullptr);
    bool all_const = true;
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      ins[i] = &info.values.at(n.inputs[i]);
      all_const &= ins[i]->value.has_value();
    }
    const int64_t node_opset = n.domain.empty() ? opset : g.opset(n.domain);
    InferContext ctx(n, node_opset, ins);
    try {
      infer_with_post_ops(*def, ctx);
    } catch (const DataDependentShape&) {
      st.state = NodeStatus::State::kDynamic;
      for (const auto& o : n.outputs)
        if (!o.empty()) info.values[o] = {};
      continue;
    } catch (const UnsupportedError& e) {
      st.state = NodeStatus::State::kUnsupported;
      st.reason = e.what();
      mark_unreached();
      continue;
    }
    bool all_out_known = true;
    int64_t out_elems = 0;
    for (size_t i = 0; i < n.outputs.size(); ++i) {
      if (n.outputs[i].empty()) continue;
      const TensorInfo& o = ctx.outputs()[i];
      if (o.dtype == DType::kUndefined || !o.shape)
        throw InternalError(n.describe() + ": inference did not set output " + std::to_string(i));
      all_out_known &= o.value.has_value();
      out_elems += shape_numel(*o.shape);
    }
    // The size cap is against constants that expand (Expand, ConstantOfShape, Tile); an
    // output no larger than its largest input (a weight's DequantizeLinear, Transpose,
    // Cast) only converts what the model already holds, and is folded at any size.
    int64_t max_in_elems = 0;
    for (const auto* in : ins)
      if (in && in->value) max_in_elems = std::max(max_in_elems, in->value->numel());
    // A fused node is never folded: ops::evaluate runs the base operator only.
    if (!all_out_known && all_const && def->foldable && !has_post_ops(n) && opt.fold_constants &&
        (out_elems <= opt.fold_max_elements || out_elems <= max_in_elems)) {
      std::vector<Tensor> in_vals(n.inputs.size());
      for (size_t i = 0; i < n.inputs.size(); ++i)
        if (ins[i]) in_vals[i] = *ins[i]->value;
      auto outs = evaluate(n, node_opset, in_vals);
      for (size_t i = 0; i < n.outputs.size(); ++i)
        if (!n.outputs[i].empty()) ctx.set_output_value(i, outs[i]);
      all_out_known = true;
    }
    st.state = all_out_known ? NodeStatus::State::kFolded : NodeStatus::State::kStatic;
    for (size_t i = 0; i < n.outputs.size(); ++i)
      if (!n.outputs[i].empty()) info.values[n.outputs[i]] = std::move(ctx.outputs()[i]);
  }
  check_declared_outputs(g, info, opt);
  return info;
}

void require_supported(const ir::Graph& g, const GraphInfo& info, const std::string& origin) {
  if (info.supported()) return;
  size_t count = 0;
  for (const auto& s : info.nodes) count += s.state == NodeStatus::State::kUnsupported;
  throw UnsupportedError(origin + ": " + std::to_string(count) + " unsupported node" +
                         (count == 1 ? "" : "s") + ": " + info.unsupported_summary());
}

}  // namespace frugal::ops
