// Session: compiles a Graph into a Plan (shapes inferred and constants folded once,
// a kernel chosen per node with the reasons other backends declined) and runs it.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/ops/infer.h"
#include "frugal/kernels/backend.h"
#include "frugal/kernels/cpu/layout.h"
#include "frugal/passes/passes.h"

namespace frugal::runtime {

using kernels::Backend;
using kernels::Kernel;
using kernels::NodeView;

struct SessionOptions {
  std::vector<std::string> backends{"ref"};  // preference order
  int threads = 0;  // compute threads for backends that use them (cpu); 0: leave as is
  ops::InferOptions infer;
  kernels::BackendConfig backend_config;  // formats (emu), activation ranges (cpu:int8)
  std::string origin = "model";  // names the model in error messages (its file)
  // Fill the activation arena with NaN before every run: a test mode that catches kernels
  // reading outputs they did not write (arena bytes are reused, never zeroed).
  bool poison_arena = false;
  // Run the graph passes (passes/passes.h: constant and BatchNorm folding, identity
  // removal, activation and residual-add fusion) before compiling.
  bool optimize = true;
  // Backend preference lists for single nodes of the compiled graph, by node name,
  // overriding `backends` there (mixed precision, compress/mixed_precision.h: e.g.
  // {"conv3": {"cpu:bf16", "cpu", "ref"}}). A name the compiled graph lacks is a UserError.
  std::map<std::string, std::vector<std::string>> node_backends;
};

struct NodeAssignment {
  size_t node_index;
  std::string node_name;
  std::string op_type;
  std::string backend;  // empty for folded nodes
  std::string impl;
  std::vector<std::string> declined;  // "cpu: reason" for each preferred backend that declined
};

// A step that the first preferred backend (the session's precision: cpu:int8, cpu:bf16, a
// sparse or emulated backend) declined, so that it runs on a later one (float32 cpu, ref):
// by name, with the reason and its share of the model's multiply-accumulates, so that a
// quantized model slower than expected says where (issue 8: no silent fallback).
struct Fallback {
  std::string node_name;
  std::string op_type;
  std::string backend;  // where it runs instead
  std::string reason;   // the first backend's, as in NodeAssignment::declined
  int64_t macs = 0;
  double macs_share = 0;  // of all the compiled graph's MACs, 0 to 1
};

// Per-node timing hook for profilers (measure layer); called around each kernel.
struct NodeObserver {
  virtual ~NodeObserver() = default;
  virtual void before(size_t step) {}
  virtual void after(size_t step) {}
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

  // Runs once. Inputs in graph-input order; each must match its port's dtype and shape
  // (else UserError naming the input). Returns outputs in graph-output order.
  std::vector<Tensor> run(const std::vector<Tensor>& inputs);
  std::map<std::string, Tensor> run_named(const std::map<std::string, Tensor>& inputs);

  // The graph as compiled: after the passes when SessionOptions::optimize is set.
  const ir::Graph& graph() const { return graph_; }
  // What each pass did (empty without SessionOptions::optimize).
  const std::vector<passes::PassReport>& passes() const { return passes_; }
  const ops::GraphInfo& info() const { return info_; }
  // One entry per executed step (folded nodes are not steps).
  const std::vector<NodeAssignment>& assignments() const { return assignments_; }
  // QDQ import (passes/qdq_fold.h, with cpu:int8 among the backends): activation
  // QuantizeLinear -> DequantizeLinear pairs turned into int8 boundaries, and the pairs
  // left in float32 with why.
  size_t qdq_pairs_folded() const { return qdq_pairs_folded_; }
  const std::vector<std::string>& qdq_notes() const { return qdq_notes_; }
  // The fallbacks (empty with a single backend), most MACs first.
  const std::vector<Fallback>& fallbacks() const { return fallbacks_; }
  void set_observer(NodeObserver* obs) { observer_ = obs; }

  // Memory known before the first run: the planned activation arena (intermediates with
  // static shapes share it by lifetime), its lower bound (largest live set), and the bytes
  // of weights and folded constants. Graph outputs and run-time-shaped values are
  // allocated per run, outside the arena.
  size_t arena_bytes() const { return arena_bytes_; }
  size_t arena_lower_bound() const { return arena_lower_bound_; }
  size_t constant_bytes() const { return constant_bytes_; }
  // Values kept in a backend's native (blocked) layout between its kernels, each saving a
  // reorder at its producer and at every reader (kernels/cpu/layout.h).
  size_t native_layout_values() const { return native_layout_values_; }
  // Values passed as u8 between int8 kernels (kernels/cpu/layout.h), by name, with their
  // quantization x ~ scale * (q - zero_point). They hold no float32 at any time.
  const std::map<std::string, kernels::cpu::QuantParams>& quantized_values() const {
    return quantized_values_;
  }
  // A Session runs one inference at a time (the arena is shared by its runs).

 private:
  struct Step;
  ir::Graph graph_;
  SessionOptions options_;
  std::vector<passes::PassReport> passes_;
  ops::GraphInfo info_;
  std::vector<std::unique_ptr<Backend>> backends_;
  std::vector<Step> steps_;
  std::vector<NodeAssignment> assignments_;
  std::vector<Fallback> fallbacks_;
  std::vector<std::string> qdq_notes_;
  size_t qdq_pairs_folded_ = 0;
  std::vector<Port> inputs_, outputs_;
  std::map<std::string, size_t> slot_of_;  // value name -> slot index
  std::vector<Tensor> constants_;          // slot contents known at compile time
  std::vector<size_t> input_slots_, output_slots_;
  std::vector<int64_t> arena_offset_;  // per slot: offset in the arena, -1 if not planned
  std::shared_ptr<void> arena_;
  size_t arena_bytes_ = 0, arena_lower_bound_ = 0, constant_bytes_ = 0;
  size_t native_layout_values_ = 0;
  std::map<std::string, kernels::cpu::QuantParams> quantized_values_;
  NodeObserver* observer_ = nullptr;
};

}  // namespace frugal::runtime
