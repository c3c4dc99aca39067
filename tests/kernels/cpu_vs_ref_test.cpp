// Every cpu backend kernel against the ref backend (the oracle, tested on its own in
// tests/ops) over a matrix of shapes and attributes: each case is a one-node graph run in
// a Session on {"cpu", "ref"} and on {"ref"}; the node must be assigned to cpu and agree
// within 1e-4 of max |ref|.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <iterator>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/ops/post_ops.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

constexpr double kTol = 1e-4;

std::string ints(const std::vector<int64_t>& v) {
  std::string s;
  for (int64_t x : v) s += (s.empty() ? "" : ",") + std::to_string(x);
  return "[" + s + "]";
}

}  // namespace

// Conv over groups (1, depthwise, depthwise with multiplier, grouped) x kernel 1/3/5/7 x
// stride 1/2 x dilation 1/2, cycling pad modes (none, symmetric, asymmetric, SAME_UPPER,
// SAME_LOWER, VALID), batch 1/3 and bias on/off; odd channel counts.
TEST(CpuVsRef, Conv2dMatrix) {
  struct Channels {
    int64_t c, m, group;
  };
  // {64, 64, 16}: ResNeXt's 4 channels per group.
  const Channels channel_cases[] = {{5, 7, 1}, {6, 6, 6}, {3, 6, 3}, {6, 9, 3}, {64, 64, 16}};
  int index = 0;
  for (const auto& ch : channel_cases)
    for (int64_t k : {1, 3, 5, 7})
      for (int64_t stride : {1, 2})
        for (int64_t dilation : {1, 2}) {
          const int pad_mode = index % 6;
          const int64_t batch = index % 2 ? 3 : 1;
          const bool bias = index % 3 != 1;
          ++index;
          std::map<std::string, ir::Attribute> attrs{
              {"group", attr(ch.group)},
              {"strides", attr(std::vector<int64_t>{stride, stride})},
              {"dilations", attr(std::vector<int64_t>{dilation, dilation})},
              {"kernel_shape", attr(std::vector<int64_t>{k, k})}};
          const int64_t half = (k - 1) * dilation / 2;
          if (pad_mode == 1) attrs["pads"] = attr(std::vector<int64_t>{half, half, half, half});
          if (pad_mode == 2)
            attrs["pads"] =
                attr(std::vector<int64_t>{half, 0, half + 1, std::min<int64_t>(1, half)});
          if (pad_mode == 3) attrs["auto_pad"] = attr(std::string("SAME_UPPER"));
          if (pad_mode == 4) attrs["auto_pad"] = attr(std::string("SAME_LOWER"));
          if (pad_mode == 5) attrs["auto_pad"] = attr(std::string("VALID"));
          const uint64_t seed = 100 + index;
          std::vector<Operand> ops{
              input("x", random_tensor({batch, ch.c, 15, 14}, seed)),
              constant("w", random_tensor({ch.m, ch.c / ch.group, k, k}, seed + 1)),
          };
          if (bias) ops.push_back(constant("b", random_tensor({ch.m}, seed + 2)));
          const std::string label = "conv c" + std::to_string(ch.c) + " m" + std::to_string(ch.m) +
                                    " g" + std::to_string(ch.group) + " k" + std::to_string(k) +
                                    " s" + std::to_string(stride) + " d" +
                                    std::to_string(dilation) + " pad_mode " +
                                    std::to_string(pad_mode) + " n" + std::to_string(batch);
          expect_matches_ref(one_node("Conv", ops, attrs), kTol, "cpu", label);
        }
}

TEST(CpuVsRef, Conv1dAnd3d) {
  expect_matches_ref(
      one_node("Conv",
               {input("x", random_tensor({2, 3, 20}, 1)),
                constant("w", random_tensor({5, 3, 4}, 2)), constant("b", random_tensor({5}, 3))},
               {{"strides", attr(std::vector<int64_t>{2})},
                {"pads", attr(std::vector<int64_t>{2, 1})},
                {"dilations", attr(std::vector<int64_t>{2})}}),
      kTol, "cpu", "conv1d");
  expect_matches_ref(
      one_node(
          "Conv",
          {input("x", random_tensor({1, 4, 10}, 4)), constant("w", random_tensor({4, 1, 3}, 5))},
          {{"group", attr(int64_t{4})}, {"auto_pad", attr(std::string("SAME_UPPER"))}}),
      kTol, "cpu", "conv1d depthwise");
  expect_matches_ref(one_node("Conv",
                              {input("x", random_tensor({1, 3, 6, 7, 5}, 6)),
                               constant("w", random_tensor({4, 3, 3, 2, 3}, 7)),
                               constant("b", random_tensor({4}, 8))},
                              {{"pads", attr(std::vector<int64_t>{1, 0, 1, 0, 1, 2})},
                               {"strides", attr(std::vector<int64_t>{1, 2, 1})}}),
                     kTol, "cpu", "conv3d");
}

// Weights fed at run time instead of being constants: bound as plain memory each run.
TEST(CpuVsRef, ConvWithRunTimeWeights) {
  expect_matches_ref(
      one_node("Conv",
               {input("x", random_tensor({2, 6, 9, 9}, 11)),
                input("w", random_tensor({4, 3, 3, 3}, 12)), input("b", random_tensor({4}, 13))},
               {{"group", attr(int64_t{2})}, {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}),
      kTol, "cpu", "conv run-time weights");
}

// ConvTranspose: groups, kernel sizes, strides, dilations, pads, output_padding,
// output_shape (including one larger than the full result) and auto_pad.
TEST(CpuVsRef, ConvTransposeMatrix) {
  struct Case {
    int64_t c, m_per_group, group, k, stride, dilation;
    std::map<std::string, ir::Attribute> extra;
  };
  const std::vector<Case> cases = {
      {3, 5, 1, 3, 1, 1, {}},
      {4, 3, 2, 3, 2, 1, {{"pads", attr(std::vector<int64_t>{1, 0, 1, 2})}}},
      {5, 2, 1, 4, 2, 1, {{"output_padding", attr(std::vector<int64_t>{1, 0})}}},
      {6, 1, 6, 3, 2, 1, {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}},
      {3, 4, 1, 3, 3, 2, {{"output_padding", attr(std::vector<int64_t>{2, 1})}}},
      {2, 3, 1, 1, 2, 1, {}},
      {4, 2, 2, 5, 1, 2, {{"pads", attr(std::vector<int64_t>{2, 3, 1, 0})}}},
      {3, 3, 1, 3, 2, 1, {{"output_shape", attr(std::vector<int64_t>{14, 15})}}},
      {3, 2, 1, 3, 2, 1, {{"auto_pad", attr(std::string("SAME_UPPER"))}}},
      {3, 2, 1, 4, 2, 1, {{"auto_pad", attr(std::string("SAME_LOWER"))}}},
  };
  int index = 0;
  for (const auto& c : cases) {
    auto attrs = c.extra;
    attrs["group"] = attr(c.group);
    attrs["strides"] = attr(std::vector<int64_t>{c.stride, c.stride});
    attrs["dilations"] = attr(std::vector<int64_t>{c.dilation, c.dilation});
    const uint64_t seed = 300 + 3 * index;
    const int64_t batch = index % 2 ? 2 : 1;
    std::vector<Operand> ops{
        input("x", random_tensor({batch, c.c, 7, 8}, seed)),
        constant("w", random_tensor({c.c, c.m_per_group, c.k, c.k}, seed + 1))};
    if (index % 3 != 2)
      ops.push_back(constant("b", random_tensor({c.m_per_group * c.group}, seed + 2)));
    expect_matches_ref(one_node("ConvTranspose", ops, attrs), kTol, "cpu",
                       "conv_transpose case " + std::to_string(index));
    ++index;
  }
  // An output_shape beyond the full result (a bias-only border) is left to ref.
  const OneNode larger = one_node(
      "ConvTranspose",
      {input("x", random_tensor({1, 3, 7, 8}, 49)), constant("w", random_tensor({3, 3, 3, 3}, 48))},
      {{"strides", attr(std::vector<int64_t>{2, 2})},
       {"output_shape", attr(std::vector<int64_t>{17, 16})}});
  EXPECT_EQ(cpu_decline_reason(larger),
            "cpu: ConvTranspose: output_shape larger than the full transposed result (bias-only "
            "border) not implemented");
  expect_matches_ref(one_node("ConvTranspose",
                              {input("x", random_tensor({1, 3, 9}, 50)),
                               constant("w", random_tensor({3, 2, 3}, 51))},
                              {{"strides", attr(std::vector<int64_t>{2})}}),
                     kTol, "cpu", "conv_transpose 1-D");
}

// ConvTranspose whose stride equals its kernel (no pads, no dilation, one group) runs as a
// 1x1 convolution and a pixel shuffle: square and oblong kernels, one output channel or
// several, with or without a bias, with activation post-ops. A run-time bias, a sum
// post-op, groups, pads or output_padding keep oneDNN's deconvolution; both match ref.
TEST(CpuVsRef, ConvTransposeStrideEqualsKernel) {
  struct Case {
    int64_t m, kh, kw;
    bool bias;
    std::vector<std::string> post_ops;
    std::map<std::string, ir::Attribute> extra;
    bool shuffle;
  };
  const std::vector<Case> cases = {
      {3, 2, 2, true, {}, {}, true},
      {1, 2, 2, false, {"sigmoid"}, {}, true},
      {4, 2, 3, true, {"relu"}, {}, true},
      {2, 4, 4, true, {"clip:0:6", "hardswish"}, {}, true},
      {3, 1, 1, true, {}, {}, true},
      {3, 2, 2, true, {"sum"}, {}, false},
      {6, 2, 2, true, {}, {{"group", attr(int64_t{2})}}, false},
      {3, 2, 2, false, {}, {{"pads", attr(std::vector<int64_t>{1, 0, 0, 1})}}, false},
      {3, 2, 2, true, {}, {{"output_padding", attr(std::vector<int64_t>{1, 1})}}, false},
  };
  int index = 0;
  for (const auto& c : cases) {
    const std::string label = "case " + std::to_string(index);
    const int64_t channels = 6, group = c.extra.count("group") ? 2 : 1;
    const uint64_t seed = 900 + 5 * index++;
    auto attrs = c.extra;
    attrs["strides"] = attr(std::vector<int64_t>{c.kh, c.kw});
    attrs["kernel_shape"] = attr(std::vector<int64_t>{c.kh, c.kw});
    if (!c.post_ops.empty()) attrs[ops::kPostOpsAttr] = attr(c.post_ops);
    std::vector<Operand> ops{
        input("x", random_tensor({2, channels, 5, 7}, seed)),
        constant("w", random_tensor({channels, c.m / group, c.kh, c.kw}, seed + 1))};
    if (c.bias) ops.push_back(constant("b", random_tensor({c.m}, seed + 2)));
    if (c.post_ops == std::vector<std::string>{"sum"})  // the operand after the bias
      ops.push_back(input("s", random_tensor({2, c.m, 5 * c.kh, 7 * c.kw}, seed + 3)));
    const OneNode node = one_node("ConvTranspose", ops, attrs);
    expect_matches_ref(node, kTol, "cpu", label);
    const Ran got = run_on("cpu", node.graph, node.feeds);
    EXPECT_EQ(got.assignments.at(0).impl.find("pixel shuffle") != std::string::npos, c.shuffle)
        << label << ": " << got.assignments.at(0).impl;
  }
  // The bias fed at run time: the deconvolution, the same values.
  const OneNode run_time_bias =
      one_node("ConvTranspose",
               {input("x", random_tensor({1, 4, 5, 5}, 60)),
                constant("w", random_tensor({4, 3, 2, 2}, 61)), input("b", random_tensor({3}, 62))},
               {{"strides", attr(std::vector<int64_t>{2, 2})}});
  expect_matches_ref(run_time_bias, kTol, "cpu", "run-time bias");
  EXPECT_EQ(run_on("cpu", run_time_bias.graph, run_time_bias.feeds)
                .assignments.at(0)
                .impl.find("pixel shuffle"),
            std::string::npos);
}

// Gemm: transposes x C shapes (none, scalar, [N], [1,N], [M,1], [M,N]) x alpha/beta,
// with B and C as constants or fed at run time.
TEST(CpuVsRef, GemmMatrix) {
  const int64_t m = 5, k = 7, n = 6;
  const std::vector<Shape> c_shapes = {{}, {1}, {n}, {1, n}, {m, 1}, {m, n}};
  const std::pair<float, float> scalings[] = {
      {1.0f, 1.0f}, {0.5f, 2.0f}, {1.0f, 0.0f}, {-1.5f, 1.0f}};
  int index = 0;
  for (int trans_a = 0; trans_a < 2; ++trans_a)
    for (int trans_b = 0; trans_b < 2; ++trans_b)
      for (size_t ci = 0; ci <= c_shapes.size(); ++ci) {
        const auto [alpha, beta] = scalings[index % 4];
        const bool constant_b = index % 2 == 0, constant_c = index % 3 != 0;
        const uint64_t seed = 500 + 3 * index;
        ++index;
        Tensor a = random_tensor(trans_a ? Shape{k, m} : Shape{m, k}, seed);
        Tensor b = random_tensor(trans_b ? Shape{n, k} : Shape{k, n}, seed + 1);
        std::vector<Operand> ops{input("a", a), constant_b ? constant("b", b) : input("b", b)};
        std::string label = "gemm tA" + std::to_string(trans_a) + " tB" + std::to_string(trans_b);
        if (ci < c_shapes.size()) {
          Tensor c = random_tensor(c_shapes[ci], seed + 2);
          ops.push_back(constant_c ? constant("c", c) : input("c", c));
          label += " C " + shape_str(c_shapes[ci]);
        }
        label += " alpha " + std::to_string(alpha) + " beta " + std::to_string(beta);
        expect_matches_ref(one_node("Gemm", ops,
                                    {{"transA", attr(int64_t{trans_a})},
                                     {"transB", attr(int64_t{trans_b})},
                                     {"alpha", attr(alpha)},
                                     {"beta", attr(beta)}}),
                           kTol, "cpu", label);
      }
}

// MatMul: plain, batched, broadcast batches (either side), 1-D operands, constant B.
TEST(CpuVsRef, MatMulMatrix) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{4, 7}, {7, 5}},
      {{2, 3, 4, 7}, {7, 5}},
      {{3, 4, 7}, {3, 7, 5}},
      {{1, 4, 7}, {3, 7, 5}},
      {{2, 1, 4, 7}, {1, 3, 7, 5}},
      {{7}, {7, 5}},
      {{3, 4, 7}, {7}},
      {{7}, {7}},
      {{5, 4, 7}, {1, 7, 6}},
  };
  int index = 0;
  for (const auto& [a, b] : cases)
    for (bool constant_b : {false, true}) {
      const uint64_t seed = 700 + 2 * index++;
      Tensor bt = random_tensor(b, seed + 1);
      expect_matches_ref(
          one_node("MatMul", {input("a", random_tensor(a, seed)),
                              constant_b ? constant("b", bt) : input("b", bt)}),
          kTol, "cpu",
          "matmul " + shape_str(a) + " x " + shape_str(b) + (constant_b ? " (constant B)" : ""));
    }
}

// MaxPool and AveragePool: kernels, strides, pads, dilations, ceil_mode,
// count_include_pad; 1-D and 2-D.
TEST(CpuVsRef, PoolingMatrix) {
  struct Case {
    std::vector<int64_t> kernel, strides, pads, dilations;
    int64_t ceil_mode;
  };
  const std::vector<Case> cases = {
      {{3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}, 0},  // resnet's stem pool
      {{2, 2}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 0},
      {{3, 3}, {2, 2}, {0, 0, 0, 0}, {1, 1}, 1},  // squeezenet's ceil-mode pool
      {{3, 2}, {1, 2}, {1, 0, 2, 1}, {1, 1}, 0},  // asymmetric pads
      {{2, 3}, {2, 1}, {0, 1, 1, 1}, {1, 1}, 1},
      {{3, 3}, {2, 2}, {1, 1, 1, 1}, {2, 2}, 0},  // dilated
      {{5, 5}, {3, 3}, {2, 2, 2, 2}, {1, 1}, 1},
  };
  int index = 0;
  for (const auto& c : cases)
    for (const char* op : {"MaxPool", "AveragePool"})
      for (int64_t include_pad : {0, 1}) {
        if (std::string(op) == "MaxPool" && include_pad) continue;
        std::map<std::string, ir::Attribute> attrs{{"kernel_shape", attr(c.kernel)},
                                                   {"strides", attr(c.strides)},
                                                   {"pads", attr(c.pads)},
                                                   {"ceil_mode", attr(c.ceil_mode)}};
        if (c.dilations != std::vector<int64_t>{1, 1}) attrs["dilations"] = attr(c.dilations);
        if (std::string(op) == "AveragePool") attrs["count_include_pad"] = attr(include_pad);
        OneNode t =
            one_node(op, {input("x", random_tensor({index % 2 ? 3 : 1, 5, 13, 12}, 900 + index))},
                     attrs, 19);
        ++index;
        const std::string label = std::string(op) + " kernel " + ints(c.kernel) + " strides " +
                                  ints(c.strides) + " pads " + ints(c.pads) + " dilations " +
                                  ints(c.dilations) + " ceil " + std::to_string(c.ceil_mode) +
                                  " include_pad " + std::to_string(include_pad);
        const std::string reason = cpu_decline_reason(t);
        if (include_pad && c.ceil_mode && !reason.empty()) {
          // The one combination declined by design (see pool_kernels.cpp).
          EXPECT_NE(reason.find("ceil_mode and count_include_pad"), std::string::npos) << reason;
          continue;
        }
        expect_matches_ref(t, kTol, "cpu", label);
      }
  expect_matches_ref(one_node("MaxPool", {input("x", random_tensor({2, 3, 17}, 990))},
                              {{"kernel_shape", attr(std::vector<int64_t>{3})},
                               {"strides", attr(std::vector<int64_t>{2})},
                               {"pads", attr(std::vector<int64_t>{1, 1})}}),
                     kTol, "cpu", "maxpool 1-D");
  expect_matches_ref(one_node("AveragePool", {input("x", random_tensor({2, 3, 17}, 991))},
                              {{"kernel_shape", attr(std::vector<int64_t>{4})},
                               {"auto_pad", attr(std::string("SAME_UPPER"))}}),
                     kTol, "cpu", "avgpool 1-D SAME_UPPER");
}

TEST(CpuVsRef, GlobalPooling) {
  for (const char* op : {"GlobalAveragePool", "GlobalMaxPool"}) {
    expect_matches_ref(one_node(op, {input("x", random_tensor({3, 7, 9, 5}, 40))}), kTol, "cpu",
                       op);
    expect_matches_ref(one_node(op, {input("x", random_tensor({2, 5, 11}, 41))}), kTol, "cpu", op);
  }
}

TEST(CpuVsRef, BatchNormalization) {
  for (const Shape& x : {Shape{3, 5}, Shape{2, 5, 9}, Shape{3, 5, 6, 7}}) {
    const int64_t c = x[1];
    expect_matches_ref(
        one_node(
            "BatchNormalization",
            {input("x", random_tensor(x, 60)), constant("scale", random_tensor({c}, 61)),
             constant("bias", random_tensor({c}, 62)), constant("mean", random_tensor({c}, 63)),
             constant("var", uniform_tensor({c}, 64, 0.5f, 2.0f))},
            {{"epsilon", attr(1e-3f)}}),
        kTol, "cpu", "batchnorm " + shape_str(x));
  }
}

TEST(CpuVsRef, Lrn) {
  for (int64_t size : {1, 3, 5})
    expect_matches_ref(one_node("LRN", {input("x", random_tensor({2, 9, 5, 4}, 70 + size))},
                                {{"size", attr(size)},
                                 {"alpha", attr(2e-3f)},
                                 {"beta", attr(0.6f)},
                                 {"bias", attr(1.5f)}}),
                       kTol, "cpu", "lrn size " + std::to_string(size));
}

// Softmax/LogSoftmax along each axis (opset 13), and the 2-D coercion of opset 11.
TEST(CpuVsRef, SoftmaxAndLogSoftmax) {
  for (const char* op : {"Softmax", "LogSoftmax"}) {
    for (int64_t axis : {-1, 0, 1, 2})
      expect_matches_ref(one_node(op, {input("x", random_tensor({3, 4, 5}, 80, 3.0f))},
                                  {{"axis", attr(axis)}}, 13),
                         kTol, "cpu", std::string(op) + " axis " + std::to_string(axis));
    for (int64_t axis : {0, 1, 2, 3})
      expect_matches_ref(one_node(op, {input("x", random_tensor({3, 4, 5}, 81, 3.0f))},
                                  {{"axis", attr(axis)}}, 11),
                         kTol, "cpu", std::string(op) + " opset 11 axis " + std::to_string(axis));
  }
}

// A softmax over an axis that is not the innermost (YOLOv8's DFL: axis 1 of [N, 16, 4, A])
// runs oneDNN's jit kernel with the axis reordered innermost, not its reference one: every
// axis of ranks 2-5, batch 1 and 3, 1 and 2 threads, a NaN-poisoned arena.
TEST(CpuVsRef, SoftmaxOverInnerAxesRunsJit) {
  const std::vector<Shape> shapes = {{3, 7}, {1, 16, 4, 37}, {3, 16, 4, 21}, {2, 3, 5, 4, 6}};
  int seed = 90;
  for (const char* op : {"Softmax", "LogSoftmax"})
    for (const Shape& x : shapes)
      for (int64_t axis = 0; axis + 1 < static_cast<int64_t>(x.size()); ++axis)
        for (int threads : {1, 2}) {
          const OneNode t = one_node(op, {input("x", random_tensor(x, ++seed, 4.0f))},
                                     {{"axis", attr(axis)}}, 13);
          const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
          const std::string label = std::string(op) + " " + shape_str(x) + " axis " +
                                    std::to_string(axis) + " threads " + std::to_string(threads);
          const std::string& impl = r.cpu->assignments().at(0).impl;
          EXPECT_NE(impl.find("jit"), std::string::npos) << label << ": " << impl;
          EXPECT_LE(relative_error(r.got.at(0), r.want.at(0)), kTol) << label;
        }
}

TEST(CpuVsRef, Activations) {
  const Tensor x = uniform_tensor({2, 5, 7, 3}, 90, -8.0f, 8.0f);
  for (const char* op : {"Relu", "Sigmoid", "HardSwish"})
    expect_matches_ref(one_node(op, {input("x", x)}), kTol, "cpu", op);
  expect_matches_ref(one_node("HardSigmoid", {input("x", x)}), kTol, "cpu", "HardSigmoid default");
  expect_matches_ref(one_node("HardSigmoid", {input("x", x)},
                              {{"alpha", attr(1.0f / 6.0f)}, {"beta", attr(0.5f)}}),
                     kTol, "cpu", "HardSigmoid torch");
}

TEST(CpuVsRef, Clip) {
  const Tensor x = uniform_tensor({3, 4, 5}, 95, -8.0f, 8.0f);
  auto scalar = [](float v) { return Tensor::from_vector<float>({}, {v}); };
  expect_matches_ref(
      one_node("Clip", {input("x", x), constant("lo", scalar(0)), constant("hi", scalar(6))}), kTol,
      "cpu", "clip relu6");
  expect_matches_ref(one_node("Clip", {input("x", x), constant("lo", scalar(-1.5f))}), kTol, "cpu",
                     "clip min only");
  expect_matches_ref(one_node("Clip", {input("x", x), omitted(), constant("hi", scalar(2))}), kTol,
                     "cpu", "clip max only");
  expect_matches_ref(
      one_node("Clip", {input("x", x), constant("lo", scalar(3)), constant("hi", scalar(1))}), kTol,
      "cpu", "clip min > max");
  expect_matches_ref(
      one_node("Clip", {input("x", x)}, {{"min", attr(-1.0f)}, {"max", attr(4.0f)}}, 6), kTol,
      "cpu", "clip opset 6 attributes");
}

// Add and Mul: equal shapes, per-channel broadcast either way round, lower-rank operand,
// scalar.
TEST(CpuVsRef, AddAndMul) {
  const std::vector<std::pair<Shape, Shape>> cases = {
      {{2, 5, 6, 7}, {2, 5, 6, 7}},
      {{2, 5, 6, 7}, {1, 5, 1, 1}},
      {{2, 5, 1, 1}, {2, 5, 6, 7}},
      {{2, 5, 6, 7}, {5, 1, 1}},
      {{3, 8}, {8}},
      {{4, 6}, {}},
  };
  int index = 0;
  for (const auto& [a, b] : cases)
    for (const char* op : {"Add", "Mul"})
      expect_matches_ref(one_node(op, {input("a", random_tensor(a, 1000 + index)),
                                       input("b", random_tensor(b, 1100 + index++))}),
                         kTol, "cpu", std::string(op) + " " + shape_str(a) + " " + shape_str(b));
}

// Fused post-ops, as the fusion passes (passes/) write them: each chain on Conv (dense and
// depthwise without bias), ConvTranspose, Gemm and MatMul, the sum operand full-size or
// broadcast. ref runs the base kernel then the post-ops (ops/post_ops.h).
TEST(CpuVsRef, FusedPostOps) {
  const std::vector<std::vector<std::string>> chains = {{"relu"},
                                                        {"leakyrelu:0.1"},
                                                        {"clip:0:6"},
                                                        {"clip:2:-1"},
                                                        {"sigmoid"},
                                                        {"hardswish"},
                                                        {"hardsigmoid:0.2:0.5"},
                                                        {"sum"},
                                                        {"sum", "relu"},
                                                        {"relu", "sum"},
                                                        {"sum", "clip:-1:1", "sigmoid"},
                                                        {"swish"},
                                                        {"sum", "swish"},
                                                        {"gelu"},
                                                        {"sum", "gelu"},
                                                        {"gelutanh"},
                                                        {"sum", "gelutanh"},
                                                        {"hardswish", "linear:0.5:-0.25"},
                                                        {"sum", "linear:-2:1"}};
  int index = 0;
  for (const auto& chain : chains) {
    const bool sum = std::find(chain.begin(), chain.end(), "sum") != chain.end();
    const bool broadcast = index++ % 2 == 1;
    std::string label;
    for (const auto& e : chain) label += (label.empty() ? "" : "+") + e;
    const std::map<std::string, ir::Attribute> post{{"frugal.post_ops", attr(chain)}};
    auto with = [&](std::map<std::string, ir::Attribute> attrs) {
      attrs.insert(post.begin(), post.end());
      return attrs;
    };
    const uint64_t seed = 500 + 10 * index;
    {  // dense Conv with bias, pads 1
      std::vector<Operand> ops{input("x", random_tensor({2, 5, 9, 9}, seed)),
                               constant("w", random_tensor({7, 5, 3, 3}, seed + 1, 0.3f)),
                               constant("b", random_tensor({7}, seed + 2))};
      if (sum)
        ops.push_back(
            input("s", random_tensor(broadcast ? Shape{1, 7, 1, 1} : Shape{2, 7, 9, 9}, seed + 3)));
      expect_matches_ref(
          one_node("Conv", ops, with({{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}})), kTol,
          "cpu", "conv " + label);
    }
    {  // depthwise, stride 2, no bias: the sum operand keeps index 3
      std::vector<Operand> ops{input("x", random_tensor({1, 8, 10, 10}, seed + 4)),
                               constant("w", random_tensor({8, 1, 3, 3}, seed + 5)), omitted()};
      if (sum)
        ops.push_back(input("s", random_tensor({1, 8, 5, 5}, seed + 6)));
      else
        ops.pop_back();
      expect_matches_ref(one_node("Conv", ops,
                                  with({{"group", attr(int64_t{8})},
                                        {"strides", attr(std::vector<int64_t>{2, 2})},
                                        {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}})),
                         kTol, "cpu", "depthwise conv " + label);
    }
    {  // ConvTranspose, stride 2
      std::vector<Operand> ops{input("x", random_tensor({1, 4, 5, 5}, seed + 7)),
                               constant("w", random_tensor({4, 3, 3, 3}, seed + 8)),
                               constant("b", random_tensor({3}, seed + 9))};
      if (sum) ops.push_back(input("s", random_tensor({1, 3, 11, 11}, seed + 10)));
      expect_matches_ref(
          one_node("ConvTranspose", ops, with({{"strides", attr(std::vector<int64_t>{2, 2})}})),
          kTol, "cpu", "conv_transpose " + label);
    }
    {  // Gemm with bias
      std::vector<Operand> ops{input("a", random_tensor({3, 10}, seed + 11)),
                               constant("w", random_tensor({10, 6}, seed + 12)),
                               constant("c", random_tensor({6}, seed + 13))};
      if (sum)
        ops.push_back(input("s", random_tensor(broadcast ? Shape{6} : Shape{3, 6}, seed + 14)));
      expect_matches_ref(one_node("Gemm", ops, with({})), kTol, "cpu", "gemm " + label);
    }
    {  // batched MatMul: the sum operand is input 2
      std::vector<Operand> ops{input("a", random_tensor({2, 3, 10}, seed + 15)),
                               constant("w", random_tensor({10, 4}, seed + 16))};
      if (sum)
        ops.push_back(
            input("s", random_tensor(broadcast ? Shape{1, 3, 4} : Shape{2, 3, 4}, seed + 17)));
      expect_matches_ref(one_node("MatMul", ops, with({})), kTol, "cpu", "matmul " + label);
    }
  }
}

// A Conv's trailing swish / sigmoid post-ops run as frugal's own AVX-512 loop over the
// output after oneDNN's primitive (PostOpChain::allow_own_tail): dense 1x1 and 3x3 and
// depthwise, with a bias and a sum before them, channel counts that leave a blocked
// layout's padding (24, 40) or none (96), outputs from a few vectors with a partial last one
// to several 4096-float chunks, at 1 and 2 threads; the plan says it. A chain whose swish is
// followed by another entry keeps oneDNN's injector for all of it.
TEST(CpuVsRef, ConvSwishTailByOwnLoop) {
  if (!kernels::cpu::dw_isa_available())
    GTEST_SKIP() << "no AVX-512 on this CPU: oneDNN's injector applies every post-op";
  struct Case {
    int64_t n, c, m, h, w, k, group;
    std::vector<std::string> chain;
    bool own;
  };
  const std::vector<Case> cases = {
      {1, 16, 96, 23, 29, 1, 1, {"swish"}, true},
      {2, 5, 24, 7, 9, 3, 1, {"sum", "swish"}, true},
      {1, 40, 40, 17, 15, 3, 40, {"swish"}, true},
      {1, 24, 24, 9, 9, 3, 24, {"sigmoid"}, true},
      {1, 8, 40, 30, 31, 1, 1, {"relu", "swish"}, true},
      {1, 3, 5, 3, 3, 3, 1, {"swish", "sigmoid"}, true},
      {1, 8, 40, 5, 5, 1, 1, {"swish", "linear:0.5:-0.25"}, false},
  };
  for (const Case& c : cases) {
    std::string label = "n" + std::to_string(c.n) + " c" + std::to_string(c.c) + " m" +
                        std::to_string(c.m) + " " + std::to_string(c.h) + "x" +
                        std::to_string(c.w) + " k" + std::to_string(c.k) + " g" +
                        std::to_string(c.group);
    for (const auto& e : c.chain) label += " " + e;
    const uint64_t seed = 7000 + static_cast<uint64_t>(c.h * c.w);
    std::vector<Operand> ops{
        input("x", random_tensor({c.n, c.c, c.h, c.w}, seed)),
        constant("w", random_tensor({c.m, c.c / c.group, c.k, c.k}, seed + 1, 0.5f)),
        constant("b", random_tensor({c.m}, seed + 2))};
    if (c.chain.front() == "sum")
      ops.push_back(input("s", random_tensor({c.n, c.m, c.h, c.w}, seed + 3)));
    const int64_t p = c.k / 2;
    const OneNode node = one_node("Conv", ops,
                                  {{"group", attr(c.group)},
                                   {"pads", attr(std::vector<int64_t>{p, p, p, p})},
                                   {ops::kPostOpsAttr, attr(c.chain)}});
    expect_graph_on_cpu(node.graph, node.feeds, 1e-5, label);
    const std::string impl = run_on("cpu", node.graph, node.feeds).assignments.at(0).impl;
    EXPECT_EQ(impl.find("by own loop") != std::string::npos, c.own) << label << ": " << impl;
  }
}

// A 4-D pooling whose input comes plain (from a node on ref, as in ISNet after its
// dynamically quantized convolutions' Casts) runs channels last, not in oneDNN 2.6's scalar
// simple_nchw loop (68 ms for one ceil-mode 2x2 max pool of 32x512x512 there), with the
// same values.
TEST(CpuVsRef, PoolingOnPlainInputLeavesTheScalarLoop) {
  for (const char* op : {"MaxPool", "AveragePool"}) {
    ir::Graph g;
    g.opsets[""] = 17;
    g.inputs.push_back(ir::ValueInfo{
        "x", DType::kF32, std::vector<ir::Dim>{{1, ""}, {32, ""}, {130, ""}, {128, ""}}});
    g.nodes.push_back(make_node("act", "Erf", {"x"}, "e"));
    g.nodes.push_back(make_node("relu", "Relu", {"e"}, "r"));
    g.nodes.push_back(make_node("pool", op, {"r"}, "y",
                                {{"kernel_shape", attr(std::vector<int64_t>{2, 2})},
                                 {"strides", attr(std::vector<int64_t>{2, 2})},
                                 {"ceil_mode", attr(int64_t{1})}}));
    g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
    g.validate_and_sort();
    const std::vector<Tensor> feeds{random_tensor({1, 32, 130, 128}, 77)};
    for (int threads : {1, 2}) {  // Erf stays on ref: its output reaches the pool plain
      const CpuAndRef r = run_cpu_and_ref(g, feeds, threads);
      EXPECT_LE(relative_error(r.got.at(0), r.want.at(0)), kTol) << op;
      for (const auto& a : r.cpu->assignments()) {
        if (a.op_type == op) {
          EXPECT_EQ(a.backend, "cpu") << op;
          EXPECT_EQ(a.impl.find("simple_nchw"), std::string::npos) << a.impl;
        }
      }
    }
  }
}

// Cast on cpu against ref, exactly, at 1 and 2 threads: float to integers (NaN, infinities,
// out-of-range values saturating, negatives to unsigned), integers to float and to narrower
// integers (wrapping), bool both ways, float64; sizes below and above the threading limit.
TEST(CpuVsRef, CastMatrix) {
  const float specials[] = {NAN, INFINITY, -INFINITY, 3e9f, -3e9f, 300.7f, -1.5f, 0.0f, 255.5f};
  struct Pair {
    DType from, to;
  };
  const std::vector<Pair> pairs = {
      {DType::kF32, DType::kI32}, {DType::kF32, DType::kU8},   {DType::kF32, DType::kI8},
      {DType::kF32, DType::kI64}, {DType::kF32, DType::kBool}, {DType::kF32, DType::kF64},
      {DType::kI32, DType::kF32}, {DType::kI64, DType::kF32},  {DType::kI32, DType::kI8},
      {DType::kU8, DType::kF32},  {DType::kBool, DType::kF32}, {DType::kF64, DType::kF32},
  };
  for (int64_t n : {int64_t{37}, int64_t{70001}}) {
    Tensor base = random_tensor({n}, 91, 400.0f);
    for (size_t i = 0; i < std::size(specials) && static_cast<int64_t>(i) < n; ++i)
      base.data<float>()[i * 7 % n] = specials[i];
    for (const Pair& p : pairs) {
      // The input in its dtype, through ref's own Cast (the conversion under test's twin).
      Tensor x = base;
      if (p.from != DType::kF32) {
        const OneNode to_from =
            one_node("Cast", {input("x", base)}, {{"to", attr(int64_t{dtype_to_onnx(p.from)})}});
        x = run_on("ref", to_from.graph, to_from.feeds).outputs.at(0);
      }
      const OneNode node =
          one_node("Cast", {input("x", x)}, {{"to", attr(int64_t{dtype_to_onnx(p.to)})}});
      const std::string label = std::string(dtype_name(p.from)) + " to " +
                                std::string(dtype_name(p.to)) + " n " + std::to_string(n);
      const Ran ref = run_on("ref", node.graph, node.feeds);
      for (int threads : {1, 2}) {
        const CpuAndRef r = run_cpu_and_ref(node.graph, node.feeds, threads);
        EXPECT_EQ(r.cpu->assignments().at(0).backend, "cpu") << label;
        const Tensor& got = r.got.at(0);
        ASSERT_EQ(got.dtype(), p.to) << label;
        ASSERT_EQ(got.nbytes(), ref.outputs.at(0).nbytes()) << label;
        EXPECT_EQ(std::memcmp(got.raw(), ref.outputs.at(0).raw(), got.nbytes()), 0)
            << label << " threads " << threads;
      }
    }
  }
}
