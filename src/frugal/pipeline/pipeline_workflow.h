// `frugal pipeline MODEL|DIR` as one library call: the segments (a partition folder's, or
// the model cut by partition() over the devices), run as a pipeline (measured) or
// simulated, and the Record of it.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/pipeline/pipeline_bench.h"
#include "frugal/pipeline/pipeline_sim.h"

namespace frugal::pipeline {

struct PipelineRequest {
  std::string model;  // an ONNX file, or a folder written by `frugal partition` (manifest.json)
  std::string devices = "host-cores";  // preset or YAML file
  int stages = 0;                      // a model: required (>= 1); a folder: 0 or its segment count
  std::string method = "optimal";      // partition method for a model (params, optimal, profile)
  std::string precision = "fp32";      // prices parameters; picks a modeled device's MAC/s
  bool simulate = false;
  size_t queue = 2;
  double duration_s = 3, warmup_s = 0.5;  // measured runs
  int64_t inferences = 400;               // simulated runs
  std::string power = "none";             // measured runs
  int64_t max_in_flight = 0;              // PipelineBenchOptions, SimOptions
  std::vector<size_t> placement;          // device index per stage; empty: stage k on device k
  runtime::SessionOptions session;        // backends, ranges, batch; threads per device
};

// The model cut into request.stages segments by partition(), or the folder's segments
// (read_manifest checks that they chain). UserError for a folder whose segment count
// differs from a non-zero --stages.
Segments load_segments(const PipelineRequest& request, const DeviceSet& devices);

struct PipelineOutcome {
  Segments segments;
  DeviceSet devices;
  PipelineReport report;
  nlohmann::json record;  // docs/record.md, with what.stages, what.devices, what.partition
};

PipelineOutcome run_pipeline(const PipelineRequest& request);

}  // namespace frugal::pipeline
