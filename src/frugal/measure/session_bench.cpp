#include "frugal/measure/session_bench.h"

#include <algorithm>

#include "frugal/measure/clock.h"
#include "frugal/measure/sysinfo.h"
#include "frugal/ops/cost.h"

namespace frugal::measure {
namespace {

class StepTimer final : public runtime::NodeObserver {
 public:
  explicit StepTimer(size_t steps) : time_s(steps, 0.0), calls(steps, 0), device_s(steps, -1.0) {}
  void before(size_t step) override { started_ = now(); }
  void after(size_t step) override {
    if (step >= time_s.size()) return;
    time_s[step] += seconds_between(started_, now());
    ++calls[step];
  }
  void device_time(size_t step, double seconds) override {
    if (step >= device_s.size()) return;
    device_s[step] = std::max(device_s[step], 0.0) + seconds;
  }
  std::vector<double> time_s;
  std::vector<int64_t> calls;
  std::vector<double> device_s;  // -1: not on a queued device

 private:
  TimePoint started_;
};

}  // namespace

WorkDone session_work(const runtime::Session& session) {
  const ops::GraphCost cost = ops::analyze_cost(session.graph(), session.info());
  WorkDone w;
  for (const auto& a : session.assignments()) {
    if (a.node_index >= cost.nodes.size()) continue;
    const ops::NodeCost& c = cost.nodes[a.node_index];
    const std::string& format = kernels::backend_traits(a.backend).format;
    if (c.macs > 0) w.macs_by_format[format] += static_cast<double>(c.macs);
    w.bytes_moved += static_cast<double>(c.bytes_read + c.bytes_written);
  }
  // The plan is one sub-batch's: a run of the session runs it count() times.
  const auto runs = static_cast<double>(session.sub_batch().count());
  for (auto& [format, macs] : w.macs_by_format) macs *= runs;
  w.bytes_moved *= runs;
  return w;
}

std::vector<ProfileRow> profile_rows(const runtime::Session& session,
                                     const std::vector<double>& step_time_s,
                                     const std::vector<int64_t>& step_calls,
                                     const std::vector<double>& step_device_s) {
  const ops::GraphCost cost = ops::analyze_cost(session.graph(), session.info());
  const auto& as = session.assignments();
  double total = 0;
  for (double t : step_time_s) total += t;
  std::vector<ProfileRow> rows;
  for (size_t step = 0; step < as.size() && step < step_time_s.size(); ++step) {
    ProfileRow r;
    r.step = step;
    r.node = as[step].node_name;
    r.op_type = as[step].op_type;
    r.kernel = as[step].backend + ":" + as[step].impl;
    r.declined = as[step].declined;
    r.calls = step < step_calls.size() ? step_calls[step] : 0;
    r.time_s = step_time_s[step];
    if (step < step_device_s.size()) r.device_time_s = step_device_s[step];
    r.percent = total > 0 ? 100.0 * r.time_s / total : 0;
    if (as[step].node_index < cost.nodes.size()) {
      const ops::NodeCost& c = cost.nodes[as[step].node_index];
      r.macs = c.macs;
      r.flops = c.flops;
      r.bytes = c.bytes_read + c.bytes_written;
    }
    if (as[step].copy_bytes) r.bytes = static_cast<int64_t>(as[step].copy_bytes);
    if (r.time_s > 0)
      r.gflops_per_s = static_cast<double>(2 * r.macs + r.flops) * static_cast<double>(r.calls) /
                       r.time_s * 1e-9;
    rows.push_back(std::move(r));
  }
  std::stable_sort(rows.begin(), rows.end(),
                   [](const ProfileRow& a, const ProfileRow& b) { return a.time_s > b.time_s; });
  return rows;
}

SessionBenchResult bench_session(runtime::Session& session, const std::vector<Tensor>& inputs,
                                 BenchOptions options, bool profile, BenchClock& clock) {
  SessionBenchResult out;
  if (options.work_per_inference.macs_by_format.empty() &&
      options.work_per_inference.bytes_moved == 0)
    options.work_per_inference = session_work(session);
  out.work_per_inference = options.work_per_inference;
  StepTimer timer(session.assignments().size());
  auto begin = options.on_timed_begin, end = options.on_timed_end;
  options.on_timed_begin = [&] {
    PeakRssReset reset = reset_peak_rss();
    out.memory.peak_rss_reset = reset.ok;
    out.memory.peak_rss_reset_reason = reset.reason;
    if (profile) session.set_observer(&timer);
    session.time_devices(true);
    if (begin) begin();
  };
  options.on_timed_end = [&] {
    if (end) end();
    session.set_observer(nullptr);
    session.time_devices(false);
    out.memory.peak_rss = peak_rss_bytes();
  };
  BenchTarget target{[&] { session.run(inputs); },
                     session.inputs().empty() || session.inputs()[0].shape.empty()
                         ? 1
                         : std::max<int64_t>(1, session.inputs()[0].shape[0])};
  try {
    out.bench = run_bench(target, options, clock);
  } catch (...) {
    session.set_observer(nullptr);
    session.time_devices(false);
    throw;
  }
  out.memory.weight_bytes = session.constant_bytes();
  out.memory.arena_bytes = session.arena_bytes();
  out.device_times = session.device_times();
  out.device_graphs = session.uses_queued_device() ? session.device_graphs_status() : "";
  if (profile) {
    out.profile = profile_rows(session, timer.time_s, timer.calls, timer.device_s);
    for (double t : timer.time_s) out.profile_node_total_s += t;
  }
  return out;
}

}  // namespace frugal::measure
