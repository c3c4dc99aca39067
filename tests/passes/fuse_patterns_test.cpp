// fuse_layer_norm, fuse_gelu, fuse_attention and pool_spatial_means: the exported
// decompositions become one node each (a spatial mean a pool), the
// rewritten graph computes what the original does (both on ref), and near misses stay.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/error.h"
#include "frugal/passes/fuse_patterns.h"
#include "frugal/runtime/session.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Graph {
  ir::Graph g;
  std::vector<Tensor> feeds;
  explicit Graph(int64_t opset) { g.opsets[""] = opset; }
  std::string input(const std::string& name, const Shape& shape) {
    ir::ValueInfo v{name, DType::kF32, std::vector<ir::Dim>{}};
    for (int64_t d : shape) v.shape->push_back({d, ""});
    g.inputs.push_back(v);
    feeds.push_back(uniform_tensor(shape, 5 + feeds.size(), -3.0f, 4.0f));
    return name;
  }
  std::string constant(const std::string& name, Tensor t) {
    g.initializers[name] = std::move(t);
    return name;
  }
  std::string scalar(const std::string& name, float v) {
    return constant(name, Tensor::from_vector<float>({}, {v}));
  }
  std::string node(const std::string& op, std::vector<std::string> ins, const std::string& out,
                   std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = out + "_node";
    n.op_type = op;
    n.inputs = std::move(ins);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    g.nodes.push_back(std::move(n));
    return out;
  }
  void output(const std::string& name) {
    g.outputs.push_back(ir::ValueInfo{name, DType::kUndefined, std::nullopt});
  }
};

std::vector<Tensor> run_ref(const ir::Graph& g, const std::vector<Tensor>& feeds) {
  runtime::SessionOptions opt;
  opt.optimize = false;
  opt.backends = {"ref"};
  return runtime::Session(g, opt).run(feeds);
}

size_t count_op(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

struct LnForm {
  Shape x;
  std::vector<int64_t> axes;
  bool square_by_mul = false;  // Mul(D, D) instead of Pow(D, 2)
  bool axes_as_input = false;  // ReduceMean-18
  Shape scale;                 // empty: no Mul
  bool bias = false;
  bool eps_first = false;  // Add(eps, var)
};

// The decomposition PyTorch exports for F.layer_norm before opset 17.
Graph layer_norm_graph(const LnForm& f, const std::string& extra_output = "") {
  Graph b(f.axes_as_input ? 18 : 13);
  const std::string x = b.input("x", f.x);
  std::map<std::string, ir::Attribute> a;
  std::vector<std::string> mean_in{x}, var_in{"sq"};
  if (f.axes_as_input) {
    b.constant("axes", Tensor::from_vector<int64_t>({static_cast<int64_t>(f.axes.size())}, f.axes));
    mean_in.push_back("axes");
    var_in.push_back("axes");
  } else {
    a["axes"] = attr(f.axes);
  }
  b.node("ReduceMean", mean_in, "mean", a);
  b.node("Sub", {x, "mean"}, "d");
  if (f.square_by_mul)
    b.node("Mul", {"d", "d"}, "sq");
  else
    b.node("Pow", {"d", b.scalar("two", 2.0f)}, "sq");
  b.node("ReduceMean", var_in, "var", a);
  b.scalar("eps", 1e-5f);
  b.node(
      "Add",
      f.eps_first ? std::vector<std::string>{"eps", "var"} : std::vector<std::string>{"var", "eps"},
      "ve");
  b.node("Sqrt", {"ve"}, "sd");
  std::string y = b.node("Div", {"d", "sd"}, "n");
  if (!f.scale.empty()) y = b.node("Mul", {b.constant("g", random_tensor(f.scale, 3)), y}, "gy");
  if (f.bias) y = b.node("Add", {y, b.constant("beta", random_tensor(f.scale, 4))}, "by");
  b.output(y);
  if (!extra_output.empty()) b.output(extra_output);
  b.g.validate_and_sort();
  return b;
}

ir::Graph fused(const ir::Graph& g, int64_t& changes, bool gelu = false) {
  passes::PassReport r;
  ir::Graph out =
      gelu ? passes::fuse_gelu(g, ops::InferOptions{}, r) : passes::fuse_layer_norm(g, {}, r);
  changes = r.changes;
  return out;
}

void expect_same(const ir::Graph& before, const ir::Graph& after, const std::vector<Tensor>& feeds,
                 const std::string& label) {
  const auto want = run_ref(before, feeds);
  const auto got = run_ref(after, feeds);
  ASSERT_EQ(got.size(), want.size()) << label;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_LE(relative_error(got[i], want[i]), 1e-5) << label << " output " << i;
}

}  // namespace

TEST(FuseLayerNorm, DecompositionsBecomeOneNode) {
  const std::vector<LnForm> forms = {
      {{2, 5, 16}, {-1}, false, false, {16}, true},
      {{2, 5, 16}, {2}, true, false, {}, false},
      {{1, 3, 4, 6}, {-2, -1}, false, true, {4, 6}, true, true},
      {{1, 3, 4, 6}, {3, 2}, false, false, {1, 1, 1, 6}, false},
      {{3, 197, 64}, {-1}, true, true, {1, 64}, true, true},
  };
  for (size_t i = 0; i < forms.size(); ++i) {
    const Graph b = layer_norm_graph(forms[i]);
    int64_t changes = 0;
    const ir::Graph g = fused(b.g, changes);
    const std::string label = "form " + std::to_string(i);
    EXPECT_EQ(changes, 1) << label;
    EXPECT_EQ(g.nodes.size(), 1u) << label;
    EXPECT_EQ(count_op(g, "LayerNormalization"), 1u) << label;
    expect_same(b.g, g, b.feeds, label);
  }
}

TEST(FuseLayerNorm, NearMissesStay) {
  // Leading axis (not trailing), an intermediate that is also a graph output, the two
  // means over different axes, and epsilon known only at run time.
  std::vector<Graph> cases;
  cases.push_back(layer_norm_graph({{2, 5, 16}, {1}}));
  cases.push_back(layer_norm_graph({{2, 5, 16}, {-1}}, "d"));
  Graph diff = layer_norm_graph({{2, 5, 16}, {-1}});
  for (auto& n : diff.g.nodes)
    if (n.outputs[0] == "var") n.attrs["axes"] = attr(std::vector<int64_t>{1, 2});
  cases.push_back(diff);
  Graph eps_input = layer_norm_graph({{2, 5, 16}, {-1}});
  eps_input.g.initializers.erase("eps");
  eps_input.input("eps", {});
  cases.push_back(eps_input);
  for (size_t i = 0; i < cases.size(); ++i) {
    int64_t changes = 0;
    const ir::Graph g = fused(cases[i].g, changes);
    EXPECT_EQ(count_op(g, "LayerNormalization"), 0u) << "case " << i;
    // The inner Div(D, Sqrt(mean(D^2) + eps)) may still become an RMSNormalization of D
    // (the same values) where its axes are trailing and its values its own.
    EXPECT_EQ(changes, static_cast<int64_t>(count_op(g, "RMSNormalization"))) << "case " << i;
    expect_same(cases[i].g, g, cases[i].feeds, "case " + std::to_string(i));
  }
}

namespace {

// T5's / LLaMA's norm as exported: x^2 (`pow`: Pow, else Mul(x, x)), ReduceMean over the
// last `axes` (keepdims), Add eps, Sqrt, then `inverse` 0: Div(x, s); 1: Mul(x,
// Reciprocal(s)); 2: Mul(Div(1, s), x); then a weight Mul when `weight` is not empty.
struct RmsForm {
  Shape x;
  std::vector<int64_t> axes;
  bool pow = true;
  int inverse = 0;
  Shape weight = {};
};

Graph rms_norm_graph(const RmsForm& f, const std::string& extra_output = "") {
  Graph b(17);
  b.input("x", f.x);
  const std::string sq =
      f.pow ? b.node("Pow", {"x", b.scalar("two", 2.0f)}, "sq") : b.node("Mul", {"x", "x"}, "sq");
  b.node("ReduceMean", {sq}, "ms", {{"axes", attr(f.axes)}});
  b.node("Add", {"ms", b.scalar("eps", 1e-6f)}, "mse");
  b.node("Sqrt", {"mse"}, "rms");
  std::string y;
  if (f.inverse == 0) {
    y = b.node("Div", {"x", "rms"}, "n");
  } else if (f.inverse == 1) {
    y = b.node("Mul", {"x", b.node("Reciprocal", {"rms"}, "inv")}, "n");
  } else {
    y = b.node("Mul", {b.node("Div", {b.scalar("one", 1.0f), "rms"}, "inv"), "x"}, "n");
  }
  if (!f.weight.empty()) y = b.node("Mul", {b.constant("w", random_tensor(f.weight, 3)), y}, "wy");
  b.node("Relu", {y}, "out");
  b.output("out");
  if (!extra_output.empty()) b.output(extra_output);
  b.g.validate_and_sort();
  return b;
}

}  // namespace

TEST(FuseRmsNorm, DecompositionsBecomeOneNode) {
  const std::vector<RmsForm> forms = {
      {{2, 5, 16}, {-1}, true, 0, {16}},     {{2, 5, 16}, {2}, false, 1, {}},
      {{3, 7, 32}, {-1}, true, 2, {32}},     {{1, 3, 4, 6}, {-2, -1}, true, 1, {4, 6}},
      {{1, 3, 4, 6}, {3}, false, 2, {1, 6}},
  };
  for (size_t i = 0; i < forms.size(); ++i) {
    const Graph b = rms_norm_graph(forms[i]);
    int64_t changes = 0;
    const ir::Graph g = fused(b.g, changes);
    const std::string label = "form " + std::to_string(i);
    EXPECT_EQ(changes, 1) << label;
    EXPECT_EQ(g.nodes.size(), 2u) << label;
    EXPECT_EQ(count_op(g, "RMSNormalization"), 1u) << label;
    expect_same(b.g, g, b.feeds, label);
  }
  // A LayerNorm is not mistaken for one (its inner chain, from the Sub, looks like one).
  int64_t changes = 0;
  const ir::Graph ln = fused(layer_norm_graph({{2, 5, 16}, {-1}}).g, changes);
  EXPECT_EQ(count_op(ln, "LayerNormalization"), 1u);
  EXPECT_EQ(count_op(ln, "RMSNormalization"), 0u);
}

TEST(FuseRmsNorm, NearMissesStay) {
  std::vector<Graph> cases;
  cases.push_back(rms_norm_graph({{2, 5, 16}, {1}}));          // a leading axis
  cases.push_back(rms_norm_graph({{2, 5, 16}, {-1}}, "rms"));  // an intermediate is an output
  Graph cube = rms_norm_graph({{2, 5, 16}, {-1}});
  cube.g.initializers["two"] = Tensor::from_vector<float>({}, {3.0f});  // x^3
  cases.push_back(cube);
  Graph other = rms_norm_graph({{2, 5, 16}, {-1}, true, 2});
  other.g.initializers["one"] = Tensor::from_vector<float>({}, {2.0f});  // 2 / s
  cases.push_back(other);
  for (size_t i = 0; i < cases.size(); ++i) {
    int64_t changes = 0;
    const ir::Graph g = fused(cases[i].g, changes);
    EXPECT_EQ(count_op(g, "RMSNormalization"), 0u) << "case " << i;
  }
}

// The operator itself (opset 23) against values computed by hand, and a Scale that does not
// broadcast.
TEST(RmsNormOp, ValuesAndBadScale) {
  Graph b(23);
  b.input("x", {2, 2});
  b.feeds[0] = Tensor::from_vector<float>({2, 2}, {3.0f, 4.0f, -1.0f, 1.0f});
  b.node("RMSNormalization", {"x", b.constant("s", Tensor::from_vector<float>({2}, {1.0f, 2.0f}))},
         "y", {{"epsilon", attr(0.0f)}});
  b.output("y");
  b.g.validate_and_sort();
  const Tensor y = run_ref(b.g, b.feeds)[0];
  // rms(3, 4) = sqrt(12.5); rms(-1, 1) = 1.
  const float want[] = {3.0f / std::sqrt(12.5f), 8.0f / std::sqrt(12.5f), -1.0f, 2.0f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6f) << i;
  b.g.initializers["s"] = Tensor::from_vector<float>({3}, {1.0f, 1.0f, 1.0f});
  EXPECT_THROW(run_ref(b.g, b.feeds), UserError);
}

namespace {

// 0.5 * x * (1 + erf(x * c)) in one of its exported orders.
Graph gelu_graph(bool by_div, bool half_first, float one = 1.0f) {
  Graph b(17);
  b.input("x", {2, 9, 12});
  if (by_div)
    b.node("Div", {"x", b.scalar("sqrt2", std::sqrt(2.0f))}, "s");
  else
    b.node("Mul", {b.scalar("rsqrt2", std::sqrt(0.5f)), "x"}, "s");
  b.node("Erf", {"s"}, "e");
  b.node("Add", {"e", b.scalar("one", one)}, "p");
  b.scalar("half", 0.5f);
  if (half_first) {
    b.node("Mul", {"x", "half"}, "h");
    b.node("Mul", {"h", "p"}, "y");
  } else {
    b.node("Mul", {"x", "p"}, "xp");
    b.node("Mul", {"xp", "half"}, "y");
  }
  b.node("Relu", {"y"}, "out");
  b.output("out");
  b.g.validate_and_sort();
  return b;
}

}  // namespace

TEST(FuseGelu, ExportedOrdersBecomeOneNode) {
  for (bool by_div : {true, false})
    for (bool half_first : {true, false}) {
      const Graph b = gelu_graph(by_div, half_first);
      int64_t changes = 0;
      const ir::Graph g = fused(b.g, changes, true);
      const std::string label =
          std::string(by_div ? "div" : "mul") + (half_first ? " half first" : "");
      EXPECT_EQ(changes, 1) << label;
      EXPECT_EQ(count_op(g, "Gelu"), 1u) << label;
      EXPECT_EQ(g.nodes.size(), 2u) << label;
      expect_same(b.g, g, b.feeds, label);
    }
  int64_t changes = 0;
  fused(gelu_graph(true, false, 2.0f).g, changes, true);
  EXPECT_EQ(changes, 0) << "1 + erf replaced by 2 + erf";
}

namespace {

// 0.5 * x * (1 + tanh(sqrt(2/pi) * (x + 0.044715 * x^3))): `cube` 0 Pow, 1 Mul(x, Mul(x, x)),
// 2 Mul(Mul(x, x), x); `swap` writes each Add and Mul with its operands the other way round.
Graph gelu_tanh_graph(int cube, bool swap, bool half_first, float k = 0.044715f) {
  Graph b(17);
  b.input("x", {2, 9, 12});
  auto two = [&](const std::string& op, std::string a, std::string c, const std::string& out) {
    if (swap) std::swap(a, c);
    return b.node(op, {a, c}, out);
  };
  std::string x3;
  if (cube == 0)
    x3 = b.node("Pow", {"x", b.scalar("three", 3.0f)}, "x3");
  else if (cube == 1)
    x3 = b.node("Mul", {"x", b.node("Mul", {"x", "x"}, "x2")}, "x3");
  else
    x3 = b.node("Mul", {b.node("Mul", {"x", "x"}, "x2"), "x"}, "x3");
  const std::string kx3 = two("Mul", b.scalar("k", k), x3, "kx3");
  const std::string inner = two("Add", "x", kx3, "inner");
  const std::string arg = two("Mul", b.scalar("c", 0.7978845608f), inner, "arg");
  const std::string t = b.node("Tanh", {arg}, "t");
  const std::string p = two("Add", b.scalar("one", 1.0f), t, "p");
  b.scalar("half", 0.5f);
  const std::string y = half_first ? two("Mul", two("Mul", "half", "x", "h"), p, "y")
                                   : two("Mul", two("Mul", "x", p, "xp"), "half", "y");
  b.node("Relu", {y}, "out");
  b.output("out");
  b.g.validate_and_sort();
  return b;
}

}  // namespace

// GPT-2's written-out tanh GELU becomes Gelu(approximate = tanh): one node, the same values.
TEST(FuseGelu, TanhFormsBecomeOneNode) {
  for (int cube : {0, 1, 2})
    for (bool swap : {false, true})
      for (bool half_first : {true, false}) {
        const Graph b = gelu_tanh_graph(cube, swap, half_first);
        int64_t changes = 0;
        const ir::Graph g = fused(b.g, changes, true);
        const std::string label = "cube " + std::to_string(cube) + (swap ? " swapped" : "") +
                                  (half_first ? " half first" : "");
        EXPECT_EQ(changes, 1) << label;
        ASSERT_EQ(count_op(g, "Gelu"), 1u) << label;
        EXPECT_EQ(g.nodes.size(), 2u) << label;
        for (const auto& n : g.nodes) {
          if (n.op_type == "Gelu") {
            EXPECT_EQ(n.attr_string("approximate", "none"), "tanh") << label;
          }
        }
        expect_same(b.g, g, b.feeds, label);
      }
  int64_t changes = 0;
  fused(gelu_tanh_graph(0, false, true, 0.05f).g, changes, true);
  EXPECT_EQ(changes, 0) << "0.044715 replaced by 0.05";
  Graph cube_is_output = gelu_tanh_graph(0, false, true);
  cube_is_output.output("x3");
  fused(cube_is_output.g, changes, true);
  EXPECT_EQ(changes, 0) << "x^3 also a graph output";
}

TEST(GeluOp, ValuesAndBadAttribute) {
  Graph b(20);
  b.input("x", {4});
  b.feeds[0] = Tensor::from_vector<float>({4}, {-1.0f, 0.0f, 1.0f, 3.0f});
  b.node("Gelu", {"x"}, "y");
  b.output("y");
  b.g.validate_and_sort();
  const Tensor y = run_ref(b.g, b.feeds)[0];
  const float want[] = {-0.15865525f, 0.0f, 0.84134475f, 2.99595031f};
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(y.data<float>()[i], want[i], 1e-6f) << i;
  b.g.nodes[0].attrs["approximate"] = attr(std::string("tanh"));
  const Tensor t = run_ref(b.g, b.feeds)[0];
  EXPECT_NEAR(t.data<float>()[2], 0.84119199f, 1e-6f);
  b.g.nodes[0].attrs["approximate"] = attr(std::string("fast"));
  EXPECT_THROW(run_ref(b.g, b.feeds), UserError);
}

namespace {

struct AttnForm {
  Shape batch = {2, 3};
  int64_t t = 7, d = 8;
  // 0: the scores scaled by Div; 1: Q scaled by Mul; 2: no scale; 3: Q and Kᵀ each scaled by
  // Mul (torch's scaled_dot_product_attention export).
  int q_scale = 0;
  bool transpose = true;  // K transposed by a Transpose node, else Kᵀ is a graph input
  bool mask = false;      // Add of a [batch0, 1, 1, T] mask before the Softmax
  // Where(causal, scores, fill) before the Softmax (2: Where(not causal, fill, scores));
  // 3: the condition a graph input, not a constant; 4: DistilBERT's padding mask, a
  // [batch0, 1, 1, T] bool input Expanded to the scores' shape, Where(pad, fill, scores).
  int where = 0;
  float fill = -3.4028234663852886e38f;
  int64_t softmax_axis = -1;
  bool probs_output = false;  // the Softmax's output is a graph output too
};

Shape dims(Shape batch, int64_t a, int64_t b) {
  batch.push_back(a);
  batch.push_back(b);
  return batch;
}

// The chain torch exports for an attention block (ViT: Q scaled first; BERT: the scores
// divided, then the padding mask added).
Graph attention_graph(const AttnForm& f) {
  Graph b(17);
  std::string q = b.input("q", dims(f.batch, f.t, f.d));
  const std::string kt = f.transpose
                             ? b.node("Transpose", {b.input("k", dims(f.batch, f.t, f.d))}, "kt",
                                      {{"perm", attr(std::vector<int64_t>{0, 1, 3, 2})}})
                             : b.input("kt", dims(f.batch, f.d, f.t));
  if (f.q_scale == 1) q = b.node("Mul", {q, b.scalar("s", 0.35f)}, "qs");
  std::string k_side = kt;
  if (f.q_scale == 3) {
    q = b.node("Mul", {q, b.scalar("root_s", 0.6f)}, "qs");
    k_side = b.node("Mul", {b.scalar("root_s2", 0.6f), kt}, "kts");
  }
  std::string s = b.node("MatMul", {q, k_side}, "scores");
  if (f.q_scale == 0) s = b.node("Div", {s, b.scalar("sqrt_d", 2.8f)}, "scaled");
  if (f.mask) s = b.node("Add", {b.input("mask", {f.batch[0], 1, 1, f.t}), s}, "masked");
  if (f.where == 4) {
    const Shape pad_shape = {f.batch[0], 1, 1, f.t};
    Tensor pad(DType::kBool, pad_shape);
    for (int64_t i = 0; i < pad.numel(); ++i) pad.data<bool>()[i] = i % f.t >= f.t - 1 - i / f.t;
    ir::ValueInfo v{"pad", DType::kBool, std::vector<ir::Dim>{}};
    for (int64_t d : pad_shape) v.shape->push_back({d, ""});
    b.g.inputs.push_back(v);
    b.feeds.push_back(pad);
    const Shape full = dims(f.batch, f.t, f.t);
    const std::string e =
        b.node("Expand",
               {"pad", b.constant("full", Tensor::from_vector<int64_t>(
                                              {static_cast<int64_t>(full.size())}, full))},
               "pad_full");
    s = b.node("Where", {e, b.scalar("fill", f.fill), s}, "masked");
  } else if (f.where) {
    Tensor causal(DType::kBool, {1, 1, f.t, f.t});
    for (int64_t i = 0; i < f.t * f.t; ++i)
      causal.data<bool>()[i] = (i % f.t <= i / f.t) == (f.where != 2);
    std::string c = "causal";
    if (f.where == 3) {
      b.g.inputs.push_back(ir::ValueInfo{
          c, DType::kBool, std::vector<ir::Dim>{{1, ""}, {1, ""}, {f.t, ""}, {f.t, ""}}});
      b.feeds.push_back(causal);
    } else {
      b.constant(c, causal);
    }
    const std::string fill = b.scalar("fill", f.fill);
    s = b.node(
        "Where",
        f.where == 2 ? std::vector<std::string>{c, fill, s} : std::vector<std::string>{c, s, fill},
        "masked");
  }
  const std::string p = b.node("Softmax", {s}, "probs", {{"axis", attr(f.softmax_axis)}});
  b.output(b.node("MatMul", {p, b.input("v", dims(f.batch, f.t, f.d))}, "y"));
  if (f.probs_output) b.output(p);
  b.g.validate_and_sort();
  return b;
}

ir::Graph attention_fused(const ir::Graph& g, int64_t& changes) {
  passes::PassReport r;
  ir::Graph out = passes::fuse_attention(g, ops::InferOptions{}, r);
  changes = r.changes;
  return out;
}

}  // namespace

TEST(FuseAttention, ExportedChainsBecomeOneNode) {
  std::vector<AttnForm> forms(6);
  forms[1].q_scale = 1;
  forms[2].q_scale = 2;
  forms[3].transpose = false;
  forms[4].mask = true;
  forms[4].softmax_axis = 3;
  forms[5].q_scale = 3;
  for (size_t i = 0; i < forms.size(); ++i) {
    const Graph b = attention_graph(forms[i]);
    int64_t changes = 0;
    const ir::Graph after = attention_fused(b.g, changes);
    EXPECT_EQ(changes, 1) << "form " << i;
    EXPECT_EQ(after.nodes.size(), 1u) << "form " << i;
    EXPECT_EQ(count_op(after, "Attention"), 1u) << "form " << i;
    expect_same(b.g, after, b.feeds, "form " + std::to_string(i));
  }
}

// A mask computed at run time as Where: a padding mask Expanded to the scores
// (DistilBERT) or a full-size condition; the Where is rewritten to make a float mask of the
// condition's own shape (the Expand goes), which the Attention broadcasts.
TEST(FuseAttention, RunTimeWhereMaskBecomesFloatMask) {
  for (int where : {3, 4})
    for (int q_scale : {0, 3}) {
      AttnForm f;
      f.where = where;
      f.q_scale = q_scale;
      const Graph b = attention_graph(f);
      int64_t changes = 0;
      const ir::Graph after = attention_fused(b.g, changes);
      const std::string label =
          "where " + std::to_string(where) + " scale " + std::to_string(q_scale);
      EXPECT_EQ(changes, 1) << label;
      EXPECT_EQ(count_op(after, "Attention"), 1u) << label;
      EXPECT_EQ(count_op(after, "Where"), 1u) << label;
      EXPECT_EQ(count_op(after, "Expand"), 0u) << label;
      EXPECT_EQ(after.nodes.size(), 2u) << label;
      expect_same(b.g, after, b.feeds, label);
    }
}

// A decoder's causal mask as Where (GPT-2): fused with an additive mask made once for all
// the layers that share the condition; the Softmax gives the masked entries 0 either way.
TEST(FuseAttention, WhereCausalMaskBecomesAdditiveMask) {
  for (int where : {1, 2})
    for (float fill : {-3.4028234663852886e38f, -1e4f, -1e9f}) {
      AttnForm f;
      f.where = where;
      f.fill = fill;
      const Graph b = attention_graph(f);
      int64_t changes = 0;
      const ir::Graph after = attention_fused(b.g, changes);
      const std::string label = "where " + std::to_string(where) + " fill " + std::to_string(fill);
      EXPECT_EQ(changes, 1) << label;
      EXPECT_EQ(after.nodes.size(), 1u) << label;
      EXPECT_EQ(count_op(after, "Where"), 0u) << label;
      expect_same(b.g, after, b.feeds, label);
    }
  // Two layers on one condition share one mask.
  AttnForm f;
  f.where = 1;
  Graph two = attention_graph(f);
  const size_t first = two.g.nodes.size();
  for (size_t i = 0; i < first; ++i) {
    ir::Node n = two.g.nodes[i];
    for (auto& in : n.inputs)
      if (in == "scores" || in == "scaled" || in == "masked" || in == "probs" || in == "kt")
        in += "2";
    for (auto& out : n.outputs) out += "2";
    n.name += "2";
    two.g.nodes.push_back(n);
  }
  two.output("y2");
  two.g.validate_and_sort();
  int64_t changes = 0;
  const ir::Graph after = attention_fused(two.g, changes);
  EXPECT_EQ(changes, 2);
  size_t masks = 0;
  for (const auto& [name, t] : after.initializers)
    masks += t.dtype() == DType::kF32 && t.rank() == 4;
  EXPECT_EQ(masks, 1u);
  expect_same(two.g, after, two.feeds, "two layers");
}

TEST(FuseAttention, NearMissesStay) {
  std::vector<AttnForm> forms(4);
  forms[0].softmax_axis = 2;     // over the query axis
  forms[1].probs_output = true;  // the probabilities are needed on their own
  forms[2].where = 1;            // a fill the Softmax does not make 0
  forms[2].fill = -100.0f;
  forms[3].where = 4;
  forms[3].fill = -100.0f;
  for (size_t i = 0; i < forms.size(); ++i) {
    int64_t changes = 0;
    const Graph b = attention_graph(forms[i]);
    attention_fused(b.g, changes);
    EXPECT_EQ(changes, 0) << "form " << i;
  }
}

// An emulator computes attention's MatMuls in its number formats: optimize() keeps them
// for it (keep_attention), and a Session on emu plans no Attention node.
TEST(FuseAttention, KeptUnfusedForAnEmulator) {
  const Graph b = attention_graph(AttnForm{});
  EXPECT_EQ(count_op(passes::optimize(b.g, {}).graph, "Attention"), 1u);
  const passes::Optimized kept = passes::optimize(b.g, {}, true);
  EXPECT_EQ(count_op(kept.graph, "Attention"), 0u);
  EXPECT_EQ(count_op(kept.graph, "MatMul"), 2u);
  runtime::SessionOptions o;
  o.backends = {"emu", "ref"};
  EXPECT_EQ(count_op(runtime::Session(b.g, o).plan().graph, "Attention"), 0u);
}

namespace {

// Swin's shifted-window attention as torchvision exports it: q scaled, q kᵀ over [images x
// windows, heads, T, T], the relative position bias [1, heads, T, T] added, the scores split
// to [images, windows, heads, T, T] by a Reshape (-1 for the images), the window mask [1,
// windows, 1, T, T] added, reshaped back, Softmax, times v.
struct WindowForm {
  int64_t images = 2, windows = 4, heads = 3, t = 9, d = 4;
  bool bias = true;
  Shape mask = {1, 4, 1, 9, 9};
  std::vector<int64_t> split = {-1, 4, 3, 9, 9};
  std::vector<int64_t> back = {-1, 3, 9, 9};
  bool mask_input = false;  // the window mask a graph input, not a constant
};

Graph window_attention_graph(const WindowForm& f) {
  Graph b(17);
  const Shape qkv = {f.images * f.windows, f.heads, f.t, f.d};
  const std::string q = b.node("Mul", {b.input("q", qkv), b.scalar("scale", 0.5f)}, "qs");
  const std::string kt = b.node("Transpose", {b.input("k", qkv)}, "kt",
                                {{"perm", attr(std::vector<int64_t>{0, 1, 3, 2})}});
  std::string s = b.node("MatMul", {q, kt}, "scores");
  if (f.bias)
    s = b.node("Add", {s, b.constant("bias", random_tensor({1, f.heads, f.t, f.t}, 8))}, "biased");
  auto ints = [](const std::vector<int64_t>& v) {
    return Tensor::from_vector<int64_t>({static_cast<int64_t>(v.size())}, v);
  };
  s = b.node("Reshape", {s, b.constant("split", ints(f.split))}, "per_window");
  Tensor mask = uniform_tensor(f.mask, 9, 0.0f, 1.0f);
  for (float& x : mask.span<float>()) x = x < 0.4f ? -100.0f : 0.0f;
  s = b.node("Add", {s, f.mask_input ? b.input("mask", f.mask) : b.constant("mask", mask)},
             "masked");
  s = b.node("Reshape", {s, b.constant("back", ints(f.back))}, "flat");
  const std::string p = b.node("Softmax", {s}, "probs", {{"axis", attr(int64_t{-1})}});
  b.output(b.node("MatMul", {p, b.input("v", qkv)}, "y"));
  b.g.validate_and_sort();
  return b;
}

}  // namespace

// The split, the mask and the bias fold into one Attention over the split leading
// dimensions: Q, K, V reshaped there, one constant mask [1, windows, heads, T, T] (or
// without the bias [1, windows, 1, T, T]), the result reshaped back; the same values on ref,
// and on cpu (every node there, the Reshapes views).
TEST(FuseAttention, ShiftedWindowsBecomeOneNode) {
  for (bool bias : {true, false})
    for (int64_t images : {1, 2}) {
      WindowForm f;
      f.bias = bias;
      f.images = images;
      const Graph b = window_attention_graph(f);
      int64_t changes = 0;
      const ir::Graph after = attention_fused(b.g, changes);
      const std::string label =
          std::string(bias ? "bias" : "no bias") + ", images " + std::to_string(images);
      EXPECT_EQ(changes, 1) << label;
      EXPECT_EQ(count_op(after, "Attention"), 1u) << label;
      EXPECT_EQ(count_op(after, "Reshape"), 4u) << label;
      EXPECT_EQ(after.nodes.size(), 5u) << label;
      const ir::Node* att = nullptr;
      for (const auto& n : after.nodes)
        if (n.op_type == "Attention") att = &n;
      ASSERT_NE(att, nullptr);
      ASSERT_EQ(att->inputs.size(), 4u) << label;
      EXPECT_EQ(after.initializer(att->inputs[3])->shape(),
                (Shape{1, f.windows, bias ? f.heads : 1, f.t, f.t}))
          << label;
      expect_same(b.g, after, b.feeds, label);
      expect_graph_on_cpu(b.g, b.feeds, 1e-4, label);
    }
}

// Not folded: a mask that differs per image (it would fix the batch the split leaves free),
// a Reshape target with a 0 (copying a dimension whose meaning changes with the rank), a
// mask known only at run time.
TEST(FuseAttention, WindowNearMissesStay) {
  std::vector<WindowForm> forms(3);
  forms[0].mask = {2, 4, 1, 9, 9};
  forms[1].split = {-1, 4, 3, 0, 9};
  forms[2].mask_input = true;
  for (size_t i = 0; i < forms.size(); ++i) {
    const Graph b = window_attention_graph(forms[i]);
    int64_t changes = 0;
    attention_fused(b.g, changes);
    EXPECT_EQ(changes, 0) << "form " << i;
  }
}

namespace {

struct MeanForm {
  Shape x;
  std::vector<int64_t> axes;
  int64_t keepdims = 1;
  bool axes_as_input = false;  // ReduceMean-18
};

// x -> ReduceMean -> Relu (a reader after the mean, so that a Flatten is not the output's
// producer by accident of the test).
Graph mean_graph(const MeanForm& f) {
  Graph b(f.axes_as_input ? 18 : 13);
  const std::string x = b.input("x", f.x);
  std::map<std::string, ir::Attribute> a{{"keepdims", attr(f.keepdims)}};
  std::vector<std::string> ins{x};
  if (f.axes_as_input)
    ins.push_back(b.constant(
        "axes", Tensor::from_vector<int64_t>({static_cast<int64_t>(f.axes.size())}, f.axes)));
  else if (!f.axes.empty())
    a["axes"] = attr(f.axes);
  b.node("ReduceMean", ins, "mean", a);
  b.output(b.node("Relu", {"mean"}, "y"));
  b.g.validate_and_sort();
  return b;
}

ir::Graph pooled(const ir::Graph& g, int64_t& changes) {
  passes::PassReport r;
  ir::Graph out = passes::pool_spatial_means(g, {}, r);
  changes = r.changes;
  return out;
}

}  // namespace

// x.mean([2, 3]) as torch.onnx writes it (MNASNet's head keeps no axes, timm's
// squeeze-excitation keeps them) becomes GlobalAveragePool (+ Flatten): the same values on
// ref, and on cpu (1 and 2 threads), where ReduceMean has no kernel and the pool runs.
TEST(PoolSpatialMeans, SpatialMeansBecomeGlobalAveragePool) {
  const std::vector<MeanForm> forms = {
      {{2, 24, 7, 7}, {2, 3}, 1},      {{3, 40, 5, 9}, {2, 3}, 0}, {{1, 16, 6, 6}, {-1, -2}, 0},
      {{2, 8, 4, 4}, {3, 2}, 1, true}, {{2, 32, 11}, {2}, 0},      {{1, 8, 3, 4, 5}, {2, 3, 4}, 1}};
  for (size_t i = 0; i < forms.size(); ++i) {
    const std::string label = "form " + std::to_string(i);
    const Graph b = mean_graph(forms[i]);
    int64_t changes = 0;
    ir::Graph after = pooled(b.g, changes);
    EXPECT_EQ(changes, 1) << label;
    EXPECT_EQ(count_op(after, "ReduceMean"), 0u) << label;
    EXPECT_EQ(count_op(after, "GlobalAveragePool"), 1u) << label;
    EXPECT_EQ(count_op(after, "Flatten"), forms[i].keepdims ? 0u : 1u) << label;
    EXPECT_TRUE(after.initializers.empty()) << label << ": the axes constant is pruned";
    after.validate_and_sort();
    expect_same(b.g, after, b.feeds, label);
    for (int threads : {1, 2}) {
      const CpuAndRef r = run_cpu_and_ref(b.g, b.feeds, threads);
      EXPECT_LE(relative_error(r.got[0], r.want[0]), 1e-6) << label << ", " << threads;
      for (const auto& a : r.cpu->assignments()) {
        if (a.op_type == "GlobalAveragePool") {
          EXPECT_EQ(a.backend, "cpu") << label;
        }
      }
    }
  }
}

TEST(PoolSpatialMeans, OtherMeansStay) {
  const std::vector<MeanForm> forms = {{{2, 24, 7, 7}, {1, 2, 3}, 1},  // the channels too
                                       {{2, 24, 7, 7}, {2}, 1},        // one spatial axis of two
                                       {{2, 24, 7, 7}, {3}, 0},
                                       {{2, 24, 7, 7}, {}, 1},  // no axes: all of them
                                       {{2, 24}, {1}, 1}};      // no spatial axis
  for (size_t i = 0; i < forms.size(); ++i) {
    int64_t changes = 0;
    const ir::Graph after = pooled(mean_graph(forms[i]).g, changes);
    EXPECT_EQ(changes, 0) << "form " << i;
    EXPECT_EQ(count_op(after, "ReduceMean"), 1u) << "form " << i;
  }
}

// A squeeze-and-excitation block that squeezes with ReduceMean (timm's export) reaches
// fuse_squeeze_excite through this pass: optimize() makes it one SqueezeExcite node.
TEST(PoolSpatialMeans, MeanSqueezeExcitationIsFused) {
  Graph b(13);
  const std::string x = b.input("x", {2, 16, 6, 6});
  b.node("ReduceMean", {x}, "s",
         {{"axes", attr(std::vector<int64_t>{2, 3})}, {"keepdims", attr(int64_t{1})}});
  b.node("Conv",
         {"s", b.constant("w1", random_tensor({4, 16, 1, 1}, 1)),
          b.constant("b1", random_tensor({4}, 2))},
         "c1");
  b.node("Relu", {"c1"}, "r1");
  b.node("Conv",
         {"r1", b.constant("w2", random_tensor({16, 4, 1, 1}, 3)),
          b.constant("b2", random_tensor({16}, 4))},
         "c2");
  b.node("Sigmoid", {"c2"}, "gate");
  b.output(b.node("Mul", {x, "gate"}, "y"));
  b.g.validate_and_sort();
  const passes::Optimized o = passes::optimize(b.g, {});
  EXPECT_EQ(count_op(o.graph, "SqueezeExcite"), 1u);
  EXPECT_EQ(o.graph.nodes.size(), 1u);
  expect_same(b.g, o.graph, b.feeds, "squeeze-excite");
}

namespace {

// HardSwish written out as exporters do before opset 14. `form`: 0 (x * clip) / 6, 1 (x *
// clip) * (1/6), 2 x * (clip / 6), 3 x * (clip * (1/6)), 4 x * HardSigmoid(x, 1/6, 1/2);
// clip = Clip(x + 3, 0, 6), its bounds attributes before opset 11, inputs from 11. `swap`
// writes every two-operand node the other way round (Div aside). `three`, `six`, `max`
// and `alpha` make near misses.
struct HsForm {
  int form = 0;
  bool swap = false;
  int64_t opset = 11;
  float three = 3.0f, six = 6.0f, max = 6.0f, alpha = 1.0f / 6.0f;
};

Graph hard_swish_graph(const HsForm& f, const std::string& extra_output = "") {
  Graph b(f.opset);
  b.input("x", {2, 5, 6, 7});
  auto two = [&](const std::string& op, std::string a, std::string c, const std::string& out) {
    if (f.swap && op != "Div") std::swap(a, c);
    return b.node(op, {a, c}, out);
  };
  std::string y;
  if (f.form == 4) {
    b.node("HardSigmoid", {"x"}, "gate", {{"alpha", attr(f.alpha)}, {"beta", attr(0.5f)}});
    y = two("Mul", "x", "gate", "y");
  } else {
    const std::string shifted = two("Add", "x", b.scalar("three", f.three), "shifted");
    if (f.opset < 11)
      b.node("Clip", {shifted}, "clip", {{"min", attr(0.0f)}, {"max", attr(f.max)}});
    else
      b.node("Clip", {shifted, b.scalar("lo", 0.0f), b.scalar("hi", f.max)}, "clip");
    b.scalar("six", f.six);
    b.scalar("sixth", 1.0f / f.six);
    if (f.form == 0) y = b.node("Div", {two("Mul", "x", "clip", "xc"), "six"}, "y");
    if (f.form == 1) y = two("Mul", two("Mul", "x", "clip", "xc"), "sixth", "y");
    if (f.form == 2) y = two("Mul", "x", b.node("Div", {"clip", "six"}, "gate"), "y");
    if (f.form == 3) y = two("Mul", "x", two("Mul", "clip", "sixth", "gate"), "y");
  }
  b.output(y);
  if (!extra_output.empty()) b.output(extra_output);
  b.g.validate_and_sort();
  return b;
}

int64_t hard_swish_changes(const Graph& b, ir::Graph* out = nullptr) {
  passes::PassReport r;
  ir::Graph g = passes::fuse_hard_swish(b.g, {}, r);
  if (out) *out = std::move(g);
  return r.changes;
}

}  // namespace

// Each written-out form becomes one HardSwish of x with the same values, whatever the
// operand order and opset (Clip's bounds as attributes or inputs).
TEST(FuseHardSwish, ExportedFormsBecomeOneNode) {
  for (int form = 0; form <= 4; ++form)
    for (bool swap : {false, true})
      for (int64_t opset : {9, 11, 13}) {
        if (form == 4 && opset != 13) continue;
        const Graph b = hard_swish_graph({form, swap, opset});
        ir::Graph g;
        const std::string label = "form " + std::to_string(form) + (swap ? " swapped" : "") +
                                  " opset " + std::to_string(opset);
        EXPECT_EQ(hard_swish_changes(b, &g), 1) << label;
        ASSERT_EQ(g.nodes.size(), 1u) << label;
        EXPECT_EQ(g.nodes[0].op_type, "HardSwish") << label;
        EXPECT_EQ(g.nodes[0].inputs, std::vector<std::string>{"x"}) << label;
        expect_same(b.g, g, b.feeds, label);
      }
  // The result read by two nodes (MobileNetV3's squeeze-excitation input) fuses too.
  Graph b = hard_swish_graph({.form = 0});
  b.node("Relu", {"y"}, "r1");
  b.node("Sigmoid", {"y"}, "r2");
  b.output("r1");
  b.output("r2");
  ir::Graph g;
  EXPECT_EQ(hard_swish_changes(b, &g), 1) << "result read twice";
  expect_same(b.g, g, b.feeds, "result read twice");
}

// Other constants, a gate of another value, or an intermediate someone else reads: no change.
TEST(FuseHardSwish, NearMissesStay) {
  EXPECT_EQ(hard_swish_changes(hard_swish_graph({.form = 0, .three = 2.5f})), 0) << "x + 2.5";
  EXPECT_EQ(hard_swish_changes(hard_swish_graph({.form = 1, .max = 5.0f})), 0) << "clip to 5";
  EXPECT_EQ(hard_swish_changes(hard_swish_graph({.form = 2, .six = 5.0f})), 0) << "/ 5";
  EXPECT_EQ(hard_swish_changes(hard_swish_graph({.form = 4, .opset = 13, .alpha = 0.2f})), 0)
      << "hardsigmoid alpha 0.2";
  EXPECT_EQ(hard_swish_changes(hard_swish_graph({.form = 0}, "clip")), 0) << "clip also read";
  EXPECT_EQ(hard_swish_changes(hard_swish_graph({.form = 2}, "gate")), 0) << "gate also read";
  Graph other(11);  // z * clip(x + 3, 0, 6) / 6: the product is not by x
  other.input("x", {1, 4, 5, 5});
  other.input("z", {1, 4, 5, 5});
  other.node("Add", {"x", other.scalar("three", 3.0f)}, "s");
  other.node("Clip", {"s", other.scalar("lo", 0.0f), other.scalar("hi", 6.0f)}, "c");
  other.node("Div", {other.node("Mul", {"z", "c"}, "zc"), other.scalar("six", 6.0f)}, "y");
  other.output("y");
  EXPECT_EQ(hard_swish_changes(other), 0) << "z * relu6(x + 3) / 6";
}

// PaddleOCR's PP-LCNetV3 block as paddle2onnx writes it: a depthwise Conv, its learnable
// scale and bias (Mul, Add by one-element constants), HardSwish written out, the affine
// block after it, a 1x1 Conv + BatchNormalization and swish as x * sigmoid(1 * x). The
// optimized graph is two Convs (the affine map before the activation folded, HardSwish, the
// affine map after it as a linear post-op, swish) and runs on cpu with the unoptimized
// graph's values on ref.
TEST(FuseHardSwish, PaddleLcnetBlockOnCpu) {
  for (int64_t opset : {9, 11}) {
    Graph b(opset);
    b.input("x", {1, 16, 12, 10});
    b.node("Conv",
           {"x", b.constant("dw", random_tensor({16, 1, 3, 3}, 11)),
            b.constant("dw_b", random_tensor({16}, 12))},
           "c1",
           {{"group", attr(int64_t{16})},
            {"kernel_shape", attr(std::vector<int64_t>{3, 3})},
            {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
    b.node("Mul", {b.constant("s1", Tensor::from_vector<float>({1}, {1.38f})), "c1"}, "m1");
    b.node("Add", {"m1", b.constant("b1", Tensor::from_vector<float>({1}, {0.59f}))}, "x1");
    b.node("Add", {"x1", b.scalar("three", 3.0f)}, "x1p3");
    if (opset < 11)
      b.node("Clip", {"x1p3"}, "clip", {{"min", attr(0.0f)}, {"max", attr(6.0f)}});
    else
      b.node("Clip", {"x1p3", b.scalar("lo", 0.0f), b.scalar("hi", 6.0f)}, "clip");
    b.node("Div", {b.node("Mul", {"x1", "clip"}, "xc"), b.scalar("six", 6.0f)}, "hs");
    b.node("Mul", {b.constant("s2", Tensor::from_vector<float>({1}, {0.17f})), "hs"}, "m2");
    b.node("Add", {"m2", b.constant("b2", Tensor::from_vector<float>({1}, {0.01f}))}, "a2");
    b.node("Conv", {"a2", b.constant("pw", random_tensor({24, 16, 1, 1}, 13))}, "c2");
    const std::string p = "bn_";
    b.node("BatchNormalization",
           {"c2", b.constant(p + "scale", uniform_tensor({24}, 14, 0.5f, 1.5f)),
            b.constant(p + "bias", random_tensor({24}, 15)),
            b.constant(p + "mean", random_tensor({24}, 16)),
            b.constant(p + "var", uniform_tensor({24}, 17, 0.2f, 2.0f))},
           "bn", {{"epsilon", attr(1e-5f)}});
    b.node("Mul", {"bn", b.scalar("beta", 1.0f)}, "beta_x");
    b.node("Sigmoid", {"beta_x"}, "sig");
    b.output(b.node("Mul", {"bn", "sig"}, "y"));
    b.g.validate_and_sort();
    const std::string label = "opset " + std::to_string(opset);
    const passes::Optimized o = passes::optimize(b.g, {});
    EXPECT_EQ(count_op(o.graph, "Conv"), 2u) << label;
    EXPECT_EQ(count_op(o.graph, "HardSwish") + count_op(o.graph, "Clip") +
                  count_op(o.graph, "Sigmoid") + count_op(o.graph, "BatchNormalization"),
              0u)
        << label;
    // Conv+hardswish+linear (the affine block after the activation), Conv+swish
    EXPECT_EQ(o.graph.nodes.size(), 2u) << label;
    expect_same(b.g, o.graph, b.feeds, label);
    expect_graph_on_cpu(b.g, b.feeds, 1e-4, label);
  }
}
