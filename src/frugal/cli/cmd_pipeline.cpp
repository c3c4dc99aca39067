// frugal pipeline MODEL|DIR --stages K --devices D: run (or simulate) a model cut into K
// segments as a pipeline, one worker per device (pipeline/pipeline_workflow.h).
#include <fmt/format.h>

#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/measure/affinity.h"
#include "frugal/pipeline/pipeline_workflow.h"

namespace frugal::cli {
namespace {

struct PipelineArgs {
  pipeline::PipelineRequest request;
  std::string place;
  int64_t queue = 2;
  bool json = false;
  EngineArgs engine;
};

std::vector<size_t> parse_place(const std::string& text) {
  std::vector<size_t> place;
  if (text.empty()) return place;
  // The CPU-list parser accepts ranges and sorts; a placement keeps its order, so parse
  // each comma-separated entry alone.
  size_t start = 0;
  while (start <= text.size()) {
    const size_t end = std::min(text.find(',', start), text.size());
    const std::string item = text.substr(start, end - start);
    const auto v = measure::parse_cpu_list(item, "--place " + text);
    if (v.size() != 1)
      throw UserError("--place " + text + ": '" + item + "' is not one device index");
    place.push_back(static_cast<size_t>(v[0]));
    start = end + 1;
  }
  return place;
}

bool runs_on_host(const std::string& devices) {
  for (const auto& d : pipeline::load_devices(devices).devices)
    if (d.kind == pipeline::DeviceKind::kCpu) return true;
  return false;
}

void prepare(PipelineArgs& a) {
  if (a.queue < 1)
    throw UserError("--queue: a queue must hold at least 1 item (got " + std::to_string(a.queue) +
                    ")");
  auto& r = a.request;
  r.queue = static_cast<size_t>(a.queue);
  r.placement = parse_place(a.place);
  r.precision = a.engine.precision;
  // Sessions (and int8 calibration) only where a stage runs on host cores.
  if (runs_on_host(r.devices)) r.session = session_options(a.engine, r.model);
  r.session.infer.batch = a.engine.batch;
  parse_input_shapes(a.engine.shapes, r.session.infer);
}

// Milliseconds from seconds, and percentages, as the tables print them.
std::string ms(double s) {
  return fmt::format("{:.3f}", s * 1e3);
}
std::string pct(double f) {
  return fmt::format("{:.1f}%", f * 100);
}

std::string energy(const pipeline::StageReport& s) {
  if (!s.joules_per_inference) return s.energy_source.empty() ? "-" : "(" + s.energy_source + ")";
  return fmt::format("{:.4f} mJ{}", *s.joules_per_inference * 1e3,
                     s.energy_kind == "estimated" ? " (estimate)" : "");
}

void print_report(const pipeline::PipelineOutcome& o) {
  const auto& r = o.report;
  const char* est = r.simulated ? " (estimate)" : "";
  std::printf("pipeline  %s: %zu stages (%s) on %s%s\n", o.segments.origin.c_str(),
              o.segments.graphs.size(), o.segments.method.c_str(), o.devices.source.c_str(),
              r.simulated ? ", simulated" : "");
  Table t({"stage", "device", "util", "bubble", "wait in s", "wait out s", "in bytes",
           "transfer ms", "stream ms", "load ms", "energy/inf"});
  for (const auto& s : r.stages)
    t.add({s.segment, s.device, pct(s.utilization), pct(s.bubble),
           fmt::format("{:.3f}", s.wait_input_s), fmt::format("{:.3f}", s.wait_output_s),
           with_commas(s.bytes_in), ms(s.transfer_ms / 1e3), ms(s.stream_ms / 1e3),
           ms(s.load_ms / 1e3), energy(s)});
  std::printf("%s\n", t.str().c_str());
  std::printf("throughput %.2f inferences/s%s over %lld inferences (%.2f s)\n", r.throughput, est,
              static_cast<long long>(r.inferences), r.duration_s);
  std::printf("latency    p50 %s ms, p90 %s ms, p99 %s ms%s (push to pop, queueing included)\n",
              ms(r.latency_s.p50).c_str(), ms(r.latency_s.p90).c_str(), ms(r.latency_s.p99).c_str(),
              est);
  if (r.unloaded_latency_s)
    std::printf("alone      %s ms per inference with one in flight%s\n",
                ms(*r.unloaded_latency_s).c_str(), est);
  std::printf("bubble     %s of stage time idle (mean over stages)\n",
              pct(r.bubble_fraction).c_str());
  if (r.joules_per_inference)
    std::printf("energy     %.4f mJ per inference%s (%s)\n", *r.joules_per_inference * 1e3,
                r.simulated || (r.energy && r.energy->kind == measure::EnergyKind::kEstimated)
                    ? " (estimate)"
                    : "",
                r.power_explanation.c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<PipelineArgs>();
  a->engine.backends = {"cpu", "ref"};
  auto* sub = app.add_subcommand(
      "pipeline", "Run (or simulate) a model cut into K segments as a pipeline over K devices");
  sub->footer(
      "One worker thread per segment, pinned to its device's cores with the device's thread "
      "count, bounded queues between them; inputs pushed back to back (each device's threads come "
      "from the devices file; --threads is not used). --simulate predicts the "
      "same pipeline over modeled devices (estimates).\n"
      "Examples:\n"
      "  frugal pipeline resnet18.onnx --stages 2 --devices host-cores\n"
      "  frugal pipeline segments/ --devices host-cores --queue 4 --json\n"
      "  frugal pipeline resnet50.onnx --stages 4 --devices edgetpu-x8 --precision int8 "
      "--method params --simulate\n"
      "  frugal pipeline m.onnx --stages 2 --devices edgetpu-usb --place 0,0 --precision int8 "
      "--simulate");
  sub->add_option("model", a->request.model, "ONNX model, or a folder from frugal partition")
      ->required();
  sub->add_option("--stages", a->request.stages, "segments (a model: required)");
  sub->add_option("--devices", a->request.devices, "preset or YAML file (default host-cores)");
  sub->add_option("--method", a->request.method,
                  "partition method for a model: params | optimal | profile (default optimal)");
  sub->add_option("--queue", a->queue, "capacity of every queue between stages (default 2)");
  sub->add_option("--duration", a->request.duration_s, "seconds timed (default 3)");
  sub->add_option("--warmup", a->request.warmup_s, "seconds of warm-up before (default 0.5)");
  sub->add_option("--in-flight", a->request.max_in_flight,
                  "inferences in flight at most (default 0: no limit, the queues fill; 1: one "
                  "at a time, latency without queueing)");
  sub->add_option("--power", a->request.power,
                  "auto | rapl | nvml[:GPU] | serial:PATH[@BAUD] | model | none (default none)");
  sub->add_option("--place", a->place,
                  "device index of each stage, e.g. 0,0,1 (default: stage k on device k)");
  sub->add_flag("--simulate", a->request.simulate,
                "predict with the discrete-event simulator instead of running (estimates)");
  sub->add_option("--inferences", a->request.inferences,
                  "--simulate: inferences simulated (default 400)");
  add_engine_options(sub, a->engine);
  sub->add_flag("--json", a->json, "print exactly one Record (docs/record.md)");
  sub->callback([a] {
    prepare(*a);
    const auto outcome = pipeline::run_pipeline(a->request);
    if (a->json)
      print_json(outcome.record);
    else
      print_report(outcome);
  });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(pipeline, 75, setup);

}  // namespace frugal::cli
