// Recognition of the decompositions exporters emit for LayerNorm and GELU (PyTorch before
// opsets 17 and 20) and for scaled dot-product attention, rewritten as the one operator
// each stands for, so that a backend runs one kernel instead of five to nine nodes.
#include <algorithm>
#include <cmath>
#include <initializer_list>
#include <map>
#include <optional>
#include <tuple>
#include <unordered_map>

#include "frugal/ops/elementwise.h"
#include "frugal/passes/fuse_patterns.h"
#include "frugal/passes/graph_edit.h"

namespace frugal::passes {
namespace {

// Reads the graph around a candidate: producers by value, constants, read counts.
class Matcher {
 public:
  Matcher(const ir::Graph& g, const Uses& uses, const ops::GraphInfo& info)
      : g_(g), uses_(uses), info_(info) {
    for (size_t k = 0; k < g.nodes.size(); ++k)
      for (const auto& o : g.nodes[k].outputs)
        if (!o.empty()) producer_[o] = k;
  }

  // The ONNX-domain node of type `op` producing `value`, when `reads` input slots read
  // `value` and it is no graph output (the pattern owns it); else nullopt.
  std::optional<size_t> node(const std::string& value, const char* op, size_t reads = 1) const {
    auto it = producer_.find(value);
    if (it == producer_.end() || uses_.readers(value) != reads || uses_.is_graph_output(value))
      return std::nullopt;
    const ir::Node& n = g_.nodes[it->second];
    if (n.op_type != op || !is_onnx_domain(n) || n.outputs.size() != 1) return std::nullopt;
    return it->second;
  }
  const ir::Node& at(size_t k) const { return g_.nodes[k]; }

  const Tensor* constant(const std::string& value) const { return g_.initializer(value); }
  // The value of a one-element constant.
  std::optional<double> scalar(const std::string& value) const {
    const Tensor* t = g_.initializer(value);
    if (!t || t->numel() != 1) return std::nullopt;
    return t->at_double(0);
  }
  // The operand of a two-input node that is not `x` (nullopt when neither or both are x).
  static std::optional<std::string> other(const ir::Node& n, const std::string& x) {
    if (n.inputs.size() != 2 || n.inputs[0] == n.inputs[1]) return std::nullopt;
    if (n.inputs[0] == x) return n.inputs[1];
    if (n.inputs[1] == x) return n.inputs[0];
    return std::nullopt;
  }
  const Shape* shape(const std::string& value) const {
    auto it = info_.values.find(value);
    return it != info_.values.end() && it->second.shape ? &*it->second.shape : nullptr;
  }
  DType dtype(const std::string& value) const {
    auto it = info_.values.find(value);
    return it == info_.values.end() ? DType::kUndefined : it->second.dtype;
  }
  bool is_float(const std::string& value) const {
    auto it = info_.values.find(value);
    return it != info_.values.end() &&
           (it->second.dtype == DType::kF32 || it->second.dtype == DType::kF64);
  }
  // The node reading `value` when exactly one slot does (and it is no graph output).
  std::optional<size_t> sole_reader(const std::string& value) const {
    if (!uses_.read_once(value)) return std::nullopt;
    for (size_t k = 0; k < g_.nodes.size(); ++k)
      for (const auto& i : g_.nodes[k].inputs)
        if (i == value) return k;
    return std::nullopt;
  }

 private:
  const ir::Graph& g_;
  const Uses& uses_;
  const ops::GraphInfo& info_;
  std::unordered_map<std::string, size_t> producer_;
};

bool near(double v, double want) {
  return std::fabs(v - want) <= 1e-4 * std::fabs(want);
}

// The axes a ReduceMean of a rank-`rank` input reduces (the attribute, or the constant
// input from opset 18), made non-negative and sorted; nullopt when they are not constant or
// not given (all axes, or noop_with_empty_axes).
std::optional<std::vector<int64_t>> mean_axes(const ir::Graph& g, const ir::Node& n, size_t rank) {
  std::vector<int64_t> axes;
  if (n.has_attr("axes")) {
    axes = n.attr_ints("axes");
  } else if (n.inputs.size() > 1 && !n.inputs[1].empty()) {
    const Tensor* t = g.initializer(n.inputs[1]);
    if (!t) return std::nullopt;
    for (int64_t i = 0; i < t->numel(); ++i) axes.push_back(static_cast<int64_t>(t->at_double(i)));
  }
  if (axes.empty()) return std::nullopt;
  const auto r = static_cast<int64_t>(rank);
  for (auto& a : axes) a = a < 0 ? a + r : a;
  std::sort(axes.begin(), axes.end());
  return axes;
}

// True when the sorted `axes` are the trailing axes of a rank-`rank` value, contiguously.
bool trailing_axes(const std::vector<int64_t>& axes, size_t rank) {
  for (size_t i = 0; i < axes.size(); ++i)
    if (axes[i] != static_cast<int64_t>(rank - axes.size() + i)) return false;
  return true;
}

// The first reduced axis of a ReduceMean that keeps its dimensions and reduces the
// trailing axes of a rank-`rank` input contiguously; nullopt otherwise.
std::optional<int64_t> trailing_mean_axis(const ir::Graph& g, const ir::Node& n, size_t rank) {
  if (n.attr_int("keepdims", 1) != 1) return std::nullopt;
  const auto axes = mean_axes(g, n, rank);
  if (!axes || !trailing_axes(*axes, rank)) return std::nullopt;
  return axes->front();
}

// A constant that broadcasts onto the normalized shape, reshaped to its trailing
// dimensions (leading 1s dropped) as LayerNormalization requires; nullopt otherwise.
std::optional<Tensor> affine_operand(const ir::Graph& g, const std::string& value,
                                     const Shape& normalized) {
  const Tensor* t = g.initializer(value);
  if (!t) return std::nullopt;
  Shape s = t->shape();
  while (s.size() > normalized.size()) {
    if (s.front() != 1) return std::nullopt;
    s.erase(s.begin());
  }
  for (size_t i = 0; i < s.size(); ++i)
    if (s[s.size() - 1 - i] != 1 && s[s.size() - 1 - i] != normalized[normalized.size() - 1 - i])
      return std::nullopt;
  return t->clone().reshaped(s);
}

// Add(ReduceMean(v), eps) or Add(eps, ReduceMean(v)) at node `add`, eps a one-element
// constant and the mean read only there: the mean's node and eps.
std::optional<std::pair<size_t, double>> mean_plus_epsilon(const Matcher& m, size_t add) {
  const ir::Node& a = m.at(add);
  if (a.inputs.size() != 2) return std::nullopt;
  for (size_t i : {0, 1}) {
    const auto eps = m.scalar(a.inputs[1 - i]);
    const auto mean = m.node(a.inputs[i], "ReduceMean");
    if (eps && mean) return std::make_pair(*mean, *eps);
  }
  return std::nullopt;
}

struct LayerNormMatch {
  std::vector<size_t> nodes;  // the pattern's nodes, the last one producing the result
  std::string x;
  int64_t axis = -1;
  double epsilon = 0;
  std::optional<Tensor> scale, bias;
};

// From Div(D, Sqrt(Add(ReduceMean(Pow(D, 2)), eps))), D = Sub(X, ReduceMean(X)), then an
// optional constant Mul and Add. Both means over the same trailing axes.
std::optional<LayerNormMatch> match_layer_norm(const ir::Graph& g, const Matcher& m, size_t div) {
  const ir::Node& dv = m.at(div);
  if (dv.inputs.size() != 2) return std::nullopt;
  const std::string& d = dv.inputs[0];
  const auto sqrt = m.node(dv.inputs[1], "Sqrt");
  if (!sqrt) return std::nullopt;
  const auto add_eps = m.node(m.at(*sqrt).inputs[0], "Add");
  if (!add_eps) return std::nullopt;
  LayerNormMatch r;
  const auto var_eps = mean_plus_epsilon(m, *add_eps);
  if (!var_eps) return std::nullopt;
  const std::optional<size_t> var = var_eps->first;
  r.epsilon = var_eps->second;
  const std::string& squared = m.at(*var).inputs.at(0);
  // D squared by Pow(D, 2) (D read twice: there and by Div) or Mul(D, D) (three times).
  std::optional<size_t> sq = m.node(squared, "Pow"), sub;
  if (sq) {
    const ir::Node& p = m.at(*sq);
    if (p.inputs.size() != 2 || p.inputs[0] != d || m.scalar(p.inputs[1]) != 2.0)
      return std::nullopt;
    sub = m.node(d, "Sub", 2);
  } else {
    sq = m.node(squared, "Mul");
    if (!sq || m.at(*sq).inputs != std::vector<std::string>{d, d}) return std::nullopt;
    sub = m.node(d, "Sub", 3);
  }
  if (!sub) return std::nullopt;
  const ir::Node& sb = m.at(*sub);
  r.x = sb.inputs.at(0);
  const auto mean = m.node(sb.inputs.at(1), "ReduceMean");
  if (!mean || m.at(*mean).inputs.at(0) != r.x || !m.is_float(r.x)) return std::nullopt;
  const Shape* xs = m.shape(r.x);
  if (!xs || m.shape(dv.outputs[0]) == nullptr || *m.shape(dv.outputs[0]) != *xs)
    return std::nullopt;
  const auto a1 = trailing_mean_axis(g, m.at(*mean), xs->size());
  const auto a2 = trailing_mean_axis(g, m.at(*var), xs->size());
  if (!a1 || a1 != a2) return std::nullopt;
  r.axis = *a1;
  r.nodes = {*mean, *sub, *sq, *var, *add_eps, *sqrt, div};
  // Then Mul by a constant scale and Add of a constant bias, each optional.
  const Shape normalized(xs->begin() + r.axis, xs->end());
  std::string y = dv.outputs[0];
  for (const char* op : {"Mul", "Add"}) {
    const auto next = m.sole_reader(y);
    if (!next || m.at(*next).op_type != op || !is_onnx_domain(m.at(*next))) continue;
    const auto operand = Matcher::other(m.at(*next), y);
    if (!operand) continue;
    auto value = affine_operand(g, *operand, normalized);
    if (!value) continue;
    (std::string(op) == "Mul" ? r.scale : r.bias) = std::move(value);
    r.nodes.push_back(*next);
    y = m.at(*next).outputs[0];
  }
  return r;
}

struct RmsNormMatch {
  std::vector<size_t> nodes;  // the pattern's nodes, the last one producing the result
  std::string x;
  int64_t axis = -1;
  double epsilon = 0;
  std::optional<Tensor> scale;
};

// The node reading `value` once, when it is an ONNX-domain `op`; else nullopt.
std::optional<size_t> sole_reader_of_type(const Matcher& m, const std::string& value,
                                          const char* op) {
  const auto k = m.sole_reader(value);
  if (!k || m.at(*k).op_type != op || !is_onnx_domain(m.at(*k))) return std::nullopt;
  return k;
}

// T5's and LLaMA's norm as exports write it: s = Sqrt(Add(ReduceMean(Pow(X, 2) or
// Mul(X, X)), eps)) over trailing axes (keepdims), then X / s, or X * Reciprocal(s) or
// X * Div(1, s) (torch's rsqrt), then an optional constant Mul (the weight), either side.
std::optional<RmsNormMatch> match_rms_norm(const ir::Graph& g, const Matcher& m, size_t sqrt) {
  const ir::Node& sq = m.at(sqrt);
  const auto add_eps = sq.inputs.size() == 1 ? m.node(sq.inputs[0], "Add") : std::nullopt;
  const auto mean_eps = add_eps ? mean_plus_epsilon(m, *add_eps) : std::nullopt;
  if (!mean_eps) return std::nullopt;
  RmsNormMatch r;
  const std::optional<size_t> mean = mean_eps->first;
  r.epsilon = mean_eps->second;
  const std::string& squared = m.at(*mean).inputs.at(0);
  std::optional<size_t> square = m.node(squared, "Pow");
  if (square) {
    const ir::Node& p = m.at(*square);
    if (p.inputs.size() != 2 || m.scalar(p.inputs[1]) != 2.0) return std::nullopt;
    r.x = p.inputs[0];
  } else if ((square = m.node(squared, "Mul"))) {
    const ir::Node& p = m.at(*square);
    if (p.inputs.size() != 2 || p.inputs[0] != p.inputs[1]) return std::nullopt;
    r.x = p.inputs[0];
  }
  const Shape* xs = r.x.empty() ? nullptr : m.shape(r.x);
  if (!xs || !m.is_float(r.x)) return std::nullopt;
  const auto axis = trailing_mean_axis(g, m.at(*mean), xs->size());
  if (!axis) return std::nullopt;
  r.axis = *axis;
  r.nodes = {*square, *mean, *add_eps, sqrt};
  const std::string& s = sq.outputs[0];
  std::string y;
  if (const auto div = sole_reader_of_type(m, s, "Div");
      div && m.at(*div).inputs == std::vector<std::string>{r.x, s}) {
    r.nodes.push_back(*div);
    y = m.at(*div).outputs[0];
  } else {
    auto inverse = sole_reader_of_type(m, s, "Reciprocal");
    if (!inverse && (inverse = sole_reader_of_type(m, s, "Div")))
      if (m.at(*inverse).inputs.size() != 2 || m.at(*inverse).inputs[1] != s ||
          m.scalar(m.at(*inverse).inputs[0]) != 1.0)
        inverse.reset();
    if (!inverse) return std::nullopt;
    const std::string& inv = m.at(*inverse).outputs[0];
    const auto times = sole_reader_of_type(m, inv, "Mul");
    if (!times || Matcher::other(m.at(*times), inv) != r.x) return std::nullopt;
    r.nodes.push_back(*inverse);
    r.nodes.push_back(*times);
    y = m.at(*times).outputs[0];
  }
  if (!m.shape(y) || *m.shape(y) != *xs) return std::nullopt;
  const Shape normalized(xs->begin() + r.axis, xs->end());
  if (const auto w = sole_reader_of_type(m, y, "Mul")) {
    const auto operand = Matcher::other(m.at(*w), y);
    if (auto value = operand ? affine_operand(g, *operand, normalized) : std::nullopt) {
      r.scale = std::move(value);
      r.nodes.push_back(*w);
    }
  }
  return r;
}

struct GeluMatch {
  std::vector<size_t> nodes;
  std::string x;
};

// The tail both GELU forms share, after t = erf(x / sqrt 2) or tanh(sqrt(2/pi) (x + k x^3)):
// Add 1 (either side); then Mul by x and Mul by 0.5, or Mul by Mul(x, 0.5). Appends its
// nodes to r.nodes; r.x is set.
bool match_gelu_tail(const Matcher& m, const std::string& t, GeluMatch& r) {
  const auto plus = m.sole_reader(t);
  if (!plus || m.at(*plus).op_type != "Add") return false;
  const auto one = Matcher::other(m.at(*plus), t);
  if (!one || m.scalar(*one) != 1.0) return false;
  const auto times = m.sole_reader(m.at(*plus).outputs[0]);
  if (!times || m.at(*times).op_type != "Mul") return false;
  const auto factor = Matcher::other(m.at(*times), m.at(*plus).outputs[0]);
  if (!factor) return false;
  r.nodes.push_back(*plus);
  auto is_half = [&](const ir::Node& n, const std::string& v) {
    const auto o = Matcher::other(n, v);
    return n.op_type == "Mul" && o && m.scalar(*o) == 0.5;
  };
  if (*factor == r.x) {  // (x * (1 + t)) * 0.5
    const auto half = m.sole_reader(m.at(*times).outputs[0]);
    if (!half || !is_half(m.at(*half), m.at(*times).outputs[0])) return false;
    r.nodes.push_back(*times);
    r.nodes.push_back(*half);
  } else {  // (x * 0.5) * (1 + t)
    const auto half = m.node(*factor, "Mul");
    if (!half || !is_half(m.at(*half), r.x)) return false;
    r.nodes.push_back(*half);
    r.nodes.push_back(*times);
  }
  // The result must have x's shape (no broadcast hidden in the pattern).
  const Shape* xs = m.shape(r.x);
  const Shape* ys = m.shape(m.at(r.nodes.back()).outputs[0]);
  return xs && ys && *xs == *ys;
}

// 0.5 * x * (1 + erf(x / sqrt(2))) in the orders exporters write it: Erf of Div(x, sqrt 2)
// or Mul(x, 1/sqrt 2), then the tail above.
std::optional<GeluMatch> match_gelu(const Matcher& m, size_t erf) {
  const ir::Node& e = m.at(erf);
  if (e.inputs.size() != 1) return std::nullopt;
  GeluMatch r;
  std::optional<size_t> scaled = m.node(e.inputs[0], "Div");
  if (scaled && m.at(*scaled).inputs.size() == 2 &&
      near(m.scalar(m.at(*scaled).inputs[1]).value_or(0), std::sqrt(2.0))) {
    r.x = m.at(*scaled).inputs[0];
  } else if ((scaled = m.node(e.inputs[0], "Mul"))) {
    const ir::Node& s = m.at(*scaled);
    for (size_t i : {0, 1})
      if (s.inputs.size() == 2 && near(m.scalar(s.inputs[1 - i]).value_or(0), std::sqrt(0.5)))
        r.x = s.inputs[i];
  }
  if (r.x.empty() || !m.is_float(r.x)) return std::nullopt;
  r.nodes = {*scaled, erf};
  if (!match_gelu_tail(m, e.outputs[0], r)) return std::nullopt;
  return r;
}

// The input of a Mul by a one-element constant near `factor` (either side) producing
// `value`, owned by the pattern; appends the Mul to `nodes`.
std::optional<std::string> times_constant(const Matcher& m, const std::string& value, double factor,
                                          std::vector<size_t>& nodes) {
  const auto mul = m.node(value, "Mul");
  if (!mul || m.at(*mul).inputs.size() != 2) return std::nullopt;
  const ir::Node& n = m.at(*mul);
  for (size_t i : {0, 1})
    if (near(m.scalar(n.inputs[1 - i]).value_or(0), factor)) {
      nodes.push_back(*mul);
      return n.inputs[i];
    }
  return std::nullopt;
}

// x^3 written as Pow(x, 3), Mul(x, Mul(x, x)) or Mul(Mul(x, x), x); appends its nodes.
bool is_cube_of(const Matcher& m, const std::string& cube, const std::string& x,
                std::vector<size_t>& nodes) {
  if (const auto pow = m.node(cube, "Pow")) {
    const ir::Node& p = m.at(*pow);
    if (p.inputs.size() != 2 || p.inputs[0] != x || m.scalar(p.inputs[1]) != 3.0) return false;
    nodes.push_back(*pow);
    return true;
  }
  const auto mul = m.node(cube, "Mul");
  if (!mul || m.at(*mul).inputs.size() != 2) return false;
  const auto square = Matcher::other(m.at(*mul), x);
  const auto sq = square ? m.node(*square, "Mul") : std::nullopt;
  if (!sq || m.at(*sq).inputs.size() != 2 || m.at(*sq).inputs[0] != x || m.at(*sq).inputs[1] != x)
    return false;
  nodes.push_back(*sq);
  nodes.push_back(*mul);
  return true;
}

// GELU's tanh approximation as GPT-2 and BERT-style code write it (Hendrycks and Gimpel,
// 2016): 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))), either side of each Add
// and Mul, then the tail above; it becomes Gelu with approximate = "tanh".
std::optional<GeluMatch> match_gelu_tanh(const Matcher& m, size_t tanh) {
  const ir::Node& t = m.at(tanh);
  if (t.inputs.size() != 1) return std::nullopt;
  GeluMatch r;
  const auto inner = times_constant(m, t.inputs[0], std::sqrt(2.0 / M_PI), r.nodes);
  const auto add = inner ? m.node(*inner, "Add") : std::nullopt;
  if (!add || m.at(*add).inputs.size() != 2) return std::nullopt;
  for (size_t i : {0, 1}) {
    GeluMatch tried = r;
    tried.x = m.at(*add).inputs[i];
    const auto cube = times_constant(m, m.at(*add).inputs[1 - i], 0.044715, tried.nodes);
    if (cube && is_cube_of(m, *cube, tried.x, tried.nodes)) {
      r = std::move(tried);
      break;
    }
  }
  if (r.x.empty() || !m.is_float(r.x)) return std::nullopt;
  r.nodes.push_back(*add);
  r.nodes.push_back(tanh);
  if (!match_gelu_tail(m, t.outputs[0], r)) return std::nullopt;
  return r;
}

// `v` equals `want` up to float32 rounding (1/6 as a float).
bool float32_equal(double v, double want) {
  return std::fabs(v - want) <= 1e-6 * std::fabs(want);
}

// A one-element constant equal to `want` up to float32 rounding.
bool scalar_is(const Matcher& m, const std::string& value, double want) {
  const auto v = m.scalar(value);
  return v && float32_equal(*v, want);
}

// The other input of node `k` when it divides by 6 (Div by 6, Mul by 1/6 either side).
std::optional<std::string> sixth_of(const Matcher& m, size_t k) {
  const ir::Node& n = m.at(k);
  if (n.inputs.size() != 2 || n.outputs.size() != 1 || !is_onnx_domain(n)) return std::nullopt;
  if (n.op_type == "Div")
    return scalar_is(m, n.inputs[1], 6.0) ? std::optional<std::string>(n.inputs[0]) : std::nullopt;
  if (n.op_type != "Mul") return std::nullopt;
  for (size_t i : {0, 1})
    if (scalar_is(m, n.inputs[1 - i], 1.0 / 6.0)) return n.inputs[i];
  return std::nullopt;
}

struct HardSwishMatch {
  std::vector<size_t> nodes;
  std::string x;
};

// The gate g(x) = clip(x + 3, 0, 6) / 6 or hardsigmoid(x, 1/6, 1/2) that starts at node
// `gate` (a Clip or a HardSigmoid); r.x is set. The division by 6 after the Clip may also
// come after the product by x (the caller looks for it there).
bool match_hard_swish_gate(const ir::Graph& g, const Matcher& m, size_t gate, HardSwishMatch& r) {
  const ir::Node& n = m.at(gate);
  if (n.op_type == "HardSigmoid") {
    if (n.inputs.size() != 1 || !float32_equal(n.attr_float("alpha", 0.2f), 1.0 / 6.0) ||
        n.attr_float("beta", 0.5f) != 0.5f)
      return false;
    r.x = n.inputs[0];
    r.nodes.push_back(gate);
    return true;
  }
  if (n.inputs.empty() || clip_bound(g, n, 1, "min", -1.0f) != 0.0f ||
      clip_bound(g, n, 2, "max", -1.0f) != 6.0f)
    return false;
  const auto add = m.node(n.inputs[0], "Add");
  if (!add) return false;
  for (size_t i : {0, 1}) {
    const ir::Node& a = m.at(*add);
    if (a.inputs.size() == 2 && scalar_is(m, a.inputs[1 - i], 3.0)) {
      r.x = a.inputs[i];
      r.nodes = {*add, gate};
      return true;
    }
  }
  return false;
}

// HardSwish as exporters write it before opset 14: x * clip(x + 3, 0, 6) / 6 with the
// division by 6 (or product by 1/6) before or after the product by x, any operand order
// (PaddleOCR's PP-LCNet through paddle2onnx, torch's older hardswish), or x *
// hardsigmoid(x, 1/6, 1/2) (torch.onnx before opset 14).
std::optional<HardSwishMatch> match_hard_swish(const ir::Graph& g, const Matcher& m, size_t gate) {
  HardSwishMatch r;
  if (!match_hard_swish_gate(g, m, gate, r) || !m.is_float(r.x)) return std::nullopt;
  std::string t = m.at(gate).outputs[0];
  const bool clip = m.at(gate).op_type == "Clip";
  bool divided = !clip;
  if (clip) {  // clip / 6 first, then x times it
    const auto reader = m.sole_reader(t);
    if (reader && sixth_of(m, *reader) == t) {
      r.nodes.push_back(*reader);
      t = m.at(*reader).outputs[0];
      divided = true;
    }
  }
  const auto times = sole_reader_of_type(m, t, "Mul");
  if (!times || Matcher::other(m.at(*times), t) != r.x) return std::nullopt;
  r.nodes.push_back(*times);
  std::string y = m.at(*times).outputs[0];
  if (!divided) {  // (x * clip) / 6
    const auto after = m.sole_reader(y);
    if (!after || sixth_of(m, *after) != y) return std::nullopt;
    r.nodes.push_back(*after);
    y = m.at(*after).outputs[0];
  }
  const Shape* xs = m.shape(r.x);
  const Shape* ys = m.shape(y);
  if (!xs || !ys || *xs != *ys) return std::nullopt;
  return r;
}

// Replaces the matched nodes by `fused`, placed where the pattern's last node was (all
// its inputs are computed before that point).
void replace(ir::Graph& g, const std::vector<size_t>& nodes, ir::Node fused,
             std::vector<bool>& dead) {
  size_t last = nodes.front();
  for (size_t k : nodes) last = std::max(last, k);
  fused.outputs = g.nodes[last].outputs;
  for (size_t k : nodes) dead[k] = true;
  dead[last] = false;
  g.nodes[last] = std::move(fused);
}

bool overlaps(const std::vector<size_t>& nodes, const std::vector<bool>& dead) {
  for (size_t k : nodes)
    if (dead[k]) return true;
  return false;
}

std::string fresh_name(const ir::Graph& g, const std::string& base) {
  std::string name = base;
  for (int i = 1; g.initializers.count(name); ++i) name = base + "_" + std::to_string(i);
  return name;
}

// One match: the nodes it replaces, the node replacing them, the report's line.
struct Rewrite {
  std::vector<size_t> nodes;
  ir::Node fused;
  std::string line;
  // Nodes of the pattern rewritten where they stand instead of removed (each placed before
  // the fused node, its inputs computed before it).
  std::vector<std::pair<size_t, ir::Node>> in_place = {};
};

// The frame of every pass here: `match(g, m, info, k)` tries each ONNX-domain node k of
// the `anchors`' types, anchor by anchor in the order given (the first has priority: a
// LayerNorm's Div before the RMS norm's Sqrt inside it); matches overlapping an earlier one
// are skipped; then all are replaced. One shape inference serves every anchor.
template <typename Match>
ir::Graph rewrite_patterns(const ir::Graph& in, const ops::InferOptions& options,
                           std::initializer_list<const char*> anchors, PassReport& report,
                           Match match) {
  report.changes = 0;
  auto is_anchor = [](const ir::Node& n, const char* anchor) {
    return n.op_type == anchor && is_onnx_domain(n);
  };
  const bool any = std::any_of(in.nodes.begin(), in.nodes.end(), [&](const ir::Node& n) {
    return std::any_of(anchors.begin(), anchors.end(),
                       [&](const char* a) { return is_anchor(n, a); });
  });
  if (!any) return in;  // no shape inference over a graph without a candidate
  ir::Graph g = in;
  const ops::GraphInfo info = ops::infer_graph(g, options);
  const Uses uses(g);
  const Matcher m(g, uses, info);
  std::vector<bool> taken(g.nodes.size(), false);
  std::vector<Rewrite> rewrites;
  for (const char* anchor : anchors)
    for (size_t k = 0; k < g.nodes.size(); ++k) {
      if (!is_anchor(g.nodes[k], anchor)) continue;
      std::optional<Rewrite> r = match(g, m, info, k);
      if (!r || overlaps(r->nodes, taken)) continue;
      for (size_t j : r->nodes) taken[j] = true;
      report.nodes.push_back(r->line);
      rewrites.push_back(std::move(*r));
    }
  std::vector<bool> dead(g.nodes.size(), false);
  for (Rewrite& r : rewrites) {
    replace(g, r.nodes, std::move(r.fused), dead);
    for (auto& [k, n] : r.in_place) {
      g.nodes[k] = std::move(n);
      dead[k] = false;
    }
  }
  report.changes = static_cast<int64_t>(rewrites.size());
  erase_nodes(g, dead);
  prune_values(g);
  return g;
}

// Where(condition, scores, fill) (or the fill first and the condition negated): the same as
// adding 0 where the scores are kept and `fill` elsewhere, once the Softmax has made both
// exp(...) of the masked entries 0. That holds whenever the fill is at least 104 below the
// kept scores' maximum (minus the masked score), and a fill of -10000 (older Hugging Face
// GPT-2), -1e9 or the float32 minimum (torch's masked_fill idiom) is far below any score a
// trained network produces. A constant condition (GPT-2's causal mask) becomes a constant
// float mask; one computed at run time (DistilBERT's `(mask == 0).view(...).expand_as(s)`)
// becomes a Where of the condition before its Expand, 0 and the fill: a small float mask
// that the Attention kernel broadcasts.
struct WhereMask {
  std::string condition;
  double fill = 0.0;
  bool keep_if_true = true;  // the scores are Where's second input
  size_t node = 0;           // the Where
};
constexpr double kLowestFill = -1e4;

// Swin's shifted windows: the scores [N*nW, heads, Tq, Tk] (after their bias) reshaped to
// split a leading dimension ([N, nW, heads, Tq, Tk]), plus a constant mask there, reshaped
// back. Fused, Q, K and V are reshaped to the split leading dimensions (views), the bias
// and the mask folded into one constant there, and the result reshaped back.
struct WindowSplit {
  std::vector<int64_t> split;  // the first Reshape's constant target (no 0s)
  std::vector<int64_t> back;   // the second's, its last entry then V's last dimension
  Tensor mask;                 // bias + mask, broadcastable to the split scores
};

struct AttentionMatch {
  std::vector<size_t> nodes;       // the pattern's nodes, the second MatMul last
  std::string q, k, v, mask;       // mask empty when there is none
  std::optional<WhereMask> where;  // a mask given by Where (becomes `mask` when fused)
  std::optional<WindowSplit> window;
  bool k_transposed = true;  // k is Kᵀ (no Transpose absorbed)
  double scale = 1.0;
};

// A Mul by a one-element constant (either side) or a Div by one (divisor second) producing
// `value`, owned by the pattern: folds its factor into `scale` and returns its other input.
std::optional<std::string> strip_scale(const Matcher& m, const std::string& value,
                                       std::vector<size_t>& nodes, double& scale) {
  if (const auto mul = m.node(value, "Mul")) {
    const ir::Node& n = m.at(*mul);
    for (size_t i : {0, 1}) {
      const auto c = n.inputs.size() == 2 ? m.scalar(n.inputs[1 - i]) : std::nullopt;
      if (!c) continue;
      scale *= *c;
      nodes.push_back(*mul);
      return n.inputs[i];
    }
  } else if (const auto div = m.node(value, "Div")) {
    const ir::Node& n = m.at(*div);
    const auto c = n.inputs.size() == 2 ? m.scalar(n.inputs[1]) : std::nullopt;
    if (c && *c != 0.0) {
      scale /= *c;
      nodes.push_back(*div);
      return n.inputs[0];
    }
  }
  return std::nullopt;
}

// scale * Q Kᵀ: an optional scale, the MatMul, an optional scale of Q and an optional
// Transpose of K that swaps the last two axes.
bool match_product(const Matcher& m, std::string s, AttentionMatch& r) {
  if (const auto unscaled = strip_scale(m, s, r.nodes, r.scale)) s = *unscaled;
  const auto mm = m.node(s, "MatMul");
  if (!mm || m.at(*mm).inputs.size() != 2) return false;
  r.nodes.push_back(*mm);
  r.q = m.at(*mm).inputs[0];
  r.k = m.at(*mm).inputs[1];
  // Q and Kᵀ may each carry a factor (torch's scaled_dot_product_attention export scales
  // both by sqrt(scale)).
  if (const auto unscaled = strip_scale(m, r.q, r.nodes, r.scale)) r.q = *unscaled;
  if (const auto unscaled = strip_scale(m, r.k, r.nodes, r.scale)) r.k = *unscaled;
  const Shape* kt = m.shape(r.k);
  if (const auto t = m.node(r.k, "Transpose"); t && kt && kt->size() >= 2) {
    std::vector<int64_t> swap(kt->size());
    for (size_t i = 0; i < swap.size(); ++i) swap[i] = static_cast<int64_t>(i);
    std::swap(swap[swap.size() - 1], swap[swap.size() - 2]);
    if (m.at(*t).attr_ints("perm") == swap) {
      r.nodes.push_back(*t);
      r.k = m.at(*t).inputs.at(0);
      r.k_transposed = false;
    }
  }
  return true;
}

// The product masked by Where with a boolean condition and a low fill (WhereMask); an
// Expand of the condition read only there is absorbed (the mask broadcasts instead).
bool match_where_mask(const Matcher& m, size_t where, AttentionMatch& r) {
  const ir::Node& w = m.at(where);
  if (w.inputs.size() != 3 || m.dtype(w.inputs[0]) != DType::kBool) return false;
  for (size_t i : {1, 2}) {
    const auto fill = m.scalar(w.inputs[3 - i]);
    if (!fill || !(*fill <= kLowestFill)) continue;
    AttentionMatch tried = r;
    tried.nodes.push_back(where);
    if (!match_product(m, w.inputs[i], tried)) continue;
    // Where must not broadcast the scores to a larger shape.
    const Shape *scores = m.shape(w.inputs[i]), *out = m.shape(w.outputs[0]);
    if (!scores || !out || *scores != *out) continue;
    std::string condition = w.inputs[0];
    if (const auto expand = m.node(condition, "Expand")) {
      tried.nodes.push_back(*expand);
      condition = m.at(*expand).inputs.at(0);
    }
    tried.where = WhereMask{condition, *fill, i == 1, where};
    r = std::move(tried);
    return true;
  }
  return false;
}

bool match_scores(const Matcher& m, const std::string& s, AttentionMatch& r);

// How the leading dimensions `split` (a Reshape's result) group those of `whole`: for each
// dimension of `whole`, the number of consecutive dimensions of `split` whose product it is
// (1s at the end of `split` join the last group); nullopt when no such grouping exists.
std::optional<std::vector<size_t>> split_groups(const Shape& whole, const Shape& split) {
  std::vector<size_t> groups;
  size_t j = 0;
  for (int64_t d : whole) {
    size_t n = 0;
    for (int64_t p = 1; p < d && j < split.size(); ++n) p *= split[j++];
    groups.push_back(n);
  }
  while (j < split.size() && split[j] == 1 && !groups.empty()) ++groups.back(), ++j;
  if (j != split.size()) return std::nullopt;
  for (size_t i = 0, at = 0; i < whole.size(); at += groups[i], ++i) {
    int64_t p = 1;
    for (size_t k = at; k < at + groups[i]; ++k) p *= split[k];
    if (p != whole[i]) return std::nullopt;
  }
  return groups;
}

// `bias` (broadcasting to the scores `whole`) placed in the split space and added to
// `mask` (broadcasting to `split`): the one constant the fused node adds; nullopt when a
// grouping is missing or the sum would depend on a dimension the split leaves free (-1,
// the batch).
std::optional<Tensor> fold_window_mask(const Tensor* bias, const Tensor& mask, const Shape& whole,
                                       const Shape& split, const std::vector<int64_t>& target) {
  const size_t lead = whole.size() - 2;
  const auto groups =
      split_groups(Shape(whole.begin(), whole.end() - 2), Shape(split.begin(), split.end() - 2));
  if (!groups) return std::nullopt;
  Shape bias_split;  // the bias's shape in the split space
  if (bias) {
    Shape b = bias->shape();
    if (b.size() > whole.size()) return std::nullopt;
    b.insert(b.begin(), whole.size() - b.size(), 1);
    for (size_t i = 0, at = 0; i < lead; at += (*groups)[i], ++i)
      for (size_t k = at; k < at + (*groups)[i]; ++k)
        bias_split.push_back(b[i] == 1 ? 1 : split[k]);
    bias_split.push_back(b[lead]);
    bias_split.push_back(b[lead + 1]);
  }
  Shape out(split.size(), 1), m = mask.shape();
  if (m.size() > split.size()) return std::nullopt;
  m.insert(m.begin(), split.size() - m.size(), 1);
  for (size_t i = 0; i < split.size(); ++i) {
    out[i] = std::max(m[i], bias ? bias_split[i] : 1);
    if (out[i] != 1 && target[i] == -1) return std::nullopt;
  }
  Tensor sum(DType::kF32, out), part(DType::kF32, out);
  ops::elementwise::broadcast_copy<float>(mask, sum);
  if (bias) {
    ops::elementwise::broadcast_copy<float>(bias->clone().reshaped(bias_split), part);
    for (int64_t i = 0; i < sum.numel(); ++i) sum.data<float>()[i] += part.data<float>()[i];
  }
  return sum;
}

// The scores split by a Reshape, plus a constant mask, and reshaped back by `back` (the
// node producing the Softmax's input): WindowSplit.
bool match_window(const Matcher& m, size_t back, AttentionMatch& r) {
  const ir::Node& r2 = m.at(back);
  const Tensor* back_target = r2.inputs.size() == 2 ? m.constant(r2.inputs[1]) : nullptr;
  const auto add = r2.inputs.empty() ? std::nullopt : m.node(r2.inputs[0], "Add");
  if (!back_target || !add || m.at(*add).inputs.size() != 2) return false;
  for (size_t i : {0, 1}) {
    const ir::Node& a = m.at(*add);
    const auto r1 = m.node(a.inputs[i], "Reshape");
    const Tensor* mask = m.constant(a.inputs[1 - i]);
    if (!r1 || !mask || mask->dtype() != DType::kF32 || m.at(*r1).inputs.size() != 2) continue;
    const Tensor* split_target = m.constant(m.at(*r1).inputs[1]);
    const std::string& scores = m.at(*r1).inputs[0];
    const Shape *whole = m.shape(scores), *split = m.shape(a.inputs[i]),
                *summed = m.shape(a.outputs[0]), *out = m.shape(r2.outputs[0]);
    if (!split_target || !whole || !split || !summed || !out || *summed != *split ||
        *out != *whole || whole->size() < 2 || split->size() < 2 ||
        !std::equal(whole->end() - 2, whole->end(), split->end() - 2))
      continue;
    const std::vector<int64_t> target = split_target->to_int64(), back_to = back_target->to_int64();
    auto has_zero = [](const std::vector<int64_t>& v) {
      return std::find(v.begin(), v.end(), 0) != v.end();
    };
    if (target.size() != split->size() || back_to.size() != whole->size() || has_zero(target) ||
        has_zero(back_to))
      continue;
    AttentionMatch tried = r;
    tried.nodes.insert(tried.nodes.end(), {back, *add, *r1});
    if (!match_scores(m, scores, tried) || tried.where || tried.window) continue;
    const Tensor* bias = tried.mask.empty() ? nullptr : m.constant(tried.mask);
    if (!tried.mask.empty() && !bias) continue;
    auto folded = fold_window_mask(bias, *mask, *whole, *split, target);
    if (!folded) continue;
    tried.mask.clear();
    tried.window = WindowSplit{target, back_to, std::move(*folded)};
    r = std::move(tried);
    return true;
  }
  return false;
}

// The scores feeding the Softmax: the product, the product plus a mask (either side of
// the Add), the product masked by Where (WhereMask), or split into windows (WindowSplit).
bool match_scores(const Matcher& m, const std::string& s, AttentionMatch& r) {
  if (const auto where = m.node(s, "Where")) return match_where_mask(m, *where, r);
  if (const auto back = m.node(s, "Reshape")) return match_window(m, *back, r);
  const auto add = m.node(s, "Add");
  if (!add) return match_product(m, s, r);
  const ir::Node& a = m.at(*add);
  if (a.inputs.size() != 2 || a.inputs[0] == a.inputs[1]) return false;
  for (size_t i : {0, 1}) {
    AttentionMatch tried = r;
    tried.nodes.push_back(*add);
    tried.mask = a.inputs[1 - i];
    if (match_product(m, a.inputs[i], tried)) {
      r = std::move(tried);
      return true;
    }
  }
  return false;
}

// Q, K, V float32 of one rank with the same leading dimensions (the op's contract; the
// MatMuls checked the rest), a float32 mask, and `out` (the result) of Attention's shape.
bool attention_operands_fit(const Matcher& m, const AttentionMatch& r, const std::string& out) {
  const Shape *q = m.shape(r.q), *k = m.shape(r.k), *v = m.shape(r.v);
  if (!q || !k || !v || q->size() < 2 || k->size() != q->size() || v->size() != q->size())
    return false;
  if (!std::equal(q->begin(), q->end() - 2, k->begin()) ||
      !std::equal(q->begin(), q->end() - 2, v->begin()))
    return false;
  // A broadcast in a scale or the mask would change the result's shape.
  Shape y(q->begin(), q->end() - 1);
  y.push_back(v->back());
  if (m.shape(out) == nullptr || *m.shape(out) != y) return false;
  for (const std::string* x : {&r.q, &r.k, &r.v, &r.mask})
    if (!x->empty() && m.dtype(*x) != DType::kF32) return false;
  return true;
}

// From the Softmax over the last axis: its scores chain before, the MatMul by V after.
std::optional<AttentionMatch> match_attention(const Matcher& m, size_t softmax, int64_t opset) {
  const ir::Node& sm = m.at(softmax);
  const Shape* s = m.shape(sm.inputs.at(0));
  if (!s || s->size() < 2) return std::nullopt;
  const auto rank = static_cast<int64_t>(s->size());
  const int64_t axis = sm.attr_int("axis", opset < 13 ? 1 : -1);
  if (axis != -1 && axis != rank - 1) return std::nullopt;
  const auto pv = m.sole_reader(sm.outputs.at(0));
  if (!pv || m.at(*pv).op_type != "MatMul" || !is_onnx_domain(m.at(*pv)) ||
      m.at(*pv).inputs.size() != 2 || m.at(*pv).inputs[0] != sm.outputs[0])
    return std::nullopt;
  AttentionMatch r;
  if (!match_scores(m, sm.inputs[0], r)) return std::nullopt;
  r.v = m.at(*pv).inputs[1];
  r.nodes.push_back(softmax);
  r.nodes.push_back(*pv);
  if (!attention_operands_fit(m, r, m.at(*pv).outputs.at(0))) return std::nullopt;
  return r;
}

// The float32 mask adding what a constant `where` selects: 0 where the scores are kept, the
// fill elsewhere; a new initializer named after the fused node, made once per condition and
// fill (every layer of a decoder shares one causal mask): `made` remembers them.
using MadeMasks = std::map<std::tuple<std::string, double, bool>, std::string>;
std::string constant_mask(ir::Graph& g, const WhereMask& where, const std::string& node,
                          MadeMasks& made) {
  auto [it, fresh] =
      made.try_emplace(std::make_tuple(where.condition, where.fill, where.keep_if_true));
  if (!fresh) return it->second;
  const Tensor& c = *g.initializer(where.condition);
  Tensor mask(DType::kF32, c.shape());
  for (int64_t i = 0; i < c.numel(); ++i)
    mask.data<float>()[i] =
        c.data<bool>()[i] == where.keep_if_true ? 0.0f : static_cast<float>(where.fill);
  const std::string name = fresh_name(g, node + ".mask");
  g.initializers[name] = std::move(mask);
  return it->second = name;
}

// For a condition computed at run time: Where(condition, 0, fill) (or the other way round),
// to stand where the scores' Where stood; its output is the mask.
ir::Node run_time_mask(ir::Graph& g, const WhereMask& where, const std::string& node) {
  const std::string zero = fresh_name(g, node + ".mask_zero");
  g.initializers[zero] = Tensor::from_vector<float>({}, {0.0f});
  const std::string fill = fresh_name(g, node + ".mask_fill");
  g.initializers[fill] = Tensor::from_vector<float>({}, {static_cast<float>(where.fill)});
  ir::Node n;
  n.name = g.unique_name(node + ".mask");
  n.op_type = "Where";
  n.inputs = {where.condition, where.keep_if_true ? zero : fill, where.keep_if_true ? fill : zero};
  n.outputs = {n.name};
  return n;
}

}  // namespace

namespace {

// The normalization node `op` (LayerNormalization or RMSNormalization) standing for the
// pattern ending at `last`: axis, epsilon, X and a Scale initializer (the matched constant,
// or ones of the normalized shape).
ir::Node norm_node(ir::Graph& g, const char* op, size_t last, const std::string& x, int64_t axis,
                   double epsilon, const std::optional<Tensor>& scale, DType dtype,
                   const Shape& normalized, const char* suffix) {
  ir::Node n;
  n.name = g.nodes[last].name;
  n.op_type = op;
  n.attrs["axis"] = ir::Attribute{.value = axis};
  n.attrs["epsilon"] = ir::Attribute{.value = static_cast<float>(epsilon)};
  const std::string s = fresh_name(g, n.name + suffix);
  g.initializers[s] = scale
                          ? *scale
                          : tensor_from_doubles(dtype, normalized,
                                                std::vector<double>(shape_numel(normalized), 1.0));
  n.inputs = {x, s};
  return n;
}

}  // namespace

ir::Graph fuse_layer_norm(const ir::Graph& in, const ops::InferOptions& options,
                          PassReport& report) {
  report = {"fuse_layer_norm", 0, {}};
  auto layer_norm = [](ir::Graph& g, const Matcher& m, const ops::GraphInfo& info,
                       size_t k) -> std::optional<Rewrite> {
    auto r = match_layer_norm(g, m, k);
    if (!r) return std::nullopt;
    const Shape& xs = *m.shape(r->x);
    ir::Node ln =
        norm_node(g, "LayerNormalization", r->nodes.back(), r->x, r->axis, r->epsilon, r->scale,
                  info.at(r->x).dtype, Shape(xs.begin() + r->axis, xs.end()), ".ln_scale");
    if (r->bias) {
      const std::string bias = fresh_name(g, ln.name + ".ln_bias");
      g.initializers[bias] = *r->bias;
      ln.inputs.push_back(bias);
    }
    std::string line = std::to_string(r->nodes.size()) + " nodes ending in " + ln.name +
                       " into LayerNormalization";
    return Rewrite{r->nodes, std::move(ln), std::move(line)};
  };
  auto rms_norm = [](ir::Graph& g, const Matcher& m, const ops::GraphInfo& info,
                     size_t k) -> std::optional<Rewrite> {
    auto r = match_rms_norm(g, m, k);
    if (!r) return std::nullopt;
    const Shape& xs = *m.shape(r->x);
    ir::Node rms =
        norm_node(g, "RMSNormalization", r->nodes.back(), r->x, r->axis, r->epsilon, r->scale,
                  info.at(r->x).dtype, Shape(xs.begin() + r->axis, xs.end()), ".rms_scale");
    std::string line =
        std::to_string(r->nodes.size()) + " nodes ending in " + rms.name + " into RMSNormalization";
    return Rewrite{r->nodes, std::move(rms), std::move(line)};
  };
  // The LayerNorms' Divs first: the RMS form (no mean subtracted) would otherwise match
  // their inner chain from the Sqrt.
  return rewrite_patterns(in, options, {"Div", "Sqrt"}, report,
                          [&](ir::Graph& g, const Matcher& m, const ops::GraphInfo& info,
                              size_t k) -> std::optional<Rewrite> {
                            return g.nodes[k].op_type == "Div" ? layer_norm(g, m, info, k)
                                                               : rms_norm(g, m, info, k);
                          });
}

ir::Graph fuse_gelu(const ir::Graph& in, const ops::InferOptions& options, PassReport& report) {
  report = {"fuse_gelu", 0, {}};
  return rewrite_patterns(in, options, {"Erf", "Tanh"}, report,
                          [](ir::Graph& g, const Matcher& m, const ops::GraphInfo&,
                             size_t k) -> std::optional<Rewrite> {
                            const bool tanh = g.nodes[k].op_type == "Tanh";
                            auto r = tanh ? match_gelu_tanh(m, k) : match_gelu(m, k);
                            if (!r) return std::nullopt;
                            ir::Node gelu;
                            gelu.name = g.nodes[r->nodes.back()].name;
                            gelu.op_type = "Gelu";
                            gelu.inputs = {r->x};
                            if (tanh)
                              gelu.attrs["approximate"] =
                                  ir::Attribute{.value = std::string("tanh")};
                            std::string line = gelu.name + " (" + std::to_string(r->nodes.size()) +
                                               " nodes) into Gelu" + (tanh ? " (tanh)" : "");
                            return Rewrite{r->nodes, std::move(gelu), std::move(line)};
                          });
}

ir::Graph fuse_hard_swish(const ir::Graph& in, const ops::InferOptions& options,
                          PassReport& report) {
  report = {"fuse_hard_swish", 0, {}};
  return rewrite_patterns(in, options, {"Clip", "HardSigmoid"}, report,
                          [](ir::Graph& g, const Matcher& m, const ops::GraphInfo&,
                             size_t k) -> std::optional<Rewrite> {
                            auto r = match_hard_swish(g, m, k);
                            if (!r) return std::nullopt;
                            size_t last = r->nodes.front();
                            for (size_t n : r->nodes) last = std::max(last, n);
                            ir::Node hs;
                            hs.name = g.nodes[last].name;
                            hs.op_type = "HardSwish";
                            hs.inputs = {r->x};
                            std::string line = hs.name + " (" + std::to_string(r->nodes.size()) +
                                               " nodes) into HardSwish";
                            return Rewrite{r->nodes, std::move(hs), std::move(line)};
                          });
}

// A Reshape of `x` to `dims` (a new constant), named after `base`.
ir::Node reshape_node(ir::Graph& g, const std::string& base, const std::string& x,
                      const std::vector<int64_t>& dims) {
  ir::Node n;
  n.name = g.unique_name(base);
  n.op_type = "Reshape";
  const std::string target = fresh_name(g, n.name + ".shape");
  g.initializers[target] = Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims);
  n.inputs = {x, target};
  n.outputs = {n.name};
  return n;
}

// WindowSplit fused: Q, K and V reshaped to the split leading dimensions (views), the
// Attention there with the folded mask, and `att` becoming the Reshape back (it keeps the
// pattern's output). The new nodes take the places of the pattern's first nodes (the pass
// sorts the graph afterwards).
std::vector<std::pair<size_t, ir::Node>> split_into_windows(ir::Graph& g, const Matcher& m,
                                                            const AttentionMatch& r,
                                                            ir::Node& att) {
  const WindowSplit& w = *r.window;
  const std::vector<int64_t> lead(w.split.begin(), w.split.end() - 2);
  auto split = [&](const std::string& x, const char* what) {
    std::vector<int64_t> dims = lead;
    const Shape& s = *m.shape(x);
    dims.insert(dims.end(), s.end() - 2, s.end());
    return reshape_node(g, att.name + what, x, dims);
  };
  std::vector<ir::Node> added{split(r.q, ".q_windows"), split(r.k, ".k_windows"),
                              split(r.v, ".v_windows")};
  for (size_t i = 0; i < 3; ++i) att.inputs[i] = added[i].outputs[0];
  const std::string mask = fresh_name(g, att.name + ".mask");
  g.initializers[mask] = w.mask;
  att.inputs.push_back(mask);
  const std::string name = att.name;
  ir::Node windowed = att;
  windowed.name = g.unique_name(name + ".windows");
  windowed.outputs = {windowed.name};
  std::vector<int64_t> back = w.back;
  back.back() = m.shape(r.v)->back();
  att = reshape_node(g, name + ".merge", windowed.name, back);
  att.name = name;
  added.push_back(std::move(windowed));
  std::vector<size_t> places(r.nodes.begin(), r.nodes.end() - 1);  // the last is `att`'s
  std::sort(places.begin(), places.end());
  std::vector<std::pair<size_t, ir::Node>> in_place;
  for (size_t i = 0; i < added.size(); ++i)
    in_place.emplace_back(places.at(i), std::move(added[i]));
  return in_place;
}

ir::Graph fuse_attention(const ir::Graph& in, const ops::InferOptions& options,
                         PassReport& report) {
  report = {"fuse_attention", 0, {}};
  MadeMasks masks;
  bool windows = false;
  auto match = [&masks, &windows](ir::Graph& g, const Matcher& m, const ops::GraphInfo&,
                                  size_t k) -> std::optional<Rewrite> {
    auto r = match_attention(m, k, g.opset(""));
    if (!r) return std::nullopt;
    ir::Node att;
    att.name = g.nodes[r->nodes.back()].name;
    att.op_type = "Attention";
    att.domain = "frugal";
    att.inputs = {r->q, r->k, r->v};
    std::vector<std::pair<size_t, ir::Node>> in_place;
    if (r->where && g.initializer(r->where->condition)) {
      r->mask = constant_mask(g, *r->where, att.name, masks);
    } else if (r->where) {
      in_place.emplace_back(r->where->node, run_time_mask(g, *r->where, att.name));
      r->mask = in_place.back().second.outputs[0];
    }
    if (!r->mask.empty()) att.inputs.push_back(r->mask);
    att.attrs["scale"] = ir::Attribute{.value = static_cast<float>(r->scale)};
    att.attrs["k_transposed"] = ir::Attribute{.value = int64_t{r->k_transposed ? 1 : 0}};
    std::string line = att.name + " (" + std::to_string(r->nodes.size()) + " nodes) into Attention";
    if (r->window) {
      in_place = split_into_windows(g, m, *r, att);
      line += " over windows (bias and mask folded)";
      windows = true;
    }
    return Rewrite{r->nodes, std::move(att), std::move(line), std::move(in_place)};
  };
  ir::Graph g = rewrite_patterns(in, options, {"Softmax"}, report, match);
  if (report.changes) g.opsets.emplace("frugal", 1);
  if (windows) g.validate_and_sort();
  return g;
}

namespace {

// A ReduceMean over every spatial axis (2 and up, at least one) of a float input of known
// rank: a global average pool.
bool spatial_mean(const ir::Graph& g, const ops::GraphInfo& info, const ir::Node& n) {
  if (n.op_type != "ReduceMean" || !is_onnx_domain(n) || n.outputs.size() != 1) return false;
  auto it = info.values.find(n.inputs.at(0));
  if (it == info.values.end() || !it->second.shape || it->second.shape->size() < 3 ||
      (it->second.dtype != DType::kF32 && it->second.dtype != DType::kF64))
    return false;
  const size_t rank = it->second.shape->size();
  const auto axes = mean_axes(g, n, rank);
  return axes && axes->size() == rank - 2 && trailing_axes(*axes, rank);
}

}  // namespace

ir::Graph pool_spatial_means(const ir::Graph& in, const ops::InferOptions& options,
                             PassReport& report) {
  report = {"pool_spatial_means", 0, {}};
  const ops::GraphInfo info = ops::infer_graph(in, options);
  ir::Graph g = in;
  for (size_t k = g.nodes.size(); k-- > 0;) {
    if (!spatial_mean(g, info, g.nodes[k])) continue;
    ir::Node& mean = g.nodes[k];
    const std::string out = mean.outputs[0];
    const bool keepdims = mean.attr_int("keepdims", 1) != 0;
    mean.op_type = "GlobalAveragePool";
    mean.inputs.resize(1);
    mean.attrs.clear();
    report.nodes.push_back(mean.name + " (ReduceMean) into GlobalAveragePool" +
                           (keepdims ? "" : " + Flatten"));
    ++report.changes;
    if (keepdims) continue;
    // GlobalAveragePool keeps the spatial axes as 1s; Flatten(axis 1) drops them.
    ir::Node flatten;
    flatten.name = g.unique_name(mean.name + ".flatten");
    flatten.op_type = "Flatten";
    flatten.attrs["axis"] = ir::Attribute{.value = int64_t{1}};
    flatten.outputs = {out};
    mean.outputs[0] = g.unique_name(out + ".pooled");
    flatten.inputs = {mean.outputs[0]};
    g.nodes.insert(g.nodes.begin() + static_cast<std::ptrdiff_t>(k) + 1, std::move(flatten));
  }
  prune_values(g);  // the axes input of opset 18
  return g;
}

}  // namespace frugal::passes
