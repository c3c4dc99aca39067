// Load scenarios driven by a fake clock that the fake inference advances by known
// delays, so counts, percentiles and queueing are exact; then the same runner around a
// real Session on a tiny graph (profile rows, MACs, memory).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/measure/bench.h"
#include "frugal/measure/model_meter.h"
#include "frugal/measure/session_bench.h"

using namespace frugal;
using namespace frugal::measure;

namespace {

class FakeClock final : public BenchClock {
 public:
  double now_s() override { return t; }
  double t = 100.0;
};

// An inference that takes delays[0] first, then cycles through delays[1..].
BenchTarget fake_target(FakeClock& clock, std::vector<double> delays, int64_t batch = 1,
                        int64_t* calls = nullptr) {
  auto i = std::make_shared<size_t>(0);
  return BenchTarget{[&clock, delays, i, calls] {
                       const size_t k = *i == 0 ? 0 : 1 + (*i - 1) % (delays.size() - 1);
                       clock.t += delays[k];
                       ++*i;
                       if (calls) ++*calls;
                     },
                     batch};
}

BenchOptions quick(Scenario s) {
  BenchOptions o;
  o.scenario = s;
  o.min_duration_s = 1e-6;
  o.min_queries = 1;
  o.warmup_s = 0;
  return o;
}

#define EXPECT_USER_ERROR(stmt, text)                                                          \
  try {                                                                                        \
    stmt;                                                                                      \
    ADD_FAILURE() << "no UserError from " #stmt;                                               \
  } catch (const frugal::UserError& e) {                                                       \
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << "message: " << e.what(); \
  }

}  // namespace

TEST(Bench, SingleStreamPercentilesOfKnownDelays) {
  FakeClock clock;
  // First inference 50 ms, then 1, 2, ..., 10 ms over and over.
  std::vector<double> d{0.050};
  for (int k = 1; k <= 10; ++k) d.push_back(k * 1e-3);
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_queries = 100;
  BenchResult r = run_bench(fake_target(clock, d), o, clock);
  EXPECT_NEAR(r.first_inference_s, 0.050, 1e-9);
  EXPECT_EQ(r.latency.count, 100);
  EXPECT_EQ(r.queries, 100);
  EXPECT_EQ(r.samples, 100);
  EXPECT_NEAR(r.latency.min, 1e-3, 1e-12);
  EXPECT_NEAR(r.latency.max, 10e-3, 1e-12);
  EXPECT_NEAR(r.latency.mean, 5.5e-3, 1e-12);
  // Ten copies of each of 1..10 ms sorted: p50 between v[49] = 5 and v[50] = 6; p90 at rank
  // 89.1 between v[89] = 9 and v[90] = 10.
  EXPECT_NEAR(r.latency.p50, 5.5e-3, 1e-12);
  EXPECT_NEAR(r.latency.p90, 9.1e-3, 1e-12);
  EXPECT_NEAR(r.duration_s, 0.550, 1e-9);
  EXPECT_NEAR(r.samples_per_s, 100 / 0.550, 1e-6);
  // 100 queries >= 64: the p90 estimate is valid and lies among the observed latencies.
  EXPECT_TRUE(r.early_stopping.valid);
  EXPECT_DOUBLE_EQ(r.early_stopping.percentile, 0.90);
  EXPECT_GE(r.early_stopping.estimate, r.latency.p90 - 1e-12);
  EXPECT_FALSE(r.capped);
}

TEST(Bench, FewQueriesLeaveEarlyStoppingInvalid) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_queries = 20;
  BenchResult r = run_bench(fake_target(clock, {1e-3, 1e-3}), o, clock);
  EXPECT_EQ(r.queries, 20);
  EXPECT_FALSE(r.early_stopping.valid);
  EXPECT_EQ(r.early_stopping.min_queries, 64);
}

TEST(Bench, DurationAndWarmupAreSeparate) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_duration_s = 0.099;  // 2 ms queries: the 50th ends at 100 ms
  o.warmup_s = 0.009;        // the 5th warm-up run ends at 10 ms
  int64_t calls = 0;
  BenchResult r = run_bench(fake_target(clock, {0.010, 0.002}, 1, &calls), o, clock);
  EXPECT_EQ(r.warmup_runs, 5);
  EXPECT_NEAR(r.warmup_total_s, 0.010, 1e-9);
  EXPECT_EQ(r.queries, 50);
  EXPECT_EQ(calls, 1 + 5 + 50);
  EXPECT_NEAR(r.latency.p50, 0.002, 1e-12);
}

TEST(Bench, MaxDurationCapsARunAndSaysSo) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_queries = 1000;
  o.max_duration_s = 0.0495;
  BenchResult r = run_bench(fake_target(clock, {0.01, 0.01}), o, clock);
  EXPECT_TRUE(r.capped);
  EXPECT_EQ(r.queries, 5);
}

TEST(Bench, MultiStreamQueriesOfEightSamples) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kMultiStream);
  o.min_queries = 10;
  int64_t calls = 0;
  // Batch 3: a query of 8 samples takes 3 inferences of 1 ms.
  BenchResult r = run_bench(fake_target(clock, {1e-3, 1e-3}, 3, &calls), o, clock);
  EXPECT_EQ(r.queries, 10);
  EXPECT_EQ(r.inferences, 30);
  EXPECT_EQ(calls, 31);
  EXPECT_EQ(r.samples, 80);
  EXPECT_EQ(r.samples_per_query, 8);
  EXPECT_NEAR(r.latency.p99, 3e-3, 1e-12);
  EXPECT_DOUBLE_EQ(r.early_stopping.percentile, 0.99);
}

TEST(Bench, OfflineThroughputAtBatch) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kOffline);
  o.min_queries = 10;
  BenchResult r = run_bench(fake_target(clock, {0.01, 0.01}, 4), o, clock);
  EXPECT_EQ(r.samples, 40);
  EXPECT_NEAR(r.samples_per_s, 400, 1e-6);
  EXPECT_NEAR(r.queries_per_s, 100, 1e-6);
}

TEST(Bench, ServerQueueingMatchesPollaczekKhinchine) {
  // M/D/1 at utilisation 0.9: service 1 ms, arrivals 900/s. Mean wait is
  // rho / (2 mu (1 - rho)) = 0.9 / (2 * 1000 * 0.1) = 4.5 ms, so mean latency 5.5 ms.
  FakeClock clock;
  BenchOptions o = quick(Scenario::kServer);
  o.target_qps = 900;
  o.min_duration_s = 60;  // simulated seconds; the fake clock makes this instant
  BenchResult r = run_bench(fake_target(clock, {1e-3, 1e-3}), o, clock);
  ASSERT_TRUE(r.server);
  const ServerRun& s = *r.server;
  EXPECT_FALSE(s.cut_off);
  EXPECT_TRUE(s.sustainable);
  EXPECT_NEAR(s.latency.mean, 5.5e-3, 0.08 * 5.5e-3) << "M/D/1 mean latency";
  EXPECT_NEAR(s.achieved_qps, 900, 900 * 0.05);
  EXPECT_NEAR(s.utilisation, 0.9, 0.05);
  EXPECT_GE(s.latency.min, 1e-3 - 1e-12);  // never faster than the service time
}

TEST(Bench, ServerAtLowLoadSeesTheServiceTime) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kServer);
  o.target_qps = 5;
  o.min_duration_s = 20;
  o.latency_bound_s = 0.005;
  BenchResult r = run_bench(fake_target(clock, {1e-3, 1e-3}), o, clock);
  ASSERT_TRUE(r.server);
  EXPECT_NEAR(r.server->latency.p50, 1e-3, 1e-9);  // a queue at 0.5% load is rare
  EXPECT_TRUE(r.server->bound_met);
  EXPECT_TRUE(r.server->sustainable);
  EXPECT_NE(r.server->verdict.find("meets bound"), std::string::npos) << r.server->verdict;
}

TEST(Bench, ServerOverloadEndsAndSaysUnsustainable) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kServer);
  o.target_qps = 1000;  // 10 ms service: capacity 100 QPS
  o.min_duration_s = 0.2;
  o.min_queries = 100000;
  const double t0 = clock.t;
  BenchResult r = run_bench(fake_target(clock, {0.01, 0.01}), o, clock);
  ASSERT_TRUE(r.server);
  EXPECT_TRUE(r.server->cut_off);
  EXPECT_FALSE(r.server->sustainable);
  EXPECT_NE(r.server->verdict.find("unsustainable"), std::string::npos) << r.server->verdict;
  // Cut at 1.5 x 0.2 s of (fake) wall time, plus the first inference and one query.
  EXPECT_LE(clock.t - t0, 0.3 + 0.02 + 1e-9);
  EXPECT_NEAR(static_cast<double>(r.server->queries), 30, 1);
}

TEST(Bench, FindQpsBisectsBelowCapacity) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kServer);
  o.find_qps = true;
  o.latency_bound_s = 0.010;
  o.min_duration_s = 10;
  o.warmup_s = 0.005;  // 1 ms service: capacity 1000 QPS
  BenchResult r = run_bench(fake_target(clock, {1e-3, 1e-3}), o, clock);
  ASSERT_EQ(r.search.size(), 7u);
  ASSERT_TRUE(r.server);
  EXPECT_TRUE(r.server->bound_met && r.server->sustainable);
  // M/D/1 with 1 ms service meets a 10 ms p99 at half load; never at or past capacity.
  EXPECT_GT(r.server->target_qps, 500);
  EXPECT_LT(r.server->target_qps, 1000);
  for (const auto& t : r.search)
    if (t.target_qps > r.server->target_qps) {
      EXPECT_FALSE(t.bound_met && t.sustainable) << t.target_qps;
    }
}

TEST(Bench, ProgressIsReportedWithTheRunningMedian) {
  FakeClock clock;
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_queries = 50;
  o.progress_period_s = 0.01;
  std::vector<BenchProgress> seen;
  o.progress = [&](const BenchProgress& p) { seen.push_back(p); };
  run_bench(fake_target(clock, {1e-3, 1e-3}), o, clock);
  ASSERT_FALSE(seen.empty());
  EXPECT_NEAR(seen.back().p50_s, 1e-3, 1e-12);
  EXPECT_GT(seen.back().queries, seen.front().queries);
}

TEST(Bench, BadOptionsNameTheFlag) {
  FakeClock clock;
  auto target = fake_target(clock, {1e-3, 1e-3});
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_duration_s = 0;
  EXPECT_USER_ERROR(run_bench(target, o, clock), "--duration");
  o.min_duration_s = -1;
  EXPECT_USER_ERROR(run_bench(target, o, clock), "--duration");
  o.min_duration_s = NAN;
  EXPECT_USER_ERROR(run_bench(target, o, clock), "--duration");
  o = quick(Scenario::kSingleStream);
  o.min_queries = 0;
  EXPECT_USER_ERROR(run_bench(target, o, clock), "--min-queries");
  o = quick(Scenario::kServer);
  EXPECT_USER_ERROR(run_bench(target, o, clock), "--qps");
  o.find_qps = true;
  EXPECT_USER_ERROR(run_bench(target, o, clock), "--latency-bound");
  o = quick(Scenario::kOffline);
  o.target_qps = 10;
  EXPECT_USER_ERROR(run_bench(target, o, clock), "only for --scenario server");
  EXPECT_USER_ERROR(parse_scenario("burst"), "--scenario burst");
  EXPECT_EQ(parse_scenario("multi-stream"), Scenario::kMultiStream);
}

TEST(Bench, IdleAndActiveEnergyFromAMeter) {
  FakeClock clock;
  ModelMeter meter;
  BenchOptions o = quick(Scenario::kSingleStream);
  o.min_queries = 10;
  o.meter = &meter;
  o.idle_s = 0.01;
  o.work_per_inference.macs_by_format["fp32"] = 1e6;
  BenchResult r = run_bench(fake_target(clock, {1e-3, 1e-3}), o, clock);
  ASSERT_TRUE(r.energy && r.idle && r.split);
  EXPECT_EQ(r.energy->kind, EnergyKind::kEstimated);
  // 10 inferences of 1e6 fp32 MACs, priced per MAC by the meter's own table.
  const double pj = horowitz_45nm_coefficients().pj_per_mac.at("fp32");
  EXPECT_NEAR(r.energy->joules, 10 * 1e6 * pj * 1e-12, 1e-15);
  EXPECT_NEAR(r.split->idle_j, 0, 1e-15);  // the model has no static power
}

// --- a real Session on a tiny graph ---

namespace {

ir::ValueInfo value(const std::string& name, Shape shape) {
  ir::ValueInfo v;
  v.name = name;
  v.dtype = DType::kF32;
  std::vector<ir::Dim> dims;
  for (int64_t d : shape) dims.push_back(ir::Dim{d, ""});
  v.shape = dims;
  return v;
}

// y = Relu(x W), x [2, 3], W [3, 4]: 24 MACs.
ir::Graph gemm_relu() {
  ir::Graph g;
  g.opsets[""] = 13;
  g.inputs.push_back(value("x", {2, 3}));
  g.outputs.push_back(value("y", {2, 4}));
  g.initializers["w"] = Tensor::from_vector<float>({3, 4}, std::vector<float>(12, 0.5f));
  g.nodes.push_back(
      ir::Node{.name = "fc", .op_type = "Gemm", .inputs = {"x", "w"}, .outputs = {"h"}});
  g.nodes.push_back(ir::Node{.name = "act", .op_type = "Relu", .inputs = {"h"}, .outputs = {"y"}});
  g.validate_and_sort();
  return g;
}

}  // namespace

TEST(SessionBench, ProfileCountsEveryTimedInference) {
  runtime::SessionOptions so;
  so.optimize = false;  // keep Gemm and Relu as two steps
  runtime::Session s(gemm_relu(), so);
  ASSERT_EQ(s.assignments().size(), 2u);
  BenchOptions o;
  o.min_duration_s = 0.02;
  o.min_queries = 20;
  o.warmup_s = 0;
  SessionBenchResult r = bench_session(s, {Tensor(DType::kF32, {2, 3})}, o, true);
  EXPECT_GE(r.bench.queries, 20);
  EXPECT_EQ(r.bench.batch, 2);
  ASSERT_EQ(r.profile.size(), 2u);
  double pct = 0;
  for (const auto& p : r.profile) {
    EXPECT_EQ(p.calls, r.bench.inferences) << p.node;  // warm-up and first run excluded
    EXPECT_EQ(p.kernel.rfind("ref:", 0), 0u) << p.kernel;
    pct += p.percent;
    if (p.node == "fc") {
      EXPECT_EQ(p.macs, 24);
      EXPECT_EQ(p.op_type, "Gemm");
    }
  }
  EXPECT_NEAR(pct, 100, 1e-9);
  EXPECT_GE(r.profile[0].time_s, r.profile[1].time_s);
  EXPECT_EQ(r.work_per_inference.macs_by_format.at("fp32"), 24);
  // 12 weights of 4 bytes; Relu's input h lives in the arena.
  EXPECT_EQ(r.memory.weight_bytes, 48u);
  EXPECT_GE(r.memory.arena_bytes, 32u);
  EXPECT_TRUE(r.memory.peak_rss.has_value());
}
