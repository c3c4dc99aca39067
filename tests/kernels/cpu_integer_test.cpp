// ONNX Runtime's dynamic quantization on the cpu backend (kernels/cpu/integer_kernels.cpp)
// against ref, exactly: DynamicQuantizeLinear over sizes with a partial vector, NaN, an
// all-zero and a one-signed input, at 1 and 2 threads; MatMulInteger and ConvInteger over
// uint8/int8 operands, zero points absent, per tensor, per column / output channel, fed at
// run time or constant, pads (symmetric, asymmetric, SAME_UPPER), strides and dilations,
// groups (depthwise, a channel multiplier, grouped); the cases left to ref name why.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "frugal/kernels/cpu/integer_kernels.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

template <typename T>
Tensor int_tensor(const Shape& shape, uint64_t seed, int lo, int hi) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> dist(lo, hi);
  std::vector<T> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = static_cast<T>(dist(rng));
  return Tensor::from_vector<T>(shape, v);
}

// An 8-bit operand over its whole range.
Tensor eight_bit(DType t, const Shape& shape, uint64_t seed) {
  return t == DType::kU8 ? int_tensor<uint8_t>(shape, seed, 0, 255)
                         : int_tensor<int8_t>(shape, seed, -128, 127);
}

Tensor zero_point(DType t, const Shape& shape, uint64_t seed) {
  return t == DType::kU8 ? int_tensor<uint8_t>(shape, seed, 90, 170)
                         : int_tensor<int8_t>(shape, seed, -40, 40);
}

bool skip_without_vnni() {
  return !kernels::cpu::integer_products_exact();
}

// Exact at 1 and 2 threads (integer outputs: any difference is an error).
void expect_exact(const OneNode& node, const std::string& label) {
  expect_matches_ref(node, 0.0, "cpu", label);
  expect_graph_on_cpu(node.graph, node.feeds, 0.0, label);
}

}  // namespace

TEST(CpuInteger, DynamicQuantizeLinearMatchesRefExactly) {
  int index = 0;
  for (int64_t n : {1, 15, 16, 17, 1000, 70001}) {
    Tensor x = random_tensor({n}, 40 + index, 3.0f);
    float* v = x.data<float>();
    if (index == 3) v[n / 2] = NAN;  // skipped by the range, quantized to 0
    if (index == 4)
      for (int64_t i = 0; i < n; ++i) v[i] = std::fabs(v[i]) + 0.5f;  // > 0
    if (index == 5)
      for (int64_t i = 0; i < n; ++i) v[i] = -std::fabs(v[i]);  // <= 0
    const std::string label = "n " + std::to_string(n) + " case " + std::to_string(index++);
    expect_exact(one_node("DynamicQuantizeLinear", {input("x", x)}, {}, 17, 3), label);
  }
  const Tensor zeros = Tensor::from_vector<float>({2, 40}, std::vector<float>(80, 0.0f));
  expect_exact(one_node("DynamicQuantizeLinear", {input("x", zeros)}, {}, 17, 3), "all zero");
  // Ties: values that land on .5 steps of the scale round to even.
  std::vector<float> ties;
  for (int i = -40; i <= 40; ++i) ties.push_back(static_cast<float>(i) * 0.5f);
  ties.push_back(127.5f);
  expect_exact(
      one_node("DynamicQuantizeLinear",
               {input("x", Tensor::from_vector<float>({int64_t(ties.size())}, ties))}, {}, 17, 3),
      "ties");
}

TEST(CpuInteger, MatMulIntegerMatchesRefExactly) {
  if (skip_without_vnni()) GTEST_SKIP() << "no VNNI or AMX on this CPU: MatMulInteger stays on ref";
  struct Case {
    Shape a;
    int64_t n;
    DType at, bt;
    int a_zero;  // 0 absent, 1 constant, 2 fed at run time
    int b_zero;  // 0 absent, 1 per tensor, 2 per column
  };
  const std::vector<Case> cases = {
      {{4, 7}, 5, DType::kU8, DType::kI8, 0, 0},
      {{4, 7}, 5, DType::kU8, DType::kU8, 2, 1},
      {{3, 5, 64}, 33, DType::kU8, DType::kU8, 2, 2},
      {{2, 9, 40}, 17, DType::kI8, DType::kI8, 1, 2},
      {{1, 300}, 70, DType::kI8, DType::kU8, 2, 1},
      {{130, 96}, 260, DType::kU8, DType::kI8, 2, 2},
  };
  int index = 0;
  for (const Case& c : cases) {
    const uint64_t seed = 100 + 10 * static_cast<uint64_t>(index);
    const int64_t k = c.a.back();
    std::vector<Operand> ops{input("a", eight_bit(c.at, c.a, seed)),
                             constant("b", eight_bit(c.bt, {k, c.n}, seed + 1))};
    if (c.a_zero == 0 && c.b_zero == 0) {
    } else {
      const Tensor az = zero_point(c.at, {}, seed + 2);
      ops.push_back(c.a_zero == 0   ? omitted()
                    : c.a_zero == 1 ? constant("az", az)
                                    : input("az", az));
      if (c.b_zero > 0)
        ops.push_back(
            constant("bz", zero_point(c.bt, c.b_zero == 1 ? Shape{} : Shape{c.n}, seed + 3)));
    }
    expect_exact(one_node("MatMulInteger", ops), "matmul_integer case " + std::to_string(index++));
  }
  // B fed at run time stays on ref, saying why.
  const OneNode runtime_b = one_node(
      "MatMulInteger",
      {input("a", eight_bit(DType::kU8, {2, 3}, 1)), input("b", eight_bit(DType::kU8, {3, 4}, 2))});
  EXPECT_EQ(cpu_decline_reason(runtime_b),
            "cpu: MatMulInteger: B known only at run time not supported");
}

TEST(CpuInteger, ConvIntegerMatchesRefExactly) {
  if (skip_without_vnni()) GTEST_SKIP() << "no VNNI or AMX on this CPU: ConvInteger stays on ref";
  struct Case {
    int64_t n, c, h, w, m, k;
    DType xt, wt;
    int x_zero,
        w_zero;  // as MatMulInteger's: 0 absent, 1 constant / per tensor, 2 run time / per channel
    std::map<std::string, ir::Attribute> attrs;
  };
  using V = std::vector<int64_t>;
  const std::vector<Case> cases = {
      {1, 3, 9, 11, 8, 3, DType::kU8, DType::kU8, 2, 1, {{"pads", attr(V{1, 1, 1, 1})}}},
      {2,
       16,
       8,
       8,
       24,
       3,
       DType::kU8,
       DType::kU8,
       2,
       2,
       {{"pads", attr(V{0, 1, 2, 1})}, {"strides", attr(V{2, 2})}}},
      {1, 5, 12, 10, 7, 1, DType::kU8, DType::kI8, 1, 2, {}},
      {1,
       32,
       14,
       14,
       16,
       3,
       DType::kI8,
       DType::kI8,
       1,
       1,
       {{"pads", attr(V{2, 2, 2, 2})}, {"dilations", attr(V{2, 2})}}},
      {1, 4, 7, 9, 6, 3, DType::kU8, DType::kU8, 0, 0, {}},
      {1,
       8,
       10,
       10,
       12,
       5,
       DType::kU8,
       DType::kU8,
       2,
       2,
       {{"auto_pad", attr(std::string("SAME_UPPER"))}, {"strides", attr(V{2, 2})}}},
  };
  int index = 0;
  for (const Case& c : cases) {
    const uint64_t seed = 300 + 10 * static_cast<uint64_t>(index);
    std::vector<Operand> ops{input("x", eight_bit(c.xt, {c.n, c.c, c.h, c.w}, seed)),
                             constant("w", eight_bit(c.wt, {c.m, c.c, c.k, c.k}, seed + 1))};
    if (c.x_zero != 0 || c.w_zero != 0) {
      const Tensor xz = zero_point(c.xt, {}, seed + 2);
      ops.push_back(c.x_zero == 0   ? omitted()
                    : c.x_zero == 1 ? constant("xz", xz)
                                    : input("xz", xz));
      if (c.w_zero > 0)
        ops.push_back(
            constant("wz", zero_point(c.wt, c.w_zero == 1 ? Shape{} : Shape{c.m}, seed + 3)));
    }
    expect_exact(one_node("ConvInteger", ops, c.attrs),
                 "conv_integer case " + std::to_string(index++));
  }
  // Groups: depthwise (with and without weight shifts: int8 weights with no zero point, and
  // uint8 ones at 128, need no window sums), a channel multiplier, two groups of 3 x 2.
  struct Grouped {
    int64_t c, m, group;
    DType wt;
    int w_zero;  // 0 absent, 1 per tensor (128 for uint8: no shift; -7 for int8), 2 per channel
  };
  const std::vector<Grouped> groups = {
      {16, 16, 16, DType::kU8, 2}, {16, 16, 16, DType::kI8, 0}, {8, 8, 8, DType::kU8, 1},
      {8, 16, 8, DType::kI8, 2},   {6, 9, 3, DType::kU8, 2},    {4, 6, 2, DType::kI8, 1},
  };
  for (const Grouped& c : groups) {
    const uint64_t seed = 700 + 10 * static_cast<uint64_t>(index);
    std::vector<Operand> ops{input("x", eight_bit(DType::kU8, {2, c.c, 9, 10}, seed)),
                             constant("w", eight_bit(c.wt, {c.m, c.c / c.group, 3, 3}, seed + 1)),
                             input("xz", zero_point(DType::kU8, {}, seed + 2))};
    if (c.w_zero == 1)
      ops.push_back(constant(
          "wz", c.wt == DType::kU8 ? Tensor::scalar<uint8_t>(128) : Tensor::scalar<int8_t>(-7)));
    if (c.w_zero == 2) ops.push_back(constant("wz", zero_point(c.wt, {c.m}, seed + 3)));
    const int64_t stride = 1 + index % 2;
    expect_exact(one_node("ConvInteger", ops,
                          {{"group", attr(c.group)},
                           {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})},
                           {"strides", attr(std::vector<int64_t>{stride, stride})}}),
                 "grouped conv_integer case " + std::to_string(index++));
  }
  // A 1-D convolution stays on ref, saying why.
  const OneNode one_d =
      one_node("ConvInteger", {input("x", eight_bit(DType::kU8, {1, 4, 9}, 1)),
                               constant("w", eight_bit(DType::kU8, {2, 4, 3}, 2))});
  EXPECT_EQ(cpu_decline_reason(one_d), "cpu: ConvInteger: 3-D x not supported (2-D images only)");
}

// The dynamic-quantization chain quantize_dynamic writes for a convolution, run as a graph:
// DynamicQuantizeLinear -> ConvInteger -> Cast -> Mul by the two scales, against ref.
TEST(CpuInteger, DynamicQuantizationChain) {
  if (skip_without_vnni()) GTEST_SKIP() << "no VNNI or AMX on this CPU: ConvInteger stays on ref";
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(
      ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{1, ""}, {8, ""}, {12, ""}, {12, ""}}});
  g.initializers["w"] = eight_bit(DType::kU8, {16, 8, 3, 3}, 7);
  g.initializers["wz"] = Tensor::scalar<uint8_t>(131);
  g.initializers["ws"] = Tensor::scalar<float>(0.01f);
  auto dq = make_node("dq", "DynamicQuantizeLinear", {"x"}, "xq");
  dq.outputs = {"xq", "xs", "xz"};
  g.nodes.push_back(dq);
  auto conv = make_node("conv", "ConvInteger", {"xq", "w", "xz", "wz"}, "acc");
  conv.attrs["pads"] = attr(std::vector<int64_t>{1, 1, 1, 1});
  g.nodes.push_back(conv);
  auto cast = make_node("cast", "Cast", {"acc"}, "accf");
  cast.attrs["to"] = attr(int64_t{1});
  g.nodes.push_back(cast);
  g.nodes.push_back(make_node("scale", "Mul", {"xs", "ws"}, "s"));
  g.nodes.push_back(make_node("y", "Mul", {"accf", "s"}, "y"));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  const std::vector<Tensor> feeds{random_tensor({1, 8, 12, 12}, 9, 2.0f)};
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(g, feeds, threads);
    EXPECT_EQ(relative_error(r.got.at(0), r.want.at(0)), 0.0) << "threads " << threads;
    for (const auto& a : r.cpu->assignments()) {
      if (a.op_type == "DynamicQuantizeLinear" || a.op_type == "ConvInteger") {
        EXPECT_EQ(a.backend, "cpu") << a.node_name;
      }
    }
  }
}
