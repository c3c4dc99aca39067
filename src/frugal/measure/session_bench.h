// frugal bench as a library call: run_bench() around a runtime::Session, with a per-node
// profile (Session::set_observer), memory (peak RSS, weights, activation arena) and the
// work per inference (MACs per number format, bytes moved) that the model power meter
// prices.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frugal/measure/bench.h"
#include "frugal/runtime/session.h"

namespace frugal::measure {

struct ProfileRow {
  size_t step = 0;
  std::string node, op_type;
  std::string kernel;                 // "cpu:onednn:jit:avx512_core" (backend:impl)
  std::vector<std::string> declined;  // "cpu: reason" per preferred backend that declined
  int64_t calls = 0;
  double time_s = 0;            // summed over the timed runs
  double percent = 0;           // of the summed time of all nodes
  int64_t macs = 0, flops = 0;  // per call, from ops::analyze_cost
  int64_t bytes = 0;            // read + written per call
  double gflops_per_s = 0;      // (2 macs + flops) per second of this node
  // Summed time on its queued device (a GPU: CUDA events around the step), -1 for steps
  // on the host alone; time_s is the host's (launch and wait).
  double device_time_s = -1;
};

struct MemoryUse {
  std::optional<int64_t> peak_rss;  // VmHWM after the timed part
  bool peak_rss_reset = false;      // VmHWM reset before the timed part
  std::string peak_rss_reset_reason;
  size_t weight_bytes = 0;  // weights and folded constants held by the session
  size_t arena_bytes = 0;   // planned activation arena
};

struct SessionBenchResult {
  BenchResult bench;
  std::vector<ProfileRow> profile;  // by time, largest first; empty without profiling
  double profile_node_total_s = 0;  // sum over nodes (excludes the session's own overhead)
  MemoryUse memory;
  // Device time by phase over the timed runs (runtime::DeviceTimes; runs 0 when no step is
  // on a queued device), and how its steps ran (Session::device_graphs_status).
  runtime::DeviceTimes device_times;
  std::string device_graphs;
  WorkDone work_per_inference;
};

// Work of one inference: MACs by the number format each node computes in (its backend's
// kernels::BackendTraits::format) and bytes read plus written.
WorkDone session_work(const runtime::Session& session);

// Runs the scenario on `inputs` (reused by every inference). `options.work_per_inference`
// is filled from the session when empty. With `profile`, per-node times are summed over
// the timed part (the observer's clock reads add a little to each latency).
SessionBenchResult bench_session(runtime::Session& session, const std::vector<Tensor>& inputs,
                                 BenchOptions options, bool profile,
                                 BenchClock& clock = steady_bench_clock());

// Turns an observer's per-step times into rows ordered by time.
std::vector<ProfileRow> profile_rows(const runtime::Session& session,
                                     const std::vector<double>& step_time_s,
                                     const std::vector<int64_t>& step_calls,
                                     const std::vector<double>& step_device_s = {});

}  // namespace frugal::measure
