// Session: compiles a Graph into a Plan (shapes inferred and constants folded once,
// a kernel chosen per node with the reasons other backends declined) and runs it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frugal/runtime/plan.h"
#include "frugal/runtime/sub_batch.h"

namespace frugal::kernels {
class ThreadScope;
}

namespace frugal::runtime {

// Per-node timing hook for profilers (measure layer); called around each kernel.
struct NodeObserver {
  virtual ~NodeObserver() = default;
  virtual void before(size_t step) {}
  virtual void after(size_t step) {}
  // After `after`, for a step on a queued device (core/queued_device.h): its time on the
  // device, between timestamps queued around it.
  virtual void device_time(size_t step, double seconds) {}
};

// Device time of runs on queued devices (a GPU), by phase: copies to the device, the steps
// that run on it, copies back to the host; summed over `runs`, from timestamps queued
// between the phases (core/queued_device.h), so host-side launch time is not counted.
struct DeviceTimes {
  double to_device_s = 0, compute_s = 0, to_host_s = 0;
  int64_t runs = 0;
};

class Session {
 public:
  // Compiles `graph` (copied). Throws UnsupportedError listing every unsupported node,
  // UserError for an inconsistent model or bad options.
  Session(const ir::Graph& graph, SessionOptions options = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  struct Port {
    std::string name;
    DType dtype;
    Shape shape;  // concrete (batch fixed); outputs of dynamic graphs may be empty
  };
  const std::vector<Port>& inputs() const { return inputs_; }
  const std::vector<Port>& outputs() const { return outputs_; }
  // How a batch runs: as one run, or as consecutive runs of the compiled plan over slices of
  // the batch (SessionOptions::sub_batch). The plan, its shapes, arenas and costs (graph(),
  // info(), arena_bytes()) are then those of one sub-batch; inputs() and outputs() the
  // whole batch's. A split plan (SubBatch::prefix_nodes) is one run of the whole batch
  // whose graph() holds the copies of the first nodes (runtime/batch_split.h).
  const SubBatch& sub_batch() const { return sub_; }

  // Runs once on the calling thread, with the session's thread count on that thread for
  // the run (restored after). Inputs in graph-input order; each must match its port's
  // dtype and shape (else UserError naming the input). Returns outputs in graph-output
  // order.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  // The same, writing into caller-owned outputs: each must be defined with its port's
  // dtype and shape (else UserError naming the output), and is written in place, so that
  // a loop of runs allocates nothing per run (outputs of dynamic shape excepted).
  void run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs);
  std::map<std::string, Tensor> run_named(const std::map<std::string, Tensor>& inputs);

  // The graph as compiled: after the passes when SessionOptions::optimize is set.
  const ir::Graph& graph() const { return plan_->graph; }
  // What each pass did (empty without SessionOptions::optimize).
  const std::vector<passes::PassReport>& passes() const { return plan_->passes; }
  const ops::GraphInfo& info() const { return plan_->info; }
  // One entry per executed step (folded nodes are not steps).
  const std::vector<NodeAssignment>& assignments() const { return plan_->assignments; }
  // QDQ import (passes/qdq_fold.h, with a backend that reads ranges, such as cpu:int8,
  // among the backends): activation
  // QuantizeLinear -> DequantizeLinear pairs turned into int8 boundaries, and the pairs
  // left in float32 with why.
  size_t qdq_pairs_folded() const { return plan_->qdq_pairs_folded; }
  const std::vector<std::string>& qdq_notes() const { return plan_->qdq_notes; }
  // The fallbacks (empty with a single backend), most MACs first.
  const std::vector<Fallback>& fallbacks() const { return plan_->fallbacks; }
  void set_observer(NodeObserver* obs) { observer_ = obs; }

  // Device time by phase (DeviceTimes) of the runs from now on; off stops and keeps the sums.
  void time_devices(bool on);
  const DeviceTimes& device_times() const;
  // Whether any step runs on (or copies to or from) a queued device.
  bool uses_queued_device() const;
  // How the steps on queued devices ran last: "eager (...why)", "recorded and replayed (N
  // stretches)" or "eager: recording failed at <node>: <reason>" (SessionOptions::device_graphs).
  const std::string& device_graphs_status() const;

  // Memory known before the first run: the planned activation arenas (intermediates with
  // static shapes share their device's arena by lifetime; summed over devices), their
  // lower bound (largest live set), and the bytes of weights and folded constants. Graph
  // outputs and run-time-shaped values are allocated per run, outside the arenas.
  size_t arena_bytes() const;
  size_t arena_lower_bound() const;
  size_t constant_bytes() const { return plan_->constant_bytes; }
  // Values kept in a backend's native (blocked) layout between its kernels, each saving a
  // reorder at its producer and at every reader (kernels/negotiation.h).
  size_t native_layout_values() const { return plan_->native_layout_values; }
  // Values passed as u8 between quantized kernels (kernels/negotiation.h), by name, with
  // their quantization x ~ scale * (q - zero_point). They hold no float32 at any time.
  const std::map<std::string, kernels::QuantParams>& quantized_values() const {
    return plan_->quantized_values;
  }
  // Copies between devices the plan inserted (empty when every backend shares host memory).
  const std::vector<Transfer>& transfers() const { return plan_->transfers; }
  // Activation arenas, one per device that holds planned values.
  const std::vector<DeviceArena>& arenas() const { return plan_->arenas; }
  // The backends in preference order, "auto" resolved.
  const std::vector<std::string>& backends() const { return plan_->options.backends; }
  // The compiled plan (stages of runtime/plan.h).
  const Plan& plan() const { return *plan_; }
  // A Session runs one inference at a time (the arenas are shared by its runs), on any
  // thread; sessions on different threads run concurrently.

 private:
  SubBatch sub_;
  std::unique_ptr<Plan> plan_;
  std::vector<Port> inputs_, outputs_;          // the whole batch
  std::vector<Port> run_inputs_, run_outputs_;  // one run of the plan (a sub-batch)
  NodeObserver* observer_ = nullptr;
  struct Queues;  // queued-device state: phases, recordings, timestamps (session.cpp)
  std::unique_ptr<Queues> queues_;
  // The values and kernel contexts, bound once and reused run after run (session.cpp).
  struct RunState;
  std::unique_ptr<RunState> state_;
  void check_inputs(const std::vector<Tensor>& inputs, const std::vector<Port>& ports) const;
  void bind_inputs(const std::vector<Tensor>& inputs);
  // One run of the plan, its inputs and outputs checked against run_inputs_/run_outputs_.
  void run_plan(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs);
  // Runs the steps with the inputs bound; fills the graph outputs.
  void run_steps();
  void bind_outputs(size_t step);
  void run_step(size_t step, kernels::ThreadScope& scope);
  bool replaying_stretches();
  void finish_recording(size_t stretch, kernels::ThreadScope& scope);
  void recording_failed(size_t stretch, size_t failed_step, const std::string& why,
                        kernels::ThreadScope& scope);
};

}  // namespace frugal::runtime
