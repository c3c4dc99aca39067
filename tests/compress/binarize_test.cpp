// Binary and ternary weights: XNOR-Net's sign and mean |W| scale, TWN's 0.7 mean |W|
// threshold; the binarized graph (signs, then Mul by the scale and Add of the bias) computes
// what the original graph with the weights alpha * S computes; first and last layer stay
// float by default; the signs encode in 1 bit (binary).
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "compress/small_graph.h"
#include "frugal/compress/binarize.h"
#include "frugal/compress/pipeline.h"
#include "frugal/compress/prune.h"
#include "frugal/compress/weight_encoding.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;
using frugal::compress::testing::random_tensor;
using frugal::compress::testing::run_ref;
using frugal::compress::testing::small_graph;

namespace {

// `g` with each weight replaced by alpha_r * S_r, computed row by row here.
ir::Graph with_scaled_signs(const ir::Graph& g, bool ternary) {
  ir::Graph e = g;
  for (const PrunableLayer& l : prunable_layers(g)) {
    Tensor w = g.initializers.at(l.weight).clone();
    std::vector<float> row(static_cast<size_t>(l.cols));
    for (int64_t r = 0; r < l.rows; ++r) {
      for (int64_t c = 0; c < l.cols; ++c)
        row[static_cast<size_t>(c)] = w.data<float>()[l.offset(r, c)];
      const BinaryRow b = binarize_row(row.data(), l.cols, ternary);
      for (int64_t c = 0; c < l.cols; ++c)
        w.data<float>()[l.offset(r, c)] = b.alpha * b.signs[static_cast<size_t>(c)];
    }
    e.initializers[l.weight] = w;
  }
  return e;
}

}  // namespace

TEST(Binarize, RowsFollowXnorNetAndTwn) {
  const std::vector<float> w{0.1f, -0.5f, 1.0f, -0.05f};  // mean |w| 0.4125
  const BinaryRow b = binarize_row(w.data(), 4, false);
  EXPECT_EQ(b.signs, (std::vector<float>{1, -1, 1, -1}));
  EXPECT_FLOAT_EQ(b.alpha, 0.4125f);
  const BinaryRow t = binarize_row(w.data(), 4, true);  // delta 0.28875
  EXPECT_EQ(t.signs, (std::vector<float>{0, -1, 1, 0}));
  EXPECT_FLOAT_EQ(t.alpha, 0.75f);
  const std::vector<float> zero(5, 0.0f);
  EXPECT_EQ(binarize_row(zero.data(), 5, true).alpha, 0.0f);
  EXPECT_EQ(parse_binarize_spec("ternary:all").str(), "ternary:all");
  EXPECT_EQ(parse_binarize_spec("binary:acts:packed:all").str(), "binary:all:acts:packed");
  for (const char* bad : {"", "int1", "binary:first", "ternary:all:all", "binary:packed"})
    EXPECT_THROW(parse_binarize_spec(bad), UserError) << bad;
}

TEST(Binarize, GraphComputesTheScaledSigns) {
  const ir::Graph g = small_graph();
  const Tensor x = random_tensor({2, 3, 8, 8}, 42);
  for (bool ternary : {false, true}) {
    BinarizeSpec spec;
    spec.ternary = ternary;
    spec.all = true;
    const BinarizeResult r = binarize(g, spec);
    ASSERT_EQ(r.layers.size(), 3u);
    const Tensor want = run_ref(with_scaled_signs(g, ternary), x), got = run_ref(r.graph, x);
    ASSERT_EQ(want.shape(), got.shape());
    for (int64_t i = 0; i < want.numel(); ++i)
      EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i],
                  1e-4 * (1 + std::abs(want.data<float>()[i])))
          << (ternary ? "ternary " : "binary ") << i;
    // The stored weights are signs only; binary ones encode in one bit each.
    for (const PrunableLayer& l : prunable_layers(r.graph)) {
      const Tensor& s = r.graph.initializers.at(l.weight);
      std::set<float> values(s.span<float>().begin(), s.span<float>().end());
      EXPECT_TRUE(values.size() <= 3 && values.count(1.0f)) << l.name;
      if (!ternary) {
        EXPECT_EQ(plan_encoding(s).value_bits, 1) << l.name;
      }
    }
    if (ternary) {
      EXPECT_GT(r.layers[0].zeros + r.layers[1].zeros, 0);
    }
  }
}

TEST(Binarize, FirstAndLastStayFloatByDefault) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const BinarizeResult r = binarize(g, parse_binarize_spec("binary"));
  std::vector<std::string> names;
  for (const auto& l : r.layers) names.push_back(l.name);
  EXPECT_EQ(names, (std::vector<std::string>{"conv2", "fc1", "fc2"}));
  EXPECT_TRUE(r.graph.initializers.at("conv1.weight").equals(g.initializers.at("conv1.weight")));
  EXPECT_EQ(run_ref(r.graph, random_tensor({1, 1, 28, 28}, 3)).numel(), 10);
  PipelineSpec both;
  both.binarize = "binary";
  both.quant = "int8";
  EXPECT_THROW(make_pipeline(both), UserError);
  PipelineSpec spec;
  spec.binarize = "ternary";
  spec.prune = "0.5";
  const Pipeline p = make_pipeline(spec);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[1]->name(), "binarize:ternary");
  const PipelineState s = run_pipeline(g, p, PipelineContext{});
  EXPECT_TRUE(to_json(s, PipelineContext{}).contains("binarize"));
}

namespace {

// Runs `g` on `backends`; the output and how many frugal.Binary* nodes the first backend ran.
std::pair<Tensor, int> run_on(const ir::Graph& g, const Tensor& x,
                              std::vector<std::string> backends) {
  runtime::SessionOptions opt;
  opt.backends = backends;
  runtime::Session s(g, opt);
  const Tensor y = s.run({x}).at(0);
  int on_first = 0;
  for (const auto& a : s.assignments())
    on_first += a.op_type.rfind("Binary", 0) == 0 && a.backend == backends[0];
  return {y, on_first};
}

double max_relative_difference(const Tensor& a, const Tensor& b) {
  double worst = 0, scale = 0;
  for (int64_t i = 0; i < a.numel(); ++i) {
    worst = std::max(worst, double(std::abs(a.data<float>()[i] - b.data<float>()[i])));
    scale = std::max(scale, double(std::abs(b.data<float>()[i])));
  }
  return worst / scale;
}

}  // namespace

// :acts reads beta * sign(x); :packed computes the same with frugal.Binary* nodes (up to
// rounding: beta is applied after the dot product there), on ref and on the popcount
// kernels, and survives an ONNX round trip.
TEST(Binarize, PackedLayersComputeTheBinaryActivationGraph) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const Tensor x = random_tensor({1, 1, 28, 28}, 9);
  for (const std::string spec : {"binary:all:acts", "ternary:acts"}) {
    const BinarizeResult plain = binarize(g, parse_binarize_spec(spec));
    const BinarizeResult packed = binarize(g, parse_binarize_spec(spec + ":packed"));
    int frugal_nodes = 0;
    for (const ir::Node& n : packed.graph.nodes) frugal_nodes += n.domain == "frugal";
    EXPECT_EQ(frugal_nodes, spec.find(":all") != std::string::npos ? 5 : 3) << spec;
    for (const auto& l : packed.layers) EXPECT_TRUE(l.packed && l.acts) << spec << " " << l.name;
    const Tensor want = run_ref(plain.graph, x);
    const Tensor got = run_ref(packed.graph, x);
    EXPECT_LT(max_relative_difference(got, want), 1e-4) << spec;
    const BinarizeResult float_acts =
        binarize(g, parse_binarize_spec(spec.substr(0, spec.find(":acts"))));
    EXPECT_GT(max_relative_difference(got, run_ref(float_acts.graph, x)), 1e-3)
        << spec << ": binary activations changed nothing";
    const auto [on_cpu, cpu_nodes] = run_on(packed.graph, x, {"cpu", "ref"});
    EXPECT_EQ(cpu_nodes, frugal_nodes) << spec;
    EXPECT_LT(max_relative_difference(on_cpu, got), 1e-4) << spec;
    const std::string path = ::testing::TempDir() + "/packed_binary.onnx";
    ir::save_onnx(packed.graph, path);
    const Tensor reloaded = run_ref(ir::load_onnx(path), x);
    EXPECT_EQ(max_relative_difference(reloaded, got), 0.0) << spec;
  }
}
