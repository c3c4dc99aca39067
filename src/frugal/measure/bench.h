// Load scenarios after MLPerf LoadGen over one system under test that runs one inference
// at a time (a runtime::Session): single-stream, multi-stream, offline and server, plus a
// search for the highest server QPS that meets a latency bound. The runner only calls a
// function and reads a clock, so tests drive it with a fake clock and known delays;
// session_bench.h wraps it around a Session (profile, memory, energy work).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "frugal/measure/power.h"
#include "frugal/measure/stats.h"

namespace frugal::measure {

enum class Scenario { kSingleStream, kMultiStream, kOffline, kServer };
// "single-stream", "multi-stream", "offline", "server"; UserError naming --scenario otherwise.
Scenario parse_scenario(const std::string& name);
const char* scenario_name(Scenario s);

// Where the runner reads time. Tests substitute a clock that their fake inference advances.
class BenchClock {
 public:
  virtual ~BenchClock() = default;
  virtual double now_s() = 0;
};
BenchClock& steady_bench_clock();  // measure::now_seconds()

// The system under test: one call runs one inference of `batch` samples.
struct BenchTarget {
  std::function<void()> infer;
  int64_t batch = 1;
};

struct BenchProgress {
  double elapsed_s = 0;
  int64_t queries = 0;
  double p50_s = 0;  // of the queries so far
};

struct BenchOptions {
  Scenario scenario = Scenario::kSingleStream;
  // The timed part runs until both are met (server: arrivals span at least the duration).
  double min_duration_s = 1.0;
  int64_t min_queries = 64;
  // Hard stop of the timed part (0: none), reported as `capped`. Server runs are always
  // cut off at 1.5 x max(duration, arrival time reached): an overloaded system ends there.
  double max_duration_s = 0;
  // Warm-up after the first inference: runs until this many seconds have passed (0: none).
  double warmup_s = 0.5;
  int64_t samples_per_query = 8;  // multi-stream (MLPerf's 8)
  // Server: Poisson arrivals at target_qps (queries of `batch` samples); latency bound
  // (0: none); find_qps bisects for the highest QPS meeting the bound.
  double target_qps = 0;
  double latency_bound_s = 0;
  bool find_qps = false;
  int search_steps = 7;
  uint64_t seed = 0;  // of the arrival process
  // Energy: idle power for idle_s just before the timed part, then the timed part metered.
  PowerMeter* meter = nullptr;
  double idle_s = 0;
  WorkDone work_per_inference;  // reported to the meter (the model meter estimates from it)
  // Around the timed part only (profilers attach here), and progress every period.
  std::function<void()> on_timed_begin, on_timed_end;
  std::function<void(const BenchProgress&)> progress;
  double progress_period_s = 0.5;
};
// Throws UserError naming the option (--duration, --min-queries, --qps, ...) on bad values.
void check_bench_options(const BenchOptions& options);

// One server run at a target QPS, on a simulated arrival timeline: query i arrives at a_i
// (exponential gaps), starts at max(a_i, previous finish) and finishes after its measured
// service time, so queueing delay counts in its latency although only one query runs at a
// time.
struct ServerRun {
  double target_qps = 0;
  double latency_bound_s = 0;
  int64_t queries = 0;
  double span_s = 0;        // simulated time from the start to the last completion
  double achieved_qps = 0;  // queries / span_s
  double utilisation = 0;   // busy time / time of the last arrival (> 1: the queue grows)
  bool cut_off = false;     // stopped by the wall-time bound before the arrivals were served
  bool sustainable = false;
  bool bound_met = false;  // p99 <= bound (true when no bound)
  std::vector<double> latencies_s;
  Summary latency;
  std::string verdict;  // one line
};

struct BenchResult {
  Scenario scenario = Scenario::kSingleStream;
  int64_t batch = 1;
  int64_t samples_per_query = 1;
  double init_s = -1;  // load + compile, filled by the caller (-1: not measured)
  double first_inference_s = 0;
  int64_t warmup_runs = 0;
  double warmup_total_s = 0;
  std::vector<double> latencies_s;  // per query of the timed part (server: the reported run)
  Summary latency;
  EarlyStoppingEstimate early_stopping;              // p90 single-stream, p99 otherwise
  int64_t queries = 0, samples = 0, inferences = 0;  // timed part, all server trials included
  double duration_s = 0;                             // timed part, wall clock
  double samples_per_s = 0, queries_per_s = 0;
  bool capped = false;              // max_duration_s ended the run before its minimums were met
  std::optional<ServerRun> server;  // the run at --qps, or the best passing search trial
  std::vector<ServerRun> search;    // --find-qps trials in order
  std::optional<Reading> energy, idle;
  std::optional<EnergySplit> split;
};

BenchResult run_bench(const BenchTarget& target, const BenchOptions& options,
                      BenchClock& clock = steady_bench_clock());

}  // namespace frugal::measure
