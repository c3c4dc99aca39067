// Gradient checks (the ggml "grad mode"): every backward against central finite
// differences of the forward, for every kernel choice (gemm, oneDNN primitives,
// reference), and the gemm (oneDNN sgemm) kernels against the reference ones over a matrix
// of shapes.
//
// The forward runs in float32, so the tolerance is stated for fp32: with a step h = 1e-2
// in the input and the loss L = sum(y * R) summed in double, a difference quotient is off
// by about eps32 * |L| / h plus the O(h^2) truncation; we accept
// |numeric - analytic| <= 2e-2 + 2e-2 * |analytic|.
#include <gtest/gtest.h>

#include <cmath>
#include <optional>

#include "frugal/core/rng.h"
#include "frugal/train/autograd.h"
#include "graph_testing.h"

namespace frugal::train {
namespace {

ir::Attribute ints(std::vector<int64_t> v) {
  return ir::Attribute{std::move(v)};
}
ir::Attribute i1(int64_t v) {
  return ir::Attribute{v};
}
ir::Attribute f1(float v) {
  return ir::Attribute{v};
}

Tensor random_tensor(const Shape& s, uint64_t stream, float scale = 1.0f) {
  Tensor t(DType::kF32, s);
  Philox rng(1234, stream);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}

using testing::make_graph;

ir::Node node(std::string op, std::vector<std::string> in, std::vector<std::string> out,
              std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = op + "_node";
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

double weighted_sum(const Tensor& y, const Tensor& r) {
  double s = 0;
  for (int64_t i = 0; i < y.numel(); ++i)
    s += static_cast<double>(y.data<float>()[i]) * r.data<float>()[i];
  return s;
}

// Checks d(sum(y * R))/d(every parameter and the input) against central differences.
void check_gradients(const ir::Graph& graph, const Shape& x_shape, KernelChoice k,
                     float x_scale = 1.0f,
                     std::optional<kernels::emu::Accumulator> acc = std::nullopt) {
  SCOPED_TRACE(k == KernelChoice::kFast     ? "gemm kernels"
               : k == KernelChoice::kOneDnn ? "oneDNN primitive kernels"
                                            : "reference kernels");
  SCOPED_TRACE(acc ? "emulated binary32 accumulator (emu_gemm)" : "");
  GraphOptions opt;
  opt.kernels = k;
  opt.accumulator = acc;
  opt.input_grad = true;
  opt.seed = 5;
  TrainGraph tg(graph, opt);
  Tensor x = random_tensor(x_shape, 99, x_scale);
  Tensor y = tg.forward(x, true, 3);
  Tensor r = random_tensor(y.shape(), 77);
  tg.forward(x, true, 3);
  tg.backward(r.clone());
  std::vector<std::pair<std::string, Tensor>> analytic;
  for (const auto& p : tg.params()) analytic.emplace_back(p, tg.grad(p).clone());
  analytic.emplace_back("x", tg.input_grad().clone());
  const float h = 1e-3f;
  for (auto& [name, grad] : analytic) {
    ASSERT_TRUE(grad.defined()) << name;
    Tensor& target = name == "x" ? x : tg.param(name);
    const int64_t n = target.numel();
    const int64_t stride = std::max<int64_t>(1, n / 24);  // about 24 elements per tensor
    for (int64_t i = 0; i < n; i += stride) {
      float* v = target.data<float>() + i;
      const float saved = *v;
      *v = saved + h;
      const double up = weighted_sum(tg.forward(x, true, 3), r);
      *v = saved - h;
      const double down = weighted_sum(tg.forward(x, true, 3), r);
      *v = saved;
      const double numeric = (up - down) / (2.0 * h);
      const double a = grad.data<float>()[i];
      EXPECT_NEAR(numeric, a, 2e-2 + 2e-2 * std::abs(a)) << name << "[" << i << "]";
    }
  }
}

void check_both(const ir::Graph& g, const Shape& xs, float x_scale = 1.0f) {
  check_gradients(g, xs, KernelChoice::kReference, x_scale);
  check_gradients(g, xs, KernelChoice::kFast, x_scale);
  check_gradients(g, xs, KernelChoice::kOneDnn, x_scale);
}

struct ConvCase {
  int64_t n, c, h, w, m, k, stride, pad, dil, group;
  bool bias;
};

ir::Graph conv_graph(const ConvCase& c) {
  std::map<std::string, Tensor> inits{
      {"W", random_tensor({c.m, c.c / c.group, c.k, c.k}, 1, 0.5f)}};
  std::vector<std::string> ins{"x", "W"};
  if (c.bias) {
    inits["B"] = random_tensor({c.m}, 2);
    ins.push_back("B");
  }
  return make_graph({c.n, c.c, c.h, c.w},
                    {node("Conv", ins, {"y"},
                          {{"strides", ints({c.stride, c.stride})},
                           {"pads", ints({c.pad, c.pad, c.pad, c.pad})},
                           {"dilations", ints({c.dil, c.dil})},
                           {"group", i1(c.group)}})},
                    inits);
}

const std::vector<ConvCase> kConvCases{
    {2, 3, 6, 5, 4, 3, 1, 1, 1, 1, true},   // plain 3x3, pad 1
    {1, 2, 7, 7, 3, 3, 2, 0, 1, 1, false},  // stride 2
    {1, 2, 7, 6, 2, 2, 1, 1, 2, 1, true},   // dilation 2
    {2, 4, 5, 5, 6, 3, 1, 1, 1, 2, true},   // groups 2
    {1, 3, 6, 6, 3, 3, 2, 1, 1, 3, false},  // depthwise, stride 2
    {2, 4, 4, 4, 5, 1, 1, 0, 1, 1, true},   // pointwise (no im2col)
};

TEST(GradCheck, Conv) {
  for (const ConvCase& c : kConvCases) {
    SCOPED_TRACE("case c=" + std::to_string(c.c) + " group=" + std::to_string(c.group));
    check_both(conv_graph(c), {c.n, c.c, c.h, c.w});
  }
}

TEST(GradCheck, ConvFastEqualsReference) {
  for (const ConvCase& c : kConvCases) {
    const ir::Graph g = conv_graph(c);
    GraphOptions fast, ref;
    fast.input_grad = ref.input_grad = true;
    fast.kernels = KernelChoice::kFast;  // the oneDNN primitives: onednn_backward_test.cpp
    ref.kernels = KernelChoice::kReference;
    TrainGraph a(g, fast), b(g, ref);
    const Tensor x = random_tensor({c.n, c.c, c.h, c.w}, 11);
    const Tensor ya = a.forward(x, true), yb = b.forward(x, true);
    for (int64_t i = 0; i < ya.numel(); ++i)
      ASSERT_NEAR(ya.data<float>()[i], yb.data<float>()[i], 1e-4f);
    const Tensor r = random_tensor(ya.shape(), 12);
    a.backward(r);
    b.backward(r);
    for (const auto& p : a.params())
      for (int64_t i = 0; i < a.grad(p).numel(); ++i)
        ASSERT_NEAR(a.grad(p).data<float>()[i], b.grad(p).data<float>()[i], 1e-3f) << p;
    for (int64_t i = 0; i < a.input_grad().numel(); ++i)
      ASSERT_NEAR(a.input_grad().data<float>()[i], b.input_grad().data<float>()[i], 1e-4f);
  }
}

TEST(GradCheck, Gemm) {
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      SCOPED_TRACE("transA=" + std::to_string(ta) + " transB=" + std::to_string(tb));
      const int64_t m = 3, k = 4, n = 5;
      Shape a_shape = ta ? Shape{k, m} : Shape{m, k};
      Shape b_shape = tb ? Shape{n, k} : Shape{k, n};
      ir::Graph g = make_graph(
          a_shape,
          {node("Gemm", {"x", "B", "C"}, {"y"},
                {{"transA", i1(ta)}, {"transB", i1(tb)}, {"alpha", f1(0.7f)}, {"beta", f1(1.3f)}})},
          {{"B", random_tensor(b_shape, 3)}, {"C", random_tensor(tb ? Shape{n} : Shape{m, n}, 4)}});
      check_both(g, a_shape);
    }
}

TEST(GradCheck, MatMulBatchedByMatrix) {
  ir::Graph g =
      make_graph({2, 3, 4}, {node("MatMul", {"x", "W"}, {"y"})}, {{"W", random_tensor({4, 5}, 3)}});
  check_both(g, {2, 3, 4});
}

// ACC=fp32 through the emulated GEMM (emu_gemm with a binary32 accumulator, the path every
// narrow accumulator takes): the forward and backward products stay consistent.
TEST(GradCheck, EmulatedBinary32Accumulator) {
  const kernels::emu::Accumulator fp32{};
  for (const ConvCase& c : kConvCases) {
    SCOPED_TRACE("conv case c=" + std::to_string(c.c) + " group=" + std::to_string(c.group));
    check_gradients(conv_graph(c), {c.n, c.c, c.h, c.w}, KernelChoice::kFast, 1.0f, fp32);
  }
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb) {
      SCOPED_TRACE("transA=" + std::to_string(ta) + " transB=" + std::to_string(tb));
      const int64_t m = 3, k = 4, n = 5;
      Shape a_shape = ta ? Shape{k, m} : Shape{m, k};
      Shape b_shape = tb ? Shape{n, k} : Shape{k, n};
      ir::Graph g = make_graph(
          a_shape,
          {node("Gemm", {"x", "B", "C"}, {"y"},
                {{"transA", i1(ta)}, {"transB", i1(tb)}, {"alpha", f1(0.7f)}, {"beta", f1(1.3f)}})},
          {{"B", random_tensor(b_shape, 3)}, {"C", random_tensor(tb ? Shape{n} : Shape{m, n}, 4)}});
      check_gradients(g, a_shape, KernelChoice::kFast, 1.0f, fp32);
    }
  ir::Graph mm =
      make_graph({2, 3, 4}, {node("MatMul", {"x", "W"}, {"y"})}, {{"W", random_tensor({4, 5}, 3)}});
  check_gradients(mm, {2, 3, 4}, KernelChoice::kFast, 1.0f, fp32);
}

TEST(GradCheck, BatchNormTraining) {
  ir::Graph g = make_graph(
      {3, 2, 3, 3},
      {node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, {{"epsilon", f1(1e-3f)}})},
      {{"s", random_tensor({2}, 5)},
       {"b", random_tensor({2}, 6)},
       {"m", Tensor::from_vector<float>({2}, {0.1f, -0.2f})},
       {"v", Tensor::from_vector<float>({2}, {1.0f, 2.0f})}});
  check_both(g, {3, 2, 3, 3});
}

TEST(GradCheck, BatchNormRunningStatistics) {
  // One channel, x = 1..4 (N = 4): batch mean 2.5, unbiased variance 5/3.
  ir::Graph g = make_graph(
      {4, 1, 1, 1},
      {node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"}, {{"momentum", f1(0.9f)}})},
      {{"s", Tensor::from_vector<float>({1}, {1.0f})},
       {"b", Tensor::from_vector<float>({1}, {0.0f})},
       {"m", Tensor::from_vector<float>({1}, {1.0f})},
       {"v", Tensor::from_vector<float>({1}, {1.0f})}});
  TrainGraph tg(g);
  const Tensor y = tg.forward(Tensor::from_vector<float>({4, 1, 1, 1}, {1, 2, 3, 4}), true);
  EXPECT_NEAR(tg.graph().initializer("m")->data<float>()[0], 0.9 * 1.0 + 0.1 * 2.5, 1e-6);
  EXPECT_NEAR(tg.graph().initializer("v")->data<float>()[0], 0.9 * 1.0 + 0.1 * (5.0 / 3.0), 1e-6);
  // Batch variance (biased) 1.25: y = (x - 2.5) / sqrt(1.25 + 1e-5).
  EXPECT_NEAR(y.data<float>()[0], -1.5 / std::sqrt(1.25 + 1e-5), 1e-5);
  // Inference mode uses the running statistics: (1 - 1.15) / sqrt(v + eps).
  const Tensor e = tg.forward(Tensor::from_vector<float>({4, 1, 1, 1}, {1, 2, 3, 4}), false);
  EXPECT_NEAR(e.data<float>()[0], (1 - 1.15) / std::sqrt(0.9 + 0.1 * 5.0 / 3.0 + 1e-5), 1e-5);
}

TEST(GradCheck, Activations) {
  const std::vector<ir::Node> acts{
      node("Relu", {"h"}, {"y"}),
      node("LeakyRelu", {"h"}, {"y"}, {{"alpha", f1(0.1f)}}),
      node("Sigmoid", {"h"}, {"y"}),
      node("HardSwish", {"h"}, {"y"}),
      node("HardSigmoid", {"h"}, {"y"}, {{"alpha", f1(0.2f)}, {"beta", f1(0.5f)}}),
      node("Clip", {"h", "lo", "hi"}, {"y"}),
  };
  for (const ir::Node& act : acts) {
    SCOPED_TRACE(act.op_type);
    // A weight in front so that the parameter gradient passes through the activation.
    ir::Graph g = make_graph({2, 8}, {node("Mul", {"x", "W"}, {"h"}), act},
                             {{"W", random_tensor({8}, 8)},
                              {"lo", Tensor::scalar<float>(-0.5f)},
                              {"hi", Tensor::scalar<float>(0.7f)}});
    check_both(g, {2, 8}, 2.0f);
  }
}

TEST(GradCheck, Pooling) {
  const std::vector<ir::Node> pools{
      node("MaxPool", {"x"}, {"y"}, {{"kernel_shape", ints({2, 2})}, {"strides", ints({2, 2})}}),
      node("MaxPool", {"x"}, {"y"},
           {{"kernel_shape", ints({3, 3})},
            {"strides", ints({2, 2})},
            {"pads", ints({1, 1, 1, 1})}}),
      node("AveragePool", {"x"}, {"y"},
           {{"kernel_shape", ints({3, 3})},
            {"strides", ints({2, 2})},
            {"pads", ints({1, 1, 1, 1})}}),
      node("AveragePool", {"x"}, {"y"},
           {{"kernel_shape", ints({3, 3})},
            {"strides", ints({2, 2})},
            {"pads", ints({1, 1, 1, 1})},
            {"count_include_pad", i1(1)}}),
      node("GlobalAveragePool", {"x"}, {"y"}),
  };
  for (const ir::Node& p : pools) {
    SCOPED_TRACE(p.op_type);
    check_both(make_graph({2, 2, 5, 6}, {p}, {}), {2, 2, 5, 6});
  }
}

TEST(GradCheck, ResidualConcatFlattenReshape) {
  // x -> Mul(W) -> a; y = Flatten(Concat(Add(a, x), Relu(a))) reshaped: x feeds two
  // consumers, so its gradient is a sum.
  ir::Graph g = make_graph(
      {2, 3, 2, 2},
      {node("Mul", {"x", "W"}, {"a"}), node("Add", {"a", "x"}, {"s"}), node("Relu", {"a"}, {"r"}),
       node("Concat", {"s", "r"}, {"c"}, {{"axis", i1(1)}}),
       node("Flatten", {"c"}, {"f"}, {{"axis", i1(1)}}), node("Reshape", {"f", "shape"}, {"y"})},
      {{"W", random_tensor({3, 1, 1}, 9)}, {"shape", Tensor::from_vector<int64_t>({2}, {4, 12})}});
  check_both(g, {2, 3, 2, 2});
}

TEST(GradCheck, DropoutFixedMask) {
  ir::Graph g =
      make_graph({4, 16}, {node("Mul", {"x", "W"}, {"h"}), node("Dropout", {"h", "ratio"}, {"y"})},
                 {{"W", random_tensor({16}, 8)}, {"ratio", Tensor::scalar<float>(0.5f)}});
  check_both(g, {4, 16});
  // Kept elements scaled by 1 / (1 - ratio); about half dropped; inference is identity.
  TrainGraph tg(g);
  const Tensor x = random_tensor({4, 16}, 1);
  const Tensor y = tg.forward(x, true, 0);
  const Tensor h = tg.forward(x, false);
  int dropped = 0;
  for (int64_t i = 0; i < y.numel(); ++i) {
    if (y.data<float>()[i] == 0.0f)
      ++dropped;
    else
      EXPECT_FLOAT_EQ(y.data<float>()[i], 2.0f * h.data<float>()[i]);
  }
  EXPECT_GT(dropped, 16);
  EXPECT_LT(dropped, 48);
}

TEST(GradCheck, SoftmaxCrossEntropy) {
  // Two equal logits: loss ln 2, gradient (0.5 - 1, 0.5) / N.
  LossResult r = softmax_cross_entropy(Tensor::from_vector<float>({1, 2}, {3.0f, 3.0f}),
                                       Tensor::from_vector<int64_t>({1}, {0}));
  EXPECT_NEAR(r.loss, std::log(2.0), 1e-9);
  EXPECT_NEAR(r.d_logits.data<float>()[0], -0.5f, 1e-7);
  EXPECT_NEAR(r.d_logits.data<float>()[1], 0.5f, 1e-7);
  // Finite differences on a 3x4 batch.
  const Tensor z = random_tensor({3, 4}, 3);
  const Tensor labels = Tensor::from_vector<int64_t>({3}, {2, 0, 3});
  const LossResult base = softmax_cross_entropy(z, labels);
  for (int64_t i = 0; i < z.numel(); ++i) {
    Tensor zp = z.clone(), zm = z.clone();
    zp.data<float>()[i] += 1e-2f;
    zm.data<float>()[i] -= 1e-2f;
    const double num =
        (softmax_cross_entropy(zp, labels).loss - softmax_cross_entropy(zm, labels).loss) / 2e-2;
    EXPECT_NEAR(num, base.d_logits.data<float>()[i], 1e-4);
  }
  EXPECT_THROW(softmax_cross_entropy(z, Tensor::from_vector<int64_t>({3}, {0, 4, 1})), UserError);
}

TEST(GradCheck, OpWithoutBackwardIsRefusedNamingTheNode) {
  ir::Node sin = node("Sin", {"h"}, {"y"});
  sin.name = "the_sine";
  ir::Graph g =
      make_graph({2, 3}, {node("Mul", {"x", "W"}, {"h"}), sin}, {{"W", random_tensor({3}, 1)}});
  try {
    TrainGraph tg(g);
    FAIL() << "expected a refusal";
  } catch (const UnsupportedError& e) {
    EXPECT_NE(std::string(e.what()).find("the_sine"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no backward"), std::string::npos) << e.what();
  }
}

TEST(GradCheck, TrainableInitializers) {
  ir::Graph g =
      make_graph({3, 2, 3, 3}, {node("BatchNormalization", {"x", "s", "b", "m", "v"}, {"y"})},
                 {{"s", random_tensor({2}, 5)},
                  {"b", random_tensor({2}, 6)},
                  {"m", random_tensor({2}, 6)},
                  {"v", random_tensor({2}, 6)}});
  EXPECT_EQ(trainable_initializers(g), (std::vector<std::string>{"s", "b"}));
}

}  // namespace
}  // namespace frugal::train
