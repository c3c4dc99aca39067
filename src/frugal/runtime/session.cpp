#include "frugal/runtime/session.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "frugal/kernels/cpu/layout.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/cost.h"
#include "frugal/ops/post_ops.h"
#include "frugal/passes/qdq_fold.h"
#include "frugal/runtime/memory_plan.h"

namespace frugal::runtime {

struct Session::Step {
  size_t node_index;
  const ops::OpDef* def;
  std::unique_ptr<Kernel> kernel;
  std::vector<int64_t> in_slots;   // -1 for omitted inputs
  std::vector<int64_t> out_slots;  // -1 for omitted outputs
  std::vector<int64_t> free_after;  // slots whose last use is this step
  bool dynamic;
};

Session::~Session() = default;

Session::Session(const ir::Graph& graph, SessionOptions options)
    : graph_(graph), options_(std::move(options)) {
  if (options_.backends.empty()) throw UserError("--backend: no backend given");
  if (options_.threads < 0) throw UserError("--threads: must be 1 or more");
  if (options_.threads > 0) kernels::cpu::set_num_threads(options_.threads);
  // A QDQ graph on cpu:int8 runs its activation pairs as integer boundaries: they become
  // ranges (passes/qdq_fold.h; ranges given by the caller take precedence).
  bool int8 = false;
  for (const auto& b : options_.backends) int8 |= b == "cpu:int8";
  for (const auto& [node, list] : options_.node_backends)
    for (const auto& b : list) int8 |= b == "cpu:int8";
  if (int8) {
    passes::QdqFolded q = passes::fold_qdq(graph_);
    if (q.pairs_folded > 0) {
      graph_ = std::move(q.graph);
      for (const auto& [value, r] : q.ranges) options_.backend_config.ranges.emplace(value, kernels::ValueRange{r.min, r.max});
    }
    qdq_notes_ = std::move(q.notes);
    qdq_pairs_folded_ = q.pairs_folded;
  }
  for (const auto& b : options_.backends) backends_.push_back(kernels::make_backend(b, options_.backend_config));
  if (options_.optimize) {
    passes::Optimized o = passes::optimize(graph_, options_.infer);
    graph_ = std::move(o.graph);
    passes_ = std::move(o.passes);
  }
  info_ = ops::infer_graph(graph_, options_.infer);
  ops::require_supported(graph_, info_, options_.origin);

  // Per-node preference lists (mixed precision): backends by name, each made once.
  std::map<std::string, Backend*> backend_named;
  for (size_t i = 0; i < backends_.size(); ++i) backend_named[options_.backends[i]] = backends_[i].get();
  std::map<std::string, std::vector<Backend*>> node_lists;
  for (const auto& [node, list] : options_.node_backends) {
    bool found = false;
    for (const auto& n : graph_.nodes) found |= n.name == node;
    if (!found)
      throw UserError(options_.origin + ": node_backends: no node named '" + node +
                      "' in the compiled graph");
    if (list.empty()) throw UserError(options_.origin + ": node_backends: '" + node + "': no backend given");
    for (const auto& b : list) {
      if (!backend_named.count(b)) {
        backends_.push_back(kernels::make_backend(b, options_.backend_config));
        backend_named[b] = backends_.back().get();
      }
      node_lists[node].push_back(backend_named[b]);
    }
  }
  std::vector<Backend*> default_list;
  for (size_t i = 0; i < options_.backends.size(); ++i) default_list.push_back(backends_[i].get());

  auto slot = [&](const std::string& name) -> int64_t {
    if (name.empty()) return -1;
    auto [it, fresh] = slot_of_.emplace(name, slot_of_.size());
    if (fresh) {
      const auto& ti = info_.values.count(name) ? info_.at(name) : ops::TensorInfo{};
      constants_.push_back(ti.value ? *ti.value : Tensor());
    }
    return static_cast<int64_t>(it->second);
  };
  for (const auto& in : graph_.inputs) {
    input_slots_.push_back(slot(in.name));
    inputs_.push_back({in.name, in.dtype, info_.input_shapes.at(in.name)});
  }
  for (size_t k = 0; k < graph_.nodes.size(); ++k) {
    const ir::Node& n = graph_.nodes[k];
    const auto state = info_.nodes[k].state;
    if (state == ops::NodeStatus::State::kFolded) {
      for (const auto& o : n.outputs) slot(o);
      continue;
    }
    Step st;
    st.node_index = k;
    st.def = ops::find_op(n.domain, n.op_type);
    st.dynamic = state == ops::NodeStatus::State::kDynamic;
    NodeView view{n, n.domain.empty() ? graph_.opset("") : graph_.opset(n.domain), {}, {},
                  st.dynamic};
    for (const auto& i : n.inputs) {
      st.in_slots.push_back(slot(i));
      view.inputs.push_back(i.empty() ? nullptr : &info_.at(i));
    }
    for (const auto& o : n.outputs) {
      st.out_slots.push_back(slot(o));
      view.outputs.push_back(o.empty() ? nullptr : &info_.at(o));
    }
    NodeAssignment a{k, n.name, n.op_type, "", "", {}};
    auto listed = node_lists.find(n.name);
    for (Backend* b : listed != node_lists.end() ? listed->second : default_list) {
      std::string why;
      st.kernel = b->create(view, why);
      if (st.kernel) {
        a.backend = b->name();
        a.impl = st.kernel->impl();
        break;
      }
      a.declined.push_back(b->name() + ": " + why);
    }
    if (!st.kernel) {
      std::string reasons;
      for (const auto& d : a.declined) reasons += (reasons.empty() ? "" : "; ") + d;
      throw UnsupportedError(options_.origin + ": " + n.describe() +
                             ": no backend can run it (" + reasons + ")");
    }
    assignments_.push_back(std::move(a));
    steps_.push_back(std::move(st));
  }
  if (options_.backends.size() > 1) {
    const ops::GraphCost cost = ops::analyze_cost(graph_, info_);
    const double total = static_cast<double>(cost.total.macs);
    for (const auto& a : assignments_) {
      if (a.declined.empty()) continue;
      const int64_t macs = cost.nodes.at(a.node_index).macs;
      fallbacks_.push_back({a.node_name, a.op_type, a.backend, a.declined.front(), macs,
                            total > 0 ? static_cast<double>(macs) / total : 0.0});
    }
    std::stable_sort(fallbacks_.begin(), fallbacks_.end(),
                     [](const Fallback& x, const Fallback& y) { return x.macs > y.macs; });
  }
  for (const auto& out : graph_.outputs) {
    output_slots_.push_back(slot(out.name));
    const auto& ti = info_.at(out.name);
    outputs_.push_back({out.name, ti.dtype, ti.shape ? *ti.shape : Shape{}});
  }
  // Free each intermediate after its last reader, so peak memory is the live set.
  std::vector<int64_t> last_use(slot_of_.size(), -1);
  for (size_t s = 0; s < steps_.size(); ++s)
    for (int64_t i : steps_[s].in_slots)
      if (i >= 0) last_use[i] = static_cast<int64_t>(s);
  for (size_t o : output_slots_) last_use[o] = static_cast<int64_t>(steps_.size());
  for (size_t sl = 0; sl < last_use.size(); ++sl)
    if (last_use[sl] >= 0 && last_use[sl] < static_cast<int64_t>(steps_.size()) &&
        !constants_[sl].defined())
      steps_[last_use[sl]].free_after.push_back(static_cast<int64_t>(sl));
  for (const auto& c : constants_)
    if (c.defined()) constant_bytes_ += c.nbytes();

  std::vector<bool> is_output(slot_of_.size(), false);
  for (size_t o : output_slots_) is_output[o] = true;

  // Values that flow only between kernels able to keep the producer's native layout stay
  // in it: the producer's reorder to plain and each reader's reorder back go. Graph outputs
  // and values any other kernel reads stay plain.
  std::vector<std::vector<std::pair<size_t, size_t>>> readers(slot_of_.size());
  for (size_t s = 0; s < steps_.size(); ++s)
    for (size_t i = 0; i < steps_[s].in_slots.size(); ++i)
      if (steps_[s].in_slots[i] >= 0) readers[steps_[s].in_slots[i]].push_back({s, i});
  auto negotiable = [&](size_t s) -> kernels::cpu::LayoutNegotiable* {
    return steps_[s].dynamic ? nullptr
                             : dynamic_cast<kernels::cpu::LayoutNegotiable*>(steps_[s].kernel.get());
  };
  std::vector<size_t> native_bytes(slot_of_.size(), 0);
  // FRUGAL_PLAIN_LAYOUTS=1 keeps every value plain: the A/B switch of bench/RESULTS.md.
  const char* plain_only = std::getenv("FRUGAL_PLAIN_LAYOUTS");
  const bool negotiate = !(plain_only && std::string(plain_only) == "1");

  // First 8-bit values between int8 kernels (layout.h's QuantNegotiable): a value every
  // reader would quantize with the same parameters into the same layout, and that its
  // producer can write so, stays u8. FRUGAL_INT8_FLOAT_BOUNDARIES=1 turns this off (A/B).
  const char* float_bounds = std::getenv("FRUGAL_INT8_FLOAT_BOUNDARIES");
  const bool quantize = negotiate && !(float_bounds && std::string(float_bounds) == "1");
  auto quant_negotiable = [&](size_t s) -> kernels::cpu::QuantNegotiable* {
    return steps_[s].dynamic ? nullptr
                             : dynamic_cast<kernels::cpu::QuantNegotiable*>(steps_[s].kernel.get());
  };
  for (size_t s = 0; quantize && s < steps_.size(); ++s) {
    kernels::cpu::QuantNegotiable* producer = quant_negotiable(s);
    if (!producer) continue;
    for (size_t o = 0; o < steps_[s].out_slots.size(); ++o) {
      const int64_t sl = steps_[s].out_slots[o];
      if (sl < 0 || is_output[sl] || readers[sl].empty()) continue;
      std::optional<kernels::cpu::QuantizedLayout> agreed;
      bool all = true;
      for (const auto& [r, i] : readers[sl]) {
        kernels::cpu::QuantNegotiable* reader = quant_negotiable(r);
        const auto wanted = reader ? reader->quantized_input(i) : std::nullopt;
        all = all && wanted && (!agreed || (wanted->layout.key == agreed->layout.key &&
                                            wanted->quant == agreed->quant));
        if (!all) break;
        agreed = wanted;
      }
      if (!all) continue;
      const auto written = producer->quantized_output(o, agreed->quant);
      if (!written || written->key != agreed->layout.key) continue;
      producer->adopt_quantized_output(o, agreed->quant);
      for (const auto& [r, i] : readers[sl]) quant_negotiable(r)->adopt_quantized_input(i);
      native_bytes[sl] = written->bytes;
      quantized_values_[graph_.nodes[steps_[s].node_index].outputs[o]] = agreed->quant;
    }
  }
  for (size_t s = 0; s < steps_.size(); ++s) assignments_[s].impl = steps_[s].kernel->impl();

  for (size_t s = 0; negotiate && s < steps_.size(); ++s) {
    kernels::cpu::LayoutNegotiable* producer = negotiable(s);
    if (!producer) continue;
    for (size_t o = 0; o < steps_[s].out_slots.size(); ++o) {
      const int64_t sl = steps_[s].out_slots[o];
      if (sl < 0 || is_output[sl] || readers[sl].empty() || native_bytes[sl]) continue;
      const auto layout = producer->native_output(o);
      if (!layout) continue;
      bool agreed = true;
      for (const auto& [r, i] : readers[sl]) {
        kernels::cpu::LayoutNegotiable* reader = negotiable(r);
        const auto wanted = reader ? reader->native_input(i) : std::nullopt;
        agreed = agreed && wanted && wanted->key == layout->key;
      }
      if (!agreed) continue;
      producer->adopt_native_output(o);
      for (const auto& [r, i] : readers[sl]) negotiable(r)->adopt_native_input(i);
      native_bytes[sl] = layout->bytes;
      ++native_layout_values_;
    }
  }

  // Plan the arena: outputs of static steps that are not graph outputs.
  std::vector<BufferRequest> requests;
  std::vector<size_t> request_slot;
  for (size_t s = 0; s < steps_.size(); ++s) {
    if (steps_[s].dynamic) continue;
    const ir::Node& n = graph_.nodes[steps_[s].node_index];
    for (size_t o = 0; o < steps_[s].out_slots.size(); ++o) {
      int64_t sl = steps_[s].out_slots[o];
      if (sl < 0 || is_output[sl]) continue;
      const auto& ti = info_.at(n.outputs[o]);
      size_t bytes = native_bytes[sl] ? native_bytes[sl]
                                      : static_cast<size_t>(shape_numel(*ti.shape)) * dtype_size(ti.dtype);
      int64_t last = std::max<int64_t>(last_use[sl], static_cast<int64_t>(s));
      requests.push_back({bytes, static_cast<int64_t>(s), last});
      request_slot.push_back(static_cast<size_t>(sl));
    }
  }
  MemoryPlan plan = plan_memory(requests, kTensorAlignment);
  arena_offset_.assign(slot_of_.size(), -1);
  for (size_t i = 0; i < requests.size(); ++i)
    arena_offset_[request_slot[i]] = static_cast<int64_t>(plan.offsets[i]);
  arena_bytes_ = plan.arena_bytes;
  arena_lower_bound_ = plan.lower_bound;
  if (arena_bytes_ > max_tensor_bytes())
    throw UserError(options_.origin + ": activations need " + std::to_string(arena_bytes_) +
                    " bytes, more than this machine's memory");
  if (arena_bytes_) {
    void* p = std::aligned_alloc(kTensorAlignment, arena_bytes_);
    if (!p) throw UserError(options_.origin + ": cannot allocate the activation arena (" +
                            std::to_string(arena_bytes_) + " bytes)");
    arena_ = std::shared_ptr<void>(p, [](void* q) { std::free(q); });
  }
}

std::vector<Tensor> Session::run(const std::vector<Tensor>& inputs) {
  if (inputs.size() != inputs_.size())
    throw UserError(options_.origin + ": expected " + std::to_string(inputs_.size()) +
                    " inputs, got " + std::to_string(inputs.size()));
  std::vector<Tensor> slots = constants_;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const Port& p = inputs_[i];
    const Tensor& t = inputs[i];
    if (t.dtype() != p.dtype)
      throw UserError("input '" + p.name + "': expected dtype " +
                      std::string(dtype_name(p.dtype)) + ", got " +
                      std::string(dtype_name(t.dtype())));
    if (t.shape() != p.shape)
      throw UserError("input '" + p.name + "': expected shape " + shape_str(p.shape) +
                      ", got " + shape_str(t.shape()));
    slots[input_slots_[i]] = t;
  }
  if (options_.poison_arena && arena_) {
    float* f = static_cast<float*>(arena_.get());
    std::fill(f, f + arena_bytes_ / sizeof(float), std::numeric_limits<float>::quiet_NaN());
  }
  for (size_t s = 0; s < steps_.size(); ++s) {
    Step& st = steps_[s];
    const ir::Node& n = graph_.nodes[st.node_index];
    const int64_t opset = n.domain.empty() ? graph_.opset("") : graph_.opset(n.domain);
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
        if (st.out_slots[o] < 0) continue;
        const auto& oi = info_.at(n.outputs[o]);
        int64_t off = arena_offset_[st.out_slots[o]];
        slots[st.out_slots[o]] =
            off >= 0 ? Tensor::wrap(oi.dtype, *oi.shape, static_cast<char*>(arena_.get()) + off, arena_)
                     : Tensor(oi.dtype, *oi.shape);
      }
    }
    std::vector<Tensor*> outs(st.out_slots.size(), nullptr);
    for (size_t o = 0; o < outs.size(); ++o)
      if (st.out_slots[o] >= 0) outs[o] = &slots[st.out_slots[o]];
    ops::KernelContext kctx(n, opset, std::move(ins), std::move(outs));
    if (observer_) observer_->before(s);
    st.kernel->run(kctx);
    if (observer_) observer_->after(s);
    for (int64_t f : st.free_after) slots[f] = Tensor();
  }
  std::vector<Tensor> result;
  for (size_t o : output_slots_) result.push_back(slots[o]);
  return result;
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
