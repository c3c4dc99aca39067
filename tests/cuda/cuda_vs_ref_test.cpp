// Every cuda kernel against the reference kernel over a matrix of shapes and options, in
// every cuda precision: the node alone in a graph, run on {"cuda"} only (a decline fails
// the test) and on {"ref"}; outputs within a tolerance relative to max |ref| (float32:
// 1e-5; tf32/fp16/bf16 on Conv/Gemm/MatMul: 16 unit roundoffs of the format). Skipped
// without a GPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <iostream>

#include "cuda/cuda_testing.h"
#include "frugal/zoo/zoo.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;
using namespace frugal::cuda_testing;

namespace {

const std::vector<std::string> kPrecisions = {"cuda", "cuda:tf32", "cuda:fp16", "cuda:bf16"};

// Runs `t` on `backend` alone and on ref; the node must run on `backend`.
void expect_on_gpu(const OneNode& t, const std::string& backend, double tol,
                   const std::string& label) {
  runtime::SessionOptions ref_opt;
  ref_opt.backends = {"ref"};
  runtime::Session ref(t.graph, ref_opt);
  runtime::SessionOptions opt;
  opt.backends = {backend};
  runtime::Session gpu(t.graph, opt);
  for (const auto& a : gpu.assignments())
    if (a.op_type != "Copy") {
      EXPECT_EQ(a.backend, backend) << label;
    }
  const auto want = ref.run(t.feeds);
  const auto got = gpu.run(t.feeds);
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = relative_error(got[i], want[i]);
    EXPECT_LE(err, tol) << label << " on " << backend << ": output " << i;
  }
}

double tolerance(const std::string& backend, bool compute_heavy) {
  return compute_heavy && backend != "cuda" ? 16 * unit_roundoff(backend) : 1e-5;
}

std::map<std::string, ir::Attribute> conv_attrs(int64_t group, int64_t stride, int64_t pad,
                                                int64_t dilation, int64_t k) {
  return {{"group", attr(group)},
          {"strides", attr(std::vector<int64_t>{stride, stride})},
          {"pads", attr(std::vector<int64_t>{pad, pad, pad, pad})},
          {"dilations", attr(std::vector<int64_t>{dilation, dilation})},
          {"kernel_shape", attr(std::vector<int64_t>{k, k})}};
}

}  // namespace

TEST(CudaVsRef, Conv) {
  FRUGAL_SKIP_WITHOUT_GPU();
  struct Case {
    int64_t n, c, h, m, k, group, stride, pad, dilation;
    bool bias;
    std::vector<std::string> post;
  };
  const std::vector<Case> cases = {
      {1, 3, 32, 16, 3, 1, 1, 1, 1, true, {}},
      {2, 8, 17, 8, 3, 8, 1, 1, 1, true, {"relu"}},         // depthwise
      {1, 16, 15, 32, 3, 4, 2, 1, 1, false, {"clip:0:6"}},  // grouped, stride 2
      {1, 8, 20, 8, 3, 1, 1, 2, 2, true, {}},               // dilation 2
      {4, 32, 7, 64, 1, 1, 1, 0, 1, true, {"relu"}},        // 1x1
      {1, 3, 33, 8, 7, 1, 2, 3, 1, true, {"hardswish"}},    // resnet stem shape
      {1, 16, 14, 16, 5, 16, 2, 2, 1, true, {"swish"}},     // EfficientNet's depthwise + SiLU
  };
  for (const auto& precision : kPrecisions)
    for (const auto& c : cases) {
      std::vector<Operand> ops = {
          input("x", random_tensor({c.n, c.c, c.h, c.h}, 1)),
          constant("w", random_tensor({c.m, c.c / c.group, c.k, c.k}, 2, 0.2f)),
          c.bias ? constant("b", random_tensor({c.m}, 3)) : omitted()};
      auto attrs = conv_attrs(c.group, c.stride, c.pad, c.dilation, c.k);
      if (!c.post.empty()) attrs["frugal.post_ops"] = attr(c.post);
      expect_on_gpu(one_node("Conv", ops, attrs), precision, tolerance(precision, true),
                    "Conv m=" + std::to_string(c.m) + " group=" + std::to_string(c.group));
    }
}

TEST(CudaVsRef, ConvResidualSum) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const std::map<std::string, ir::Attribute> attrs = {
      {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})},
      {"frugal.post_ops", attr(std::vector<std::string>{"sum", "relu"})}};
  for (const auto& precision : kPrecisions)
    expect_on_gpu(one_node("Conv",
                           {input("x", random_tensor({2, 16, 9, 9}, 4)),
                            constant("w", random_tensor({16, 16, 3, 3}, 5, 0.1f)),
                            constant("b", random_tensor({16}, 6)),
                            input("s", random_tensor({2, 16, 9, 9}, 7))},
                           attrs),
                  precision, tolerance(precision, true), "Conv+sum+relu");
}

TEST(CudaVsRef, GemmAndMatMul) {
  FRUGAL_SKIP_WITHOUT_GPU();
  for (const auto& precision : kPrecisions) {
    for (int64_t trans_b : {0, 1})
      for (const std::vector<std::string>& post :
           {std::vector<std::string>{}, std::vector<std::string>{"relu"},
            std::vector<std::string>{"sigmoid"}}) {
        const int64_t m = 5, k = 64, n = 33;
        std::map<std::string, ir::Attribute> attrs = {
            {"transB", attr(trans_b)}, {"alpha", attr(0.5f)}, {"beta", attr(2.0f)}};
        if (!post.empty()) attrs["frugal.post_ops"] = attr(post);
        const Shape w = trans_b ? Shape{n, k} : Shape{k, n};
        expect_on_gpu(one_node("Gemm",
                               {input("a", random_tensor({m, k}, 8)),
                                constant("w", random_tensor(w, 9, 0.2f)),
                                constant("c", random_tensor({n}, 10))},
                               attrs),
                      precision, tolerance(precision, true),
                      "Gemm transB=" + std::to_string(trans_b));
      }
    expect_on_gpu(one_node("Gemm",
                           {input("a", random_tensor({16, 8}, 11)),
                            constant("w", random_tensor({16, 12}, 12))},
                           {{"transA", attr(int64_t{1})}}),
                  precision, tolerance(precision, true), "Gemm transA, no C");
    expect_on_gpu(one_node("MatMul", {input("a", random_tensor({2, 3, 7, 24}, 13)),
                                      constant("w", random_tensor({24, 10}, 14))}),
                  precision, tolerance(precision, true), "MatMul 4-D x 2-D");
    // convnext's MatMul+sum: the bias Add fused as a sum post-op with a constant row.
    // ... and with the Gelu after it (fuse_activations: a transformer's MLP).
    for (const std::vector<std::string>& post :
         {std::vector<std::string>{"sum"}, std::vector<std::string>{"sum", "relu"},
          std::vector<std::string>{"sum", "gelu"}, std::vector<std::string>{"sum", "gelutanh"},
          std::vector<std::string>{"sum", "linear:0.5:-0.25"}})
      expect_on_gpu(one_node("MatMul",
                             {input("a", random_tensor({1, 5, 5, 24}, 13)),
                              constant("w", random_tensor({24, 40}, 14)),
                              constant("bias", random_tensor({40}, 15))},
                             {{"frugal.post_ops", attr(post)}}),
                    precision, tolerance(precision, true), "MatMul + constant row sum");
  }
}

TEST(CudaVsRef, Pooling) {
  FRUGAL_SKIP_WITHOUT_GPU();
  struct Case {
    std::string op;
    int64_t k, stride, pad, ceil, include_pad;
  };
  for (const Case& c : std::vector<Case>{{"MaxPool", 3, 2, 1, 0, 0},
                                         {"MaxPool", 2, 2, 0, 1, 0},
                                         {"AveragePool", 3, 1, 1, 0, 0},
                                         {"AveragePool", 3, 2, 1, 1, 1},
                                         {"AveragePool", 13, 1, 0, 0, 0}}) {
    std::map<std::string, ir::Attribute> attrs = {
        {"kernel_shape", attr(std::vector<int64_t>{c.k, c.k})},
        {"strides", attr(std::vector<int64_t>{c.stride, c.stride})},
        {"pads", attr(std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})},
        {"ceil_mode", attr(c.ceil)}};
    if (c.op == "AveragePool") attrs["count_include_pad"] = attr(c.include_pad);
    expect_on_gpu(one_node(c.op, {input("x", random_tensor({2, 5, 13, 13}, 15))}, attrs), "cuda",
                  1e-5, c.op + " k=" + std::to_string(c.k));
  }
  for (const std::string op : {"GlobalAveragePool", "GlobalMaxPool"})
    expect_on_gpu(one_node(op, {input("x", random_tensor({3, 64, 7, 7}, 16))}), "cuda", 1e-5, op);
}

TEST(CudaVsRef, ElementwiseAndNormalization) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const Tensor x = random_tensor({2, 6, 5, 5}, 17, 3.f);
  for (const std::string op : {"Relu", "Sigmoid", "Tanh", "HardSwish", "HardSigmoid", "LeakyRelu"})
    expect_on_gpu(one_node(op, {input("x", x)}), "cuda", 1e-5, op);
  expect_on_gpu(one_node("Clip", {input("x", x), constant("lo", Tensor::scalar(0.f)),
                                  constant("hi", Tensor::scalar(6.f))}),
                "cuda", 1e-5, "Clip");
  expect_on_gpu(
      one_node("BatchNormalization",
               {input("x", x), constant("s", random_tensor({6}, 18)),
                constant("b", random_tensor({6}, 19)), constant("m", random_tensor({6}, 20)),
                constant("v", uniform_tensor({6}, 21, 0.5f, 2.f))}),
      "cuda", 1e-5, "BatchNormalization");
  // DenseNet's pre-activation: the Relu fused into the BatchNormalization as a post-op.
  for (const std::vector<std::string>& post :
       {std::vector<std::string>{"relu"}, std::vector<std::string>{"relu", "sigmoid"}})
    expect_on_gpu(
        one_node("BatchNormalization",
                 {input("x", x), constant("s", random_tensor({6}, 18)),
                  constant("b", random_tensor({6}, 19)), constant("m", random_tensor({6}, 20)),
                  constant("v", uniform_tensor({6}, 21, 0.5f, 2.f))},
                 {{"frugal.post_ops", attr(post)}}),
        "cuda", 1e-5, "BatchNormalization+" + post.back());
  for (const std::string op : {"Add", "Sub", "Mul", "Div"}) {
    expect_on_gpu(one_node(op, {input("a", x), input("b", uniform_tensor({2, 6, 5, 5}, 22, 1, 2))}),
                  "cuda", 1e-5, op + " same shape");
    expect_on_gpu(one_node(op, {input("a", x), input("b", uniform_tensor({2, 6, 1, 1}, 23, 1, 2))}),
                  "cuda", 1e-5, op + " SE broadcast");
    expect_on_gpu(one_node(op, {input("a", uniform_tensor({5}, 24, 1, 2)), input("b", x)}), "cuda",
                  1e-5, op + " leading broadcast");
    expect_on_gpu(one_node(op, {input("a", x), constant("c", uniform_tensor({6, 1, 1}, 25, 1, 2))}),
                  "cuda", 1e-5, op + " constant operand");
  }
}

// LayerNormalization over the last axes (convnext's channels-last LayerNorm, a transformer's
// hidden size, rows longer than one block of threads), with and without B, broadcast
// Scale, and the optional Mean and InvStdDev outputs; Gelu in both forms.
TEST(CudaVsRef, LayerNormAndGelu) {
  FRUGAL_SKIP_WITHOUT_GPU();
  struct Case {
    Shape x;
    int64_t axis;
    Shape scale;
    bool bias;
    size_t outputs;
  };
  const std::vector<Case> cases = {
      {{2, 7, 7, 96}, -1, {96}, true, 1},      // convnext's LayerNorm2d
      {{3, 5, 768}, -1, {768}, true, 1},       // ViT-B's hidden size
      {{2, 3, 4, 5}, 1, {3, 4, 5}, false, 1},  // several axes, no B
      {{4, 1000}, 1, {1}, true, 3},            // broadcast Scale; Mean and InvStdDev
      {{1, 2, 3000}, -1, {3000}, true, 3},     // a row longer than 256 threads
      {{5, 1}, -1, {1}, true, 1},              // rows of one element
  };
  for (const auto& c : cases) {
    const int64_t rank = static_cast<int64_t>(c.x.size());
    const Shape normalized(c.x.begin() + (c.axis < 0 ? c.axis + rank : c.axis), c.x.end());
    std::vector<Operand> ops = {input("x", random_tensor(c.x, 51, 3.f)),
                                constant("s", random_tensor(c.scale, 52)),
                                c.bias ? constant("b", random_tensor(normalized, 53)) : omitted()};
    expect_on_gpu(one_node("LayerNormalization", ops,
                           {{"axis", attr(c.axis)}, {"epsilon", attr(1e-6f)}}, 17, c.outputs),
                  "cuda", 1e-5, "LayerNormalization " + shape_str(c.x));
  }
  const Tensor x = random_tensor({2, 197, 64}, 54, 4.f);
  for (const std::string form : {"none", "tanh"})
    expect_on_gpu(one_node("Gelu", {input("x", x)}, {{"approximate", attr(form)}}, 20), "cuda",
                  1e-5, "Gelu approximate=" + form);
}

// frugal's fused Attention node (domain frugal): batch shapes, sequence lengths (ViT's 197),
// head sizes, K plain and transposed, masks of 0 and -10000 broadcast in BERT's forms.
// Float32 sums over d and tk against ref's double: 1e-4 of max |ref|, as the cpu kernel.
TEST(CudaVsRef, Attention) {
  FRUGAL_SKIP_WITHOUT_GPU();
  struct Case {
    Shape batch;
    int64_t tq, tk, d, dv;
    Shape mask;  // empty: none
  };
  const std::vector<Case> cases = {
      {{1, 12}, 197, 197, 64, 64, {}},
      {{2, 3}, 7, 13, 8, 5, {}},
      {{5}, 1, 9, 33, 33, {}},
      {{}, 3, 4, 2, 6, {}},
      {{3, 4}, 9, 11, 8, 8, {3, 1, 1, 11}},
      {{2, 4}, 9, 11, 8, 8, {11}},
      {{2, 4}, 9, 11, 8, 8, {2, 4, 9, 11}},
      {{1}, 2, 600, 16, 16, {}},  // more keys than threads per block
  };
  uint64_t seed = 300;
  for (const auto& c : cases)
    for (bool kt : {false, true}) {
      auto with = [&](int64_t a, int64_t b) {
        Shape s = c.batch;
        s.push_back(a);
        s.push_back(b);
        return s;
      };
      seed += 10;
      std::vector<Operand> ops{
          input("q", random_tensor(with(c.tq, c.d), seed)),
          input("k", random_tensor(kt ? with(c.d, c.tk) : with(c.tk, c.d), seed + 1)),
          input("v", random_tensor(with(c.tk, c.dv), seed + 2))};
      if (!c.mask.empty()) {
        Tensor m = uniform_tensor(c.mask, seed + 3, 0.0f, 1.0f);
        for (float& x : m.span<float>()) x = x < 0.3f ? -10000.0f : 0.0f;
        ops.push_back(input("mask", m));
      }
      OneNode t = one_node("Attention", ops,
                           {{"scale", attr(1.0f / std::sqrt(static_cast<float>(c.d)))},
                            {"k_transposed", attr(int64_t{kt})}});
      t.graph.nodes[0].domain = "frugal";
      t.graph.opsets["frugal"] = 1;
      expect_on_gpu(t, "cuda", 1e-4,
                    "Attention Tq " + std::to_string(c.tq) + " Tk " + std::to_string(c.tk) +
                        (kt ? " K^T" : " K") + " mask " + shape_str(c.mask));
    }
}

// Gather with constant indices (a ViT's class-token pick: a scalar index on axis 1; negative,
// repeated and 2-D indices) and Concat with a constant input (the class token itself).
TEST(CudaVsRef, GatherAndConstantConcat) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const Tensor x = random_tensor({2, 5, 3, 4}, 71);
  struct Case {
    int64_t axis;
    Shape shape;
    std::vector<int64_t> index;
  };
  for (const Case& c : std::vector<Case>{
           {1, {}, {0}}, {0, {3}, {1, -1, 0}}, {-1, {2, 2}, {3, 0, 0, -2}}, {2, {1}, {2}}})
    expect_on_gpu(
        one_node("Gather",
                 {input("x", x), constant("i", Tensor::from_vector<int64_t>(c.shape, c.index))},
                 {{"axis", attr(c.axis)}}),
        "cuda", 0, "Gather axis " + std::to_string(c.axis));
  expect_on_gpu(
      one_node("Concat", {constant("cls", random_tensor({2, 1, 3, 4}, 72)), input("x", x)},
               {{"axis", attr(int64_t{1})}}),
      "cuda", 0, "Concat with a constant input");
}

TEST(CudaVsRef, SoftmaxAndDataMovement) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const Tensor x = random_tensor({2, 3, 4, 5}, 26, 4.f);
  for (const std::string op : {"Softmax", "LogSoftmax"})
    for (int64_t axis : {-1, 1}) {
      expect_on_gpu(one_node(op, {input("x", x)}, {{"axis", attr(axis)}}), "cuda", 1e-5, op);
      expect_on_gpu(one_node(op, {input("x", x)}, {{"axis", attr(axis)}}, 11), "cuda", 1e-5,
                    op + " opset 11");
    }
  for (int64_t axis : {0, 1, 3})
    expect_on_gpu(one_node("Concat", {input("a", x), input("b", random_tensor({2, 3, 4, 5}, 27))},
                           {{"axis", attr(axis)}}),
                  "cuda", 0, "Concat axis " + std::to_string(axis));
  expect_on_gpu(
      one_node("Transpose", {input("x", x)}, {{"perm", attr(std::vector<int64_t>{0, 2, 3, 1})}}),
      "cuda", 0, "Transpose");
  expect_on_gpu(one_node("Transpose", {input("x", x)}), "cuda", 0, "Transpose reversed");
  expect_on_gpu(one_node("Flatten", {input("x", x)}, {{"axis", attr(int64_t{1})}}), "cuda", 0,
                "Flatten");
  expect_on_gpu(one_node("Reshape", {input("x", x),
                                     constant("s", Tensor::from_vector<int64_t>({2}, {6, 20}))}),
                "cuda", 0, "Reshape");
}

TEST(CudaVsRef, ConvTranspose) {
  FRUGAL_SKIP_WITHOUT_GPU();
  struct Case {
    int64_t n, c, h, m, k, group, stride, pad, out_pad, dilation;
    bool bias;
    std::vector<std::string> post;
  };
  const std::vector<Case> cases = {
      {1, 16, 8, 8, 4, 1, 2, 1, 0, 1, true, {}},         // the usual 2x upsampling
      {2, 8, 7, 8, 3, 8, 2, 1, 1, 1, true, {"relu"}},    // depthwise, output_padding
      {1, 12, 9, 6, 3, 3, 1, 1, 0, 2, false, {}},        // grouped, dilation 2
      {2, 32, 5, 16, 1, 1, 1, 0, 0, 1, true, {"relu"}},  // 1x1
      {1, 4, 6, 3, 5, 1, 3, 2, 2, 1, true, {}},          // stride 3, output_padding 2
  };
  for (const auto& precision : kPrecisions)
    for (const auto& c : cases) {
      std::vector<Operand> ops = {
          input("x", random_tensor({c.n, c.c, c.h, c.h}, 31)),
          constant("w", random_tensor({c.c, c.m / c.group, c.k, c.k}, 32, 0.2f)),
          c.bias ? constant("b", random_tensor({c.m}, 33)) : omitted()};
      std::map<std::string, ir::Attribute> attrs = {
          {"group", attr(c.group)},
          {"strides", attr(std::vector<int64_t>{c.stride, c.stride})},
          {"pads", attr(std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})},
          {"output_padding", attr(std::vector<int64_t>{c.out_pad, c.out_pad})},
          {"dilations", attr(std::vector<int64_t>{c.dilation, c.dilation})},
          {"kernel_shape", attr(std::vector<int64_t>{c.k, c.k})}};
      if (!c.post.empty()) attrs["frugal.post_ops"] = attr(c.post);
      expect_on_gpu(
          one_node("ConvTranspose", ops, attrs), precision, tolerance(precision, true),
          "ConvTranspose m=" + std::to_string(c.m) + " stride=" + std::to_string(c.stride));
    }
  // 1-D
  expect_on_gpu(one_node("ConvTranspose",
                         {input("x", random_tensor({2, 4, 11}, 34)),
                          constant("w", random_tensor({4, 6, 3}, 35, 0.2f))},
                         {{"strides", attr(std::vector<int64_t>{2})},
                          {"pads", attr(std::vector<int64_t>{1, 1})}}),
                "cuda", 1e-5, "ConvTranspose 1-D");
}

TEST(CudaVsRef, SplitAndResize) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const Tensor x = random_tensor({2, 6, 5, 7}, 36, 2.f);
  for (int64_t axis : {0, 1, -1}) {
    const int64_t dim = x.shape()[static_cast<size_t>(axis < 0 ? axis + 4 : axis)];
    const std::vector<int64_t> sizes =
        dim == 2 ? std::vector<int64_t>{1, 1} : std::vector<int64_t>{1, dim - 3, 2};
    expect_on_gpu(one_node("Split",
                           {input("x", x),
                            constant("split", Tensor::from_vector<int64_t>(
                                                  {static_cast<int64_t>(sizes.size())}, sizes))},
                           {{"axis", attr(axis)}}, 17, sizes.size()),
                  "cuda", 0, "Split axis " + std::to_string(axis));
  }
  expect_on_gpu(one_node("Split", {input("x", x)}, {{"axis", attr(int64_t{1})}}, 11, 3), "cuda", 0,
                "Split equal, opset 11");
  struct Case {
    std::string mode, coord, nearest;
    std::vector<float> scales;
  };
  const std::vector<Case> cases = {
      {"nearest", "asymmetric", "floor", {1, 1, 2, 2}},  // torch's nearest upsampling
      {"nearest", "half_pixel", "round_prefer_floor", {1, 1, 0.5f, 1.5f}},
      {"linear", "half_pixel", "", {1, 1, 2, 2}},
      {"linear", "align_corners", "", {1, 1, 1.7f, 0.6f}},
      {"linear", "pytorch_half_pixel", "", {1, 2, 3, 1}},  // channels and height
      {"cubic", "half_pixel", "", {1, 1, 2, 2}},
      {"cubic", "asymmetric", "", {1, 1, 0.8f, 1.25f}},
  };
  for (const auto& c : cases) {
    std::map<std::string, ir::Attribute> attrs = {
        {"mode", attr(c.mode)}, {"coordinate_transformation_mode", attr(c.coord)}};
    if (!c.nearest.empty()) attrs["nearest_mode"] = attr(c.nearest);
    expect_on_gpu(one_node("Resize",
                           {input("x", x), omitted(),
                            constant("scales", Tensor::from_vector<float>({4}, c.scales))},
                           attrs),
                  "cuda", 1e-5, "Resize " + c.mode + " " + c.coord);
  }
  expect_on_gpu(one_node("Resize",
                         {input("x", x), omitted(), omitted(),
                          constant("sizes", Tensor::from_vector<int64_t>({4}, {2, 6, 11, 3}))},
                         {{"mode", attr(std::string("linear"))}}),
                "cuda", 1e-5, "Resize linear to sizes");
}

// int8 Gemm/MatMul (cuda:int8) against ref, within the bound the format gives: with x
// quantized by sx = max|x| / 127 and column n of W by sw[n] = max|W[:, n]| / 127 (round to
// nearest: errors at most half a step), |y - ref| <= |alpha| sum_k (|x_k| sw[n] / 2 +
// (|W[k, n]| + sw[n] / 2) sx / 2), plus float32 rounding (1e-5 of max |ref|).
TEST(CudaVsRef, Int8GemmWithinTheFormatsBound) {
  FRUGAL_SKIP_WITHOUT_GPU();
  struct Case {
    std::string op;
    int64_t m, k, n;
    bool trans_b;
    float alpha, beta;
    std::vector<std::string> post;
  };
  const std::vector<Case> cases = {
      {"Gemm", 8, 64, 40, false, 1.f, 1.f, {}},
      {"Gemm", 1, 512, 1000, true, 1.f, 1.f, {}},
      {"Gemm", 64, 128, 10, true, 0.5f, 2.f, {"relu"}},
      {"MatMul", 21, 96, 24, false, 1.f, 0.f, {}},
  };
  for (const auto& c : cases) {
    const Tensor x = random_tensor(c.op == "MatMul" ? Shape{3, c.m / 3, c.k} : Shape{c.m, c.k}, 41);
    const Tensor w = random_tensor(c.trans_b ? Shape{c.n, c.k} : Shape{c.k, c.n}, 42, 0.1f);
    std::vector<Operand> ops = {input("a", x), constant("w", w)};
    std::map<std::string, ir::Attribute> attrs;
    if (c.op == "Gemm") {
      ops.push_back(constant("c", random_tensor({c.n}, 43)));
      attrs = {
          {"transB", attr(int64_t{c.trans_b})}, {"alpha", attr(c.alpha)}, {"beta", attr(c.beta)}};
    }
    if (!c.post.empty()) attrs["frugal.post_ops"] = attr(c.post);
    const OneNode t = one_node(c.op, ops, attrs);
    runtime::SessionOptions ref_opt;
    ref_opt.backends = {"ref"};
    const Tensor want = runtime::Session(t.graph, ref_opt).run(t.feeds)[0];
    runtime::SessionOptions opt;
    opt.backends = {"cuda:int8"};
    float xmax = 0;
    for (int64_t i = 0; i < x.numel(); ++i) xmax = std::max(xmax, std::fabs(x.data<float>()[i]));
    opt.backend_config.ranges["a"] = {-xmax, xmax};
    runtime::Session gpu(t.graph, opt);
    for (const auto& a : gpu.assignments())
      if (a.op_type != "Copy") {
        EXPECT_EQ(a.backend, "cuda:int8") << c.op;
      }
    const Tensor got = gpu.run(t.feeds)[0];
    const double sx = xmax / 127.0;
    double ref_max = 0, worst = 0;
    for (int64_t i = 0; i < want.numel(); ++i)
      ref_max = std::max(ref_max, std::fabs(static_cast<double>(want.data<float>()[i])));
    for (int64_t r = 0; r < c.m; ++r)
      for (int64_t nn = 0; nn < c.n; ++nn) {
        auto wat = [&](int64_t kk) {
          return static_cast<double>(w.data<float>()[c.trans_b ? nn * c.k + kk : kk * c.n + nn]);
        };
        double amax = 0;
        for (int64_t kk = 0; kk < c.k; ++kk) amax = std::max(amax, std::fabs(wat(kk)));
        const double sw = amax / 127.0;
        double bound = 0;
        for (int64_t kk = 0; kk < c.k; ++kk)
          bound += std::fabs(x.data<float>()[r * c.k + kk]) * sw / 2 +
                   (std::fabs(wat(kk)) + sw / 2) * sx / 2;
        bound = std::fabs(c.alpha) * bound + 1e-5 * ref_max;
        const double err = std::fabs(static_cast<double>(got.data<float>()[r * c.n + nn]) -
                                     want.data<float>()[r * c.n + nn]);
        worst = std::max(worst, err / bound);
      }
    EXPECT_LE(worst, 1.0) << c.op << " " << c.m << "x" << c.k << "x" << c.n;
    std::cout << "[ observed ] int8 " << c.op << " " << c.m << "x" << c.k << "x" << c.n
              << ": largest error / bound = " << worst << "\n";
  }
}

// Device graphs (SessionOptions::device_graphs): the first run is eager, the second records
// the plan's GPU steps as a CUDA graph and replays it, later runs replay; every run must
// match an eager session on new inputs, and a profiled run is eager again.
TEST(CudaGraphs, ReplayMatchesEagerOverRuns) {
  FRUGAL_SKIP_WITHOUT_GPU();
  const ir::Graph g = zoo::build("resnet18", 0);
  for (const auto& precision : std::vector<std::string>{"cuda", "cuda:fp16"}) {
    runtime::SessionOptions opt;
    opt.backends = {precision, "ref"};
    runtime::Session replayed(g, opt);
    opt.device_graphs = false;
    runtime::Session eager(g, opt);
    ASSERT_TRUE(replayed.uses_queued_device());
    replayed.time_devices(true);
    for (uint64_t seed = 1; seed <= 4; ++seed) {
      const Tensor x = random_tensor(replayed.inputs()[0].shape, seed);
      const Tensor want = eager.run({x})[0];
      const Tensor got = replayed.run({x})[0];
      // The same kernels and algorithms in the same order: equal up to cuDNN's
      // run-to-run nondeterminism, far below the format's rounding.
      EXPECT_LE(relative_error(got, want), 1e-6) << precision << " run " << seed;
    }
    EXPECT_NE(replayed.device_graphs_status().find("recorded and replayed"), std::string::npos)
        << replayed.device_graphs_status();
    EXPECT_EQ(eager.device_graphs_status(), "eager (device graphs off)");
    const runtime::DeviceTimes& t = replayed.device_times();
    EXPECT_EQ(t.runs, 4);
    EXPECT_GT(t.to_device_s, 0);
    EXPECT_GT(t.compute_s, 0);
    EXPECT_GT(t.to_host_s, 0);
    std::cout << "[ observed ] " << precision << " resnet18 batch 1 per run: to device "
              << t.to_device_s / 4 * 1e3 << " ms, compute " << t.compute_s / 4 * 1e3
              << " ms, to host " << t.to_host_s / 4 * 1e3 << " ms\n";
  }
}

// Without a GPU the backend cannot be made, with the reason; with one it can. Runs
// everywhere, so that the skip path itself is tested.
TEST(CudaBackend, MadeOnlyWithAGpu) {
  const std::string why = no_gpu_reason();
  if (why.find("unknown backend 'cuda'") != std::string::npos)
    GTEST_SKIP() << "no cuda backend in this build (FRUGAL_CUDA off)";
  if (why.empty()) {
    EXPECT_TRUE(kernels::backend_traits("cuda").available());
  } else {
    EXPECT_NE(why.find("no GPU here (cudaGetDeviceCount"), std::string::npos) << why;
    EXPECT_FALSE(kernels::backend_traits("cuda").available());
    // `auto` leaves it out; a list with cpu after it falls back there for every node.
    for (const auto& b : kernels::auto_backends()) EXPECT_NE(b, "cuda");
    const OneNode t = one_node("Relu", {input("x", random_tensor({4}, 1))});
    runtime::SessionOptions opt;
    opt.backends = {"cuda", "ref"};
    runtime::Session s(t.graph, opt);
    ASSERT_EQ(s.fallbacks().size(), 1u);
    EXPECT_EQ(s.fallbacks()[0].backend, "ref");
    EXPECT_NE(s.fallbacks()[0].reason.find("no GPU here"), std::string::npos);
    opt.backends = {"cuda"};
    EXPECT_THROW(runtime::Session(t.graph, opt), UserError);
  }
}
