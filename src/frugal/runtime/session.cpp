#include "frugal/runtime/session.h"

#include <algorithm>
#include <limits>

#include "frugal/kernels/threads.h"
#include "frugal/ops/post_ops.h"

namespace frugal::runtime {

Session::~Session() = default;

Session::Session(const ir::Graph& graph, SessionOptions options)
    : plan_(compile(graph, std::move(options))) {
  for (const auto& in : plan_->graph.inputs)
    inputs_.push_back({in.name, in.dtype, plan_->info.input_shapes.at(in.name)});
  for (const auto& out : plan_->graph.outputs) {
    const auto& ti = plan_->info.at(out.name);
    outputs_.push_back({out.name, ti.dtype, ti.shape ? *ti.shape : Shape{}});
  }
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

void Session::check_inputs(const std::vector<Tensor>& inputs) const {
  if (inputs.size() != inputs_.size())
    throw UserError(plan_->options.origin + ": expected " + std::to_string(inputs_.size()) +
                    " inputs, got " + std::to_string(inputs.size()));
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Port& p = inputs_[i];
    const Tensor& t = inputs[i];
    if (t.dtype() != p.dtype)
      throw UserError("input '" + p.name + "': expected dtype " + std::string(dtype_name(p.dtype)) +
                      ", got " + std::string(dtype_name(t.dtype())));
    if (t.shape() != p.shape)
      throw UserError("input '" + p.name + "': expected shape " + shape_str(p.shape) + ", got " +
                      shape_str(t.shape()));
  }
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) {
  check_inputs(inputs);
  std::vector<Tensor> slots = plan_->constants;
  for (size_t i = 0; i < inputs.size(); ++i) slots[plan_->input_slots[i]] = inputs[i];
  run_steps(slots);
  std::vector<Tensor> result;
  for (size_t o : plan_->output_slots) result.push_back(slots[o]);
  return result;
}

void Session::run(const std::vector<Tensor>& inputs, std::vector<Tensor>& outputs) {
  check_inputs(inputs);
  if (outputs.size() != outputs_.size())
    throw UserError(plan_->options.origin + ": expected " + std::to_string(outputs_.size()) +
                    " output buffers, got " + std::to_string(outputs.size()));
  std::vector<Tensor> slots = plan_->constants;
  for (size_t i = 0; i < inputs.size(); ++i) slots[plan_->input_slots[i]] = inputs[i];
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Port& p = outputs_[o];
    const Tensor& t = outputs[o];
    if (!plan_->info.at(p.name).shape) continue;  // allocated by its producer, handed back below
    if (t.dtype() != p.dtype || t.shape() != p.shape)
      throw UserError("output '" + p.name + "': expected a " + std::string(dtype_name(p.dtype)) +
                      " buffer of shape " + shape_str(p.shape) + ", got " +
                      (t.defined() ? std::string(dtype_name(t.dtype())) + " " + shape_str(t.shape())
                                   : std::string("none")));
    // A graph output that is an input or a constant is copied, not bound.
    const size_t sl = plan_->output_slots[o];
    if (!slots[sl].defined()) slots[sl] = Tensor::wrap(t.dtype(), t.shape(), outputs[o].raw());
  }
  run_steps(slots);
  for (size_t o = 0; o < outputs.size(); ++o) {
    const Tensor& v = slots[plan_->output_slots[o]];
    if (outputs[o].defined() && v.raw() == outputs[o].raw()) continue;
    if (outputs[o].defined() && outputs[o].dtype() == v.dtype() && outputs[o].shape() == v.shape())
      std::copy_n(static_cast<const char*>(v.raw()), v.nbytes(),
                  static_cast<char*>(outputs[o].raw()));
    else
      outputs[o] = v;
  }
}

void Session::run_steps(std::vector<Tensor>& slots) {
  Plan& p = *plan_;
  // The session's thread count on this thread for the run; single-threaded steps switch.
  kernels::ThreadScope scope(p.options.threads);
  if (p.options.poison_arena)
    for (const auto& a : p.arenas) {
      // Device memory the host cannot write is left as it is.
      float* f = a.device->shares_host_memory() ? static_cast<float*>(a.memory.get()) : nullptr;
      if (f) std::fill(f, f + a.bytes / sizeof(float), std::numeric_limits<float>::quiet_NaN());
    }
  for (size_t s = 0; s < p.steps.size(); ++s) {
    PlanStep& st = p.steps[s];
    const ir::Node& n = st.is_copy() ? st.copy_node : p.graph.nodes[st.node_index];
    const int64_t opset = n.domain.empty() ? p.graph.opset("") : p.graph.opset(n.domain);
    std::vector<const Tensor*> ins(st.in_slots.size(), nullptr);
    for (size_t i = 0; i < ins.size(); ++i)
      if (st.in_slots[i] >= 0) ins[i] = &slots[st.in_slots[i]];
    if (st.dynamic) {
      // Shapes depend on run-time values: infer again with the actual tensors.
      std::vector<ops::TensorInfo> infos(ins.size());
      std::vector<const ops::TensorInfo*> iptr(ins.size(), nullptr);
      for (size_t i = 0; i < ins.size(); ++i)
        if (ins[i]) {
          infos[i] = {ins[i]->dtype(), ins[i]->shape(), *ins[i]};
          iptr[i] = &infos[i];
        }
      ops::InferContext ictx(n, opset, iptr);
      ops::infer_with_post_ops(*st.def, ictx);
      for (size_t o = 0; o < st.out_slots.size(); ++o) {
        if (st.out_slots[o] < 0) continue;
        auto& oi = ictx.outputs()[o];
        slots[st.out_slots[o]] = oi.value ? *oi.value : Tensor(oi.dtype, *oi.shape);
      }
    } else {
      for (size_t o = 0; o < st.out_slots.size(); ++o) {
        const int64_t sl = st.out_slots[o];
        if (sl < 0 || slots[sl].defined()) continue;  // defined: a caller's output buffer
        const auto& oi = p.info.at(n.outputs[o]);
        const int64_t off = p.arena_offset[sl];
        if (off >= 0) {
          const auto& arena = p.arenas[p.arena_of[sl]].memory;
          slots[sl] =
              Tensor::wrap(oi.dtype, *oi.shape, static_cast<char*>(arena.get()) + off, arena);
        } else {
          slots[sl] = Tensor(oi.dtype, *oi.shape);
        }
      }
    }
    std::vector<Tensor*> outs(st.out_slots.size(), nullptr);
    for (size_t o = 0; o < outs.size(); ++o)
      if (st.out_slots[o] >= 0) outs[o] = &slots[st.out_slots[o]];
    ops::KernelContext kctx(n, opset, std::move(ins), std::move(outs));
    scope.set(st.threads > 0 ? st.threads : p.options.threads);
    if (observer_) observer_->before(s);
    st.kernel->run(kctx);
    // A device kernel returns once queued: a profiler waits for it, so that each step's
    // time is its own (without a profiler, steps overlap and only copies to the host wait).
    if (observer_ && st.backend) st.backend->device().synchronize();
    if (observer_) observer_->after(s);
    for (int64_t f : st.free_after) slots[f] = Tensor();
  }
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
