// `frugal pipeline` as library calls: a model cut into segments, placed on devices (one
// stage per device unless a placement shares them), then either run for real on the host
// devices (bench_pipeline: PipelineRunner, measured) or simulated over the devices'
// models (pipeline_sim.h, estimated). Both report throughput, latency percentiles, each
// stage's utilization and bubble (idle) fraction, the traffic between stages and the
// energy per inference per device.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/measure/power.h"
#include "frugal/measure/stats.h"
#include "frugal/pipeline/devices.h"
#include "frugal/runtime/session.h"

namespace frugal::pipeline {

// A model cut into segments, in pipeline order.
struct Segments {
  std::string origin;  // the model file, or the manifest of a partition folder
  std::string method;  // how it was cut: params, optimal, profile, even-macs, ...
  std::vector<std::string> names;
  std::vector<ir::Graph> graphs;
  std::vector<std::string> model_inputs, model_outputs;
};

// Stage k runs on devices[placement[k]]. An empty placement is stage k on device k, which
// needs as many devices as stages (UserError naming --stages and the devices otherwise).
// Throws UserError for an index outside the device list or a placement of the wrong
// length.
std::vector<size_t> resolve_placement(size_t stages, const DeviceSet& devices,
                                      const std::vector<size_t>& placement);

struct PipelineBenchOptions {
  size_t queue = 2;       // capacity of every queue between stages
  double duration_s = 3;  // timed part
  double warmup_s = 0.5;  // before it, after every Session is compiled
  // Backends, calibrated ranges, batch (infer.batch) of every segment's Session; the
  // thread count comes from each device.
  runtime::SessionOptions session;
  std::string power = "none";  // a --power spec (measure/power_select.h)
  std::vector<size_t> placement;
  // Inferences pushed and not yet popped, at most (0: no limit, the queues saturate and
  // latency includes queueing; 1: one at a time, latency is the pipeline's alone).
  int64_t max_in_flight = 0;
};

struct StageReport {
  std::string segment, device;
  bool estimate = false;  // the device is modeled: every figure below is an estimate
  int64_t inferences = 0;
  double busy_s = 0;
  double utilization = 0;    // busy / duration
  double bubble = 0;         // 1 - utilization: the stage's idle fraction
  double wait_input_s = 0;   // starved by the stage before
  double wait_output_s = 0;  // blocked by the stage after
  double setup_s = 0;        // Session compile on its thread (real runs)
  int64_t bytes_in = 0;      // per inference, received from the stage before (or the host)
  double transfer_ms = 0;    // per inference: handoff (real: queue residence) or link time
  double stream_ms = 0;      // per inference: parameters streamed (modeled devices)
  double load_ms = 0;        // per inference: model reloads on a shared device (modeled)
  std::optional<double> joules_per_inference;  // this device's; null when not separable
  std::string energy_source, energy_kind;
};

struct PipelineReport {
  bool simulated = false;
  int64_t inferences = 0;
  double duration_s = 0;
  double throughput = 0;  // inferences per second
  measure::Summary latency_s;
  // One inference alone in the pipeline (no queueing): the "inference time" against K.
  // Simulated runs only (a second simulation with one inference in flight).
  std::optional<double> unloaded_latency_s;
  std::vector<StageReport> stages;
  double bubble_fraction = 0;  // mean of the stages' idle fractions
  // The whole pipeline's energy where a meter measured it (rapl) or the estimates summed.
  std::optional<measure::Reading> energy;
  std::optional<double> joules_per_inference;
  std::string power_explanation;
};

// Runs the segments as a pipeline on host devices (kind cpu), each worker pinned to its
// device's cores with its thread count, on seeded random inputs, and measures it. Throws
// UserError for a modeled device (only the simulator runs those), bad placement, queue 0.
PipelineReport bench_pipeline(const Segments& segments, const DeviceSet& devices,
                              const PipelineBenchOptions& options);

}  // namespace frugal::pipeline
