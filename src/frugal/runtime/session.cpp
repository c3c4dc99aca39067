#include "frugal/runtime/session.h"

#include <algorithm>
#include <cstdlib>
#include <limits>

#include "frugal/core/queued_device.h"
#include "frugal/kernels/backend.h"
#include "frugal/kernels/threads.h"
#include "frugal/ops/post_ops.h"

namespace frugal::runtime {

// A run's values, bound once at compile: constants and arena views stay in their slots for
// good, and each step's kernel context points into the slots, so that a run copies no
// tensor and allocates nothing for planned values (issue 16). A run binds only the slots
// in `per_run` (inputs, graph outputs, run-time-shaped values) and releases them again.
struct Session::RunState {
  std::vector<Tensor> slots;
  std::vector<ops::KernelContext> contexts;  // per step
  std::vector<size_t> per_run;
  std::vector<std::vector<int64_t>> release_after;  // per step: per-run slots last read there

  explicit RunState(const Plan& p) : slots(p.constants), release_after(p.steps.size()) {
    std::vector<bool> fixed(slots.size(), false);
    for (size_t sl = 0; sl < slots.size(); ++sl) {
      if (p.arena_offset[sl] >= 0) slots[sl] = p.arena_views[sl];
      fixed[sl] = slots[sl].defined();
      if (!fixed[sl]) per_run.push_back(sl);
    }
    contexts.reserve(p.steps.size());
    for (size_t s = 0; s < p.steps.size(); ++s) {
      const PlanStep& st = p.steps[s];
      for (int64_t f : st.free_after)
        if (!fixed[static_cast<size_t>(f)]) release_after[s].push_back(f);
      contexts.push_back(context(p, st));
    }
  }

  ops::KernelContext context(const Plan& p, const PlanStep& st) {
    const ir::Node& n = st.is_copy() ? st.copy_node : p.graph.nodes[st.node_index];
    const int64_t opset = n.domain.empty() ? p.graph.opset("") : p.graph.opset(n.domain);
    std::vector<const Tensor*> ins(st.in_slots.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i)
      if (st.in_slots[i] >= 0) ins[i] = &slots[static_cast<size_t>(st.in_slots[i])];
    std::vector<Tensor*> outs(st.out_slots.size(), nullptr);
    for (size_t o = 0; o < outs.size(); ++o)
      if (st.out_slots[o] >= 0) outs[o] = &slots[static_cast<size_t>(st.out_slots[o])];
    return ops::KernelContext(n, opset, std::move(ins), std::move(outs));
  }

  // Copy-assigned from an empty tensor, a slot drops its storage and keeps its shape
  // vector's capacity: binding the next run's tensor of that rank allocates nothing.
  void release(int64_t sl) {
    static const Tensor kNone;
    slots[static_cast<size_t>(sl)] = kNone;
  }
  void release_per_run() {
    for (size_t sl : per_run) release(static_cast<int64_t>(sl));
  }
};

Session::~Session() = default;

namespace {

// A split plan renames the nodes and values it copies: per-node backend lists and the
// activation ranges a backend reads (calibration, a QDQ file's pairs) name them.
std::string split_conflict(const SessionOptions& options) {
  if (!options.node_backends.empty()) return "per-node backend lists name the nodes";
  if (!options.backend_config.ranges.empty()) return "activation ranges name the values";
  for (const auto& b : kernels::resolve_backends(options.backends))
    if (kernels::backend_traits(b).reads_ranges)
      return "backend " + b + " reads activation ranges by value name";
  return "";
}

SubBatch sub_batch_of(const ir::Graph& graph, const SessionOptions& options, bool splits) {
  int64_t requested = options.sub_batch;
  std::string until = options.sub_batch_until;
  if (const char* env = std::getenv("FRUGAL_SUB_BATCH"); env && requested == 0) {
    std::string v = env;
    if (const size_t at = v.find('@'); at != std::string::npos)
      until = v.substr(at + 1), v = v.substr(0, at);
    char* end = nullptr;
    const long long n = std::strtoll(v.c_str(), &end, 10);
    if (v == "off" && until.empty())
      requested = -1;
    else if ((v != "auto" || !until.empty()) && (v.empty() || *end || n <= 0))
      throw UserError("FRUGAL_SUB_BATCH: expected auto, off, a number of images or N@node, got '" +
                      std::string(env) + "'");
    else if (v != "auto")
      requested = n;
  }
  bool single = options.infer.batch < 2;
  for (const auto& [name, shape] : options.infer.input_shapes)
    single = single && (shape.empty() || shape[0] < 2);
  if (requested == 0 && single) return {};  // a batch of one: nothing to split
  const std::string conflict = split_conflict(options);
  if (requested > 0 && !until.empty() && !conflict.empty())
    throw UserError("sub-batch " + std::to_string(requested) + " until node '" + until +
                    "': a split plan cannot hold here: " + conflict);
  splits = splits && conflict.empty();
  return choose_sub_batch(
      graph, options.infer, requested,
      sub_batch_cache_bytes(options.threads > 0 ? options.threads : kernels::threads()), until,
      splits);
}

// The plan for one sub-batch, or for the split plan's graph; for the whole batch where the
// plan holds memory the host cannot reach (a GPU: its own memory and launch costs, not the
// host's caches, set its batch). A split the passes left no place for (its cut node fused
// away) falls back to the choice without splits, unless it was requested.
std::unique_ptr<Plan> compile_sub_batch(const ir::Graph& graph, SessionOptions options,
                                        SubBatch& sub) {
  if (sub.size == sub.batch || sub.size == 0) return compile(graph, std::move(options));
  SessionOptions whole = options;
  std::unique_ptr<Plan> plan;
  if (sub.prefix_nodes) {
    options.sub_batch = sub.size;
    options.sub_batch_until = sub.until;
    plan = compile(graph, std::move(options));
    if (!plan->split_refused.empty()) {
      const std::string why =
          "the passes left no split before '" + sub.until + "': " + plan->split_refused;
      if (sub.why == "requested") {
        sub = {sub.batch, sub.batch, "off: " + why};
        return plan;
      }
      sub = sub_batch_of(graph, whole, false);
      sub.why += " (" + why + ")";
      return compile_sub_batch(graph, std::move(whole), sub);
    }
  } else {
    options.infer.batch = sub.size;
    options.infer.input_shapes = sub.input_shapes;
    plan = compile(graph, std::move(options));
  }
  for (const auto& a : plan->arenas)
    if (!a.device->shares_host_memory()) {
      sub = {sub.batch, sub.batch, "off: the plan holds device memory"};
      whole.sub_batch_until.clear();
      return compile(graph, std::move(whole));
    }
  return plan;
}

}  // namespace

Session::Session(const ir::Graph& graph, SessionOptions options)
    : sub_(sub_batch_of(graph, options, true)),
      plan_(compile_sub_batch(graph, std::move(options), sub_)),
      queues_(std::make_unique<Queues>(*plan_)),
      state_(std::make_unique<RunState>(*plan_)) {
  for (const auto& in : plan_->graph.inputs)
    run_inputs_.push_back({in.name, in.dtype, plan_->info.input_shapes.at(in.name)});
  for (const auto& out : plan_->graph.outputs) {
    const auto& ti = plan_->info.at(out.name);
    run_outputs_.push_back({out.name, ti.dtype, ti.shape ? *ti.shape : Shape{}});
  }
  inputs_ = run_inputs_;
  outputs_ = run_outputs_;
  // Every input and output of a sub-batched plan has the batch as dimension 0.
  for (auto* ports : {&inputs_, &outputs_})
    for (Port& p : *ports)
      if (sub_.count() > 1) p.shape[0] *= sub_.count();
}

size_t Session::arena_bytes() const {
  size_t n = 0;
  for (const auto& a : plan_->arenas) n += a.bytes;
  return n;
}

size_t Session::arena_lower_bound() const {
  size_t n = 0;
  for (const auto& a : plan_->arenas) n += a.lower_bound;
  return n;
}

void Session::check_inputs(const std::vector<Tensor>& inputs,
                           const std::vector<Port>& ports) const {
  if (inputs.size() != ports.size())
    throw UserError(plan_->options.origin + ": expected " + std::to_string(ports.size()) +
                    " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Port& p = ports[i];
    const Tensor& t = inputs[i];
    if (t.dtype() != p.dtype)
      throw UserError("input '" + p.name + "': expected dtype " + std::string(dtype_name(p.dtype)) +
                      ", got " + std::string(dtype_name(t.dtype())));
    if (t.shape() != p.shape)
      throw UserError("input '" + p.name + "': expected shape " + shape_str(p.shape) + ", got " +
                      shape_str(t.shape()));
  }
}

// A run that threw left its per-run slots bound: each run starts by releasing them.
void Session::bind_inputs(const std::vector<Tensor>& inputs) {
  state_->release_per_run();
  for (size_t i = 0; i < inputs.size(); ++i) state_->slots[plan_->input_slots[i]] = inputs[i];
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) {
  if (sub_.count() > 1) {
    std::vector<Tensor> outputs;
    for (const Port& p : outputs_) outputs.emplace_back(p.dtype, p.shape);
    run(inputs, outputs);
    return outputs;
  }
  check_inputs(inputs, run_inputs_);
  bind_inputs(inputs);
  run_steps();
  std::vector<Tensor> result;
  for (size_t o : plan_->output_slots) result.push_back(state_->slots[o]);
  state_->release_per_run();
  return result;
}

void Session::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  if (sub_.count() == 1) {
    run_plan(inputs, outputs);
    return;
  }
  check_inputs(inputs, inputs_);
  if (outputs.size() != outputs_.size())
    throw UserError(plan_->options.origin + ": expected " + std::to_string(outputs_.size()) +
                    " output buffers, got " + std::to_string(outputs.size()));
  for (size_t o = 0; o < outputs.size(); ++o)
    if (outputs[o].dtype() != outputs_[o].dtype || outputs[o].shape() != outputs_[o].shape)
      throw UserError("output '" + outputs_[o].name + "': expected a " +
                      std::string(dtype_name(outputs_[o].dtype)) + " buffer of shape " +
                      shape_str(outputs_[o].shape));
  // Each run of the plan reads and writes its slice of the batch in place (dimension 0 is
  // outermost: a slice is contiguous).
  const int64_t count = sub_.count();
  std::vector<Tensor> in(inputs.size()), out(outputs.size());
  for (int64_t k = 0; k < count; ++k) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      const size_t slice = inputs[i].nbytes() / static_cast<size_t>(count);
      in[i] = Tensor::wrap(inputs[i].dtype(), run_inputs_[i].shape,
                           const_cast<char*>(static_cast<const char*>(inputs[i].raw())) +
                               static_cast<size_t>(k) * slice);
    }
    for (size_t o = 0; o < outputs.size(); ++o) {
      const size_t slice = outputs[o].nbytes() / static_cast<size_t>(count);
      out[o] = Tensor::wrap(outputs[o].dtype(), run_outputs_[o].shape,
                            static_cast<char*>(outputs[o].raw()) + static_cast<size_t>(k) * slice);
    }
    run_plan(in, out);
  }
}

void Session::run_plan(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  check_inputs(inputs, run_inputs_);
  if (outputs.size() != run_outputs_.size())
    throw UserError(plan_->options.origin + ": expected " + std::to_string(run_outputs_.size()) +
                    " output buffers, got " + std::to_string(outputs.size()));
  bind_inputs(inputs);
  std::vector<Tensor>& slots = state_->slots;
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Port& p = run_outputs_[o];
    const Tensor& t = outputs[o];
    if (!plan_->info.at(p.name).shape) continue;  // allocated by its producer, handed back below
    if (t.dtype() != p.dtype || t.shape() != p.shape)
      throw UserError("output '" + p.name + "': expected a " + std::string(dtype_name(p.dtype)) +
                      " buffer of shape " + shape_str(p.shape) + ", got " +
                      (t.defined() ? std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape())
                                   : std::string("none")));
    // A graph output that is an input or a constant is copied, not bound.
    const size_t sl = plan_->output_slots[o];
    if (!slots[sl].defined()) slots[sl] = t;
  }
  run_steps();
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& v = slots[plan_->output_slots[o]];
    if (outputs[o].defined() && v.raw() == outputs[o].raw()) continue;
    if (outputs[o].defined() && outputs[o].dtype() == v.dtype() && outputs[o].shape() == v.shape())
      std::copy_n(static_cast<const char*>(v.raw()), v.nbytes(),
                  static_cast<char*>(outputs[o].raw()));
    else
      outputs[o] = v;
  }
  state_->release_per_run();
}

// ---- Queued devices (core/queued_device.h): phases, timestamps, recorded stretches ----

namespace {

enum class Phase { kHost, kToDevice, kCompute, kToHost };

struct StepQueue {
  const QueuedDevice* queue = nullptr;  // null: the step runs on the host alone
  Phase phase = Phase::kHost;
};

StepQueue step_queue(const Plan& p, const PlanStep& st) {
  if (st.is_copy()) {
    if (const QueuedDevice* q = queued_device(*p.slot_device[st.out_slots[0]]))
      return {q, Phase::kToDevice};
    if (const QueuedDevice* q = queued_device(*p.slot_device[st.in_slots[0]]))
      return {q, Phase::kToHost};
    return {};
  }
  if (st.backend && !st.dynamic)
    if (const QueuedDevice* q = queued_device(st.backend->device())) return {q, Phase::kCompute};
  return {};
}

}  // namespace

struct Session::Queues {
  std::vector<StepQueue> steps;
  // Maximal stretches of consecutive compute steps on one queued device: recorded on the
  // second run (the first warms every kernel up) and replayed with one launch after that.
  struct Stretch {
    size_t begin = 0, end = 0;
    const QueuedDevice* queue = nullptr;
    std::unique_ptr<QueuedDevice::Recording> recording;
  };
  std::vector<Stretch> stretches;
  std::vector<int64_t> stretch_of;  // per step: its stretch, -1 outside any
  int64_t runs = 0;
  bool recording_failed = false;
  std::string status = "eager (no step on a queued device)";

  // Timestamps, reused run after run; a run's phases are intervals between two of them.
  bool timing = false;
  DeviceTimes times;
  std::vector<std::pair<const QueuedDevice*, std::unique_ptr<QueuedDevice::Mark>>> marks;
  size_t marks_used = 0;
  struct Interval {
    const QueuedDevice* queue;
    Phase phase;
    size_t begin, end;  // marks
  };
  std::vector<Interval> intervals;
  bool open = false;  // the last interval has no end yet

  explicit Queues(const Plan& p) : stretch_of(p.steps.size(), -1) {
    for (const auto& st : p.steps) steps.push_back(step_queue(p, st));
    for (size_t s = 0; s < steps.size(); ++s) {
      if (steps[s].phase != Phase::kCompute) continue;
      const bool extends =
          s > 0 && stretch_of[s - 1] >= 0 &&
          stretches[static_cast<size_t>(stretch_of[s - 1])].queue == steps[s].queue;
      if (!extends) stretches.push_back({s, s, steps[s].queue, nullptr});
      stretches.back().end = s + 1;
      stretch_of[s] = static_cast<int64_t>(stretches.size() - 1);
    }
  }

  const QueuedDevice::Mark& mark(size_t i) const { return *marks[i].second; }
  size_t stamp(const QueuedDevice& q) {
    if (marks_used == marks.size()) marks.emplace_back();
    auto& [owner, m] = marks[marks_used];
    if (owner != &q) m = q.make_mark(), owner = &q;
    q.record(*m);
    return marks_used++;
  }
  // Before step s: a new interval where the queue or the phase changes.
  void enter(size_t s) {
    if (!timing) return;
    const StepQueue& sq = steps[s];
    if (open && (intervals.back().queue != sq.queue || intervals.back().phase != sq.phase)) close();
    if (!open && sq.queue) {
      intervals.push_back({sq.queue, sq.phase, stamp(*sq.queue), 0});
      open = true;
    }
  }
  void close() {
    intervals.back().end = stamp(*intervals.back().queue);
    open = false;
  }
  // After the run: the intervals' device time by phase.
  void finish_run() {
    ++runs;
    if (!timing) return;
    if (open) close();
    for (const auto& in : intervals) {
      const double t = in.queue->seconds_between(mark(in.begin), mark(in.end));
      (in.phase == Phase::kToDevice ? times.to_device_s
       : in.phase == Phase::kToHost ? times.to_host_s
                                    : times.compute_s) += t;
    }
    if (!intervals.empty()) ++times.runs;
    intervals.clear();
    marks_used = 0;
  }
};

void Session::time_devices(bool on) {
  if (on && !queues_->timing) queues_->times = {};
  queues_->timing = on;
}

const DeviceTimes& Session::device_times() const {
  return queues_->times;
}

bool Session::uses_queued_device() const {
  for (const auto& sq : queues_->steps)
    if (sq.queue) return true;
  return false;
}

const std::string& Session::device_graphs_status() const {
  return queues_->status;
}

// The step's outputs: views into its device's arena, caller buffers, or (run-time shapes,
// unplanned values) new host tensors.
void Session::bind_outputs(size_t s) {
  Plan& p = *plan_;
  std::vector<Tensor>& slots = state_->slots;
  PlanStep& st = p.steps[s];
  const ir::Node& n = st.is_copy() ? st.copy_node : p.graph.nodes[st.node_index];
  if (st.dynamic) {
    // Shapes depend on run-time values: infer again with the actual tensors.
    const int64_t opset = n.domain.empty() ? p.graph.opset("") : p.graph.opset(n.domain);
    std::vector<ops::TensorInfo> infos(st.in_slots.size());
    std::vector<const ops::TensorInfo*> iptr(st.in_slots.size(), nullptr);
    for (size_t i = 0; i < st.in_slots.size(); ++i)
      if (st.in_slots[i] >= 0) {
        const Tensor& t = slots[st.in_slots[i]];
        infos[i] = {t.dtype(), t.shape(), t};
        iptr[i] = &infos[i];
      }
    ops::InferContext ictx(n, opset, iptr);
    ops::infer_with_post_ops(*st.def, ictx);
    for (size_t o = 0; o < st.out_slots.size(); ++o) {
      if (st.out_slots[o] < 0) continue;
      auto& oi = ictx.outputs()[o];
      slots[st.out_slots[o]] = oi.value ? *oi.value : Tensor(oi.dtype, *oi.shape);
    }
    return;
  }
  for (size_t o = 0; o < st.out_slots.size(); ++o) {
    const int64_t sl = st.out_slots[o];
    // Defined: an arena view bound at compile, or a caller's output buffer.
    if (sl < 0 || slots[sl].defined()) continue;
    const auto& oi = p.info.at(n.outputs[o]);
    slots[sl] = Tensor(oi.dtype, *oi.shape);
  }
}

void Session::run_step(size_t s, kernels::ThreadScope& scope) {
  Plan& p = *plan_;
  PlanStep& st = p.steps[s];
  ops::KernelContext& kctx = state_->contexts[s];
  scope.set(st.threads > 0 ? st.threads : p.options.threads);
  const QueuedDevice* queue = queues_->steps[s].queue;
  // An elided step has nothing to move: a Concat whose inputs were written in place
  // (plan_concat_in_place), a view of its input (plan_views).
  if (!observer_) {
    if (!st.elided) st.kernel->run(kctx);
    return;
  }
  observer_->before(s);
  const size_t m0 = queue ? queues_->stamp(*queue) : 0;
  if (!st.elided) st.kernel->run(kctx);
  const size_t m1 = queue ? queues_->stamp(*queue) : 0;
  // A device kernel returns once queued: a profiler waits for it, so that each step's
  // time is its own (without a profiler, steps overlap and only copies to the host wait).
  if (st.backend) st.backend->device().synchronize();
  observer_->after(s);
  if (queue)
    observer_->device_time(s, queue->seconds_between(queues_->mark(m0), queues_->mark(m1)));
}

// Whether this run records or replays stretches (else every step is queued eagerly).
bool Session::replaying_stretches() {
  Queues& q = *queues_;
  if (q.stretches.empty()) return false;
  if (!plan_->options.device_graphs) {
    q.status = "eager (device graphs off)";
  } else if (observer_) {
    q.status = "eager (profiled: each step timed alone)";
  } else if (q.recording_failed) {
    // status says why since the failure
  } else if (q.runs == 0) {
    q.status = "eager (first run: warm-up before recording)";
  } else {
    q.status = "recorded and replayed (" + std::to_string(q.stretches.size()) + " stretches)";
    return true;
  }
  return false;
}

void Session::run_steps() {
  Plan& p = *plan_;
  RunState& r = *state_;
  Queues& q = *queues_;
  // The session's thread count on this thread for the run; single-threaded steps switch.
  kernels::ThreadScope scope(p.options.threads);
  if (p.options.poison_arena)
    for (const auto& a : p.arenas) {
      // Device memory the host cannot write is left as it is.
      float* f = a.device->shares_host_memory() ? static_cast<float*>(a.memory.get()) : nullptr;
      if (f) std::fill(f, f + a.bytes / sizeof(float), std::numeric_limits<float>::quiet_NaN());
    }
  const bool stretches = replaying_stretches();
  bool replayed = false, recording = false;
  std::vector<int64_t> deferred;  // frees inside a stretch being recorded, done at its end
  for (size_t s = 0; s < p.steps.size(); ++s) {
    q.enter(s);
    bind_outputs(s);
    Queues::Stretch* stretch = stretches && q.stretch_of[s] >= 0
                                   ? &q.stretches[static_cast<size_t>(q.stretch_of[s])]
                                   : nullptr;
    if (stretch && s == stretch->begin && !q.recording_failed) {
      replayed = stretch->recording && stretch->queue->replay(*stretch->recording);
      if (!replayed) {
        stretch->recording.reset();
        stretch->queue->begin_capture();
        recording = true;
      }
    }
    if (recording) {
      try {
        run_step(s, scope);
      } catch (const std::exception& e) {
        stretch->queue->abort_capture();
        recording = false;
        recording_failed(static_cast<size_t>(q.stretch_of[s]), s, e.what(), scope);
      }
    } else if (!replayed) {
      run_step(s, scope);
    }
    if (stretch && s + 1 == stretch->end) {
      if (recording) finish_recording(static_cast<size_t>(q.stretch_of[s]), scope);
      recording = replayed = false;
      for (int64_t f : deferred) r.release(f);
      deferred.clear();
    }
    for (int64_t f : r.release_after[s]) {
      if (recording)
        deferred.push_back(f);
      else
        r.release(f);
    }
  }
  q.finish_run();
}

// The stretch's work is recorded: replay it (recording ran nothing), or run it eagerly
// where the device could not record it.
void Session::finish_recording(size_t k, kernels::ThreadScope& scope) {
  Queues::Stretch& stretch = queues_->stretches[k];
  std::unique_ptr<QueuedDevice::Recording> r;
  try {
    r = stretch.queue->end_capture();
  } catch (const std::exception& e) {
    recording_failed(k, stretch.end - 1, e.what(), scope);
    return;
  }
  if (!stretch.queue->replay(*r))
    throw InternalError("a device recording was stale as soon as it was made");
  stretch.recording = std::move(r);
}

// Recording stops for good (status says where and why); the stretch so far runs eagerly.
void Session::recording_failed(size_t k, size_t failed_step, const std::string& why,
                               kernels::ThreadScope& scope) {
  Queues& q = *queues_;
  const size_t begin = q.stretches[k].begin;
  q.recording_failed = true;
  for (auto& st : q.stretches) st.recording.reset();
  q.status = "eager: recording failed at " + plan_->assignments[failed_step].node_name + ": " + why;
  for (size_t s = begin; s <= failed_step; ++s) run_step(s, scope);
}

std::map<std::string, Tensor> Session::run_named(const std::map<std::string, Tensor>& inputs) {
  std::vector<Tensor> v;
  for (const auto& p : inputs_) {
    auto it = inputs.find(p.name);
    if (it == inputs.end()) throw UserError("missing input '" + p.name + "'");
    v.push_back(it->second);
  }
  for (const auto& [name, t] : inputs) {
    bool known = false;
    for (const auto& p : inputs_) known |= p.name == name;
    if (!known) throw UserError("the model has no input named '" + name + "'");
  }
  auto outs = run(v);
  std::map<std::string, Tensor> m;
  for (size_t i = 0; i < outs.size(); ++i) m[outputs_[i].name] = outs[i];
  return m;
}

}  // namespace frugal::runtime
