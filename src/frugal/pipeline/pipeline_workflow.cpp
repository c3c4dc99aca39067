#include "frugal/pipeline/pipeline_workflow.h"

#include <ctime>
#include <filesystem>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/ir/subgraph.h"
#include "frugal/measure/affinity.h"
#include "frugal/measure/sha256.h"
#include "frugal/pipeline/partition.h"
#include "frugal/pipeline/pipeline_record.h"
#include "frugal/pipeline/segments.h"

namespace frugal::pipeline {
namespace {

namespace fs = std::filesystem;

Segments folder_segments(const PipelineRequest& r) {
  const Manifest m = read_manifest(r.model);  // checks that the segments chain
  if (r.stages != 0 && static_cast<size_t>(r.stages) != m.segments.size())
    throw UserError("--stages " + std::to_string(r.stages) + ": " + r.model + " holds " +
                    std::to_string(m.segments.size()) + " segments");
  Segments s;
  s.origin = (fs::path(r.model) / "manifest.json").string();
  s.method = m.json.value("method", "manifest");
  s.model_inputs = m.inputs;
  s.model_outputs = m.outputs;
  for (const auto& seg : m.segments) {
    s.names.push_back(fs::path(seg.file).filename().string());
    s.graphs.push_back(ir::load_onnx(seg.file));
  }
  return s;
}

// The devices stage k runs on, in stage order: what partition() cuts for.
DeviceSet placed_devices(const DeviceSet& devices, const std::vector<size_t>& place) {
  DeviceSet placed{devices.source, {}};
  for (size_t d : place) placed.devices.push_back(devices.devices[d]);
  return placed;
}

Segments model_segments(const PipelineRequest& r, const DeviceSet& devices) {
  if (r.stages < 1)
    throw UserError("--stages: must be at least 1, got " + std::to_string(r.stages));
  const ir::Graph graph = ir::load_onnx(r.model);
  PartitionOptions o;
  o.stages = r.stages;
  o.method = parse_method(r.method);
  o.precision = r.precision;
  o.session = r.session;
  const auto place = resolve_placement(static_cast<size_t>(r.stages), devices, r.placement);
  const Partition p = partition(graph, placed_devices(devices, place), o);
  Segments s;
  s.origin = r.model;
  s.method = method_name(p.method);
  for (const auto& v : p.graph.inputs) s.model_inputs.push_back(v.name);
  for (const auto& v : p.graph.outputs) s.model_outputs.push_back(v.name);
  for (size_t k = 0; k < p.segments.size(); ++k) {
    const SegmentStats& st = p.segments[k].stats;
    s.names.push_back("segment " + std::to_string(k));
    s.graphs.push_back(ir::extract(p.graph, st.inputs, st.outputs));
  }
  return s;
}

measure::RecordWhat record_what(const PipelineRequest& r, const Segments& s,
                                const DeviceSet& devices, const std::vector<size_t>& place) {
  measure::RecordWhat w;
  w.model = r.model;
  w.model_digest = measure::sha256_file(fs::is_directory(r.model) ? s.origin : r.model);
  w.backends = r.session.backends;
  w.precision = r.precision;
  w.batch = r.session.infer.batch;
  w.scenario = r.simulate ? "pipeline-simulated" : "pipeline";
  w.stages = static_cast<int>(s.graphs.size());
  w.devices = devices.source;
  w.partition = s.method;
  // Threads summed over the stages; the pinning as each stage's CPU list.
  w.threads = 0;
  std::string pinning;
  for (size_t d : place) {
    const Device& dev = devices.devices[d];
    w.threads += dev.kind == DeviceKind::kCpu ? dev.cpu.threads : 0;
    const std::string cpus = dev.cpu.cores.empty() ? "any" : measure::cpu_list_str(dev.cpu.cores);
    pinning += (pinning.empty() ? "" : "|") + (dev.kind == DeviceKind::kCpu ? cpus : dev.name);
  }
  w.pinning = pinning;
  return w;
}

}  // namespace

Segments load_segments(const PipelineRequest& request, const DeviceSet& devices) {
  if (fs::is_directory(request.model)) return folder_segments(request);
  return model_segments(request, devices);
}

PipelineOutcome run_pipeline(const PipelineRequest& r) {
  // Before the partitioner's profiling: options that cannot work fail at once.
  if (r.queue == 0) throw UserError("--queue: a queue must hold at least 1 item (got 0)");
  if (!r.simulate && !(r.duration_s > 0)) throw UserError("--duration: must be positive");
  const std::time_t started = std::time(nullptr);
  PipelineOutcome out;
  out.devices = load_devices(r.devices);
  out.segments = load_segments(r, out.devices);
  const auto place = resolve_placement(out.segments.graphs.size(), out.devices, r.placement);
  if (r.simulate) {
    PipelineSimOptions o;
    o.queue = r.queue;
    o.inferences = r.inferences;
    o.precision = r.precision;
    o.session = r.session;
    o.placement = place;
    o.max_in_flight = r.max_in_flight;
    out.report = simulate_pipeline(out.segments, out.devices, o);
  } else {
    PipelineBenchOptions o;
    o.queue = r.queue;
    o.duration_s = r.duration_s;
    o.warmup_s = r.warmup_s;
    o.session = r.session;
    o.power = r.power;
    o.max_in_flight = r.max_in_flight;
    o.placement = place;
    out.report = bench_pipeline(out.segments, out.devices, o);
  }
  out.record =
      measure::make_record(record_what(r, out.segments, out.devices, place),
                           pipeline_results_json(out.report, r.session.infer.batch, r.queue),
                           measure::record_where(measure::describe_system(), started));
  return out;
}

}  // namespace frugal::pipeline
