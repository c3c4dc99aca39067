#include "frugal/pipeline/runner.h"

#include <set>

#include "frugal/core/error.h"
#include "frugal/measure/affinity.h"

namespace frugal::pipeline {

void check_chain(const std::vector<SegmentPorts>& segments,
                 const std::vector<std::string>& model_inputs,
                 const std::vector<std::string>& model_outputs, const std::string& origin) {
  if (segments.empty()) throw UserError(origin + ": no segments");
  std::map<std::string, std::string> available;  // value -> who provides it
  for (const auto& v : model_inputs) available[v] = "the model's inputs";
  for (const auto& s : segments) {
    for (const auto& v : s.inputs)
      if (!available.count(v))
        throw UserError(origin + ": segments do not chain: " + s.name + " reads '" + v +
                        "', which no model input and no earlier segment provides");
    for (const auto& v : s.outputs) available.emplace(v, s.name);
  }
  for (const auto& v : model_outputs)
    if (!available.count(v))
      throw UserError(origin + ": segments do not chain: no segment writes the model output '" + v +
                      "'");
}

std::vector<std::vector<std::string>> values_live_after(
    const std::vector<SegmentPorts>& segments, const std::vector<std::string>& model_outputs) {
  std::vector<std::vector<std::string>> live(segments.size());
  std::set<std::string> needed(model_outputs.begin(), model_outputs.end());
  for (size_t k = segments.size(); k-- > 0;) {
    live[k].assign(needed.begin(), needed.end());
    for (const auto& v : segments[k].inputs) needed.insert(v);
  }
  return live;
}

namespace {

std::vector<std::string> names(const std::vector<ir::ValueInfo>& values) {
  std::vector<std::string> out;
  for (const auto& v : values) out.push_back(v.name);
  return out;
}

}  // namespace

PipelineRunner::PipelineRunner(std::vector<SegmentRun> segments,
                               std::vector<std::string> model_inputs,
                               std::vector<std::string> model_outputs, size_t queue_capacity,
                               const std::string& origin)
    : model_inputs_(std::move(model_inputs)), model_outputs_(std::move(model_outputs)) {
  std::vector<SegmentPorts> ports;
  for (const auto& s : segments)
    ports.push_back({s.name, names(s.graph.inputs), names(s.graph.outputs)});
  check_chain(ports, model_inputs_, model_outputs_, origin);
  const auto keep = values_live_after(ports, model_outputs_);
  traffic_.resize(segments.size());
  owned_sessions_.resize(segments.size());
  sessions_.resize(segments.size(), nullptr);
  std::vector<StagePipeline<Item>::Stage> stages;
  for (size_t k = 0; k < segments.size(); ++k)
    stages.push_back(make_stage(k, std::move(segments[k]), keep[k]));
  pipeline_ = std::make_unique<StagePipeline<Item>>(std::move(stages), queue_capacity);
}

PipelineRunner::~PipelineRunner() {
  pipeline_.reset();
}

StagePipeline<PipelineRunner::Item>::Stage PipelineRunner::make_stage(
    size_t k, SegmentRun segment, std::vector<std::string> keep) {
  const std::string name = segment.name;
  // The Session is built on the worker's thread, after pinning: its thread count is set
  // there and the compute threads it starts inherit the pinning.
  auto setup = [this, k, segment = std::move(segment), keep = std::move(keep)]() mutable {
    if (!segment.cpus.empty()) measure::pin_to_cpus(segment.cpus);
    segment.options.origin = segment.name;
    owned_sessions_[k] = std::make_unique<runtime::Session>(segment.graph, segment.options);
    runtime::Session* session = owned_sessions_[k].get();
    sessions_[k] = session;
    SegmentTraffic* traffic = &traffic_[k];
    return StagePipeline<Item>::Fn([session, traffic, keep](Item item) {
      const auto start = Clock::now();
      traffic->handoff_s += std::chrono::duration<double>(start - item.left_stage).count();
      ++traffic->handoffs;
      std::vector<Tensor> inputs;
      int64_t bytes_in = 0;
      for (const auto& port : session->inputs()) {
        const Tensor& t = item.values.at(port.name);
        bytes_in += static_cast<int64_t>(t.nbytes());
        inputs.push_back(t);
      }
      traffic->bytes_in = bytes_in;
      auto outputs = session->run(inputs);
      for (size_t i = 0; i < outputs.size(); ++i)
        item.values[session->outputs()[i].name] = std::move(outputs[i]);
      std::map<std::string, Tensor> kept;
      for (const auto& v : keep)  // values later segments write are not there yet
        if (auto it = item.values.find(v); it != item.values.end()) kept[v] = std::move(it->second);
      item.values = std::move(kept);
      item.left_stage = Clock::now();
      return item;
    });
  };
  return {name, std::move(setup)};
}

void PipelineRunner::push(std::vector<Tensor> inputs) {
  if (inputs.size() != model_inputs_.size())
    throw UserError("pipeline: " + std::to_string(inputs.size()) + " inputs given, the model has " +
                    std::to_string(model_inputs_.size()));
  Item item;
  for (size_t i = 0; i < inputs.size(); ++i) item.values[model_inputs_[i]] = std::move(inputs[i]);
  item.pushed = item.left_stage = Clock::now();
  pipeline_->push(std::move(item));
}

std::optional<std::vector<Tensor>> PipelineRunner::pop() {
  auto item = pipeline_->pop();
  if (!item) return std::nullopt;
  latencies_s_.push_back(std::chrono::duration<double>(Clock::now() - item->pushed).count());
  std::vector<Tensor> outputs;
  for (const auto& v : model_outputs_) outputs.push_back(std::move(item->values.at(v)));
  return outputs;
}

}  // namespace frugal::pipeline
