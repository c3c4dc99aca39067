#include "frugal/pipeline/pipeline_bench.h"

#include <atomic>
#include <chrono>
#include <semaphore>
#include <thread>

#include "frugal/core/error.h"
#include "frugal/measure/power_select.h"
#include "frugal/measure/random_input.h"
#include "frugal/measure/session_bench.h"
#include "frugal/pipeline/runner.h"

namespace frugal::pipeline {

std::vector<size_t> resolve_placement(size_t stages, const DeviceSet& devices,
                                      const std::vector<size_t>& placement) {
  const size_t n = devices.devices.size();
  if (placement.empty()) {
    if (stages > n)
      throw UserError("--stages " + std::to_string(stages) + ": " + devices.source + " has only " +
                      std::to_string(n) + " device" + (n == 1 ? "" : "s") +
                      " (give fewer stages, or --place to share devices)");
    std::vector<size_t> identity(stages);
    for (size_t k = 0; k < stages; ++k) identity[k] = k;
    return identity;
  }
  if (placement.size() != stages)
    throw UserError("--place: " + std::to_string(placement.size()) + " devices given for " +
                    std::to_string(stages) + " stages");
  for (size_t d : placement)
    if (d >= n)
      throw UserError("--place: device " + std::to_string(d) + " is not in " + devices.source +
                      " (devices 0.." + std::to_string(n - 1) + ")");
  return placement;
}

namespace {

using Clock = std::chrono::steady_clock;

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

std::vector<SegmentRun> segment_runs(const Segments& segments, const DeviceSet& devices,
                                     const std::vector<size_t>& place,
                                     const PipelineBenchOptions& options) {
  std::vector<SegmentRun> runs;
  for (size_t k = 0; k < segments.graphs.size(); ++k) {
    const Device& d = devices.devices[place[k]];
    if (d.kind != DeviceKind::kCpu)
      throw UserError(devices.source + ": device '" + d.name + "' (" + device_kind_name(d.kind) +
                      ") cannot run " + segments.names[k] +
                      (d.estimate() ? ": it is modeled, only --simulate runs it"
                                    : ": no backend of this build runs there"));
    SegmentRun run{segments.names[k], segments.graphs[k], d.cpu.cores, options.session};
    run.options.threads = d.cpu.threads;
    runs.push_back(std::move(run));
  }
  return runs;
}

// Seeded random tensors for the model's inputs, shaped as the first Session reading each.
std::vector<Tensor> model_inputs(const Segments& segments, const PipelineRunner& runner) {
  std::vector<Tensor> inputs;
  for (size_t i = 0; i < segments.model_inputs.size(); ++i) {
    const std::string& name = segments.model_inputs[i];
    const runtime::Session::Port* port = nullptr;
    for (const runtime::Session* s : runner.sessions())
      for (const auto& p : s->inputs())
        if (!port && p.name == name) port = &p;
    if (!port)
      throw UserError(segments.origin + ": no segment reads the model input '" + name + "'");
    inputs.push_back(measure::random_tensor(port->dtype, port->shape, i));
  }
  return inputs;
}

measure::WorkDone scaled(const measure::WorkDone& w, double n) {
  measure::WorkDone out;
  for (const auto& [format, macs] : w.macs_by_format) out.macs_by_format[format] = macs * n;
  out.bytes_moved = w.bytes_moved * n;
  return out;
}

// Work of one inference through every segment.
measure::WorkDone pipeline_work(const PipelineRunner& runner) {
  measure::WorkDone total;
  for (const runtime::Session* s : runner.sessions()) {
    const auto w = measure::session_work(*s);
    for (const auto& [format, macs] : w.macs_by_format) total.macs_by_format[format] += macs;
    total.bytes_moved += w.bytes_moved;
  }
  return total;
}

// The timed part: what the stages did between its start and its end.
struct Window {
  double duration_s = 0;
  std::vector<StageStats> before, after;
  size_t first_latency = 0, end_latency = 0;
  std::optional<measure::Reading> energy;
};

// A producer thread pushes the same inputs until told to stop; this thread pops, waits
// out the warm-up, then times `duration_s` of results.
// The model meter estimates from the work it is told about, recorded before stop().
Window run_window(PipelineRunner& runner, const std::vector<Tensor>& inputs,
                  const PipelineBenchOptions& options, measure::PowerMeter* meter,
                  const measure::WorkDone& work_per_inference) {
  std::atomic<bool> stop{false};
  // Tokens for the inferences allowed in flight: the producer takes one per push, the
  // consumer gives one back per pop.
  constexpr std::ptrdiff_t kUnlimited = 1 << 30;
  std::counting_semaphore<kUnlimited> tokens(
      options.max_in_flight > 0 ? static_cast<std::ptrdiff_t>(options.max_in_flight) : kUnlimited);
  std::thread producer([&] {
    try {
      for (;;) {
        tokens.acquire();
        if (stop.load()) break;
        runner.push(inputs);
      }
      runner.close();
    } catch (...) {  // the pipeline's error: pop() throws it on this thread's behalf
    }
  });
  Window w;
  try {
    const auto start = Clock::now();
    Clock::time_point t0;
    bool timing = false, done = false;
    while (runner.pop()) {
      tokens.release();
      const auto t = Clock::now();
      if (!timing && seconds(t - start) >= options.warmup_s) {
        timing = true;
        t0 = t;
        w.before = runner.stats();
        w.first_latency = runner.latencies_s().size();
        if (meter) meter->start();
      } else if (timing && !done && seconds(t - t0) >= options.duration_s) {
        done = true;
        stop = true;
        w.duration_s = seconds(t - t0);
        w.after = runner.stats();
        w.end_latency = runner.latencies_s().size();
        if (meter) {
          const auto n = static_cast<double>(w.end_latency - w.first_latency);
          meter->record_work(scaled(work_per_inference, n));
          w.energy = meter->stop();
        }
      }
    }
    producer.join();
    runner.finish();
  } catch (...) {
    stop = true;
    runner.abort();
    tokens.release();  // a producer waiting for a token sees the stop
    if (producer.joinable()) producer.join();
    throw;
  }
  return w;
}

StageReport stage_report(const Segments& segments, const Device& device, size_t k, const Window& w,
                         const SegmentTraffic& traffic) {
  const StageStats& a = w.before[k];
  const StageStats& b = w.after[k];
  StageReport r;
  r.segment = segments.names[k];
  r.device = device.name;
  r.inferences = b.items - a.items;
  r.busy_s = b.busy_s - a.busy_s;
  r.utilization = r.busy_s / w.duration_s;
  r.bubble = 1 - r.utilization;
  r.wait_input_s = b.wait_input_s - a.wait_input_s;
  r.wait_output_s = b.wait_output_s - a.wait_output_s;
  r.setup_s = b.setup_s;
  r.bytes_in = traffic.bytes_in;
  r.transfer_ms = traffic.handoffs ? traffic.handoff_s / traffic.handoffs * 1e3 : 0;
  return r;
}

// Energy per device: the model meter prices each segment's own work (an estimate per
// device); a measured source (rapl, ...) sees the whole package, which the stages share.
void attribute_energy(PipelineReport& report, const PipelineRunner& runner,
                      const measure::PowerMeter* meter) {
  if (!meter) return;
  const bool per_device = meter->kind() == measure::EnergyKind::kEstimated;
  for (size_t k = 0; k < report.stages.size(); ++k) {
    StageReport& s = report.stages[k];
    s.energy_source = per_device ? meter->source() : meter->source() + " (shared by all stages)";
    s.energy_kind = measure::energy_kind_name(meter->kind());
    if (per_device)
      s.joules_per_inference =
          measure::ModelMeter().estimate_joules(measure::session_work(*runner.sessions()[k]), 0);
  }
  if (report.energy && report.inferences > 0)
    report.joules_per_inference = report.energy->joules / static_cast<double>(report.inferences);
}

}  // namespace

PipelineReport bench_pipeline(const Segments& segments, const DeviceSet& devices,
                              const PipelineBenchOptions& options) {
  if (options.duration_s <= 0) throw UserError("--duration: must be positive");
  if (options.max_in_flight < 0) throw UserError("--in-flight: must be 0 (no limit) or more");
  const auto place = resolve_placement(segments.graphs.size(), devices, options.placement);
  auto power = measure::make_power_meter(measure::parse_power_spec(options.power));
  PipelineRunner runner(segment_runs(segments, devices, place, options), segments.model_inputs,
                        segments.model_outputs, options.queue, segments.origin);
  runner.wait_ready();
  const auto inputs = model_inputs(segments, runner);
  const Window w = run_window(runner, inputs, options, power.meter.get(), pipeline_work(runner));

  PipelineReport report;
  report.inferences = static_cast<int64_t>(w.end_latency - w.first_latency);
  report.duration_s = w.duration_s;
  report.throughput = static_cast<double>(report.inferences) / w.duration_s;
  const auto& lat = runner.latencies_s();
  report.latency_s = measure::summarize(
      std::span<const double>(lat.data() + w.first_latency, w.end_latency - w.first_latency));
  for (size_t k = 0; k < segments.graphs.size(); ++k) {
    report.stages.push_back(
        stage_report(segments, devices.devices[place[k]], k, w, runner.traffic()[k]));
    report.bubble_fraction += report.stages.back().bubble / static_cast<double>(place.size());
  }
  report.energy = w.energy;
  report.power_explanation = power.explanation;
  attribute_energy(report, runner, power.meter.get());
  return report;
}

}  // namespace frugal::pipeline
