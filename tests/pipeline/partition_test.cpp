// Segmentation (pipeline/partition.h, segments.h): the optimal DP against brute force,
// segments that chain bit for bit, and the refusals.
#include "frugal/pipeline/partition.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/measure/random_input.h"
#include "frugal/pipeline/segments.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::pipeline;
namespace fs = std::filesystem;

namespace {

ir::ValueInfo row(const std::string& name, int64_t width) {
  return ir::ValueInfo{name, DType::kF32, std::vector<ir::Dim>{{1, ""}, {width, ""}}};
}

// A random DAG of Gemm, Relu and Add nodes over [1, W] values (W in 4, 8, 16): branches
// and joins, so that several values are live across most cuts.
ir::Graph random_graph(uint64_t seed, size_t nodes) {
  Philox rng(seed);
  uint64_t draw = 0;
  auto pick = [&](size_t n) { return static_cast<size_t>(rng.u32(draw++) % n); };
  ir::Graph g;
  g.name = "random" + std::to_string(seed);
  g.opsets[""] = 17;
  g.inputs = {row("x", 8)};
  std::vector<std::pair<std::string, int64_t>> values{{"x", 8}};
  for (size_t i = 0; i < nodes; ++i) {
    ir::Node n;
    n.name = "n" + std::to_string(i);
    n.outputs = {"v" + std::to_string(i)};
    const auto [a, wa] = values[values.size() - 1 - pick(std::min<size_t>(values.size(), 4))];
    const size_t kind = pick(3);
    int64_t w = wa;
    if (kind == 0) {
      n.op_type = "Gemm";
      w = int64_t{4} << pick(3);
      Tensor wt(DType::kF32, {wa, w});
      for (int64_t k = 0; k < wt.numel(); ++k) wt.data<float>()[k] = rng.normal(1000 * i + k);
      g.initializers["w" + std::to_string(i)] = wt;
      n.inputs = {a, "w" + std::to_string(i)};
    } else {
      std::string b;
      for (const auto& [name, width] : values)
        if (width == wa && name != a && pick(2) == 0) b = name;
      n.op_type = kind == 1 || b.empty() ? "Relu" : "Add";
      n.inputs = n.op_type == "Relu" ? std::vector<std::string>{a} : std::vector<std::string>{a, b};
    }
    values.push_back({n.outputs[0], w});
    g.nodes.push_back(n);
  }
  g.outputs = {row(values.back().first, values.back().second)};
  if (pick(2) == 0 && nodes > 3)
    g.outputs.push_back(row(values[nodes / 2].first, values[nodes / 2].second));
  g.validate_and_sort();
  return g;
}

// K modeled devices with random speeds, links, caches and memory limits (some too small).
DeviceSet random_devices(uint64_t seed, size_t k) {
  Philox rng(seed, 7);
  DeviceSet s;
  s.source = "random";
  for (size_t i = 0; i < k; ++i) {
    pipeline::Device d;
    d.name = "d" + std::to_string(i);
    d.kind = pipeline::DeviceKind::kModel;
    d.origin = "random:" + std::to_string(i);
    d.model.peak_macs_per_s["fp32"] = 1e3 * (1 + 9 * rng.uniform(10 * i));
    d.model.link_bytes_per_s = 1e3 * (1 + 9 * rng.uniform(10 * i + 1));
    d.model.stream_bytes_per_s = 1e3 * (1 + 9 * rng.uniform(10 * i + 2));
    d.model.param_memory_bytes = static_cast<int64_t>(2000 * rng.uniform(10 * i + 3));
    d.model.layer_overhead_s = 0.01 * rng.uniform(10 * i + 4);
    d.model.active_w = 1 + rng.uniform(10 * i + 5);
    d.memory_bytes =
        rng.uniform(10 * i + 6) < 0.3 ? static_cast<int64_t>(3000 * rng.uniform(10 * i + 7)) : 0;
    s.devices.push_back(d);
  }
  return s;
}

// Every way to cut n nodes into k non-empty segments.
void all_bounds(size_t n, size_t k, std::vector<size_t>& cur,
                std::vector<std::vector<size_t>>& out) {
  if (cur.size() == k) {
    cur.push_back(n);
    out.push_back(cur);
    cur.pop_back();
    return;
  }
  for (size_t c = cur.back() + 1; c + (k - cur.size()) <= n; ++c) {
    cur.push_back(c);
    all_bounds(n, k, cur, out);
    cur.pop_back();
  }
}

}  // namespace

TEST(Partition, OptimalMatchesBruteForce) {
  int compared = 0, infeasible = 0;
  for (uint64_t seed = 1; seed <= 60; ++seed) {
    const size_t n = 2 + seed % 11;  // 2..12 nodes
    const ir::Graph g = random_graph(seed, n);
    for (size_t k = 1; k <= std::min<size_t>(4, n); ++k)
      for (Objective obj : {Objective::kThroughput, Objective::kLatency, Objective::kEnergy}) {
        const DeviceSet devices = random_devices(seed * 10 + k, k);
        PartitionOptions o;
        o.stages = static_cast<int>(k);
        const Chain chain = make_chain(g, o);
        const CostModel m = cost_model(chain, devices, o);
        const std::vector<size_t> dp = optimal_bounds(m, obj);
        std::vector<std::vector<size_t>> every;
        std::vector<size_t> start{0};
        all_bounds(chain.size(), k, start, every);
        Score best;
        best.feasible = false;
        for (const auto& b : every) best = std::min(best, score(m, b, obj));
        ASSERT_EQ(dp.empty(), !best.feasible) << "seed " << seed << " k " << k;
        ++compared;
        if (dp.empty()) {
          ++infeasible;
          continue;
        }
        const Score got = score(m, dp, obj);
        EXPECT_NEAR(got.primary, best.primary, 1e-9 * std::abs(best.primary))
            << "seed " << seed << " nodes " << n << " k " << k << " objective "
            << objective_name(obj);
      }
  }
  EXPECT_GT(compared, 300);
  EXPECT_GT(infeasible, 0);  // memory limits bit somewhere
  EXPECT_LT(infeasible, compared / 2);
}

TEST(Partition, ParamsSplitsByParameterCount) {
  PartitionOptions o;
  const Chain chain = make_chain(zoo::build("resnet18", 0), o);
  const std::vector<size_t> b = params_bounds(chain, 4);
  ASSERT_EQ(b.size(), 5u);
  int64_t total = chain.stats(0, chain.size()).params;
  for (size_t k = 0; k + 1 < b.size(); ++k) {
    EXPECT_LT(b[k], b[k + 1]);
    // The running count crosses k/K of the total at each cut, not before.
    if (k > 0) {
      EXPECT_GE(chain.stats(0, b[k]).params * 4, total * static_cast<int64_t>(k)) << k;
    }
  }
}

TEST(Partition, ProfileNeverWorseThanEqualNodeCounts) {
  const DeviceSet devices = load_devices("edgetpu-x8");
  PartitionOptions o;
  o.precision = "int8";
  o.stages = 4;
  const ir::Graph g = zoo::build("resnet18", 0);
  const Chain chain = make_chain(g, o);
  const CostModel m = cost_model(chain, devices, o);
  const auto b =
      profile_bounds(m, [&](size_t i, size_t j, size_t k) { return m.cost(i, j, k).time_s; });
  std::vector<size_t> equal{0};
  for (size_t k = 1; k <= 4; ++k) equal.push_back(chain.size() * k / 4);
  const double opt =
      score(m, optimal_bounds(m, Objective::kThroughput), Objective::kThroughput).primary;
  const double prof = score(m, b, Objective::kThroughput).primary;
  EXPECT_LE(prof, score(m, equal, Objective::kThroughput).primary);
  EXPECT_GE(prof, opt * (1 - 1e-12));
  o.method = Method::kProfile;
  EXPECT_NEAR(partition(g, devices, o).slowest_s, prof, 1e-12);
}

// Chaining the written segments reproduces the whole model's outputs bit for bit (ref
// backend, the same graph passes in both).
TEST(Partition, SegmentsChainBitExact) {
  const fs::path dir = fs::temp_directory_path() / ("frugal-seg-" + std::to_string(::getpid()));
  for (const char* model : {"resnet18", "squeezenet1_1"}) {
    const ir::Graph g = zoo::build(model, 1);
    PartitionOptions o;
    o.stages = 4;
    o.precision = "int8";
    const Partition p = partition(g, load_devices("edgetpu-x8"), o);
    ASSERT_EQ(p.segments.size(), 4u);
    write_segments(p, dir.string());
    const Manifest m = read_manifest(dir.string());
    ASSERT_EQ(m.segments.size(), 4u);
    runtime::SessionOptions so;
    so.backends = {"ref"};
    const Tensor x = measure::random_tensor(DType::kF32, {1, 3, 224, 224}, 3);
    runtime::Session whole(g, so);
    const Tensor want = whole.run({x})[0];
    const Tensor got = run_segments(m, {x}, so)[0];
    EXPECT_TRUE(got.equals(want)) << model;
  }
  fs::remove_all(dir);
}

// The edgetpu-usb preset's constants are calibrated on Coral's published single-TPU
// latencies (int8, batch 1): mobilenet_v2 2.6 ms, resnet50 49 ms; the estimates must stay
// within 25% of them (docs/pipeline.md).
TEST(Partition, EdgeTpuPresetWithin25PercentOfCoral) {
  const DeviceSet usb = load_devices("edgetpu-usb");
  PartitionOptions o;
  o.precision = "int8";
  for (const auto& [model, published_s] :
       {std::pair{"mobilenet_v2", 2.6e-3}, std::pair{"resnet50", 49e-3}}) {
    const Partition p = partition(zoo::build(model, 0), usb, o);
    ASSERT_EQ(p.segments.size(), 1u);
    EXPECT_TRUE(p.estimate);
    EXPECT_NEAR(p.latency_s / published_s, 1.0, 0.25) << model << ": " << p.latency_s;
  }
}

// Neurosurgeon's curve: one point per split, from all remote to all local; partition()
// picks its minimum under the objective.
TEST(Partition, SplitCurveCoversEverySplitAndPartitionTakesItsBest) {
  const DeviceSet pc = load_devices("phone+cloud");
  const ir::Graph g = zoo::build("squeezenet1_1", 0);
  for (Objective obj : {Objective::kLatency, Objective::kEnergy}) {
    PartitionOptions o;
    o.stages = 2;
    o.objective = obj;
    const auto curve = split_curve(g, pc, o);
    const Chain chain = make_chain(g, o);
    ASSERT_EQ(curve.size(), chain.size() + 1);
    EXPECT_EQ(curve.front().bytes_sent, 3 * 224 * 224 * 4);  // the input, fp32
    EXPECT_EQ(curve.back().bytes_sent, 0);
    EXPECT_EQ(curve.back().remote_s, 0);
    double best = 1e30;
    for (const auto& s : curve)
      best = std::min(best, obj == Objective::kEnergy ? s.energy_j : s.latency_s);
    const Partition p = partition(g, pc, o);
    EXPECT_NEAR(obj == Objective::kEnergy ? p.energy_j : p.latency_s, best, 1e-12 * best);
  }
}
