// PipelineRunner: a model cut into segments, run as a pipeline (Coral's
// PipelinedModelRunner): one worker thread per segment, pinned to its device's cores, each
// with its own runtime::Session built on that thread with the device's thread count;
// bounded queues between them (stage_pipeline.h). push(inputs) / pop() -> outputs in push
// order; close() ends the stream. Values flow between segments by name: a value a later
// segment reads (a residual across a cut) rides along until its last reader.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/pipeline/stage_pipeline.h"
#include "frugal/runtime/session.h"

namespace frugal::pipeline {

// The names a segment reads and writes.
struct SegmentPorts {
  std::string name;  // for messages: "segment 1 (seg1.onnx)"
  std::vector<std::string> inputs, outputs;
};

// Checks that the segments chain: every input of a segment is a model input or an output
// of an earlier segment, and every model output is written by some segment. Throws
// UserError naming `origin`, the segment and the value.
void check_chain(const std::vector<SegmentPorts>& segments,
                 const std::vector<std::string>& model_inputs,
                 const std::vector<std::string>& model_outputs, const std::string& origin);

// Per segment: the values that must still travel after it ran (read by a later segment,
// or a model output).
std::vector<std::vector<std::string>> values_live_after(
    const std::vector<SegmentPorts>& segments, const std::vector<std::string>& model_outputs);

struct SegmentRun {
  std::string name;
  ir::Graph graph;
  std::vector<int> cpus;            // the worker is pinned here; empty: not pinned
  runtime::SessionOptions options;  // backends; `threads` is set on the worker's thread
};

// What the runner measures beyond StageStats, per segment.
struct SegmentTraffic {
  int64_t bytes_in = 0;  // per inference: tensors the segment receives
  double handoff_s = 0;  // summed: from the previous stage's end to this stage's start
  int64_t handoffs = 0;
};

class PipelineRunner {
 public:
  using Clock = std::chrono::steady_clock;
  // Compiles nothing on the calling thread: each worker builds its Session. Checks the
  // chain first (UserError naming `origin`). queue_capacity >= 1.
  PipelineRunner(std::vector<SegmentRun> segments, std::vector<std::string> model_inputs,
                 std::vector<std::string> model_outputs, size_t queue_capacity,
                 const std::string& origin);
  ~PipelineRunner();

  // Blocks until every segment's Session is compiled; throws the first failure.
  void wait_ready() { pipeline_->wait_ready(); }
  // Inputs in model-input order. Blocks while the first queue is full.
  void push(std::vector<Tensor> inputs);
  void close() { pipeline_->close(); }
  // Drops the items in flight and stops the workers (a caller giving up mid-stream).
  void abort() { pipeline_->abort(); }
  // Outputs in model-output order, in push order; nothing after the end of the stream.
  // Records the push-to-pop latency of each result (latencies_s).
  std::optional<std::vector<Tensor>> pop();
  // Joins the workers and throws the first failure.
  void finish() { pipeline_->finish(); }

  size_t stages() const { return pipeline_->size(); }
  std::vector<StageStats> stats() const { return pipeline_->stats(); }
  // Exact after finish(): the workers write it.
  const std::vector<SegmentTraffic>& traffic() const { return traffic_; }
  // Push-to-pop latency of each popped result, in order (the popping thread's).
  const std::vector<double>& latencies_s() const { return latencies_s_; }
  // Each segment's Session, built on its worker: valid once wait_ready() returned.
  const std::vector<runtime::Session*>& sessions() const { return sessions_; }

 private:
  struct Item {
    std::map<std::string, Tensor> values;
    Clock::time_point pushed, left_stage;
  };
  StagePipeline<Item>::Stage make_stage(size_t k, SegmentRun segment,
                                        std::vector<std::string> keep);

  std::vector<std::string> model_inputs_, model_outputs_;
  std::vector<SegmentTraffic> traffic_;
  std::vector<std::unique_ptr<runtime::Session>> owned_sessions_;
  std::vector<runtime::Session*> sessions_;
  std::vector<double> latencies_s_;
  std::unique_ptr<StagePipeline<Item>> pipeline_;  // last: its workers use the members above
};

}  // namespace frugal::pipeline
