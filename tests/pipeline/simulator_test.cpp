// The pipeline simulator against closed forms: one stage, a bottleneck, blocking after
// service, two segments sharing a device that reloads on every switch, energy.
#include <gtest/gtest.h>

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/pipeline/simulator.h"

namespace frugal::pipeline {
namespace {

SimStage stage(const std::string& name, size_t device, double compute_s) {
  SimStage s;
  s.name = name;
  s.device = device;
  s.compute_s = compute_s;
  return s;
}

TEST(Simulator, OneStageRunsAtItsServiceRateWithQueueingInTheLatency) {
  for (size_t queue = 1; queue <= 4; ++queue) {
    SimOptions opt;
    opt.queue = queue;
    auto r = simulate({{"d0"}}, {stage("s0", 0, 0.01)}, opt);
    EXPECT_NEAR(r.throughput, 100.0, 1e-6);
    // In steady state an item waits behind the full input queue, then is served.
    EXPECT_NEAR(r.latencies_s.back(), (queue + 1) * 0.01, 1e-9) << queue;
    EXPECT_EQ(r.stages[0].items, opt.inferences);
    EXPECT_NEAR(r.stages[0].utilization, 1.0, 1e-9);
  }
}

TEST(Simulator, TheSlowestStageSetsTheThroughputAndBlocksTheOthers) {
  SimStage a = stage("a", 0, 0.002), b = stage("b", 1, 0.005), c = stage("c", 2, 0.001);
  b.transfer_in_s = 0.0005;
  b.transfer_out_s = 0.0005;
  b.stream_s = 0.001;
  SimOptions opt;
  opt.queue = 2;
  auto r = simulate({{"d0"}, {"d1"}, {"d2"}}, {a, b, c}, opt);
  EXPECT_NEAR(r.throughput, 1 / 0.007, 1e-6);
  EXPECT_GT(r.stages[0].wait_output_s, 0.5 * r.span_s);  // a is blocked by b
  EXPECT_GT(r.stages[2].wait_input_s, 0.5 * r.span_s);   // c is starved by b
  EXPECT_NEAR(r.stages[1].transfer_s, opt.inferences * 0.001, 1e-9);
  EXPECT_NEAR(r.stages[1].stream_s, opt.inferences * 0.001, 1e-9);
  // An empty pipe: latency is the sum of the services, plus the queueing in front of b.
  EXPECT_GE(*std::min_element(r.latencies_s.begin(), r.latencies_s.end()), 0.002 + 0.007 + 0.001);
}

TEST(Simulator, SegmentsSharingADeviceReloadOncePerQueueFull) {
  // Each switch costs a load; the loaded segment keeps the device while it has work, so
  // a cycle serves queue + 1 items per segment: throughput (N+1) / ((N+1)(s0+s1) + 2L).
  const double s0 = 0.003, s1 = 0.002, load = 0.010;
  for (size_t queue = 1; queue <= 4; ++queue) {
    SimOptions opt;
    opt.queue = queue;
    opt.inferences = 400;
    opt.warmup = 40;
    SimDevice d{"tpu", load, 1.0, 2.0};
    auto r = simulate({d}, {stage("a", 0, s0), stage("b", 0, s1)}, opt);
    const double n = static_cast<double>(queue + 1);
    EXPECT_NEAR(r.throughput, n / (n * (s0 + s1) + 2 * load), 0.02 * r.throughput) << queue;
    EXPECT_GT(r.stages[0].loads + r.stages[1].loads, 400 / static_cast<int64_t>(queue + 1));
  }
}

TEST(Simulator, OneInFlightGivesTheSumOfTheStagesAsLatency) {
  SimStage a = stage("a", 0, 0.002), b = stage("b", 1, 0.005);
  b.transfer_in_s = 0.001;
  SimOptions opt;
  opt.max_in_flight = 1;
  auto r = simulate({{"d0"}, {"d1"}}, {a, b}, opt);
  for (double l : r.latencies_s) EXPECT_NEAR(l, 0.008, 1e-12);
  EXPECT_NEAR(r.throughput, 1 / 0.008, 1e-6);
  opt.max_in_flight = 2;  // two in flight: the slower stage is the bound again
  EXPECT_NEAR(simulate({{"d0"}, {"d1"}}, {a, b}, opt).throughput, 1 / 0.006, 1e-6);
}

TEST(Simulator, EnergyIsActivePowerWhileBusyAndIdlePowerOtherwise) {
  SimOptions opt;
  SimDevice fast{"fast", 0, 0.5, 2.0}, slow{"slow", 0, 0.5, 3.0};
  auto r = simulate({fast, slow}, {stage("a", 0, 0.001), stage("b", 1, 0.004)}, opt);
  const auto& f = r.devices[0];
  EXPECT_NEAR(f.busy_s, opt.inferences * 0.001, 1e-9);
  EXPECT_NEAR(f.joules, 2.0 * f.busy_s + 0.5 * (r.span_s - f.busy_s), 1e-9);
  EXPECT_NEAR(f.joules_per_inference, f.joules / opt.inferences, 1e-12);
  EXPECT_NEAR(r.devices[1].busy_s / r.span_s, 1.0, 0.02);
}

TEST(Simulator, BadInputIsAUserError) {
  SimOptions opt;
  EXPECT_THROW(simulate({{"d"}}, {}, opt), UserError);
  EXPECT_THROW(simulate({{"d"}}, {stage("a", 1, 0.001)}, opt), UserError);
  opt.queue = 0;
  EXPECT_THROW(simulate({{"d"}}, {stage("a", 0, 0.001)}, opt), UserError);
  opt.queue = 1;
  opt.inferences = 5;
  opt.warmup = 4;
  EXPECT_THROW(simulate({{"d"}}, {stage("a", 0, 0.001)}, opt), UserError);
  opt = {};
  EXPECT_THROW(simulate({{"d"}}, {stage("a", 0, 0.0)}, opt), UserError);
}

}  // namespace
}  // namespace frugal::pipeline
