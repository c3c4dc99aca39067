#include "frugal/pipeline/pipeline_record.h"

namespace frugal::pipeline {
namespace {

nlohmann::json or_null(const std::optional<double>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
}

nlohmann::json stage_json(const StageReport& s) {
  nlohmann::json energy = nullptr;
  if (!s.energy_source.empty())
    energy = {{"source", s.energy_source},
              {"kind", s.energy_kind},
              {"joules_per_inference", or_null(s.joules_per_inference)}};
  return {{"segment", s.segment},
          {"device", s.device},
          {"estimate", s.estimate},
          {"inferences", s.inferences},
          {"busy_s", s.busy_s},
          {"utilization", s.utilization},
          {"bubble", s.bubble},
          {"wait_input_s", s.wait_input_s},
          {"wait_output_s", s.wait_output_s},
          {"setup_s", s.setup_s},
          {"bytes_in", s.bytes_in},
          {"transfer_ms", s.transfer_ms},
          {"stream_ms", s.stream_ms},
          {"load_ms", s.load_ms},
          {"energy", energy}};
}

nlohmann::json energy_json(const PipelineReport& r) {
  if (r.energy) {
    nlohmann::json e = measure::to_json(*r.energy);
    e["joules_per_inference"] = or_null(r.joules_per_inference);
    e["selection"] = r.power_explanation;
    return e;
  }
  if (!r.joules_per_inference) return nullptr;
  // Simulated: the devices' modeled power, summed over the stages' devices.
  return {{"source", "model"},
          {"kind", "estimated"},
          {"joules_per_inference", *r.joules_per_inference},
          {"note", r.power_explanation}};
}

}  // namespace

nlohmann::json pipeline_results_json(const PipelineReport& r, int64_t batch, size_t queue) {
  nlohmann::json lat = measure::latency_json(r.latency_s);
  lat["duration_s"] = r.duration_s;
  lat["samples_per_query"] = batch;
  lat["estimate"] = r.simulated;
  nlohmann::json thr{{"samples_per_s", r.throughput * static_cast<double>(batch)},
                     {"queries_per_s", r.throughput},
                     {"samples", r.inferences * batch},
                     {"inferences", r.inferences},
                     {"estimate", r.simulated}};
  nlohmann::json stages = nlohmann::json::array();
  for (const auto& s : r.stages) stages.push_back(stage_json(s));
  nlohmann::json pipe{
      {"simulated", r.simulated},
      {"estimate", r.simulated},
      {"queue", queue},
      {"bubble_fraction", r.bubble_fraction},
      {"unloaded_latency_ms", r.unloaded_latency_s ? nlohmann::json(*r.unloaded_latency_s * 1e3)
                                                   : nlohmann::json(nullptr)},
      {"stages", stages}};
  return {{"latency", lat},           {"throughput", thr},   {"memory", nullptr},
          {"energy", energy_json(r)}, {"accuracy", nullptr}, {"profile", nullptr},
          {"pipeline", pipe}};
}

}  // namespace frugal::pipeline
