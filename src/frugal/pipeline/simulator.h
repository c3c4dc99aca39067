// A discrete-event simulator of the pipeline runner (runner.h) over devices that need not
// exist: the same chain of stages, each with its worker, bounded queues of the same
// capacity, a source that pushes as fast as the first queue takes items and a sink that
// pops at once. Each inference of a stage occupies its device for: its inputs over the
// device's link, its compute, the streaming of the parameters that do not fit on chip, its
// outputs over the link; and, when several stages share one device, a model load each
// time the device switches segment (an Edge TPU reloads in 9 to 15 ms). A stage whose
// output queue is full holds its result (blocking after service) but frees its device.
//
// Every figure it gives for a modeled device is an estimate.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace frugal::pipeline {

struct SimDevice {
  std::string name;
  double load_s = 0;  // loading a segment when the device switches to it
  double idle_w = 0, active_w = 0;
};

// Per inference, in seconds.
struct SimStage {
  std::string name;
  size_t device = 0;  // index in the device list
  double transfer_in_s = 0;
  double compute_s = 0;
  double stream_s = 0;  // parameters beyond the on-chip memory, streamed every inference
  double transfer_out_s = 0;
  double service_s() const { return transfer_in_s + compute_s + stream_s + transfer_out_s; }
};

struct SimOptions {
  size_t queue = 2;          // capacity of every queue (>= 1)
  int64_t inferences = 200;  // pushed
  // Leading inferences left out of the throughput and latency figures (filling the pipe).
  int64_t warmup = 20;
  // Inferences pushed and not yet popped, at most (0: no limit; 1: one at a time, so that
  // the latency holds no queueing), as PipelineBenchOptions::max_in_flight.
  int64_t max_in_flight = 0;
};

struct SimStageResult {
  std::string name;
  int64_t items = 0;
  double busy_s = 0;  // device time: transfers, compute, streaming, loads
  double transfer_s = 0, stream_s = 0, load_s = 0;
  int64_t loads = 0;         // model switches on its device
  double wait_input_s = 0;   // idle with an empty queue or its device taken
  double wait_output_s = 0;  // holding a result, the next queue full
  double utilization = 0;    // busy_s / span_s
};

struct SimDeviceResult {
  std::string name;
  double busy_s = 0;
  double joules = 0;  // active_w x busy + idle_w x idle over span_s
  double joules_per_inference = 0;
};

struct SimResult {
  double span_s = 0;                // first push to last pop
  double throughput = 0;            // inferences/s after warm-up
  std::vector<double> latencies_s;  // push to pop, per inference after warm-up
  std::vector<SimStageResult> stages;
  std::vector<SimDeviceResult> devices;
};

// Throws UserError for an empty chain, a stage naming no device, queue 0, fewer
// inferences than warm-up + 2, a negative in-flight limit.
SimResult simulate(const std::vector<SimDevice>& devices, const std::vector<SimStage>& stages,
                   const SimOptions& options);

}  // namespace frugal::pipeline
