// Graph passes on small hand-built graphs: each rewritten graph computes what the original
// computes (both run on the ref backend, without the Session's own passes), removes the
// nodes it should, and leaves alone the cases that must not change.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/core/rng.h"
#include "frugal/ops/post_ops.h"
#include "frugal/passes/passes.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

namespace {

ir::Attribute attr(int64_t v) {
  return ir::Attribute{.value = v};
}
ir::Attribute attr(float v) {
  return ir::Attribute{.value = v};
}

Tensor random_tensor(const Shape& shape, uint64_t seed, float lo = -1, float hi = 1) {
  Tensor t(DType::kF32, shape);
  Philox rng(seed, 3);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i)
    d[i] = lo + (hi - lo) * rng.uniform(static_cast<uint64_t>(i));
  return t;
}

// A graph under construction, with the tensors fed to its inputs.
struct Builder {
  ir::Graph g;
  std::vector<Tensor> feeds;
  uint64_t seed = 100;

  explicit Builder(int64_t opset = 17) { g.opsets[""] = opset; }
  std::string input(const std::string& name, const Shape& shape) {
    ir::ValueInfo v{name, DType::kF32, std::vector<ir::Dim>{}};
    for (int64_t d : shape) v.shape->push_back({d, ""});
    g.inputs.push_back(v);
    feeds.push_back(random_tensor(shape, ++seed));
    return name;
  }
  std::string weight(const std::string& name, const Shape& shape, float lo = -1, float hi = 1) {
    g.initializers[name] = random_tensor(shape, ++seed, lo, hi);
    return name;
  }
  std::string constant(const std::string& name, Tensor t) {
    g.initializers[name] = std::move(t);
    return name;
  }
  ir::Node& node(const std::string& op, std::vector<std::string> ins, std::string out,
                 std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = op + "_" + std::to_string(g.nodes.size());
    n.op_type = op;
    n.inputs = std::move(ins);
    n.outputs = {std::move(out)};
    n.attrs = std::move(attrs);
    g.nodes.push_back(std::move(n));
    return g.nodes.back();
  }
  void output(const std::string& name) {
    g.outputs.push_back(ir::ValueInfo{name, DType::kUndefined, std::nullopt});
  }
  // BatchNormalization of `x` over `c` channels with random statistics (var > 0).
  std::string batch_norm(const std::string& x, int64_t c, const std::string& out) {
    const std::string p = out + "_";
    node("BatchNormalization",
         {x, weight(p + "scale", {c}, 0.5f, 1.5f), weight(p + "bias", {c}), weight(p + "mean", {c}),
          weight(p + "var", {c}, 0.2f, 2.0f)},
         out, {{"epsilon", attr(1e-3f)}});
    return out;
  }
};

std::vector<Tensor> run_ref(const ir::Graph& g, const std::vector<Tensor>& feeds,
                            int64_t batch = 1) {
  runtime::SessionOptions opt;
  opt.optimize = false;  // the graph exactly as given
  opt.poison_arena = true;
  opt.infer.batch = batch;
  runtime::Session s(g, opt);
  return s.run(feeds);
}

double relative_error(const Tensor& got, const Tensor& want) {
  if (got.shape() != want.shape()) return INFINITY;
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.at_double(i), w = want.at_double(i);
    if (std::isnan(g) || std::isnan(w)) return INFINITY;
    worst = std::max(worst, std::fabs(g - w));
    scale = std::max(scale, std::fabs(w));
  }
  return scale > 0 ? worst / scale : worst;
}

// Float32 rounding of a few hundred terms, reassociated by folding: well under 1e-5.
constexpr double kTolerance = 1e-5;

void expect_same_outputs(const ir::Graph& before, const ir::Graph& after,
                         const std::vector<Tensor>& feeds, int64_t batch = 1) {
  const auto want = run_ref(before, feeds, batch);
  const auto got = run_ref(after, feeds, batch);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_LE(relative_error(got[i], want[i]), kTolerance) << "output " << i;
}

size_t count_op(const ir::Graph& g, const std::string& op) {
  size_t n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

std::vector<std::string> post_ops(const ir::Graph& g, const std::string& op) {
  for (const auto& n : g.nodes)
    if (n.op_type == op && n.has_attr(ops::kPostOpsAttr)) return n.attr_strings(ops::kPostOpsAttr);
  return {};
}

}  // namespace

// --- fold_batch_norm --------------------------------------------------------------------

TEST(FoldBatchNorm, HandComputedWeightsAndBias) {
  // 1x1 conv, one channel: w = 2, b = 1; BN scale 3, var 3, eps 1 -> s = 3 / sqrt(4) = 1.5;
  // mean 0.5, bias 0.25. Folded: w' = 2 * 1.5 = 3, b' = (1 - 0.5) * 1.5 + 0.25 = 1.
  Builder b;
  b.input("x", {1, 1, 2, 2});
  b.constant("w", Tensor::from_vector<float>({1, 1, 1, 1}, {2.0f}));
  b.constant("b", Tensor::from_vector<float>({1}, {1.0f}));
  b.node("Conv", {"x", "w", "b"}, "c");
  for (auto [n, v] : {std::pair{"s", 3.0f}, {"t", 0.25f}, {"m", 0.5f}, {"v", 3.0f}})
    b.constant(n, Tensor::from_vector<float>({1}, {v}));
  b.node("BatchNormalization", {"c", "s", "t", "m", "v"}, "y", {{"epsilon", attr(1.0f)}});
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::fold_batch_norm(b.g, r);
  EXPECT_EQ(r.changes, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  const ir::Node& conv = g.nodes[0];
  EXPECT_EQ(conv.outputs[0], "y");
  EXPECT_FLOAT_EQ(g.initializer(conv.inputs[1])->data<float>()[0], 3.0f);
  EXPECT_FLOAT_EQ(g.initializer(conv.inputs[2])->data<float>()[0], 1.0f);
  // The old weights are gone with nothing reading them.
  EXPECT_EQ(g.initializer("w"), nullptr);
}

// The folded weights are w * s computed in double and rounded once (s = scale / sqrt(var +
// eps), per output channel): the same bits whatever the pass's loop looks like.
TEST(FoldBatchNorm, WeightsRoundedOnceFromDouble) {
  for (const std::string op : {"Conv", "ConvTranspose", "Gemm"}) {
    Builder b;
    const bool gemm = op == "Gemm", transpose = op == "ConvTranspose";
    b.input("x", gemm ? Shape{2, 5} : Shape{1, transpose ? 4 : 2, 5, 5});
    // Output channels 6 in each case (ConvTranspose: C=4, group 2, M/group 3).
    const Shape w_shape = gemm ? Shape{5, 6} : transpose ? Shape{4, 3, 3, 3} : Shape{6, 2, 3, 3};
    std::map<std::string, ir::Attribute> attrs;
    if (transpose) attrs["group"] = attr(int64_t{2});
    b.node(op, {"x", b.weight("w", w_shape)}, "c", attrs);
    b.batch_norm("c", 6, "y");
    b.output("y");
    passes::PassReport r;
    const ir::Graph g = passes::fold_batch_norm(b.g, r);
    ASSERT_EQ(r.changes, 1) << op;
    const std::vector<double> w = b.g.initializers.at("w").to_double();
    auto param = [&](const char* name, int64_t c) {
      return b.g.initializers.at(std::string("y_") + name).at_double(c);
    };
    const Tensor& folded = *g.initializer(g.nodes[0].inputs[1]);
    for (int64_t i = 0; i < folded.numel(); ++i) {
      const int64_t c = gemm ? i % 6 : transpose ? (i / 27) / 2 * 3 + (i / 9) % 3 : i / 18;
      const double s = param("scale", c) / std::sqrt(param("var", c) + static_cast<double>(1e-3f));
      ASSERT_EQ(folded.data<float>()[i], static_cast<float>(w[static_cast<size_t>(i)] * s))
          << op << " element " << i;
    }
  }
}

TEST(FoldBatchNorm, GroupedConvWithoutBias) {
  Builder b;
  b.input("x", {2, 6, 7, 7});
  b.node("Conv", {"x", b.weight("w", {9, 2, 3, 3})}, "c",
         {{"group", attr(int64_t{3})},
          {"pads", ir::Attribute{.value = std::vector<int64_t>{1, 0, 1, 2}}}});
  b.batch_norm("c", 9, "y");
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::fold_batch_norm(b.g, r);
  EXPECT_EQ(r.changes, 1);
  EXPECT_EQ(count_op(g, "BatchNormalization"), 0u);
  expect_same_outputs(b.g, g, b.feeds);
}

TEST(FoldBatchNorm, GroupedConvTranspose) {
  Builder b;
  b.input("x", {1, 4, 5, 5});
  // C=4, group 2: W is 4 x 3 x 3 x 3, output channels 6.
  b.node("ConvTranspose", {"x", b.weight("w", {4, 3, 3, 3}), b.weight("bias", {6})}, "c",
         {{"group", attr(int64_t{2})},
          {"strides", ir::Attribute{.value = std::vector<int64_t>{2, 2}}}});
  b.batch_norm("c", 6, "y");
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::fold_batch_norm(b.g, r);
  EXPECT_EQ(r.changes, 1);
  expect_same_outputs(b.g, g, b.feeds);
}

TEST(FoldBatchNorm, GemmTransposedWithScaledBias) {
  for (int64_t trans_b : {0, 1}) {
    Builder b;
    b.input("a", {3, 5});
    b.node("Gemm",
           {"a", b.weight("w", trans_b ? Shape{4, 5} : Shape{5, 4}), b.weight("cb", {1, 4})}, "c",
           {{"transB", attr(trans_b)}, {"alpha", attr(2.0f)}, {"beta", attr(0.5f)}});
    b.batch_norm("c", 4, "y");
    b.output("y");
    passes::PassReport r;
    const ir::Graph g = passes::fold_batch_norm(b.g, r);
    EXPECT_EQ(r.changes, 1) << "transB " << trans_b;
    expect_same_outputs(b.g, g, b.feeds);
  }
}

TEST(FoldBatchNorm, LeavesAloneWhatMustNotFold) {
  {  // the conv's output has a second reader
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "c");
    b.batch_norm("c", 3, "y");
    b.node("Relu", {"c"}, "r");
    b.output("y");
    b.output("r");
    passes::PassReport r;
    EXPECT_EQ(passes::fold_batch_norm(b.g, r).nodes.size(), 3u);
    EXPECT_EQ(r.changes, 0);
  }
  {  // the conv's output is a graph output
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "c");
    b.batch_norm("c", 3, "y");
    b.output("y");
    b.output("c");
    passes::PassReport r;
    passes::fold_batch_norm(b.g, r);
    EXPECT_EQ(r.changes, 0);
  }
  {  // a BN parameter known only at run time
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.input("mean", {3});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "c");
    b.node("BatchNormalization",
           {"c", b.weight("s", {3}), b.weight("t", {3}), "mean", b.weight("v", {3}, 0.5f, 1.0f)},
           "y");
    b.output("y");
    passes::PassReport r;
    passes::fold_batch_norm(b.g, r);
    EXPECT_EQ(r.changes, 0);
  }
  {  // non-constant weights
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.input("w", {3, 2, 1, 1});
    b.node("Conv", {"x", "w"}, "c");
    b.batch_norm("c", 3, "y");
    b.output("y");
    passes::PassReport r;
    passes::fold_batch_norm(b.g, r);
    EXPECT_EQ(r.changes, 0);
  }
}

// A Mul by and an Add of a constant per output channel (one value, or 1 x C x 1 x 1), in
// either operand order, after a Conv, ConvTranspose or Gemm fold like a BatchNormalization:
// PaddleOCR's learnable affine blocks (paddle2onnx writes Mul(scale, conv) then Add).
TEST(FoldBatchNorm, ConstantMulAndAddPerChannel) {
  struct Case {
    std::string producer;
    Shape scale, shift;
    bool constant_first;
  };
  const std::vector<Case> cases = {
      {"Conv", {1}, {1}, true},      {"Conv", {}, {1, 4, 1, 1}, false},
      {"Conv", {4, 1, 1}, {}, true}, {"ConvTranspose", {1, 6, 1, 1}, {1}, false},
      {"Gemm", {4}, {1, 4}, true},
  };
  for (const Case& c : cases) {
    Builder b;
    if (c.producer == "Conv") {
      b.input("x", {2, 3, 6, 6});
      b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3}), b.weight("bias", {4})}, "p",
             {{"pads", ir::Attribute{.value = std::vector<int64_t>{1, 1, 1, 1}}}});
    } else if (c.producer == "ConvTranspose") {
      b.input("x", {1, 4, 5, 5});
      b.node("ConvTranspose", {"x", b.weight("w", {4, 3, 3, 3})}, "p",
             {{"group", attr(int64_t{2})}});
    } else {
      b.input("x", {3, 5});
      b.node("Gemm", {"x", b.weight("w", {5, 4}), b.weight("bias", {4})}, "p");
    }
    auto two = [&](const std::string& op, const std::string& v, const std::string& k,
                   const std::string& out) {
      b.node(op, c.constant_first ? std::vector<std::string>{k, v} : std::vector<std::string>{v, k},
             out);
    };
    std::string y = "p";
    if (!c.scale.empty()) {
      two("Mul", y, b.weight("scale", c.scale, -2, 2), "scaled");
      y = "scaled";
    }
    if (!c.shift.empty()) {
      two("Add", y, b.weight("shift", c.shift), "shifted");
      y = "shifted";
    }
    b.node("Relu", {y}, "y");
    b.output("y");
    passes::PassReport r;
    const ir::Graph g = passes::fold_batch_norm(b.g, r);
    const std::string label = c.producer + " " + shape_str(c.scale) + " " + shape_str(c.shift);
    EXPECT_EQ(r.changes, (c.scale.empty() ? 0 : 1) + (c.shift.empty() ? 0 : 1)) << label;
    EXPECT_EQ(g.nodes.size(), 2u) << label;
    expect_same_outputs(b.g, g, b.feeds);
  }
}

// Constants that vary along another axis, or would change the output's shape, and a
// product read twice stay.
TEST(FoldBatchNorm, ConstantsThatAreNoChannelAffineStay) {
  const std::vector<Shape> shapes = {{1, 1, 1, 6}, {6, 1}, {1, 4, 6, 6}, {2, 1, 1, 1, 1}};
  for (const Shape& s : shapes) {
    Builder b;
    b.input("x", {2, 3, 6, 6});
    b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3})}, "p",
           {{"pads", ir::Attribute{.value = std::vector<int64_t>{1, 1, 1, 1}}}});
    b.node("Mul", {"p", b.weight("k", s)}, "y");
    b.output("y");
    passes::PassReport r;
    passes::fold_batch_norm(b.g, r);
    EXPECT_EQ(r.changes, 0) << shape_str(s);
  }
  Builder b;  // the Conv's output also feeds a Relu
  b.input("x", {1, 2, 4, 4});
  b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
  b.node("Mul", {"p", b.weight("k", {1})}, "y");
  b.node("Relu", {"p"}, "r");
  b.output("y");
  b.output("r");
  passes::PassReport r;
  passes::fold_batch_norm(b.g, r);
  EXPECT_EQ(r.changes, 0);
}

// --- fuse_activations -------------------------------------------------------------------

TEST(FuseActivations, EachActivationIntoConvGemmMatMul) {
  struct Case {
    std::string op;
    std::map<std::string, ir::Attribute> attrs;
    std::string entry;
  };
  const std::vector<Case> cases = {
      {"Relu", {}, "relu"},
      {"LeakyRelu", {{"alpha", attr(0.25f)}}, "leakyrelu:0.25"},
      {"Sigmoid", {}, "sigmoid"},
      {"HardSwish", {}, "hardswish"},
      {"HardSigmoid", {{"alpha", attr(0.5f)}, {"beta", attr(0.25f)}}, "hardsigmoid:0.5:0.25"},
      {"Gelu", {}, "gelu"},
      {"Gelu", {{"approximate", ir::Attribute{.value = std::string("tanh")}}}, "gelutanh"},
  };
  for (const std::string producer : {"Conv", "Gemm", "MatMul"}) {
    for (const Case& c : cases) {
      Builder b;
      if (producer == "Conv") {
        b.input("x", {2, 3, 5, 5});
        b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3}), b.weight("bias", {4})}, "p");
      } else if (producer == "Gemm") {
        b.input("x", {3, 6});
        b.node("Gemm", {"x", b.weight("w", {6, 4}), b.weight("bias", {4})}, "p");
      } else {
        b.input("x", {2, 3, 6});
        b.node("MatMul", {"x", b.weight("w", {6, 4})}, "p");
      }
      b.node(c.op, {"p"}, "y", c.attrs);
      b.output("y");
      passes::PassReport r;
      const ir::Graph g = passes::fuse_activations(b.g, {}, r);
      EXPECT_EQ(r.changes, 1) << producer << "+" << c.op;
      EXPECT_EQ(g.nodes.size(), 1u) << producer << "+" << c.op;
      EXPECT_EQ(post_ops(g, producer), std::vector<std::string>{c.entry});
      expect_same_outputs(b.g, g, b.feeds);
    }
  }
}

// SiLU as torch.onnx exports it, Mul(x, Sigmoid(x)) with x in either slot, becomes the
// "swish" post-op of x's producer; a Sigmoid whose result has another reader stays.
TEST(FuseActivations, SiluMulOfSigmoidIntoSwish) {
  for (const bool x_first : {true, false}) {
    Builder b(5);
    b.input("x", {1, 3, 6, 6});
    b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3}), b.weight("bias", {4})}, "p");
    b.node("Sigmoid", {"p"}, "s");
    b.node("Mul", x_first ? std::vector<std::string>{"p", "s"} : std::vector<std::string>{"s", "p"},
           "y");
    b.output("y");
    passes::PassReport r;
    const ir::Graph g = passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 1);
    EXPECT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(post_ops(g, "Conv"), std::vector<std::string>{"swish"});
    expect_same_outputs(b.g, g, b.feeds);
  }
  Builder b(6);  // the Sigmoid's result is also a graph output: no fusion
  b.input("x", {1, 3, 6, 6});
  b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3})}, "p");
  b.node("Sigmoid", {"p"}, "s");
  b.node("Mul", {"p", "s"}, "y");
  b.output("y");
  b.output("s");
  passes::PassReport r;
  passes::fuse_activations(b.g, {}, r);
  EXPECT_EQ(r.changes, 0);
}

// A Mul by and an Add of one-element constants after a node that takes post-ops become one
// linear post-op (composed); a per-channel constant, or one that adds an axis, stays.
TEST(FuseActivations, ScalarMulAndAddIntoLinear) {
  for (const bool constant_first : {false, true}) {
    Builder b(11);
    b.input("x", {1, 3, 6, 6});
    b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3}), b.weight("bias", {4})}, "p");
    b.node("HardSwish", {"p"}, "h");
    auto two = [&](const char* op, const std::string& v, const std::string& k, const char* out) {
      b.node(op, constant_first ? std::vector<std::string>{k, v} : std::vector<std::string>{v, k},
             out);
    };
    two("Mul", "h", b.constant("a", Tensor::from_vector<float>({1}, {0.5f})), "m");
    two("Add", "m", b.constant("c", Tensor::scalar(-0.25f)), "y");
    b.output("y");
    passes::PassReport r;
    const ir::Graph g = passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 3);
    EXPECT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(post_ops(g, "Conv"), (std::vector<std::string>{"hardswish", "linear:0.5:-0.25"}));
    expect_same_outputs(b.g, g, b.feeds);
  }
  Builder b(11);
  b.input("x", {1, 3, 6, 6});
  b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3})}, "p");
  b.node("Relu", {"p"}, "r");
  b.node("Mul", {"r", b.weight("k", {4, 1, 1})}, "m");  // per channel
  b.node("Add", {"m", b.constant("c", Tensor::from_vector<float>({1, 1, 1, 1, 1}, {1.0f}))},
         "y");  // adds an axis
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::fuse_activations(b.g, {}, r);
  EXPECT_EQ(r.changes, 1);  // the Relu only
  EXPECT_EQ(g.nodes.size(), 3u);
}

TEST(FuseActivations, ClipBoundsFromInputsAndChains) {
  Builder b(13);
  b.input("x", {1, 3, 6, 6});
  b.node("Conv", {"x", b.weight("w", {4, 3, 3, 3}, -2, 2)}, "p");
  b.node("Clip",
         {"p", b.constant("lo", Tensor::scalar(0.0f)), b.constant("hi", Tensor::scalar(0.5f))},
         "q");
  b.node("Sigmoid", {"q"}, "y");
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::fuse_activations(b.g, {}, r);
  EXPECT_EQ(r.changes, 2);
  EXPECT_EQ(post_ops(g, "Conv"), (std::vector<std::string>{"clip:0:0.5", "sigmoid"}));
  expect_same_outputs(b.g, g, b.feeds);
}

// DenseNet's pre-activation: a BatchNormalization left after fold_batch_norm (it follows a
// Concat, not a Conv) takes the Relu when its statistics are constant; one whose statistics
// are graph inputs keeps it, and a residual Add after a BN stays an Add.
TEST(FuseActivations, ReluIntoConstantBatchNorm) {
  {
    Builder b;
    b.input("x", {2, 4, 5, 5});
    b.batch_norm("x", 4, "n");
    b.node("Relu", {"n"}, "y");
    b.output("y");
    passes::PassReport r;
    const ir::Graph g = passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 1);
    EXPECT_EQ(g.nodes.size(), 1u);
    EXPECT_EQ(post_ops(g, "BatchNormalization"), std::vector<std::string>{"relu"});
    expect_same_outputs(b.g, g, b.feeds);
  }
  {
    Builder b;
    b.input("x", {1, 3, 4, 4});
    b.input("mean", {3});
    b.node("BatchNormalization",
           {"x", b.weight("s", {3}), b.weight("bias", {3}), "mean", b.weight("var", {3}, 0.2f, 2)},
           "n");
    b.node("Relu", {"n"}, "y");
    b.output("y");
    passes::PassReport r;
    passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
  {
    Builder b;
    b.input("x", {1, 3, 4, 4});
    b.input("z", {1, 3, 4, 4});
    b.batch_norm("x", 3, "n");
    b.node("Add", {"n", "z"}, "y");
    b.output("y");
    passes::PassReport r;
    passes::fuse_residual_add(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
}

TEST(FuseActivations, LeavesAloneWhatMustNotFuse) {
  {  // two readers of the conv's output
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
    b.node("Relu", {"p"}, "y");
    b.node("Sigmoid", {"p"}, "z");
    b.output("y");
    b.output("z");
    passes::PassReport r;
    EXPECT_EQ(passes::fuse_activations(b.g, {}, r).nodes.size(), 3u);
  }
  {  // the conv's output is a graph output
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
    b.node("Relu", {"p"}, "y");
    b.output("p");
    b.output("y");
    passes::PassReport r;
    passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
  {  // a Clip bound known only at run time
    Builder b(13);
    b.input("x", {1, 2, 4, 4});
    b.input("hi", {});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
    b.node("Clip", {"p", "", "hi"}, "y");
    b.output("y");
    passes::PassReport r;
    passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
  {  // not a producer that takes post-ops
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.node("MaxPool", {"x"}, "p",
           {{"kernel_shape", ir::Attribute{.value = std::vector<int64_t>{2, 2}}}});
    b.node("Relu", {"p"}, "y");
    b.output("y");
    passes::PassReport r;
    passes::fuse_activations(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
}

// --- fuse_residual_add ------------------------------------------------------------------

TEST(FuseResidualAdd, ResidualBlockWithLaterOperandAndRelu) {
  // y = Relu(Conv2(x) + Conv1(x)), with Conv1 written after Conv2 in the file: the fused
  // node reads Conv1's output, so the pass must reorder.
  Builder b;
  b.input("x", {2, 4, 6, 6});
  const ir::Attribute same = ir::Attribute{.value = std::vector<int64_t>{1, 1, 1, 1}};
  b.node("Conv", {"x", b.weight("w2", {4, 4, 3, 3}), b.weight("b2", {4})}, "c2", {{"pads", same}});
  b.node("Conv", {"x", b.weight("w1", {4, 4, 1, 1})}, "c1");
  b.node("Add", {"c2", "c1"}, "s");
  b.node("Relu", {"s"}, "y");
  b.output("y");
  passes::PassReport r1, r2;
  const ir::Graph g1 = passes::fuse_residual_add(b.g, {}, r1);
  const ir::Graph g2 = passes::fuse_activations(g1, {}, r2);
  EXPECT_EQ(r1.changes, 1);
  EXPECT_EQ(r2.changes, 1);
  EXPECT_EQ(g2.nodes.size(), 2u);
  // Fused into the conv computed last in the original order (c1), reading c2.
  const ir::Node& fused = g2.nodes[1];
  EXPECT_EQ(fused.attr_strings(ops::kPostOpsAttr), (std::vector<std::string>{"sum", "relu"}));
  ASSERT_EQ(fused.inputs.size(), 4u);
  EXPECT_EQ(fused.inputs[2], "");  // omitted bias keeps its place
  expect_same_outputs(b.g, g2, b.feeds);
}

TEST(FuseResidualAdd, BroadcastOperandAndOperandReadLater) {
  // y = Gemm(a) + bvec, and bvec (a graph input) is read again after the fused node: the
  // operand must survive the fused node (it is read, never written in place).
  Builder b;
  b.input("a", {3, 5});
  b.input("bvec", {1, 4});
  b.node("Gemm", {"a", b.weight("w", {5, 4})}, "p");
  b.node("Add", {"p", "bvec"}, "s");
  b.node("Mul", {"s", "bvec"}, "y");
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::fuse_residual_add(b.g, {}, r);
  EXPECT_EQ(r.changes, 1);
  expect_same_outputs(b.g, g, b.feeds);
}

TEST(FuseResidualAdd, LeavesAloneWhatMustNotFuse) {
  {  // the conv's output read twice
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.input("r", {1, 3, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
    b.node("Add", {"p", "r"}, "y");
    b.node("Relu", {"p"}, "z");
    b.output("y");
    b.output("z");
    passes::PassReport r;
    passes::fuse_residual_add(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
  {  // the conv's output broadcasts up to the Add's: the output is not the conv's shape
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.input("r", {3, 3, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
    b.node("Add", {"p", "r"}, "y");
    b.output("y");
    passes::PassReport r;
    passes::fuse_residual_add(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
  {  // the conv's output is a graph output
    Builder b;
    b.input("x", {1, 2, 4, 4});
    b.input("r", {1, 3, 4, 4});
    b.node("Conv", {"x", b.weight("w", {3, 2, 1, 1})}, "p");
    b.node("Add", {"p", "r"}, "y");
    b.output("y");
    b.output("p");
    passes::PassReport r;
    passes::fuse_residual_add(b.g, {}, r);
    EXPECT_EQ(r.changes, 0);
  }
}

// --- remove_identities, fold_constants, remove_dead_nodes --------------------------------

TEST(RemoveIdentities, IdentityDropoutAndGraphOutputs) {
  Builder b(13);
  b.input("x", {2, 3});
  b.node("Relu", {"x"}, "r");
  b.node("Identity", {"r"}, "i1");
  b.node(
      "Dropout",
      {"i1", b.constant("ratio", Tensor::scalar(0.5f)), b.constant("train", Tensor::scalar(false))},
      "d");
  b.node("Sigmoid", {"d"}, "s");
  b.node("Identity", {"s"}, "y");  // a graph output: Sigmoid is renamed to write y
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::remove_identities(b.g, r);
  EXPECT_EQ(r.changes, 3);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[1].outputs[0], "y");
  expect_same_outputs(b.g, g, b.feeds);
}

TEST(RemoveIdentities, KeepsWhatIsNotACopy) {
  Builder b(13);
  b.input("x", {2, 3});
  ir::Node& d = b.node("Dropout", {"x"}, "d");
  d.outputs.push_back("mask");     // the mask is read: the node stays
  b.node("Identity", {"x"}, "y");  // graph input to graph output: nothing to rename
  b.output("d");
  b.output("mask");
  b.output("y");
  passes::PassReport r;
  passes::remove_identities(b.g, r);
  EXPECT_EQ(r.changes, 0);
}

TEST(RemoveIdentities, TrainingDropoutWithRatioZeroIsACopy) {
  Builder b(13);
  b.input("x", {2, 3});
  b.node("Dropout",
         {"x", b.constant("zero", Tensor::scalar(0.0f)), b.constant("train", Tensor::scalar(true))},
         "d");
  b.node("Relu", {"d"}, "y");
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::remove_identities(b.g, r);
  EXPECT_EQ(r.changes, 1);
  ASSERT_EQ(g.nodes.size(), 1u);
  expect_same_outputs(b.g, g, b.feeds);

  Builder random(13);  // ratio 0.1 in training mode drops values: not a copy
  random.input("x", {2, 3});
  random.node("Dropout",
              {"x", random.constant("ratio", Tensor::scalar(0.1f)),
               random.constant("train", Tensor::scalar(true))},
              "y");
  random.output("y");
  passes::remove_identities(random.g, r);
  EXPECT_EQ(r.changes, 0);
}

// A product by a rank-0 constant 1 copies its other operand (paddle2onnx's swish writes
// x * sigmoid(1 * x)); by a one-element constant of rank 1 it may add an axis, by 1.5 or as
// 1 / x it computes: those stay.
TEST(RemoveIdentities, ProductByScalarOneIsACopy) {
  Builder b(11);
  b.input("x", {2, 3});
  b.node("Relu", {"x"}, "r");
  b.node("Mul", {b.constant("one", Tensor::scalar(1.0f)), "r"}, "m");
  b.node("Sigmoid", {b.node("Div", {"m", "one"}, "d").outputs[0]}, "s");
  b.node("Mul", {"s", "one"}, "y");  // a graph output: Sigmoid is renamed to write y
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::remove_identities(b.g, r);
  EXPECT_EQ(r.changes, 3);
  ASSERT_EQ(g.nodes.size(), 2u);
  EXPECT_EQ(g.nodes[1].outputs[0], "y");
  expect_same_outputs(b.g, g, b.feeds);

  Builder keep(11);
  keep.input("x", {2, 3});
  keep.node("Relu", {"x"}, "r");
  keep.node("Mul", {"r", keep.constant("one1", Tensor::from_vector<float>({1}, {1.0f}))}, "a");
  keep.node("Mul", {"r", keep.constant("half", Tensor::scalar(1.5f))}, "b");
  keep.node("Div", {keep.constant("one", Tensor::scalar(1.0f)), "r"}, "c");
  keep.node("Add", {"r", keep.constant("zero", Tensor::scalar(0.0f))}, "d");
  for (const char* o : {"a", "b", "c", "d"}) keep.node("Sigmoid", {o}, std::string(o) + "_out");
  for (const char* o : {"a", "b", "c", "d"}) keep.output(std::string(o) + "_out");
  passes::remove_identities(keep.g, r);
  EXPECT_EQ(r.changes, 0);
}

TEST(FoldConstants, PyTorchFlattenChainBecomesAnInitializer) {
  // y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0)), [-1])) with batch 3.
  Builder b(13);
  ir::ValueInfo v{"x", DType::kF32, std::vector<ir::Dim>{{-1, "N"}, {4, ""}, {5, ""}}};
  b.g.inputs.push_back(v);
  b.feeds.push_back(random_tensor({3, 4, 5}, 9));
  b.node("Shape", {"x"}, "shape");
  b.node("Gather", {"shape", b.constant("zero", Tensor::scalar(int64_t{0}))}, "n");
  b.node("Unsqueeze", {"n", b.constant("axes", Tensor::from_vector<int64_t>({1}, {0}))}, "n1");
  b.node("Concat", {"n1", b.constant("minus1", Tensor::from_vector<int64_t>({1}, {-1}))}, "target",
         {{"axis", attr(int64_t{0})}});
  b.node("Reshape", {"x", "target"}, "y");
  b.output("y");
  ops::InferOptions opt;
  opt.batch = 3;
  passes::PassReport r;
  const ir::Graph g = passes::fold_constants(b.g, opt, r);
  EXPECT_EQ(r.changes, 4);
  ASSERT_EQ(g.nodes.size(), 1u);
  const Tensor* target = g.initializer(g.nodes[0].inputs[1]);
  ASSERT_NE(target, nullptr);
  EXPECT_EQ(target->to_int64(), (std::vector<int64_t>{3, -1}));  // Reshape infers the 20
  EXPECT_EQ(g.initializers.size(), 1u) << "the chain's own constants are gone";
  // The input's batch is bound to the one the shapes were folded for.
  EXPECT_EQ(g.inputs[0].concrete_shape(), (Shape{3, 4, 5}));
  expect_same_outputs(b.g, g, b.feeds, 3);
}

TEST(RemoveDeadNodes, UnreadChainsGo) {
  Builder b;
  b.input("x", {2, 3});
  b.node("Relu", {"x"}, "y");
  b.node("Sigmoid", {"x"}, "unused1");
  b.node("Neg", {"unused1"}, "unused2");
  b.output("y");
  passes::PassReport r;
  const ir::Graph g = passes::remove_dead_nodes(b.g, r);
  EXPECT_EQ(r.changes, 2);
  EXPECT_EQ(g.nodes.size(), 1u);
}

// --- the whole pipeline on zoo models ---------------------------------------------------

TEST(Optimize, ZooModelsKeepTheirOutputs) {
  // Small inputs keep the ref backend fast; the graph structure is the model's.
  struct Case {
    std::string model;
    Shape input;
    size_t bn_folded, adds_fused;
  };
  const std::vector<Case> cases = {
      {"resnet18", {1, 3, 32, 32}, 20, 8},
      {"mobilenet_v2", {1, 3, 32, 32}, 52, 10},
      {"mobilenet_v3_small", {1, 3, 32, 32}, 0, 0},
  };
  for (const Case& c : cases) {
    const ir::Graph model = zoo::build(c.model, 1);
    ops::InferOptions opt;
    opt.input_shapes["input"] = c.input;
    const passes::Optimized o = passes::optimize(model, opt);
    ASSERT_EQ(o.passes.size(), 14u);
    EXPECT_EQ(count_op(o.graph, "BatchNormalization"), 0u) << c.model;
    if (c.bn_folded) {
      EXPECT_EQ(o.passes[6].pass, "fold_batch_norm");
      EXPECT_EQ(o.passes[6].changes, static_cast<int64_t>(c.bn_folded)) << c.model;
    }
    if (c.adds_fused) {
      EXPECT_EQ(o.passes[9].pass, "fuse_residual_add");
      EXPECT_EQ(o.passes[9].changes, static_cast<int64_t>(c.adds_fused)) << c.model;
    }
    EXPECT_LT(o.graph.nodes.size(), model.nodes.size()) << c.model;
    const Tensor x = random_tensor(c.input, 77);
    runtime::SessionOptions so;
    so.optimize = false;
    so.infer = opt;
    const Tensor want = runtime::Session(model, so).run({x})[0];
    const Tensor got = runtime::Session(o.graph, so).run({x})[0];
    EXPECT_LE(relative_error(got, want), 1e-4) << c.model;
  }
}

TEST(Optimize, SessionReportsPassesAndCanSkipThem) {
  const ir::Graph model = zoo::build("lenet5", 1);
  runtime::SessionOptions so;
  runtime::Session on(model, so);
  ASSERT_EQ(on.passes().size(), 14u);
  EXPECT_EQ(on.passes()[0].pass, "fold_constants");
  so.optimize = false;
  runtime::Session off(model, so);
  EXPECT_TRUE(off.passes().empty());
  EXPECT_EQ(off.graph().nodes.size(), model.nodes.size());
  EXPECT_LE(on.graph().nodes.size(), model.nodes.size());
}
