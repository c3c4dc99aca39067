// Mixed precision search (compress/mixed_precision.h) with synthetic score/latency callbacks
// whose optimum is known by brute force, and on a real small model through
// SessionOptions::node_backends.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/compress/mixed_precision.h"
#include "frugal/ops/cost.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/zoo/zoo.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;
using compress::LayerPrecision;
using compress::PrecisionMap;

namespace {

// Additive model: each layer's drop and latency depend on its precision only.
struct Additive {
  std::vector<std::string> layers{"l1", "l2", "l3", "l4", "l5"};
  std::map<std::string, double> drop8{{"l1", 0.05}, {"l2", 0.1}, {"l3", 0.4}, {"l4", 0.02}, {"l5", 1.0}};
  std::map<std::string, double> drop16{{"l1", 0.01}, {"l2", 0.01}, {"l3", 0.02}, {"l4", 0.01}, {"l5", 0.05}};
  double score(const PrecisionMap& a) const {
    double s = 90;
    for (const auto& [l, p] : a) s -= p == LayerPrecision::kInt8 ? drop8.at(l) : p == LayerPrecision::kBf16 ? drop16.at(l) : 0;
    return s;
  }
  double latency(const PrecisionMap& a) const {
    double t = 0;
    for (const auto& l : layers) {
      auto it = a.find(l);
      const LayerPrecision p = it == a.end() ? LayerPrecision::kFp32 : it->second;
      t += p == LayerPrecision::kInt8 ? 4 : p == LayerPrecision::kBf16 ? 7 : 10;
    }
    return t;
  }
  // The lowest latency within max_drop over all 3^5 assignments.
  double optimum(double max_drop) const {
    double best = 1e9;
    for (int code = 0; code < 243; ++code) {
      PrecisionMap a;
      int c = code;
      for (const auto& l : layers) {
        a[l] = static_cast<LayerPrecision>(c % 3);
        c /= 3;
      }
      if (90 - score(a) <= max_drop + 1e-12) best = std::min(best, latency(a));
    }
    return best;
  }
};

}  // namespace

TEST(MixedPrecision, FindsTheKnownOptimumAndKeepsTheFront) {
  const Additive m;
  for (double max_drop : {0.0, 0.05, 0.25, 0.5, 2.0}) {
    int calls = 0;
    compress::MixedPrecisionOptions o;
    o.max_drop = max_drop;
    const auto r = compress::search_mixed_precision(
        m.layers, [&](const PrecisionMap& a) { ++calls; return m.score(a); },
        [&](const PrecisionMap& a) { return m.latency(a); }, o);
    EXPECT_TRUE(r.met);
    EXPECT_LE(r.baseline.score - r.best.score, max_drop + 1e-12);
    EXPECT_DOUBLE_EQ(r.best.latency, m.optimum(max_drop)) << "max_drop " << max_drop;
    // 1 baseline + 10 sensitivity runs + at most 10 search steps, all recorded.
    EXPECT_EQ(static_cast<size_t>(calls), r.evaluated.size());
    EXPECT_LE(calls, 21);
    ASSERT_EQ(r.sensitivity.size(), 10u);
    EXPECT_NEAR(r.sensitivity[4].drop, 0.4, 1e-12);  // l3 int8
    EXPECT_NEAR(r.sensitivity[4].gain, 6, 1e-12);
    // The front: faster is less accurate along it, and nothing evaluated dominates a member.
    ASSERT_FALSE(r.front.empty());
    for (size_t i = 1; i < r.front.size(); ++i) {
      EXPECT_GT(r.front[i].latency, r.front[i - 1].latency);
      EXPECT_GT(r.front[i].score, r.front[i - 1].score);
    }
    for (const auto& f : r.front)
      for (const auto& e : r.evaluated)
        EXPECT_FALSE(e.latency < f.latency && e.score > f.score);
    // More than the answer is kept: the all-fp32 baseline is on the front too.
    EXPECT_GE(r.front.size(), 2u);
  }
}

TEST(MixedPrecision, BadOptionsAreUserErrors) {
  const auto s = [](const PrecisionMap&) { return 1.0; };
  EXPECT_THROW(compress::search_mixed_precision({}, s, s), UserError);
  EXPECT_THROW(compress::search_mixed_precision({"a", "a"}, s, s), UserError);
  compress::MixedPrecisionOptions o;
  o.max_drop = -1;
  EXPECT_THROW(compress::search_mixed_precision({"a"}, s, s, o), UserError);
  o.max_drop = NAN;
  EXPECT_THROW(compress::search_mixed_precision({"a"}, s, s, o), UserError);
}

// lenet5: the per-node backends reach the plan; the search runs on real sessions with a
// score from the logits (100 - 100 x relative error against fp32) and a latency that
// weighs each node's MACs by its precision (deterministic, unlike a clock).
TEST(MixedPrecision, RealModelThroughNodeBackends) {
  const ir::Graph g = zoo::build("lenet5", 3);
  runtime::SessionOptions base;
  base.backends = {"cpu", "ref"};
  runtime::Session fp32(g, base);
  const Shape shape = fp32.inputs()[0].shape;
  std::vector<std::vector<Tensor>> calib{{random_tensor(shape, 1)}, {random_tensor(shape, 2)}};
  base.backend_config.ranges = runtime::calibrate_minmax(g, calib, base);
  const Tensor x = random_tensor(shape, 3);
  const Tensor want = fp32.run({x})[0];

  std::vector<std::string> layers;
  for (const auto& a : fp32.assignments())
    if (a.op_type == "Conv" || a.op_type == "Gemm") layers.push_back(a.node_name);
  ASSERT_GE(layers.size(), 3u);

  // The plan follows the map.
  const PrecisionMap mixed{{layers[0], LayerPrecision::kInt8}, {layers[1], LayerPrecision::kBf16}};
  runtime::Session s(g, compress::session_options(base, mixed));
  for (const auto& a : s.assignments()) {
    if (a.node_name == layers[0]) EXPECT_EQ(a.backend, "cpu:int8");
    else if (a.node_name == layers[1]) EXPECT_EQ(a.backend, "cpu:bf16");
    else EXPECT_EQ(a.backend, "cpu");
  }
  runtime::SessionOptions bad = base;
  bad.node_backends["no_such_node"] = {"cpu"};
  EXPECT_THROW(runtime::Session(g, bad), UserError);

  auto score = [&](const PrecisionMap& a) {
    runtime::Session q(g, compress::session_options(base, a));
    return 100.0 - 100.0 * relative_error(q.run({x})[0], want);
  };
  auto latency = [&](const PrecisionMap& a) {
    runtime::Session q(g, compress::session_options(base, a));
    const ops::GraphCost cost = ops::analyze_cost(q.graph(), q.info());
    double t = 0;
    for (const auto& as : q.assignments())
      t += static_cast<double>(cost.nodes[as.node_index].macs) *
           (as.backend == "cpu:int8" ? 0.25 : as.backend == "cpu:bf16" ? 0.5 : 1.0);
    return t;
  };
  compress::MixedPrecisionOptions o;
  o.max_drop = 2.0;  // points of 100 x relative logit error
  const auto r = compress::search_mixed_precision(layers, score, latency, o);
  EXPECT_TRUE(r.met);
  EXPECT_LE(r.baseline.score - r.best.score, 2.0);
  EXPECT_LT(r.best.latency, r.baseline.latency);
  EXPECT_FALSE(r.best.assignment.empty());
}
