// The compiled form of a Graph and the stages that build it. A Session (runtime/session.h)
// is a Plan and the code that runs it; Session's constructor runs these stages in order,
// each a function of the Plan so that each can be tested alone (tests/runtime):
//
//   fold_qdq            QDQ pairs -> activation ranges, for backends that read them
//   make_backends       the preference lists, "auto" resolved, one Backend per name
//   optimize            graph passes (passes/passes.h), shape inference, support check
//   plan_threads        per node: the session's thread count, or 1 where the cost model
//                       says a thread wake-up costs more than the work it shares
//   place               a kernel per node from the first backend that accepts it
//   find_fallbacks      nodes the first preferred backend declined, by MACs
//   insert_transfers    an explicit copy step wherever a reader's device cannot read the
//                       value where its producer wrote it
//   plan_liveness       each value's last reader (it is freed after that step)
//   negotiate_quantized u8 values between quantized kernels (kernels/negotiation.h)
//   negotiate_layouts   native layouts between kernels that agree on them
//   plan_concat_in_place  Concat inputs that stayed plain written straight into the
//                       Concat's output
//   plan_views          data movement that moves nothing (a Reshape of a plain value, a
//                       Transpose into the order its input already has, a Split into
//                       byte ranges): the output placed in its input's buffer, step elided
//   plan_sum_in_place   a convolution's output over the residual operand it adds, where
//                       that operand dies there
//   plan_memory_per_device  one activation arena per device, offsets by lifetime
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/device.h"
#include "frugal/ir/graph.h"
#include "frugal/kernels/backend.h"
#include "frugal/kernels/negotiation.h"
#include "frugal/ops/infer.h"
#include "frugal/passes/passes.h"

namespace frugal::runtime {

using kernels::Backend;
using kernels::Kernel;
using kernels::NodeView;

struct SessionOptions {
  // Preference order; "auto" stands for the best backends available here
  // (kernels::auto_backends(): cpu,ref on this machine, a GPU backend first where present).
  std::vector<std::string> backends{"ref"};
  // Compute threads of the kernels (kernels/threads.h), applied on the thread that builds
  // the session and on the thread that runs it, at each run; 0: leave the caller's.
  int threads = 0;
  // A node whose estimated single-thread time (ops/cost.h MACs and bytes, plan_threads)
  // is below this runs on one thread when `threads` > 1: waking the other threads would
  // cost more than they save. 0: every node uses `threads`.
  double parallel_min_us = 50.0;
  ops::InferOptions infer;
  kernels::BackendConfig backend_config;  // formats (emu), activation ranges, sparse kernels
  std::string origin = "model";           // names the model in error messages (its file)
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
  // Record each stretch of consecutive steps on a queued device (a GPU) once, on the
  // second run, and replay it with one launch on every later run (core/queued_device.h);
  // false: every run queues each kernel (eager). Profiled runs are eager either way.
  bool device_graphs = true;
  // Run a batch as consecutive runs of a plan compiled for fewer images
  // (runtime/sub_batch.h): 0, where the cache model predicts less memory traffic; > 0,
  // this many images per run (UserError where that cannot hold); < 0, never. The
  // environment's FRUGAL_SUB_BATCH (auto, off, a number, or N@node for both) overrides 0.
  int64_t sub_batch = 0;
  // With sub_batch > 0: only the nodes before this one (the graph's order, as given) run
  // in sub-batches, the rest over the whole batch, in one plan (runtime/batch_split.h).
  std::string sub_batch_until;
};

struct NodeAssignment {
  size_t node_index;  // in the compiled graph; SIZE_MAX for a copy step
  std::string node_name;
  std::string op_type;  // "Copy" for a copy step
  std::string backend;  // empty for folded nodes and copy steps
  std::string impl;
  std::vector<std::string> declined;  // "cpu: reason" for each preferred backend that declined
  int threads = 0;                    // threads the kernel was built and runs with
  size_t copy_bytes = 0;              // bytes a copy step moves
};

// A step that the first preferred backend (the session's precision: an int8 or bf16
// variant, a sparse or emulated backend) declined, so that it runs on a later one (float32
// cpu, ref): by name, with the reason and its share of the model's multiply-accumulates,
// so that a quantized model slower than expected says where (issue 8: no silent fallback).
struct Fallback {
  std::string node_name;
  std::string op_type;
  std::string backend;  // where it runs instead
  std::string reason;   // the first backend's, as in NodeAssignment::declined
  int64_t macs = 0;
  double macs_share = 0;  // of all the compiled graph's MACs, 0 to 1
};

// An explicit copy between devices (insert_transfers): shown by info --plan and timed by
// bench --profile like any step.
struct Transfer {
  size_t step;
  std::string value;     // the value copied (its copy is named value@to)
  std::string from, to;  // device names
  size_t bytes;
};

// One executable step: a node's kernel, or a copy (def null, copy_node a "Copy" node).
struct PlanStep {
  size_t node_index = 0;
  const ops::OpDef* def = nullptr;
  std::unique_ptr<Kernel> kernel;
  Backend* backend = nullptr;
  std::vector<int64_t> in_slots;    // -1 for omitted inputs
  std::vector<int64_t> out_slots;   // -1 for omitted outputs
  std::vector<int64_t> free_after;  // slots whose last use is this step
  bool dynamic = false;
  // A Concat whose inputs were written in place in its output (plan_concat_in_place), or
  // a step whose outputs are views of its input (plan_views): nothing left to do, its
  // kernel is not run.
  bool elided = false;
  int threads = 0;     // the calling thread's count while it runs (0: the session's)
  ir::Node copy_node;  // copy steps only
  bool is_copy() const { return def == nullptr; }
};

// The activation memory of one device: planned intermediates share it by lifetime.
struct DeviceArena {
  const Device* device = nullptr;
  size_t bytes = 0, lower_bound = 0;
  std::shared_ptr<void> memory;
};

struct Plan {
  SessionOptions options;  // backends resolved ("auto" expanded)
  ir::Graph graph;
  std::vector<passes::PassReport> passes;
  // Why the split plan SessionOptions::sub_batch_until asked for was not made (split_prefix),
  // or empty.
  std::string split_refused;
  std::vector<std::string> qdq_notes;
  size_t qdq_pairs_folded = 0;
  ops::GraphInfo info;
  // Backends by name, each made once; the default list and per-node lists point into them.
  std::vector<std::unique_ptr<Backend>> backends;
  std::vector<Backend*> default_list;
  std::map<std::string, std::vector<Backend*>> node_lists;
  std::vector<int> node_threads;  // per graph node (plan_threads)
  std::vector<PlanStep> steps;
  std::vector<NodeAssignment> assignments;  // parallel to steps
  std::vector<Fallback> fallbacks;
  std::vector<Transfer> transfers;
  // Values ("slots"): index by name, contents known at compile time, device.
  std::map<std::string, size_t> slot_of;
  std::vector<std::string> slot_name;
  std::vector<Tensor> constants;
  std::vector<const Device*> slot_device;
  std::vector<size_t> input_slots, output_slots;
  std::vector<int64_t> last_use;     // step of the last reader (steps.size(): graph output)
  std::vector<size_t> native_bytes;  // bytes in a negotiated layout (0: plain)
  size_t native_layout_values = 0;
  std::map<std::string, kernels::QuantParams> quantized_values;
  std::vector<DeviceArena> arenas;
  std::vector<int64_t> arena_of, arena_offset;  // per slot; -1 if not planned
  // Per planned slot: its buffer in the arena as a tensor of the value's type and shape,
  // made once so that binding a step's outputs at each run is a copy (no lookup by name).
  std::vector<Tensor> arena_views;
  // Per slot: the slot whose buffer holds it and the byte offset there (plan_concat_in_place,
  // plan_views, plan_sum_in_place: the root's own slot for the root, -1 for every value
  // they did not place).
  std::vector<int64_t> home_slot;
  std::vector<size_t> home_offset;
  size_t concats_in_place = 0;         // Concat steps elided
  size_t concat_bytes_not_copied = 0;  // per run, by those steps
  size_t views = 0;                    // steps elided by plan_views
  size_t view_bytes_not_copied = 0;    // per run, by those steps
  size_t constant_bytes = 0;

  // The slot of value `name`, made on first use (-1 for an omitted value "").
  int64_t slot(const std::string& name);
  bool is_output(size_t slot) const;
  // (step, input index) of every reader of each slot.
  std::vector<std::vector<std::pair<size_t, size_t>>> readers() const;
};

void fold_qdq(Plan& plan);
void make_backends(Plan& plan);
void optimize(Plan& plan);
void plan_threads(Plan& plan);
// plan_threads' rule, pure: per node (estimated one-thread microseconds `us`, in run order)
// `threads`, or 1 where its work is under `min_us`, or under 4 x `min_us` after a stretch of
// one-thread work longer than 4 x `awake_us` (the workers then sleep; runs follow each
// other, so the stretch wraps around from the end of the graph).
std::vector<int> threads_per_node(const std::vector<double>& us, int threads, double min_us,
                                  double awake_us);
void place(Plan& plan);
void find_fallbacks(Plan& plan);
void insert_transfers(Plan& plan);
void plan_liveness(Plan& plan);
void negotiate_quantized(Plan& plan);
void plan_concat_in_place(Plan& plan);
void negotiate_layouts(Plan& plan);
void plan_memory_per_device(Plan& plan);

// All stages in order: the Plan of `graph` under `options`.
std::unique_ptr<Plan> compile(const ir::Graph& graph, SessionOptions options);

}  // namespace frugal::runtime
