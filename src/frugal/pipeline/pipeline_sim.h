// `frugal pipeline --simulate`: the segments placed on the devices, each stage's time
// per inference priced (a modeled device: its model; host cores: the segment measured
// alone on its cores, with its thread count), then the pipeline simulated (simulator.h).
// Modeled devices' figures are estimates and say so (StageReport::estimate).
#pragma once

#include "frugal/pipeline/pipeline_bench.h"
#include "frugal/pipeline/simulator.h"

namespace frugal::pipeline {

struct PipelineSimOptions {
  size_t queue = 2;
  int64_t inferences = 400;        // simulated, of which the first tenth is warm-up
  std::string precision = "fp32";  // prices parameters; picks a model device's MAC/s
  // Host-core segments' Sessions (backends, ranges, batch); threads come from the device.
  runtime::SessionOptions session;
  double measure_s = 1.0;  // timing of each host-core segment alone
  std::vector<size_t> placement;
  int64_t max_in_flight = 0;  // SimOptions::max_in_flight
};

// One stage's time on a modeled device (devices.h's formula, split into the link, the
// compute and the streaming of parameters beyond the on-chip memory). Throws UserError
// when the device has no MAC/s for the precision.
SimStage model_stage(const std::string& name, size_t device_index, const Device& device,
                     int64_t macs, int64_t layers, int64_t param_bytes, int64_t bytes_in,
                     int64_t bytes_out, const std::string& precision);

PipelineReport simulate_pipeline(const Segments& segments, const DeviceSet& devices,
                                 const PipelineSimOptions& options);

}  // namespace frugal::pipeline
