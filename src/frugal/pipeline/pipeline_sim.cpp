#include "frugal/pipeline/pipeline_sim.h"

#include <optional>

#include "frugal/core/error.h"
#include "frugal/measure/random_input.h"
#include "frugal/measure/session_bench.h"
#include "frugal/pipeline/accel_device.h"
#include "frugal/pipeline/chain.h"
#include "frugal/pipeline/cpu_thread.h"

namespace frugal::pipeline {

SimStage model_stage(const std::string& name, size_t device_index, const Device& device,
                     int64_t macs, int64_t layers, int64_t param_bytes, int64_t bytes_in,
                     int64_t bytes_out, const std::string& precision) {
  const ModelDevice& m = device.model;
  const auto peak = m.peak_macs_per_s.find(precision);
  if (peak == m.peak_macs_per_s.end() || peak->second <= 0)
    throw UserError(device.origin + ": device '" + device.name + "' gives no peak_macs_per_s for " +
                    precision);
  SimStage s;
  s.name = name;
  s.device = device_index;
  const double link = m.link_bytes_per_s > 0 ? m.link_bytes_per_s : 0;
  s.transfer_in_s = m.link_latency_s + (link > 0 ? static_cast<double>(bytes_in) / link : 0);
  s.transfer_out_s = link > 0 ? static_cast<double>(bytes_out) / link : 0;
  s.compute_s =
      static_cast<double>(layers) * m.layer_overhead_s + static_cast<double>(macs) / peak->second;
  const int64_t spill = std::max<int64_t>(0, param_bytes - m.param_memory_bytes);
  if (spill > 0 && m.stream_bytes_per_s > 0)
    s.stream_s = static_cast<double>(spill) / m.stream_bytes_per_s;
  return s;
}

namespace {

SimStage remote_stage(const std::string& name, size_t device_index, const Device& device,
                      const SegmentStats& st) {
  const RemoteDevice& r = device.remote;
  if (r.server_macs_per_s <= 0 || r.up_bytes_per_s <= 0 || r.down_bytes_per_s <= 0)
    throw UserError(device.origin + ": remote device '" + device.name +
                    "' needs server_macs_per_s and both link bandwidths");
  SimStage s;
  s.name = name;
  s.device = device_index;
  s.transfer_in_s = r.rtt_s / 2 + static_cast<double>(st.bytes_in) / r.up_bytes_per_s;
  s.transfer_out_s = r.rtt_s / 2 + static_cast<double>(st.bytes_out) / r.down_bytes_per_s;
  s.compute_s = static_cast<double>(st.layers) * r.layer_overhead_s +
                static_cast<double>(st.macs) / r.server_macs_per_s;
  return s;
}

// A segment on an accel device: its nodes' estimates (the segment's graph mapped onto the
// architecture) plus the host link; `joules` receives their energy.
SimStage accel_stage(const std::string& name, size_t device_index, const Device& device,
                     const ir::Graph& graph, const SegmentStats& st,
                     const PipelineSimOptions& options, std::optional<double>& joules) {
  const auto costs = accel_node_costs(graph, device.accel, options.session.infer.batch);
  std::vector<std::string> nodes;
  for (const auto& n : graph.nodes) nodes.push_back(n.name);
  const accel::NodeEstimate sum = accel_sum(costs, nodes);
  const LinkTime link = accel_link(device.accel, st.bytes_in, st.bytes_out);
  SimStage s;
  s.name = name;
  s.device = device_index;
  s.transfer_in_s = link.in_s;
  s.compute_s = sum.seconds;
  s.transfer_out_s = link.out_s;
  joules = sum.joules;
  return s;
}

// The segment alone on its host device: a thread pinned to the device's cores runs its
// Session (built there, with the device's thread count); the mean latency, which sets
// the throughput it can sustain (the median would miss the slow tail a loaded machine adds).
double measure_alone(const ir::Graph& graph, const std::string& name, const Device& device,
                     const PipelineSimOptions& options) {
  return on_cpu_thread(device.cpu.cores, [&] {
    runtime::SessionOptions so = options.session;
    so.threads = device.cpu.threads;
    so.origin = name;
    runtime::Session session(graph, so);
    std::vector<Tensor> inputs;
    for (size_t i = 0; i < session.inputs().size(); ++i)
      inputs.push_back(
          measure::random_tensor(session.inputs()[i].dtype, session.inputs()[i].shape, i));
    measure::BenchOptions bo;
    bo.min_duration_s = options.measure_s;
    bo.min_queries = 20;
    bo.warmup_s = 0.2;
    return measure::bench_session(session, inputs, bo, false).bench.latency.mean;
  });
}

// A whole segment's parameters, MACs, layers and bytes in and out.
SegmentStats segment_stats(const ir::Graph& graph, const PipelineSimOptions& options) {
  const Chain chain(graph, bytes_per_param(options.precision), options.session.infer);
  return chain.stats(0, chain.size());
}

SimStage stage_on(const Segments& segments, size_t k, const SegmentStats& st,
                  const DeviceSet& devices, size_t d, const PipelineSimOptions& options,
                  std::optional<double>& accel_joules) {
  const Device& device = devices.devices[d];
  const std::string& name = segments.names[k];
  switch (device.kind) {
    case DeviceKind::kModel:
      return model_stage(name, d, device, st.macs, st.layers, st.param_bytes, st.bytes_in,
                         st.bytes_out, options.precision);
    case DeviceKind::kRemote:
      return remote_stage(name, d, device, st);
    case DeviceKind::kAccel:
      return accel_stage(name, d, device, segments.graphs[k], st, options, accel_joules);
    case DeviceKind::kCpu: {
      SimStage s;
      s.name = name;
      s.device = d;
      s.compute_s = measure_alone(segments.graphs[k], name, device, options);
      return s;  // host memory is shared: values pass by reference, no transfer
    }
    case DeviceKind::kCuda:
      break;
  }
  throw UserError(devices.source + ": device '" + device.name +
                  "' (cuda): no backend of this build runs there");
}

SimDevice sim_device(const Device& d) {
  SimDevice s;
  s.name = d.name;
  if (d.kind == DeviceKind::kModel) {
    s.load_s = d.model.load_s;
    s.idle_w = d.model.idle_w;
    s.active_w = d.model.active_w;
  }
  return s;
}

// Energy per inference of each stage's device. A modeled device: its idle and active
// power over the simulated timeline; a remote one: the client's radio for the bytes it
// sends and receives; an accel device: its nodes' estimated energy; host cores have no power
// figures here (null).
void attribute_energy(PipelineReport& report, const SimResult& r,
                      const std::vector<SegmentStats>& stats, const DeviceSet& devices,
                      const std::vector<size_t>& place,
                      const std::vector<std::optional<double>>& accel_joules) {
  double total = 0;
  bool any = false;
  std::vector<bool> counted(devices.devices.size(), false);
  for (size_t k = 0; k < report.stages.size(); ++k) {
    const Device& d = devices.devices[place[k]];
    StageReport& s = report.stages[k];
    if (d.kind == DeviceKind::kModel && (d.model.idle_w > 0 || d.model.active_w > 0)) {
      s.joules_per_inference = r.devices[place[k]].joules_per_inference;
      s.energy_source = "model (" + d.name + " idle/active power)";
      if (!counted[place[k]]) total += *s.joules_per_inference;
      counted[place[k]] = any = true;
    } else if (d.kind == DeviceKind::kRemote) {
      const SegmentStats& st = stats[k];
      s.joules_per_inference = d.remote.sent_j_per_byte * static_cast<double>(st.bytes_in) +
                               d.remote.received_j_per_byte * static_cast<double>(st.bytes_out);
      s.energy_source = "model (radio of the client, per byte)";
      total += *s.joules_per_inference;
      any = true;
    } else if (d.kind == DeviceKind::kAccel && accel_joules[k]) {
      s.joules_per_inference = accel_joules[k];
      s.energy_source = "accel model (" + d.accel.arch.name + ", " +
                        numeric::to_string(d.accel.formats) + "; analytical estimate)";
      total += *s.joules_per_inference;
      any = true;
    }
    if (s.joules_per_inference) s.energy_kind = "estimated";
  }
  if (any) report.joules_per_inference = total;
  report.power_explanation = "simulated: energy from the devices' power figures (estimates)";
}

}  // namespace

PipelineReport simulate_pipeline(const Segments& segments, const DeviceSet& devices,
                                 const PipelineSimOptions& options) {
  const auto place = resolve_placement(segments.graphs.size(), devices, options.placement);
  std::vector<SimDevice> sim_devices;
  for (const Device& d : devices.devices) sim_devices.push_back(sim_device(d));
  std::vector<SegmentStats> stats;
  std::vector<SimStage> stages;
  std::vector<std::optional<double>> accel_joules(segments.graphs.size());
  for (size_t k = 0; k < segments.graphs.size(); ++k) {
    stats.push_back(segment_stats(segments.graphs[k], options));
    stages.push_back(
        stage_on(segments, k, stats.back(), devices, place[k], options, accel_joules[k]));
  }
  SimOptions so;
  so.queue = options.queue;
  so.inferences = options.inferences;
  so.warmup = options.inferences / 10;
  so.max_in_flight = options.max_in_flight;
  const SimResult r = simulate(sim_devices, stages, so);
  SimOptions alone = so;
  alone.max_in_flight = 1;

  PipelineReport report;
  report.simulated = true;
  report.inferences = static_cast<int64_t>(r.latencies_s.size());
  report.duration_s = r.span_s;
  report.throughput = r.throughput;
  report.latency_s = measure::summarize(r.latencies_s);
  report.unloaded_latency_s =
      measure::summarize(simulate(sim_devices, stages, alone).latencies_s).mean;
  for (size_t k = 0; k < stages.size(); ++k) {
    const SimStageResult& s = r.stages[k];
    const Device& d = devices.devices[place[k]];
    StageReport sr;
    sr.segment = segments.names[k];
    sr.device = d.name;
    sr.estimate = true;  // every simulated figure is a prediction
    sr.inferences = s.items;
    sr.bytes_in = stats[k].bytes_in;
    sr.busy_s = s.busy_s;
    sr.utilization = s.utilization;
    sr.bubble = 1 - s.utilization;
    sr.wait_input_s = s.wait_input_s;
    sr.wait_output_s = s.wait_output_s;
    const double n = static_cast<double>(std::max<int64_t>(1, s.items));
    sr.transfer_ms = s.transfer_s / n * 1e3;
    sr.stream_ms = s.stream_s / n * 1e3;
    sr.load_ms = s.load_s / n * 1e3;
    report.stages.push_back(sr);
    report.bubble_fraction += sr.bubble / static_cast<double>(stages.size());
  }
  attribute_energy(report, r, stats, devices, place, accel_joules);
  return report;
}

}  // namespace frugal::pipeline
