// Post-training quantization (compress/quantize.h): spec parsing, the QDQ export against
// float32, int4 weight-only and dynamic int8 against error bounds from their step sizes,
// cross-layer equalization and bias correction.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "frugal/compress/bias_correction.h"
#include "frugal/compress/cle.h"
#include "frugal/compress/quantize.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/builder.h"
#include "frugal/zoo/zoo.h"

namespace frugal::compress {
namespace {

std::vector<std::vector<Tensor>> random_batches(const Shape& shape, int n, uint32_t seed,
                                                bool positive = true) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.3f, 0.4f);
  std::vector<std::vector<Tensor>> b;
  for (int i = 0; i < n; ++i) {
    Tensor t(DType::kF32, shape);
    for (float& v : t.span<float>()) v = positive ? std::clamp(nd(rng), 0.0f, 1.0f) : nd(rng);
    b.push_back({t});
  }
  return b;
}

std::vector<Tensor> run(const ir::Graph& g, const std::vector<Tensor>& in,
                        std::vector<std::string> backends = {"ref"}) {
  runtime::SessionOptions o;
  o.backends = std::move(backends);
  o.infer.batch = in[0].dim(0);
  runtime::Session s(g, o);
  return s.run(in);
}

double max_abs(const Tensor& t) {
  double m = 0;
  for (float v : t.span<float>()) m = std::max(m, static_cast<double>(std::fabs(v)));
  return m;
}
double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
  return m;
}

int count_op(const ir::Graph& g, const std::string& op) {
  int n = 0;
  for (const auto& node : g.nodes) n += node.op_type == op;
  return n;
}

TEST(QuantSpec, ParsesTheDocumentedForms) {
  QuantSpec s = parse_quant_spec("int8");
  EXPECT_EQ(s.kind, QuantSpec::Kind::kStatic8);
  EXPECT_TRUE(s.per_channel);
  EXPECT_FALSE(s.symmetric);
  s = parse_quant_spec("int8:per-tensor,calib=percentile:99.9,samples=64,sym,bias-correct,cle");
  EXPECT_FALSE(s.per_channel);
  EXPECT_EQ(s.calib.method, runtime::CalibMethod::kPercentile);
  EXPECT_DOUBLE_EQ(s.calib.percentile, 99.9);
  EXPECT_EQ(s.samples, 64);
  EXPECT_TRUE(s.symmetric && s.calib.symmetric && s.bias_correct && s.cle);
  EXPECT_EQ(quant_spec_name(s), "int8:per-tensor,calib=percentile:99.9,sym,samples=64,bias-correct,cle");
  EXPECT_EQ(parse_quant_spec("int8:dynamic").kind, QuantSpec::Kind::kDynamic8);
  s = parse_quant_spec("int4:group=128");
  EXPECT_EQ(s.kind, QuantSpec::Kind::kWeightInt4);
  EXPECT_EQ(s.group, 128);
  EXPECT_EQ(parse_quant_spec("int4").group, 32);
  for (const std::string bad : {"int3", "int8:per-row", "int8,calib=max", "int8,samples=0",
                                "int8,samples=x", "int4:group=48", "int4:g=32", "int8,foo",
                                "int4,calib=mse", "int8:dynamic,sym", "int8:dynamic,bias-correct",
                                "", "int8:per-channel:x"}) {
    try {
      parse_quant_spec(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find("--quant"), std::string::npos) << e.what();
    }
  }
}

TEST(QuantWeights, PerChannelErrorWithinHalfAStep) {
  std::mt19937 rng(2);
  std::normal_distribution<float> nd;
  Tensor w(DType::kF32, {5, 3, 2, 2});
  for (int64_t i = 0; i < w.numel(); ++i) w.data<float>()[i] = nd(rng) * static_cast<float>(1 + i / 12);
  for (int64_t axis : {int64_t{-1}, int64_t{0}, int64_t{1}}) {
    const WeightQuant q = quantize_weight(w, axis);
    const Tensor d = dequantize_weight(q, axis);
    EXPECT_EQ(q.scales.size(), axis < 0 ? 1u : static_cast<size_t>(w.dim(axis)));
    for (int64_t i = 0; i < w.numel(); ++i) {
      int64_t c = 0;
      if (axis == 0) c = i / 12;
      if (axis == 1) c = (i / 4) % 3;
      EXPECT_LE(std::fabs(w.data<float>()[i] - d.data<float>()[i]), q.scales[static_cast<size_t>(c)] * 0.5f + 1e-6f);
      EXPECT_LE(std::abs(q.q.data<int8_t>()[i]), 127);
    }
  }
  // An all-zero channel gets scale 1 and zeros.
  Tensor z(DType::kF32, {2, 3});
  for (float& v : z.span<float>()) v = 0;
  const WeightQuant qz = quantize_weight(z, 0);
  EXPECT_EQ(qz.scales[0], 1.0f);
}

class QdqOnZoo : public ::testing::TestWithParam<std::string> {};

TEST_P(QdqOnZoo, ExportRunsAndStaysCloseToFloat) {
  const ir::Graph g = zoo::build(GetParam(), 3);
  const std::string before = ir::serialize_onnx(g);
  const auto batches = random_batches({1, 1, 28, 28}, 8, 4);
  for (const std::string spec : {"int8", "int8:per-tensor,calib=percentile:99.9",
                                 "int8,sym", "int8,calib=mse,cle,bias-correct"}) {
    SCOPED_TRACE(spec);
    const QuantResult r = quantize(g, parse_quant_spec(spec), batches);
    EXPECT_TRUE(ir::serialize_onnx(g) == before) << "input graph modified";
    // Every Conv/Gemm reads dequantized inputs and weights, and int8 weights exist.
    int quantized = 0;
    for (const auto& n : r.graph.nodes) {
      if (n.op_type != "Conv" && n.op_type != "Gemm") continue;
      ++quantized;
      for (size_t i = 0; i < std::min<size_t>(n.inputs.size(), 2); ++i) {
        const int64_t p = r.graph.producer(n.inputs[i]);
        ASSERT_GE(p, 0) << n.name << " input " << i;
        EXPECT_EQ(r.graph.nodes[static_cast<size_t>(p)].op_type, "DequantizeLinear") << n.name;
      }
      if (n.has_input(2)) {
        const int64_t p = r.graph.producer(n.inputs[2]);
        ASSERT_GE(p, 0);
        const auto& dq = r.graph.nodes[static_cast<size_t>(p)];
        EXPECT_EQ(r.graph.initializer(dq.inputs[0])->dtype(), DType::kI32) << "int32 bias";
      }
    }
    EXPECT_GT(quantized, 0);
    EXPECT_EQ(count_op(r.graph, "QuantizeLinear") > 0, true);
    EXPECT_LT(r.weight_bytes_after * 3, r.weight_bytes_before);
    // The exported file loads back and runs; its output stays close to float32.
    const ir::Graph back = ir::parse_onnx(ir::serialize_onnx(r.graph).data(), ir::serialize_onnx(r.graph).size(), "q");
    double worst = 0, scale = 0;
    for (int i = 0; i < 4; ++i) {
      const Tensor ref = run(g, batches[static_cast<size_t>(i)])[0];
      const Tensor q = run(back, batches[static_cast<size_t>(i)])[0];
      worst = std::max(worst, max_diff(ref, q));
      scale = std::max(scale, max_abs(ref));
    }
    EXPECT_LT(worst, 0.1 * scale + 1e-3) << "worst " << worst << " of " << scale;
    // Ranges cover every float value of the prepared graph and are ordered.
    EXPECT_FALSE(r.ranges.ranges.empty());
    for (const auto& [name, range] : r.ranges.ranges) EXPECT_LE(range.min, range.max) << name;
  }
}
INSTANTIATE_TEST_SUITE_P(Models, QdqOnZoo, ::testing::Values("lenet5", "mobilenet_fmnist"));

TEST(QdqExport, TrueInt8AgreesWithFakeQuant) {
  // cpu:int8 with the saved ranges and the QDQ graph quantize the same values on the same
  // u8 grid: their outputs differ only by cpu:int8's integer rounding of requantization.
  const ir::Graph g = zoo::build("lenet5", 11);
  const auto batches = random_batches({1, 1, 28, 28}, 8, 12);
  const QuantResult r = quantize(g, parse_quant_spec("int8"), batches);
  runtime::SessionOptions o;
  o.backends = {"cpu:int8", "cpu", "ref"};
  o.backend_config.ranges = r.ranges.ranges;
  runtime::Session s(r.prepared, o);
  for (int i = 0; i < 3; ++i) {
    const Tensor fake = run(r.graph, batches[static_cast<size_t>(i)])[0];
    const Tensor ref = run(g, batches[static_cast<size_t>(i)])[0];
    const Tensor real = s.run(batches[static_cast<size_t>(i)])[0];
    EXPECT_LT(max_diff(fake, real), 0.05 * max_abs(ref) + 1e-3);
  }
}

// A net with Conv, Gemm (transB and not) and MatMul weights.
ir::Graph mixed_net(bool trans_b) {
  zoo::GraphBuilder b("mixed", 9);
  std::string x = b.add_input("x", {2, 3, 8, 8});
  x = b.add_relu("r1", b.add_conv("conv1", x, 40, {.kernel = 3, .pad = 1}));
  x = b.add_global_avg_pool("gap", x);
  x = b.add_flatten("flat", x);
  x = b.add_linear("fc1", x, 24);  // Gemm transB=1
  ir::Graph g = b.finish(x, "y");
  if (!trans_b) {
    for (auto& n : g.nodes)
      if (n.op_type == "Gemm") {
        Tensor& w = g.initializers[n.inputs[1]];
        Tensor t(DType::kF32, {w.dim(1), w.dim(0)});
        for (int64_t r = 0; r < w.dim(0); ++r)
          for (int64_t c = 0; c < w.dim(1); ++c) t.data<float>()[c * w.dim(0) + r] = w.data<float>()[r * w.dim(1) + c];
        w = t;
        n.attrs["transB"] = ir::Attribute{int64_t{0}};
      }
  }
  // A MatMul after the Gemm: [2, 24] x [24, 10].
  std::mt19937 rng(5);
  std::normal_distribution<float> nd(0, 0.3f);
  Tensor m(DType::kF32, {24, 10});
  for (float& v : m.span<float>()) v = nd(rng);
  g.initializers["mm_w"] = m;
  ir::Node mm;
  mm.name = "mm";
  mm.op_type = "MatMul";
  mm.inputs = {g.outputs[0].name, "mm_w"};
  mm.outputs = {"z"};
  g.nodes.push_back(mm);
  g.outputs = {ir::ValueInfo{"z", DType::kF32, std::nullopt}};
  g.validate_and_sort();
  return g;
}

TEST(Int4, ExportEqualsPerGroupFakeQuantAndRespectsTheStep) {
  for (bool trans_b : {true, false})
    for (int64_t group : {32, 64, 128}) {
      SCOPED_TRACE(std::to_string(group) + (trans_b ? " transB" : ""));
      const ir::Graph g = mixed_net(trans_b);
      QuantSpec spec = parse_quant_spec("int4:group=" + std::to_string(group));
      const QuantResult r = quantize(g, spec, {});
      // Replace each weight with its fake-quantized value: the export must compute the same.
      ir::Graph fq = prepare_for_quantization(g);
      for (const auto& n : fq.nodes) {
        std::string why;
        auto site = detail::weight_site(fq, n, why);
        if (!site) continue;
        const Tensor w = *fq.initializer(site->weight);
        const Tensor d = detail::int4_fake_quant(w, *site, group);
        // Per element: |w - d| <= half the group's step, step = max|group| / 7.
        double worst_ratio = 0;
        const int64_t rows = site->reduction_rows ? w.dim(0) : w.dim(1);
        const int64_t len = w.numel() / rows;
        for (int64_t row = 0; row < rows; ++row)
          for (int64_t k0 = 0; k0 < len; k0 += group) {
            float peak = 0;
            auto at = [&](const Tensor& t, int64_t k) {
              return site->reduction_rows ? t.data<float>()[row * len + k] : t.data<float>()[k * rows + row];
            };
            for (int64_t k = k0; k < std::min(k0 + group, len); ++k) peak = std::max(peak, std::fabs(at(w, k)));
            const float step = peak / 7;
            for (int64_t k = k0; k < std::min(k0 + group, len); ++k) {
              ASSERT_LE(std::fabs(at(w, k) - at(d, k)), step / 2 + 1e-6f);
              worst_ratio = std::max(worst_ratio, static_cast<double>(std::fabs(at(d, k)) / (step > 0 ? step : 1)));
            }
          }
        EXPECT_LE(worst_ratio, 7.0 + 1e-4);
        fq.initializers[site->weight] = d;
      }
      const auto in = random_batches({2, 3, 8, 8}, 1, 3, false)[0];
      const Tensor a = run(r.graph, in)[0];
      const Tensor b = run(fq, in)[0];
      EXPECT_LT(max_diff(a, b), 1e-4 * (1 + max_abs(b)));
      // Size: 4 bits per value (padded groups) plus a float scale per group.
      int64_t expect_after = 0;
      for (const auto& n : fq.nodes) {
        std::string why;
        auto site = detail::weight_site(fq, n, why);
        if (!site) continue;
        const Tensor& w = *fq.initializer(site->weight);
        const int64_t rows = site->reduction_rows ? w.dim(0) : w.dim(1);
        const int64_t groups = (w.numel() / rows + group - 1) / group;
        expect_after += (rows * groups * group + 1) / 2 + rows * groups * 4;
      }
      EXPECT_EQ(r.weight_bytes_after, expect_after);
      EXPECT_GT(count_op(r.graph, "DequantizeLinear"), 0);
    }
}

TEST(Dynamic, GemmAndMatMulWithinTheStepBound) {
  for (bool trans_b : {true, false}) {
    const ir::Graph g = mixed_net(trans_b);
    const QuantResult r = quantize(g, parse_quant_spec("int8:dynamic"), {});
    EXPECT_EQ(count_op(r.graph, "MatMulInteger"), 2);
    EXPECT_EQ(count_op(r.graph, "DynamicQuantizeLinear"), 2);
    EXPECT_EQ(count_op(r.graph, "Conv"), 1);  // convolutions stay float
    // Bound on the MatMul alone: run a one-node graph.
    ir::Graph one;
    one.opsets = g.opsets;
    one.inputs = {ir::ValueInfo{"a", DType::kF32, std::vector<ir::Dim>{{3, ""}, {24, ""}}}};
    one.initializers["mm_w"] = *g.initializer("mm_w");
    ir::Node mm;
    mm.name = "mm";
    mm.op_type = "MatMul";
    mm.inputs = {"a", "mm_w"};
    mm.outputs = {"z"};
    one.nodes = {mm};
    one.outputs = {ir::ValueInfo{"z", DType::kF32, std::nullopt}};
    const QuantResult q = quantize(one, parse_quant_spec("int8:dynamic"), {});
    const auto in = random_batches({3, 24}, 1, 8, false)[0];
    const Tensor ref = run(one, in)[0];
    const Tensor got = run(q.graph, in)[0];
    // |dy| <= sum_k |w_kn| dx + |x_k| dw_n / 2 + dx dw_n / 2, dx the input step (a rounded
    // zero point may clip an end by half a step, hence dx not dx/2), dw_n the column step.
    const Tensor& w = one.initializers["mm_w"];
    const float* x = in[0].data<float>();
    float lo = 0, hi = 0;
    for (int64_t i = 0; i < in[0].numel(); ++i) lo = std::min(lo, x[i]), hi = std::max(hi, x[i]);
    const double dx = (hi - lo) / 255.0;
    const WeightQuant wq = quantize_weight(w, 1);
    for (int64_t m = 0; m < 3; ++m)
      for (int64_t n = 0; n < 10; ++n) {
        double bound = 0;
        const double dw = wq.scales[static_cast<size_t>(n)];
        for (int64_t k = 0; k < 24; ++k)
          bound += std::fabs(w.data<float>()[k * 10 + n]) * dx + std::fabs(x[m * 24 + k]) * dw / 2 + dx * dw / 2;
        EXPECT_LE(std::fabs(ref.data<float>()[m * 10 + n] - got.data<float>()[m * 10 + n]), bound + 1e-5);
      }
    EXPECT_GT(max_diff(ref, got), 0.0) << "quantization had no effect";
  }
}

TEST(Cle, LeavesFloatOutputsAndEqualizesRanges) {
  for (const std::string model : {"lenet5", "mobilenet_fmnist", "resnet8_fmnist"}) {
    SCOPED_TRACE(model);
    ir::Graph g = prepare_for_quantization(zoo::build(model, 21));
    // Spread the channel ranges so that there is something to equalize.
    for (auto& [name, t] : g.initializers)
      if (t.rank() == 4 && t.dim(0) > 1) {
        const int64_t len = t.numel() / t.dim(0);
        for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] *= 1.0f + 3.0f * static_cast<float>((i / len) % 4);
      }
    std::vector<std::string> notes;
    const ir::Graph e = equalize_cross_layer(g, notes);
    EXPECT_FALSE(notes.empty());
    const auto in = random_batches({1, 1, 28, 28}, 2, 6);
    for (const auto& b : in) {
      const Tensor a = run(g, b)[0], c = run(e, b)[0];
      std::string all;
      for (const auto& n : notes) all += n + "\n";
      EXPECT_LT(max_diff(a, c), 1e-4 * (1 + max_abs(a))) << all;
    }
    // LeNet's conv1 -> relu -> pool -> conv2 (a pair in no other chain) now has equal
    // per-channel ranges: max |w1[c]| == max over conv2's input channel c.
    if (model != "lenet5") continue;
    std::vector<const ir::Node*> convs;
    for (const auto& n : e.nodes)
      if (n.op_type == "Conv") convs.push_back(&n);
    ASSERT_GE(convs.size(), 2u);
    const Tensor& w1 = *e.initializer(convs[0]->inputs[1]);
    const Tensor& w2 = *e.initializer(convs[1]->inputs[1]);
    if (convs[1]->attr_int("group", 1) == 1 && w2.dim(1) == w1.dim(0)) {
      const int64_t c1 = w1.dim(0), len1 = w1.numel() / c1, o2 = w2.dim(0), sp2 = w2.numel() / (o2 * c1);
      for (int64_t c = 0; c < c1; ++c) {
        float r1 = 0, r2 = 0;
        for (int64_t i = 0; i < len1; ++i) r1 = std::max(r1, std::fabs(w1.data<float>()[c * len1 + i]));
        for (int64_t o = 0; o < o2; ++o)
          for (int64_t i = 0; i < sp2; ++i) r2 = std::max(r2, std::fabs(w2.data<float>()[(o * c1 + c) * sp2 + i]));
        EXPECT_NEAR(r1 / r2, 1.0f, 1e-3) << "channel " << c;
      }
    }
  }
}

TEST(BiasCorrection, RemovesTheMeanShiftOfWeightQuantization) {
  const ir::Graph g = prepare_for_quantization(zoo::build("lenet5", 31));
  const auto batches = random_batches({1, 1, 28, 28}, 8, 9);
  // Coarse per-tensor weights make the shift visible.
  std::map<std::string, Tensor> deq;
  for (const auto& n : g.nodes) {
    std::string why;
    if (auto s = detail::weight_site(g, n, why))
      deq[n.name] = dequantize_weight(quantize_weight(*g.initializer(s->weight), -1, 7), -1);
  }
  std::vector<std::string> notes;
  const ir::Graph corrected = correct_biases(g, deq, batches, {}, notes);
  auto apply = [&](ir::Graph graph) {
    for (auto& n : graph.nodes)
      if (deq.count(n.name)) graph.initializers[n.inputs[1]] = deq.at(n.name);
    return graph;
  };
  // Mean (over the calibration batches) of the first conv's output error, per channel.
  auto mean_error = [&](const ir::Graph& quantized) {
    const std::string y = g.nodes[0].outputs[0];
    ir::Graph a = g, b = quantized;
    a.outputs = {ir::ValueInfo{y, DType::kF32, std::nullopt}};
    b.outputs = a.outputs;
    std::vector<double> sum;
    for (const auto& batch : batches) {
      const Tensor ya = run(a, batch)[0], yb = run(b, batch)[0];
      const int64_t c = ya.dim(1), hw = ya.numel() / c;
      sum.resize(static_cast<size_t>(c));
      for (int64_t i = 0; i < ya.numel(); ++i)
        sum[static_cast<size_t>(i / hw)] += ya.data<float>()[i] - yb.data<float>()[i];
    }
    double e = 0;
    for (double s : sum) e += std::fabs(s);
    return e;
  };
  // The copy with corrected biases shares the input graph's first Conv, as a graph output.
  const double before = mean_error(apply(g));
  const double after = mean_error(apply(corrected));
  EXPECT_LT(after, 0.05 * before) << before << " -> " << after;
  EXPECT_FALSE(notes.empty());
  // End to end through quantize(): logits' mean error shrinks too.
  const QuantResult plain = quantize(g, parse_quant_spec("int8:per-tensor"), batches);
  const QuantResult bc = quantize(g, parse_quant_spec("int8:per-tensor,bias-correct"), batches);
  auto logit_bias = [&](const ir::Graph& q) {
    std::vector<double> sum;
    for (const auto& batch : batches) {
      const Tensor a = run(g, batch)[0], b = run(q, batch)[0];
      sum.resize(static_cast<size_t>(a.numel()));
      for (int64_t i = 0; i < a.numel(); ++i) sum[static_cast<size_t>(i)] += a.data<float>()[i] - b.data<float>()[i];
    }
    double e = 0;
    for (double s : sum) e += std::fabs(s);
    return e;
  };
  EXPECT_LE(logit_bias(bc.graph), logit_bias(plain.graph) * 1.05);
}

TEST(Quantize, BadInputsAreUserErrors) {
  const ir::Graph g = zoo::build("lenet5", 1);
  EXPECT_THROW(quantize(g, parse_quant_spec("int8"), {}), UserError);  // no calibration
  ir::Graph old = g;
  old.opsets[""] = 11;
  EXPECT_THROW(quantize(old, parse_quant_spec("int8"), random_batches({1, 1, 28, 28}, 1, 1)), UserError);
  // Batches that do not fit the model.
  EXPECT_THROW(quantize(g, parse_quant_spec("int8"), random_batches({1, 3, 28, 28}, 1, 1)), UserError);
}

}  // namespace
}  // namespace frugal::compress
