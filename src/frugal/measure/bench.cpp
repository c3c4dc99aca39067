#include "frugal/measure/bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/measure/clock.h"

namespace frugal::measure {
namespace {

class SteadyBenchClock final : public BenchClock {
 public:
  double now_s() override { return now_seconds(); }
};

std::string fmt_ms(double s) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f ms", s * 1e3);
  return buf;
}

// Calls the progress callback at most once per period, with the running median.
class ProgressReporter {
 public:
  ProgressReporter(const BenchOptions& o, BenchClock& clock)
      : options_(o), clock_(clock), next_(clock.now_s() + o.progress_period_s) {}
  void maybe_report(double elapsed, const std::vector<double>& latencies) {
    if (!options_.progress || latencies.empty()) return;
    const double t = clock_.now_s();
    if (t < next_) return;
    next_ = t + options_.progress_period_s;
    options_.progress({elapsed, static_cast<int64_t>(latencies.size()), median(latencies)});
  }

 private:
  const BenchOptions& options_;
  BenchClock& clock_;
  double next_;
};

// Single-stream, multi-stream and offline: queries back to back.
void run_closed_loop(const BenchTarget& target, const BenchOptions& o, BenchClock& clock,
                     int64_t inferences_per_query, BenchResult& r) {
  ProgressReporter progress(o, clock);
  const double t0 = clock.now_s();
  for (;;) {
    const double q0 = clock.now_s();
    for (int64_t k = 0; k < inferences_per_query; ++k) target.infer();
    const double q1 = clock.now_s();
    r.latencies_s.push_back(q1 - q0);
    r.inferences += inferences_per_query;
    const double elapsed = q1 - t0;
    const int64_t n = static_cast<int64_t>(r.latencies_s.size());
    if (elapsed >= o.min_duration_s && n >= o.min_queries) break;
    if (o.max_duration_s > 0 && elapsed >= o.max_duration_s) {
      r.capped = true;
      break;
    }
    progress.maybe_report(elapsed, r.latencies_s);
  }
  r.duration_s = clock.now_s() - t0;
  r.queries = static_cast<int64_t>(r.latencies_s.size());
}

ServerRun run_server_once(const BenchTarget& target, const BenchOptions& o, BenchClock& clock,
                          double qps, uint64_t stream, int64_t& inferences) {
  ServerRun s;
  s.target_qps = qps;
  s.latency_bound_s = o.latency_bound_s;
  const Philox rng(o.seed, stream);
  ProgressReporter progress(o, clock);
  const double t0 = clock.now_s();
  double arrival = 0, last_arrival = 0, finish = 0, busy = 0;
  for (uint64_t i = 0;; ++i) {
    // Exponential gap: -ln(1 - u) / qps with u uniform in [0, 1).
    arrival += -std::log1p(-static_cast<double>(rng.uniform(i))) / qps;
    const int64_t n = static_cast<int64_t>(s.latencies_s.size());
    if (arrival >= o.min_duration_s && n >= o.min_queries) break;
    const double wall = clock.now_s() - t0;
    if (wall >= 1.5 * std::max(o.min_duration_s, arrival) ||
        (o.max_duration_s > 0 && wall >= o.max_duration_s)) {
      s.cut_off = true;
      break;
    }
    const double c0 = clock.now_s();
    target.infer();
    const double service = clock.now_s() - c0;
    ++inferences;
    busy += service;
    finish = std::max(arrival, finish) + service;
    last_arrival = arrival;
    s.latencies_s.push_back(finish - arrival);
    progress.maybe_report(clock.now_s() - t0, s.latencies_s);
  }
  s.queries = static_cast<int64_t>(s.latencies_s.size());
  s.span_s = finish;
  s.achieved_qps = finish > 0 ? static_cast<double>(s.queries) / finish : 0;
  s.utilisation = last_arrival > 0 ? busy / last_arrival : 0;
  if (s.queries > 0) s.latency = summarize(s.latencies_s);
  s.sustainable = !s.cut_off && s.queries > 0 && s.utilisation < 1.0;
  s.bound_met = s.queries > 0 && (o.latency_bound_s <= 0 || s.latency.p99 <= o.latency_bound_s);
  char buf[320];
  if (s.cut_off) {
    std::snprintf(buf, sizeof(buf),
                  "unsustainable: %.4g QPS offered, only %lld queries served before the %.3g s "
                  "bound (backlog %.3g s, utilisation %.2f)",
                  qps, static_cast<long long>(s.queries), clock.now_s() - t0,
                  std::max(0.0, finish - last_arrival), s.utilisation);
  } else if (!s.sustainable) {
    std::snprintf(buf, sizeof(buf),
                  "unsustainable: %.4g QPS offered needs %.2f of the system's time (queue grows "
                  "without bound); achieved %.4g QPS",
                  qps, s.utilisation, s.achieved_qps);
  } else if (o.latency_bound_s > 0) {
    std::snprintf(buf, sizeof(buf), "%s: p99 %s %s bound %s at %.4g QPS (utilisation %.2f)",
                  s.bound_met ? "meets bound" : "misses bound", fmt_ms(s.latency.p99).c_str(),
                  s.bound_met ? "<=" : ">", fmt_ms(o.latency_bound_s).c_str(), s.achieved_qps,
                  s.utilisation);
  } else {
    std::snprintf(buf, sizeof(buf), "sustained %.4g QPS, p99 %s (utilisation %.2f)", s.achieved_qps,
                  fmt_ms(s.latency.p99).c_str(), s.utilisation);
  }
  s.verdict = buf;
  return s;
}

void run_server(const BenchTarget& target, const BenchOptions& o, BenchClock& clock,
                double mean_service_s, BenchResult& r) {
  const double t0 = clock.now_s();
  if (!o.find_qps) {
    r.server = run_server_once(target, o, clock, o.target_qps, 0, r.inferences);
  } else {
    // Bisection between 0 and a little above the capacity the warm-up showed (1 / mean
    // service time): a system at or past capacity cannot meet any bound for long.
    double lo = 0, hi = 1.2 / mean_service_s;
    for (int step = 0; step < o.search_steps; ++step) {
      const double qps = 0.5 * (lo + hi);
      ServerRun trial =
          run_server_once(target, o, clock, qps, static_cast<uint64_t>(step) + 1, r.inferences);
      const bool pass = trial.sustainable && trial.bound_met;
      (pass ? lo : hi) = qps;
      if (pass) r.server = trial;
      r.search.push_back(std::move(trial));
    }
  }
  r.duration_s = clock.now_s() - t0;
  const ServerRun& shown = r.server ? *r.server : r.search.back();
  r.latencies_s = shown.latencies_s;
  r.queries = r.inferences;
}

}  // namespace

Scenario parse_scenario(const std::string& name) {
  if (name == "single-stream") return Scenario::kSingleStream;
  if (name == "multi-stream") return Scenario::kMultiStream;
  if (name == "offline") return Scenario::kOffline;
  if (name == "server") return Scenario::kServer;
  throw UserError("--scenario " + name +
                  ": unknown scenario (single-stream, multi-stream, offline or server)");
}

const char* scenario_name(Scenario s) {
  switch (s) {
    case Scenario::kSingleStream:
      return "single-stream";
    case Scenario::kMultiStream:
      return "multi-stream";
    case Scenario::kOffline:
      return "offline";
    case Scenario::kServer:
      return "server";
  }
  return "?";
}

BenchClock& steady_bench_clock() {
  static SteadyBenchClock clock;
  return clock;
}

void check_bench_options(const BenchOptions& o) {
  auto positive = [](double v) { return std::isfinite(v) && v > 0; };
  if (!positive(o.min_duration_s))
    throw UserError("--duration " + std::to_string(o.min_duration_s) + ": must be positive");
  if (o.min_queries < 1)
    throw UserError("--min-queries " + std::to_string(o.min_queries) + ": must be 1 or more");
  if (!(o.max_duration_s >= 0) || !std::isfinite(o.max_duration_s))
    throw UserError("--max-duration: must be 0 (none) or positive");
  if (!(o.warmup_s >= 0) || !std::isfinite(o.warmup_s))
    throw UserError("--warmup " + std::to_string(o.warmup_s) + ": must be 0 or more seconds");
  if (o.samples_per_query < 1) throw UserError("multi-stream: samples per query must be 1 or more");
  if (!(o.latency_bound_s >= 0) || !std::isfinite(o.latency_bound_s))
    throw UserError("--latency-bound: must be positive");
  if (o.meter && (!(o.idle_s >= 0) || !std::isfinite(o.idle_s)))
    throw UserError("--idle-seconds " + std::to_string(o.idle_s) + ": must be 0 or more");
  if (o.scenario == Scenario::kServer) {
    if (o.find_qps) {
      if (!(o.latency_bound_s > 0))
        throw UserError("--find-qps: needs --latency-bound (the bound the QPS must meet)");
      if (o.search_steps < 1) throw UserError("--find-qps: search steps must be 1 or more");
    } else if (!positive(o.target_qps)) {
      throw UserError("--qps " + std::to_string(o.target_qps) +
                      ": the server scenario needs a positive target QPS (or --find-qps)");
    }
  } else if (o.find_qps || o.target_qps != 0) {
    throw UserError("--qps/--find-qps: only for --scenario server");
  }
}

BenchResult run_bench(const BenchTarget& target, const BenchOptions& o, BenchClock& clock) {
  check_bench_options(o);
  if (!target.infer || target.batch < 1) throw InternalError("run_bench: no target");
  BenchResult r;
  r.scenario = o.scenario;
  r.batch = target.batch;
  int64_t inferences_per_query = 1;
  if (o.scenario == Scenario::kMultiStream) {
    // A query of 8 samples takes ceil(8 / batch) inferences, one after another.
    inferences_per_query = (o.samples_per_query + target.batch - 1) / target.batch;
    r.samples_per_query = o.samples_per_query;
  } else {
    r.samples_per_query = target.batch;
  }

  double t = clock.now_s();
  target.infer();
  r.first_inference_s = clock.now_s() - t;
  double service_sum = r.first_inference_s;
  int64_t service_runs = 1;
  if (o.warmup_s > 0) {
    const double w0 = clock.now_s();
    do {
      target.infer();
      ++r.warmup_runs;
    } while (clock.now_s() - w0 < o.warmup_s);
    r.warmup_total_s = clock.now_s() - w0;
    // The first inference pays one-off costs: the warm-up alone estimates service time.
    service_sum = r.warmup_total_s;
    service_runs = r.warmup_runs;
  }

  if (o.meter && o.idle_s > 0) r.idle = measure_idle(*o.meter, o.idle_s);
  if (o.on_timed_begin) o.on_timed_begin();
  if (o.meter) o.meter->start();
  if (o.scenario == Scenario::kServer)
    run_server(target, o, clock, service_sum / static_cast<double>(service_runs), r);
  else
    run_closed_loop(target, o, clock, inferences_per_query, r);
  if (o.meter) {
    WorkDone work;
    const double n = static_cast<double>(r.inferences);
    for (const auto& [format, macs] : o.work_per_inference.macs_by_format)
      work.macs_by_format[format] = macs * n;
    work.bytes_moved = o.work_per_inference.bytes_moved * n;
    o.meter->record_work(work);
    r.energy = o.meter->stop();
  }
  if (o.on_timed_end) o.on_timed_end();
  if (r.idle) r.split = split_active_energy(*r.energy, *r.idle);

  // Samples: every inference's batch, except multi-stream queries whose last inference
  // may carry padding (8 samples on batch 3 runs 9): count what the queries asked for.
  r.samples = o.scenario == Scenario::kMultiStream ? r.queries * o.samples_per_query
                                                   : r.inferences * target.batch;
  if (r.duration_s > 0) {
    r.samples_per_s = static_cast<double>(r.samples) / r.duration_s;
    r.queries_per_s = static_cast<double>(r.queries) / r.duration_s;
  }
  if (!r.latencies_s.empty()) {
    r.latency = summarize(r.latencies_s);
    r.early_stopping =
        early_stopping_estimate(r.latencies_s, o.scenario == Scenario::kSingleStream ? 0.90 : 0.99);
  }
  return r;
}

}  // namespace frugal::measure
