// u8 values between cpu:int8 kernels (kernels/cpu/layout.h QuantNegotiable): small graphs
// (chains, depthwise, residual sums, Gemm chains) run with 8-bit boundaries between their
// int8 layers, against the same graphs with float32 boundaries
// (FRUGAL_INT8_FLOAT_BOUNDARIES=1) and against the float32 reference.
//
// Bound between the two int8 runs. With float32 boundaries an int8 kernel writes
// y = s_x s_w acc (float32) and its reader quantizes round(y / s_y) + z_y; with u8
// boundaries the producer computes round(s_x s_w acc / s_y) + z_y itself. The two agree up
// to float32 rounding, which can move a value lying on a rounding tie by one step s_y. A
// one-step change of a layer's input moves its output by at most s_y * L, with
// L = max_c sum |w^_c| (the layer's infinity norm, post-ops being 1-Lipschitz), so a chain
// conv1 -> conv2 -> out differs by at most s_y1 * L2. A residual sum whose operand x is u8
// adds x's quantization error s_x / 2 (the float32 path adds x itself). The tests compute
// these bounds from the weights and the calibrated ranges and check every element. That
// worst case counts a tie at every input of a window; ties being rare, the u8 run must also
// stay as close to float32 as the float32-boundary run (within 10% of its error), which a
// wrong scale, zero point or bias in the fused requantization does not (errors of several
// times that).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <iostream>
#include <string>

#include "frugal/kernels/cpu/few_channel_int8.h"
#include "frugal/kernels/cpu/int8_quant.h"
#include "frugal/kernels/cpu/onednn_kernel.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/zoo/zoo.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

// A graph built node by node: graph input "x", constant weights, outputs named at the end.
struct Builder {
  ir::Graph g;
  explicit Builder(const Shape& input) {
    g.opsets[""] = 17;
    ir::ValueInfo vi{"x", DType::kF32, std::vector<ir::Dim>{}};
    for (int64_t d : input) vi.shape->push_back(ir::Dim{d, ""});
    g.inputs.push_back(vi);
  }
  void node(const std::string& op, std::vector<std::string> ins, const std::string& out,
            std::map<std::string, ir::Attribute> attrs = {}) {
    ir::Node n;
    n.name = out + "_node";
    n.op_type = op;
    n.inputs = std::move(ins);
    n.outputs = {out};
    n.attrs = std::move(attrs);
    g.nodes.push_back(std::move(n));
  }
  // Conv with k x k weights (pad k/2), seeded, scaled by 1/sqrt(fan_in) so that values keep
  // their magnitude along a chain.
  void conv(const std::string& in, const std::string& out, int64_t cin, int64_t cout, int64_t k,
            uint64_t seed, int64_t group = 1) {
    const float gain = 1.0f / std::sqrt(static_cast<float>(cin / group * k * k));
    g.initializers[out + "_w"] = random_tensor({cout, cin / group, k, k}, seed, gain);
    g.initializers[out + "_b"] = random_tensor({cout}, seed + 1, 0.1f);
    node(
        "Conv", {in, out + "_w", out + "_b"}, out,
        {{"pads", attr(std::vector<int64_t>{k / 2, k / 2, k / 2, k / 2})}, {"group", attr(group)}});
  }
  void gemm(const std::string& in, const std::string& out, int64_t k, int64_t n, uint64_t seed) {
    g.initializers[out + "_w"] = random_tensor({n, k}, seed, 1.0f / std::sqrt(float(k)));
    g.initializers[out + "_b"] = random_tensor({n}, seed + 1, 0.1f);
    node("Gemm", {in, out + "_w", out + "_b"}, out, {{"transB", attr(int64_t{1})}});
  }
  ir::Graph done(const std::vector<std::string>& outputs) {
    for (const auto& o : outputs)
      g.outputs.push_back(ir::ValueInfo{o, DType::kUndefined, std::nullopt});
    g.validate_and_sort();
    return g;
  }
};

// max_c sum |w^_c| with w^ the per-channel symmetric int8 weights (int8_quant.h's rule).
double inf_norm(const Tensor& w) {
  const auto q = kernels::cpu::quantize_rows(w, w.dim(0));
  const int64_t per = w.numel() / w.dim(0);
  double best = 0;
  for (int64_t c = 0; c < w.dim(0); ++c) {
    double s = 0;
    for (int64_t i = 0; i < per; ++i)
      s += std::fabs(q.values.data<int8_t>()[c * per + i]) * q.scales[static_cast<size_t>(c)];
    best = std::max(best, s);
  }
  return best;
}

struct Runs {
  std::vector<Tensor> fp32, int8_u8, int8_float;
  std::map<std::string, kernels::QuantParams> quantized;  // of the u8 session
  std::vector<runtime::NodeAssignment> plan;              // of the u8 session
  runtime::RangeMap ranges;
};

// float32 cpu, int8 with u8 boundaries, int8 with float32 boundaries, on the same input;
// ranges by min/max over two other inputs.
Runs run_three(const ir::Graph& g, const Shape& shape, uint64_t seed) {
  runtime::SessionOptions fp32;
  fp32.backends = {"cpu", "ref"};
  std::vector<std::vector<Tensor>> calib{{random_tensor(shape, seed + 10)},
                                         {random_tensor(shape, seed + 11)}};
  Runs r;
  r.ranges = runtime::calibrate_minmax(g, calib, fp32);
  // Widen by a margin so that the test input stays inside the calibrated ranges (no
  // saturation: the bounds below assume none).
  for (auto& [name, range] : r.ranges) {
    const float m = 0.5f * std::max(std::fabs(range.min), std::fabs(range.max));
    range.min -= m;
    range.max += m;
  }
  runtime::SessionOptions int8 = fp32;
  int8.backends = {"cpu:int8", "cpu", "ref"};
  int8.backend_config.ranges = r.ranges;
  int8.poison_arena = true;
  const Tensor x = random_tensor(shape, seed);
  r.fp32 = runtime::Session(g, fp32).run({x});
  {
    runtime::Session s(g, int8);
    r.int8_u8 = s.run({x});
    r.quantized = s.quantized_values();
    r.plan = s.assignments();
  }
  setenv("FRUGAL_INT8_FLOAT_BOUNDARIES", "1", 1);
  {
    runtime::Session s(g, int8);
    r.int8_float = s.run({x});
    EXPECT_TRUE(s.quantized_values().empty());
  }
  unsetenv("FRUGAL_INT8_FLOAT_BOUNDARIES");
  return r;
}

// cpu:int8 (then cpu, ref) with the ranges run_three calibrated.
runtime::SessionOptions int8_options(const Runs& r) {
  runtime::SessionOptions opt;
  opt.backends = {"cpu:int8", "cpu", "ref"};
  opt.backend_config.ranges = r.ranges;
  return opt;
}

double step(const runtime::RangeMap& ranges, const std::string& value) {
  return kernels::cpu::activation_quant(ranges.at(value), value).scale;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(a.at_double(i) - b.at_double(i)));
  return m;
}

double max_abs(const Tensor& a) {
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i) m = std::max(m, std::fabs(a.at_double(i)));
  return m;
}

const runtime::NodeAssignment& step_of(const Runs& r, const std::string& node) {
  for (const auto& a : r.plan)
    if (a.node_name == node) return a;
  ADD_FAILURE() << "no step " << node;
  return r.plan.front();
}

}  // namespace

// conv -> conv -> conv: both intermediates u8, kernels say so, results within the bound.
TEST(Int8Regions, ConvChainKeepsU8Between) {
  struct Case {
    int64_t c, h, k1, k2, group2;
  };
  for (const Case& c :
       {Case{8, 9, 3, 3, 1}, Case{16, 7, 1, 3, 1}, Case{32, 8, 3, 3, 32}, Case{3, 12, 5, 1, 1}}) {
    const std::string label = "c" + std::to_string(c.c) + " h" + std::to_string(c.h) + " k" +
                              std::to_string(c.k1) + "," + std::to_string(c.k2) + " g" +
                              std::to_string(c.group2);
    Builder b({1, c.c, c.h, c.h});
    b.conv("x", "a", c.c, 32, c.k1, 1);
    b.node("Relu", {"a"}, "ar");
    b.conv("ar", "bb", 32, 32, c.k2, 3, c.group2 == 1 ? 1 : 32);
    b.conv("bb", "y", 32, 16, 1, 5);
    const ir::Graph g = b.done({"y"});
    const Runs r = run_three(g, {1, c.c, c.h, c.h}, 7);
    // Relu fused into the first conv: its output "ar" and "bb" are u8, "y" (graph output) float.
    EXPECT_EQ(r.quantized.count("ar"), 1u) << label;
    EXPECT_EQ(r.quantized.count("bb"), 1u) << label;
    EXPECT_EQ(r.quantized.count("y"), 0u) << label;
    EXPECT_NE(step_of(r, "a_node").impl.find("f32 in, u8 out"), std::string::npos)
        << label << ": " << step_of(r, "a_node").impl;
    EXPECT_NE(step_of(r, "bb_node").impl.find("u8 in, u8 out"), std::string::npos)
        << label << ": " << step_of(r, "bb_node").impl;
    EXPECT_NE(step_of(r, "y_node").impl.find("u8 in, f32 out"), std::string::npos)
        << label << ": " << step_of(r, "y_node").impl;
    // One tie-step at "ar" through conv bb then y; one at "bb" through y.
    const double l_b = inf_norm(g.initializers.at("bb_w")),
                 l_y = inf_norm(g.initializers.at("y_w"));
    const double bound = step(r.ranges, "ar") * l_b * l_y + step(r.ranges, "bb") * l_y +
                         1e-5 * max_abs(r.int8_float[0]);
    const double diff = max_abs_diff(r.int8_u8[0], r.int8_float[0]);
    std::cout << "[ observed ] " << label << ": u8 vs float boundaries " << diff << " (bound "
              << bound << "), vs fp32: u8 " << relative_error(r.int8_u8[0], r.fp32[0]) << ", float "
              << relative_error(r.int8_float[0], r.fp32[0]) << "\n";
    EXPECT_LE(diff, bound) << label;
    EXPECT_LE(relative_error(r.int8_u8[0], r.fp32[0]),
              1.1 * relative_error(r.int8_float[0], r.fp32[0]) + 1e-6)
        << label;
  }
}

// Residual: x0 = relu(conv(x)); t = relu(conv(x0)); z = relu(conv(t) + x0); y = conv(z).
// x0 is read by a conv and by the fused sum, z is written u8 with the u8 sum operand, over
// x0r's buffer.
TEST(Int8Regions, ResidualSumInU8) {
  for (int64_t c : {8, 24}) {
    Builder b({2, c, 6, 6});
    b.conv("x", "x0", c, c, 3, 11);
    b.node("Relu", {"x0"}, "x0r");
    b.conv("x0r", "t", c, c, 3, 13);
    b.node("Relu", {"t"}, "tr");
    b.conv("tr", "u", c, c, 3, 15);
    b.node("Add", {"u", "x0r"}, "s");
    b.node("Relu", {"s"}, "z");
    b.conv("z", "y", c, 8, 1, 17);
    const ir::Graph g = b.done({"y"});
    const Runs r = run_three(g, {2, c, 6, 6}, 21);
    for (const char* v : {"x0r", "tr", "z"})
      EXPECT_EQ(r.quantized.count(v), 1u) << "c" << c << ": " << v << " not u8";
    const std::string sum_impl = step_of(r, "u_node").impl;
    EXPECT_NE(sum_impl.find("u8 in, u8 out"), std::string::npos) << sum_impl;
    // u is x0r's last reader: its output takes x0r's buffer, and the copy of the operand
    // into the output moves nothing (runtime/sum_in_place.h).
    EXPECT_NE(sum_impl.find("[output over input x0r]"), std::string::npos) << sum_impl;
    // Ties at x0r (through t, u, y and through the sum), tr (through u, y), z (through y),
    // plus x0r's own quantization error s_x/2 in the sum, through y.
    const double l_t = inf_norm(g.initializers.at("t_w")), l_u = inf_norm(g.initializers.at("u_w")),
                 l_y = inf_norm(g.initializers.at("y_w"));
    const double s_x = step(r.ranges, "x0r"), s_t = step(r.ranges, "tr"), s_z = step(r.ranges, "z");
    const double bound =
        (s_x * (l_t * l_u + 1) + s_x / 2 + s_t * l_u + s_z) * l_y + 1e-5 * max_abs(r.int8_float[0]);
    EXPECT_LE(max_abs_diff(r.int8_u8[0], r.int8_float[0]), bound) << "c" << c;
    // The u8 sum operand's own rounding (s_x / 2 through y) comes on top.
    EXPECT_LE(relative_error(r.int8_u8[0], r.fp32[0]),
              1.1 * relative_error(r.int8_float[0], r.fp32[0]) + s_x / 2 * l_y / max_abs(r.fp32[0]))
        << "c" << c;
    std::cout << "[ observed ] residual c" << c << ": vs fp32: u8 "
              << relative_error(r.int8_u8[0], r.fp32[0]) << ", float "
              << relative_error(r.int8_float[0], r.fp32[0]) << "\n";
  }
}

// The negotiation answers from probes and each int8 kernel is built once, at session init
// (kernels/deferred_build.h): negotiating u8 boundaries and channels-last layouts creates
// no more oneDNN primitives than building each kernel once without any negotiation
// (FRUGAL_PLAIN_LAYOUTS=1; u8 boundaries drop conversions, so fewer), where rebuilding at
// each agreement created several times as many; the first run creates none and gives
// run_three's u8 result bit for bit.
TEST(Int8Regions, EachKernelBuiltOnceAtInit) {
  Builder b({1, 8, 6, 6});
  b.conv("x", "x0", 8, 8, 3, 11);
  b.node("Relu", {"x0"}, "x0r");
  b.conv("x0r", "t", 8, 8, 3, 13);
  b.node("Relu", {"t"}, "tr");
  b.conv("tr", "u", 8, 8, 3, 15);
  b.node("Add", {"u", "x0r"}, "s");
  b.node("Relu", {"s"}, "z");
  b.conv("z", "y", 8, 8, 1, 17);
  const ir::Graph g = b.done({"y"});
  const Runs r = run_three(g, {1, 8, 6, 6}, 21);
  const runtime::SessionOptions int8 = int8_options(r);
  const Tensor x = random_tensor({1, 8, 6, 6}, 21);
  auto created_by = [](auto&& f) {
    const size_t before = kernels::cpu::onednn_primitives_created();
    f();
    return kernels::cpu::onednn_primitives_created() - before;
  };
  size_t negotiated = 0, first_run = 0;
  std::vector<Tensor> y;
  negotiated = created_by([&] {
    runtime::Session s(g, int8);
    EXPECT_EQ(s.quantized_values().size(), 3u);
    first_run = created_by([&] { y = s.run({x}); });
  });
  setenv("FRUGAL_PLAIN_LAYOUTS", "1", 1);
  const size_t once = created_by([&] { runtime::Session s(g, int8); });
  unsetenv("FRUGAL_PLAIN_LAYOUTS");
  std::cout << "[ observed ] oneDNN primitives created: " << negotiated << " negotiated, " << once
            << " with plain float32 boundaries\n";
  EXPECT_GT(once, 0u);
  EXPECT_LE(negotiated, once);
  EXPECT_EQ(first_run, 0u);
  EXPECT_EQ(max_abs_diff(y[0], r.int8_u8[0]), 0.0);
}

// Gemm -> Relu -> Gemm -> Gemm: u8 between, batch 1 and 5.
TEST(Int8Regions, GemmChainKeepsU8Between) {
  for (int64_t m : {1, 5}) {
    Builder b({m, 40});
    b.gemm("x", "h", 40, 64, 31);
    b.node("Relu", {"h"}, "hr");
    b.gemm("hr", "h2", 64, 48, 33);
    b.gemm("h2", "y", 48, 10, 35);
    const ir::Graph g = b.done({"y"});
    const Runs r = run_three(g, {m, 40}, 41);
    EXPECT_EQ(r.quantized.count("hr"), 1u) << "m" << m;
    EXPECT_EQ(r.quantized.count("h2"), 1u) << "m" << m;
    const double l_2 = inf_norm(g.initializers.at("h2_w")),
                 l_y = inf_norm(g.initializers.at("y_w"));
    const double bound = step(r.ranges, "hr") * l_2 * l_y + step(r.ranges, "h2") * l_y +
                         1e-5 * max_abs(r.int8_float[0]);
    EXPECT_LE(max_abs_diff(r.int8_u8[0], r.int8_float[0]), bound) << "m" << m;
    EXPECT_LE(relative_error(r.int8_u8[0], r.fp32[0]),
              1.1 * relative_error(r.int8_float[0], r.fp32[0]) + 1e-6)
        << "m" << m;
  }
}

// At --threads 2, nodes planned on one thread (the cost model's) and nodes on two: the int8
// kernels rebuilt for u8 boundaries keep their node's thread count (int8_kernels.cpp), and
// every split gives the one-thread result (integer accumulation).
TEST(Int8Regions, ThreadCountsPerNodeGiveTheSameResult) {
  Builder b({1, 16, 7, 7});
  b.conv("x", "a", 16, 32, 1, 1);
  b.node("Relu", {"a"}, "ar");
  b.conv("ar", "bb", 32, 32, 3, 3, 32);
  b.conv("bb", "y", 32, 16, 1, 5);
  const ir::Graph g = b.done({"y"});
  const Runs r = run_three(g, {1, 16, 7, 7}, 7);
  runtime::SessionOptions opt = int8_options(r);
  const Tensor x = random_tensor({1, 16, 7, 7}, 7);
  for (double min_us : {50.0, 0.0}) {
    opt.threads = 2;
    opt.parallel_min_us = min_us;
    runtime::Session s(g, opt);
    const std::vector<Tensor> y = s.run({x});
    EXPECT_EQ(s.quantized_values().size(), r.quantized.size()) << "min_us " << min_us;
    for (const auto& a : s.assignments())
      EXPECT_EQ(a.threads, min_us > 0 ? 1 : 2) << a.node_name << ", min_us " << min_us;
    EXPECT_LE(max_abs_diff(y[0], r.int8_u8[0]), 1e-6 * max_abs(r.int8_u8[0]))
        << "min_us " << min_us;
  }
}

// A value that a float32 kernel also reads stays float32 (the int8 region ends there), and
// the results still agree.
TEST(Int8Regions, FloatReaderKeepsValueFloat) {
  Builder b({1, 8, 8, 8});
  b.conv("x", "a", 8, 16, 3, 51);
  b.conv("a", "c1", 16, 16, 3, 53);
  b.node("Sigmoid", {"a"}, "c2");
  b.node("Add", {"c1", "c2"}, "y");
  const ir::Graph g = b.done({"y"});
  const Runs r = run_three(g, {1, 8, 8, 8}, 61);
  EXPECT_EQ(r.quantized.count("a"), 0u);
  EXPECT_LE(max_abs_diff(r.int8_u8[0], r.int8_float[0]), 1e-5 * max_abs(r.int8_float[0]));
}

// Zoo models at small inputs: most values between int8 layers are u8, and the logits agree
// with the float32-boundary int8 run and with float32 (bounds as int8_zoo_test.cpp's).
TEST(Int8Regions, ZooModelsRunU8Regions) {
  struct Case {
    std::string name;
    Shape input;
    size_t min_u8;
  };
  for (const Case& c :
       {Case{"resnet18", {1, 3, 64, 64}, 10}, Case{"mobilenet_v2", {1, 3, 64, 64}, 30}}) {
    const ir::Graph g = zoo::build(c.name, 3);
    runtime::SessionOptions fp32;
    fp32.backends = {"cpu", "ref"};
    fp32.infer.input_shapes["input"] = c.input;
    std::vector<std::vector<Tensor>> calib;
    for (uint64_t s = 0; s < 3; ++s) calib.push_back({random_tensor(c.input, 100 + s)});
    runtime::SessionOptions int8 = fp32;
    int8.backends = {"cpu:int8", "cpu", "ref"};
    int8.backend_config.ranges = runtime::calibrate_minmax(g, calib, fp32);
    runtime::Session ref(g, fp32), q(g, int8);
    const Tensor x = random_tensor(c.input, 200);
    const Tensor want = ref.run({x})[0], got = q.run({x})[0];
    std::cout << "[ observed ] " << c.name << ": " << q.quantized_values().size()
              << " u8 values, max|int8 - fp32| / max|fp32| = " << relative_error(got, want) << "\n";
    EXPECT_GE(q.quantized_values().size(), c.min_u8) << c.name;
    EXPECT_LE(relative_error(got, want), 0.15) << c.name;
  }
}

// MaxPool runs on u8 between int8 convs (its output in its input's grid, exact): the values
// around it stay u8 and the result equals the float32-boundary run's up to ties.
TEST(Int8Regions, MaxPoolInU8) {
  Builder b({1, 8, 9, 9});
  b.conv("x", "a", 8, 16, 3, 81);
  b.node("Relu", {"a"}, "ar");
  b.node("MaxPool", {"ar"}, "p",
         {{"kernel_shape", attr(std::vector<int64_t>{3, 3})},
          {"strides", attr(std::vector<int64_t>{2, 2})},
          {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
  b.conv("p", "y", 16, 8, 3, 83);
  const ir::Graph g = b.done({"y"});
  const Runs r = run_three(g, {1, 8, 9, 9}, 85);
  EXPECT_EQ(r.quantized.count("ar"), 1u);
  EXPECT_EQ(r.quantized.count("p"), 1u);
  EXPECT_EQ(step_of(r, "p_node").backend, "cpu:int8");
  EXPECT_NE(step_of(r, "p_node").impl.find("u8 in, u8 out"), std::string::npos)
      << step_of(r, "p_node").impl;
  // One tie-step at "ar" (pooled as is) through y.
  const double bound =
      step(r.ranges, "ar") * inf_norm(g.initializers.at("y_w")) + 1e-5 * max_abs(r.int8_float[0]);
  EXPECT_LE(max_abs_diff(r.int8_u8[0], r.int8_float[0]), bound);
  EXPECT_LE(relative_error(r.int8_u8[0], r.fp32[0]),
            1.1 * relative_error(r.int8_float[0], r.fp32[0]) + 1e-6);
}

// GlobalAveragePool reads its producer's u8 and writes float32 (the mean of the grid
// values, dequantized): the convolution before it writes u8, the Gemm after it quantizes the
// float32 mean. With float32 boundaries it averages float32.
TEST(Int8Regions, GlobalAveragePoolReadsU8) {
  for (int64_t c : {24, 64}) {
    Builder b({2, 8, 7, 9});
    b.conv("x", "a", 8, c, 3, 71);
    b.node("Relu", {"a"}, "ar");
    b.node("GlobalAveragePool", {"ar"}, "m");
    b.node("Flatten", {"m"}, "f");
    b.gemm("f", "y", c, 10, 73);
    const ir::Graph g = b.done({"y"});
    const Runs r = run_three(g, {2, 8, 7, 9}, 75);
    EXPECT_EQ(r.quantized.count("ar"), 1u) << c;
    EXPECT_EQ(r.quantized.count("m"), 0u) << c;
    EXPECT_EQ(step_of(r, "m_node").impl, "own:u8_mean [u8 in, f32 out]") << c;
    // "ar" quantized (half a step, which its mean keeps) through the Gemm, plus a tie-step
    // where the Gemm quantizes the mean.
    const double bound = step(r.ranges, "ar") * inf_norm(g.initializers.at("y_w")) +
                         step(r.ranges, "f") * inf_norm(g.initializers.at("y_w")) +
                         1e-5 * max_abs(r.int8_float[0]);
    const double diff = max_abs_diff(r.int8_u8[0], r.int8_float[0]);
    std::cout << "[ observed ] " << c << " channels: u8 vs float boundaries " << diff << " (bound "
              << bound << "), vs fp32: u8 " << relative_error(r.int8_u8[0], r.fp32[0]) << ", float "
              << relative_error(r.int8_float[0], r.fp32[0]) << "\n";
    EXPECT_LE(diff, bound) << c;
    EXPECT_LE(relative_error(r.int8_u8[0], r.fp32[0]), 0.05) << c;
  }
}

// MaxPool's u8 result dequantized for a float32 reader (here the graph output), 16 to 96
// channels: its zero point survives the move from channels last to plain (oneDNN 2.6's
// transposing reorder drops it from 64 channels on; int8_kernels.cpp add_scaled_copy).
TEST(Int8Regions, MaxPoolToFloatKeepsItsZeroPoint) {
  for (int64_t c : {16, 64, 96}) {
    Builder b({2, 8, 20, 18});
    b.conv("x", "a", 8, c, 3, 61);
    b.node("MaxPool", {"a"}, "p",
           {{"kernel_shape", attr(std::vector<int64_t>{2, 2})},
            {"strides", attr(std::vector<int64_t>{2, 2})}});
    const ir::Graph g = b.done({"p"});
    const Runs r = run_three(g, {2, 8, 20, 18}, 63);
    EXPECT_NE(kernels::cpu::activation_quant(r.ranges.at("a"), "a").zero_point, 0);
    EXPECT_NE(step_of(r, "p_node").impl.find("u8 in, f32 out"), std::string::npos)
        << step_of(r, "p_node").impl;
    // Within the quantization of "a" (half a step) and the convolution's own error.
    const double error = relative_error(r.int8_u8[0], r.fp32[0]);
    std::cout << "[ observed ] " << c << " channels: max|int8 - fp32| / max|fp32| = " << error
              << "\n";
    EXPECT_LT(error, 0.05) << c << " channels";
  }
}

// A relu or clip whose bounds the u8 destination's saturation already applies is dropped
// from the epilogue (int8_kernels.cpp saturation_applies); one whose bounds it does not
// apply stays. A convolution with a relu or clip, its output range set by hand, read in u8
// by a 1x1 MaxPool whose result is the graph output: int8 against float32 clamped to that
// range. A bound dropped wrongly shows as errors of 1 or more (values below 0, or above the
// clip), the quantization's as a few hundredths.
TEST(Int8Regions, SaturationStandsInOnlyForTheBoundsItApplies) {
  struct Case {
    const char* label;
    bool clip;
    float lo, hi;  // the output's range
  };
  for (const Case& c : {Case{"relu, range from 0 (saturation applies it)", false, 0.0f, 6.0f},
                        Case{"relu, range from -2 (kept)", false, -2.0f, 6.0f},
                        Case{"clip 0..3, range to 5 (kept)", true, 0.0f, 5.0f},
                        Case{"clip 0..3, range to 2 (saturation applies it)", true, 0.0f, 2.0f}}) {
    const Shape shape{1, 8, 9, 9};
    Builder b(shape);
    b.conv("x", "a", 8, 16, 3, 101);
    if (c.clip) {
      b.g.initializers["lo"] = Tensor::from_vector<float>({}, {0.0f});
      b.g.initializers["hi"] = Tensor::from_vector<float>({}, {3.0f});
      b.node("Clip", {"a", "lo", "hi"}, "ar");
    } else {
      b.node("Relu", {"a"}, "ar");
    }
    b.node("MaxPool", {"ar"}, "p", {{"kernel_shape", attr(std::vector<int64_t>{1, 1})}});
    const ir::Graph g = b.done({"p"});
    const Tensor x = random_tensor(shape, 103, 4.0f);
    runtime::SessionOptions fp32;
    fp32.backends = {"cpu", "ref"};
    const Tensor want = runtime::Session(g, fp32).run({x})[0];
    runtime::SessionOptions int8 = fp32;
    int8.backends = {"cpu:int8", "cpu", "ref"};
    int8.backend_config.ranges = runtime::calibrate_minmax(g, {{x}}, fp32);
    int8.backend_config.ranges["ar"] = kernels::ValueRange{c.lo, c.hi};
    runtime::Session s(g, int8);
    const Tensor got = s.run({x})[0];
    ASSERT_EQ(s.quantized_values().count("ar"), 1u) << c.label;
    // The case tests something: values reach the clip's bound, or the range's top.
    EXPECT_GE(max_abs(want), c.clip ? 3.0 : c.hi) << c.label;
    double worst = 0;
    for (int64_t i = 0; i < want.numel(); ++i) {
      const double expect = std::clamp(want.at_double(i), double(c.lo), double(c.hi));
      worst = std::max(worst, std::fabs(got.at_double(i) - expect));
    }
    std::cout << "[ observed ] " << c.label << ": max |int8 - clamped fp32| " << worst << "\n";
    EXPECT_LT(worst, 0.25) << c.label;
  }
}

// A network's stem on frugal's few-channel kernel (few_channel_int8.h): a 3-channel 7x7
// stride-2 convolution with relu writes u8 to a MaxPool, and a 1-channel 3x3 with a clip
// (64 + 6 output channels: a partial block) writes u8 to a 1x1 convolution.
TEST(Int8Regions, FewChannelStemWritesU8) {
  if (!kernels::cpu::FewChannelConvInt8::available())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU: frugal's few-channel int8 kernel not tested";
  struct Case {
    int64_t c, m, k, stride;
    bool clip;
  };
  for (const Case& c : {Case{3, 64, 7, 2, false}, Case{1, 70, 3, 1, true}}) {
    const std::string label = "c" + std::to_string(c.c) + " m" + std::to_string(c.m);
    const Shape shape{2, c.c, 19, 17};
    Builder b(shape);
    const float gain = 1.0f / std::sqrt(static_cast<float>(c.c * c.k * c.k));
    b.g.initializers["a_w"] = random_tensor({c.m, c.c, c.k, c.k}, 91, gain);
    b.g.initializers["a_b"] = random_tensor({c.m}, 92, 0.1f);
    b.node("Conv", {"x", "a_w", "a_b"}, "a",
           {{"pads", attr(std::vector<int64_t>(4, c.k / 2))},
            {"strides", attr(std::vector<int64_t>{c.stride, c.stride})}});
    if (c.clip) {
      b.g.initializers["lo"] = Tensor::from_vector<float>({}, {0.0f});
      b.g.initializers["hi"] = Tensor::from_vector<float>({}, {0.5f});
      b.node("Clip", {"a", "lo", "hi"}, "ar");
      b.conv("ar", "y", c.m, 16, 1, 93);
    } else {
      b.node("Relu", {"a"}, "ar");
      b.node("MaxPool", {"ar"}, "p",
             {{"kernel_shape", attr(std::vector<int64_t>{3, 3})},
              {"strides", attr(std::vector<int64_t>{2, 2})},
              {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
      b.conv("p", "y", c.m, 16, 1, 93);
    }
    const ir::Graph g = b.done({"y"});
    const Runs r = run_three(g, shape, 95);
    EXPECT_EQ(r.quantized.count("ar"), 1u) << label;
    EXPECT_EQ(step_of(r, "a_node").impl.rfind("own_int8_few_channels:", 0), 0u)
        << label << ": " << step_of(r, "a_node").impl;
    EXPECT_NE(step_of(r, "a_node").impl.find("f32 in, u8 out"), std::string::npos)
        << label << ": " << step_of(r, "a_node").impl;
    // One tie-step at "ar" (pooled as is) through y.
    const double bound =
        step(r.ranges, "ar") * inf_norm(g.initializers.at("y_w")) + 1e-5 * max_abs(r.int8_float[0]);
    const double diff = max_abs_diff(r.int8_u8[0], r.int8_float[0]);
    std::cout << "[ observed ] " << label << ": u8 vs float boundaries " << diff << " (bound "
              << bound << "), vs fp32: u8 " << relative_error(r.int8_u8[0], r.fp32[0]) << ", float "
              << relative_error(r.int8_float[0], r.fp32[0]) << "\n";
    EXPECT_LE(diff, bound) << label;
    EXPECT_LE(relative_error(r.int8_u8[0], r.fp32[0]),
              1.1 * relative_error(r.int8_float[0], r.fp32[0]) + 1e-6)
        << label;
  }
}

// Every step cpu:int8 declines is a fallback, named with the reason and its MACs' share;
// a Conv whose weights are not constant (a graph input) is one, with most of the MACs.
TEST(Int8Fallbacks, NamedWithReasonAndShareOfMacs) {
  Builder b({1, 8, 8, 8});
  b.conv("x", "a", 8, 16, 3, 71);
  b.node("AveragePool", {"a"}, "p",
         {{"kernel_shape", attr(std::vector<int64_t>{2, 2})},
          {"strides", attr(std::vector<int64_t>{2, 2})}});
  ir::ValueInfo wv{"w2", DType::kF32, std::vector<ir::Dim>{{16, ""}, {16, ""}, {3, ""}, {3, ""}}};
  b.g.inputs.push_back(wv);
  b.node("Conv", {"p", "w2"}, "y", {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
  const ir::Graph g = b.done({"y"});
  runtime::SessionOptions opt;
  opt.backends = {"cpu:int8", "cpu", "ref"};
  opt.backend_config.ranges = {{"x", {-3, 3}}, {"a", {-3, 3}}, {"p", {-3, 3}}};
  runtime::Session s(g, opt);
  ASSERT_EQ(s.fallbacks().size(), 2u);
  const auto& conv = s.fallbacks()[0];
  EXPECT_EQ(conv.node_name, "y_node");
  EXPECT_EQ(conv.backend, "cpu");
  EXPECT_NE(conv.reason.find("weights are not constant"), std::string::npos) << conv.reason;
  // MACs: a = 16*8*9 * 8*8, y = 16*16*9 * 4*4.
  const double a_macs = 16.0 * 8 * 9 * 64, y_macs = 16.0 * 16 * 9 * 16;
  EXPECT_EQ(conv.macs, static_cast<int64_t>(y_macs));
  EXPECT_NEAR(conv.macs_share, y_macs / (a_macs + y_macs), 1e-9);
  EXPECT_EQ(s.fallbacks()[1].node_name, "p_node");  // AveragePool: not in int8
  EXPECT_EQ(s.fallbacks()[1].macs, 0);
  // A single backend has nothing to fall back from.
  opt.backends = {"cpu"};
  EXPECT_TRUE(runtime::Session(g, opt).fallbacks().empty());
}
