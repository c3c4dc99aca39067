// A pipeline run (measured or simulated) as a Record (docs/record.md): the usual latency,
// throughput and energy sections, and `results.pipeline` with each stage's device,
// utilization, bubble fraction, traffic and energy. Simulated runs are labelled estimates.
#pragma once

#include <nlohmann/json.hpp>

#include "frugal/measure/record.h"
#include "frugal/pipeline/pipeline_bench.h"

namespace frugal::pipeline {

// results: {latency, throughput, memory: null, energy, accuracy: null, profile: null,
// pipeline}. `batch` turns inferences into samples; `queue` is the queues' capacity.
nlohmann::json pipeline_results_json(const PipelineReport& report, int64_t batch, size_t queue);

}  // namespace frugal::pipeline
