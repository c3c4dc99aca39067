#include "frugal/runtime/plan.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <optional>

#include "frugal/core/host_memory.h"
#include "frugal/kernels/deferred_build.h"
#include "frugal/kernels/threads.h"
#include "frugal/ops/cost.h"
#include "frugal/passes/qdq_fold.h"
#include "frugal/runtime/compile_stages.h"
#include "frugal/runtime/memory_plan.h"
#include "frugal/runtime/sub_batch.h"
#include "frugal/runtime/sum_in_place.h"
#include "frugal/runtime/views.h"

namespace frugal::runtime {
namespace {

int64_t opset_of(const ir::Graph& g, const ir::Node& n) {
  return n.domain.empty() ? g.opset("") : g.opset(n.domain);
}

bool env_is_one(const char* name) {
  const char* v = std::getenv(name);
  return v && std::string(v) == "1";
}

// A step's kernel as negotiation interface T, or null (dynamic steps never negotiate).
template <typename T>
T* negotiable(const Plan& p, size_t s) {
  return p.steps[s].dynamic ? nullptr : dynamic_cast<T*>(p.steps[s].kernel.get());
}

// Copies a value between two devices, at least one of which holds host-readable memory
// (or through a host buffer when neither does).
class CopyKernel final : public Kernel {
 public:
  CopyKernel(const Device& from, const Device& to) : from_(from), to_(to) {}
  void run(ops::KernelContext& ctx) override {
    const Tensor& in = ctx.input(0);
    Tensor& out = ctx.output(0);
    const size_t bytes = in.nbytes();
    if (from_.shares_host_memory()) {
      to_.copy_from_host(out.raw(), in.raw(), bytes);
    } else if (to_.shares_host_memory()) {
      from_.copy_to_host(out.raw(), in.raw(), bytes);
    } else {
      std::vector<char> host(bytes);
      from_.copy_to_host(host.data(), in.raw(), bytes);
      to_.copy_from_host(out.raw(), host.data(), bytes);
    }
    to_.synchronize();
  }
  std::string impl() const override { return "copy " + from_.name() + " -> " + to_.name(); }

 private:
  const Device& from_;
  const Device& to_;
};

}  // namespace

int64_t Plan::slot(const std::string& name) {
  if (name.empty()) return -1;
  auto [it, fresh] = slot_of.emplace(name, slot_of.size());
  if (fresh) {
    const auto found = info.values.find(name);
    constants.push_back(found != info.values.end() && found->second.value ? *found->second.value
                                                                          : Tensor());
    slot_name.push_back(name);
    slot_device.push_back(&host_device());
  }
  return static_cast<int64_t>(it->second);
}

bool Plan::is_output(size_t sl) const {
  return std::find(output_slots.begin(), output_slots.end(), sl) != output_slots.end();
}

std::vector<std::vector<std::pair<size_t, size_t>>> Plan::readers() const {
  std::vector<std::vector<std::pair<size_t, size_t>>> r(slot_of.size());
  for (size_t s = 0; s < steps.size(); ++s)
    for (size_t i = 0; i < steps[s].in_slots.size(); ++i)
      if (steps[s].in_slots[i] >= 0) r[steps[s].in_slots[i]].push_back({s, i});
  return r;
}

// A QDQ graph on a backend that reads activation ranges (cpu:int8) runs its activation pairs
// as integer boundaries: they become ranges (passes/qdq_fold.h; ranges given by the caller
// take precedence).
void fold_qdq(Plan& p) {
  bool ranges = false;
  for (const auto& b : p.options.backends) ranges |= kernels::backend_traits(b).reads_ranges;
  for (const auto& [node, list] : p.options.node_backends)
    for (const auto& b : list) ranges |= kernels::backend_traits(b).reads_ranges;
  if (!ranges) return;
  passes::QdqFolded q = passes::fold_qdq(p.graph);
  if (q.pairs_folded > 0 || q.weights_dequantized > 0) {
    p.graph = std::move(q.graph);
    for (const auto& [value, r] : q.ranges)
      p.options.backend_config.ranges.emplace(value, kernels::ValueRange{r.min, r.max});
  }
  p.qdq_notes = std::move(q.notes);
  p.qdq_pairs_folded = q.pairs_folded;
}

namespace {

// A listed backend this machine cannot run (BackendTraits::available false, e.g. a GPU
// backend without a GPU): it declines every node with the reason its factory gave, so
// that the rest of the list takes them and info --plan says why.
class UnavailableBackend final : public Backend {
 public:
  UnavailableBackend(std::string name, std::string why)
      : name_(std::move(name)), why_(std::move(why)) {}
  std::string name() const override { return name_; }
  std::unique_ptr<Kernel> create(const NodeView&, std::string& why_not) override {
    why_not = why_;
    return nullptr;
  }

 private:
  std::string name_, why_;
};

}  // namespace

// The default list's backends, made once each (per-node lists are added by place, once the
// compiled graph's node names are known). An unavailable backend is skipped when another
// one of the list is there to take its nodes; when none is, its error is the session's.
void make_backends(Plan& p) {
  std::optional<std::string> unavailable;
  size_t made = 0;
  for (const auto& b : p.options.backends) {
    const auto& available = kernels::backend_traits(b).available;
    if (available && !available()) {
      try {
        p.backends.push_back(kernels::make_backend(b, p.options.backend_config));
        ++made;
      } catch (const UserError& e) {
        if (!unavailable) unavailable = "--backend " + b + ": " + e.what();
        p.backends.push_back(std::make_unique<UnavailableBackend>(b, e.what()));
      }
      continue;
    }
    p.backends.push_back(kernels::make_backend(b, p.options.backend_config));
    ++made;
  }
  if (made == 0 && unavailable) throw UserError(*unavailable);
  for (auto& b : p.backends) p.default_list.push_back(b.get());
}

// A squeeze-and-excitation block becomes one node only for a first-choice backend that
// computes float32 on the host (its 1x1 Convs stay Convs for a GPU backend, for int8 and
// bf16 variants that quantize them, and for an emulator), and only without per-node backend
// lists, which may name the Convs.
bool fuse_squeeze_excite(const Plan& p, bool emulated) {
  if (emulated || p.default_list.empty() || !p.options.node_backends.empty()) return false;
  const kernels::Backend& first = *p.default_list.front();
  const DeviceKind kind = first.device().kind();
  return (kind == DeviceKind::kHost || kind == DeviceKind::kHostCores) &&
         kernels::backend_traits(first.name()).format == "fp32";
}

void optimize(Plan& p) {
  if (p.options.optimize) {
    // An emulator (--format) computes attention's MatMuls in its number formats only while
    // they stay MatMuls: no attention fusion for it.
    const bool emulated = !p.default_list.empty() &&
                          kernels::backend_traits(p.default_list.front()->name()).reads_format;
    passes::Optimized o =
        passes::optimize(p.graph, p.options.infer, emulated, fuse_squeeze_excite(p, emulated));
    p.graph = std::move(o.graph);
    p.passes = std::move(o.passes);
  }
  p.info = ops::infer_graph(p.graph, p.options.infer);
  ops::require_supported(p.graph, p.info, p.options.origin);
}

// A split plan (runtime/batch_split.h) made on the graph after the passes: its copies then
// share the folded weights, and each backend converts them once.
void split_prefix(Plan& p) {
  const SessionOptions& o = p.options;
  if (o.sub_batch <= 0 || o.sub_batch_until.empty()) return;
  if (auto g =
          split_at(p.graph, o.infer, p.info, o.sub_batch, o.sub_batch_until, p.split_refused)) {
    p.graph = std::move(*g);
    p.info = ops::infer_graph(p.graph, o.infer);
  }
}

// A thread wake-up costs a few microseconds per parallel region; a node whose work takes
// less than SessionOptions::parallel_min_us on one thread runs on one (bench/RESULTS.md,
// "Threads per node", measured the gain), and so does one whose workers are likely asleep
// unless it is much larger ("Isolated parallel nodes"). The rates are one core's order of magnitude
// on the machines frugal targets: they decide which side of the threshold a node falls, not a
// prediction of its time.
namespace {
const std::vector<Backend*>& backends_for(Plan& p, const ir::Node& n);

// MACs per unit time of the node's first-choice backend relative to fp32's: an 8-bit
// multiply-accumulate instruction (AVX-512 VNNI's vpdpbusd) does 4 per 32-bit lane where an
// fp32 FMA does 1. Without it, int8 convolutions of a few microseconds were planned on two
// threads and paid the wake-up (bench/RESULTS.md, "int8: AMX kernels and threads").
double mac_rate_factor(Plan& p, const ir::Node& n) {
  const auto& list = backends_for(p, n);
  if (list.empty()) return 1.0;
  return kernels::backend_traits(list.front()->name()).format == "int8" ? 4.0 : 1.0;
}
}  // namespace

std::vector<int> threads_per_node(const std::vector<double>& us, int threads, double min_us,
                                  double awake_us) {
  std::vector<int> t(us.size(), threads);
  if (threads <= 1 || min_us <= 0) return t;
  // Waking a sleeping worker (a futex and a scheduler slice: 23-250 us here against 1 us for
  // a spinning one) is paid by a parallel node that follows a stretch of one-thread work
  // longer than the workers stay awake; such a node needs this many times `min_us` of work.
  constexpr double kIsolatedFactor = 4.0;
  // Runs follow each other, so the stretch before the first parallel node includes the end
  // of the run before: two passes, the first from awake workers, the second from the end
  // of the first, and its decisions are kept. Estimated stretches must exceed the awake
  // time kStretchFactor times: the estimates run up to twice the real time, and on a quiet
  // machine with workers awake for 100 us (GOMP_SPINCOUNT=10000) a factor of 1 made
  // mobilenet_v3_small and shufflenet_v2 11 % slower at batch 1, with 0 (workers asleep at
  // once) 0.70 and 0.78 of the time (bench/RESULTS.md, "Isolated parallel nodes").
  constexpr double kStretchFactor = 4.0;
  double idle = 0;
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t k = 0; k < us.size(); ++k) {
      const bool isolated = idle > kStretchFactor * awake_us;
      const bool parallel = us[k] >= min_us && (!isolated || us[k] >= kIsolatedFactor * min_us);
      t[k] = parallel ? threads : 1;
      idle = parallel ? 0 : idle + us[k];
    }
  }
  return t;
}

void plan_threads(Plan& p) {
  constexpr double kMacsPerUs = 30e3;   // 30 GMAC/s fp32 on one core (AVX-512 FMA, oneDNN)
  constexpr double kBytesPerUs = 10e3;  // 10 GB/s of one core's streaming bandwidth
  const int n = p.options.threads;
  p.node_threads.assign(p.graph.nodes.size(), n);
  if (n <= 1 || p.options.parallel_min_us <= 0) return;
  const ops::GraphCost cost = ops::analyze_cost(p.graph, p.info);
  std::vector<double> us(p.graph.nodes.size());
  for (size_t k = 0; k < p.graph.nodes.size(); ++k) {
    const ops::NodeCost& c = cost.nodes[k];
    const double macs_per_us = kMacsPerUs * mac_rate_factor(p, p.graph.nodes[k]);
    us[k] = static_cast<double>(c.macs) / macs_per_us +
            static_cast<double>(c.bytes_read + c.bytes_written) / kBytesPerUs;
  }
  // A whole run shorter than two wake-ups of a sleeping worker (23-250 us measured on these
  // machines) cannot gain from a second thread what one late wake-up costs: LeNet-5 at
  // batch 8 (about 190 us estimated, conv2 on two threads) took 0.12 to 0.63 ms per run at
  // 2 threads against a steady 0.14 at 1 on the 2-core EPYC (bench/RESULTS.md, "Every model
  // against ONNX Runtime on the EPYC").
  constexpr double kTinyRunUs = 500;
  double total = 0;
  for (double u : us) total += u;
  if (total < kTinyRunUs) {
    p.node_threads.assign(p.graph.nodes.size(), 1);
    return;
  }
  p.node_threads = threads_per_node(us, n, p.options.parallel_min_us, kernels::workers_awake_us());
}

namespace {

// The backends that may run node `n`, in preference order (its node_backends list, made on
// first use, or the default list).
const std::vector<Backend*>& backends_for(Plan& p, const ir::Node& n) {
  auto listed = p.node_lists.find(n.name);
  return listed != p.node_lists.end() ? listed->second : p.default_list;
}

void make_node_lists(Plan& p) {
  std::map<std::string, Backend*> named;
  for (size_t i = 0; i < p.default_list.size(); ++i)
    named[p.options.backends[i]] = p.default_list[i];
  for (const auto& [node, list] : p.options.node_backends) {
    bool found = false;
    for (const auto& n : p.graph.nodes) found |= n.name == node;
    if (!found)
      throw UserError(p.options.origin + ": node_backends: no node named '" + node +
                      "' in the compiled graph");
    if (list.empty())
      throw UserError(p.options.origin + ": node_backends: '" + node + "': no backend given");
    for (const auto& b : list) {
      if (!named.count(b)) {
        p.backends.push_back(kernels::make_backend(b, p.options.backend_config));
        named[b] = p.backends.back().get();
      }
      p.node_lists[node].push_back(named[b]);
    }
  }
}

// The step of node k: its slots and the first preferred backend's kernel, built with the
// node's thread count.
PlanStep place_node(Plan& p, size_t k) {
  const ir::Node& n = p.graph.nodes[k];
  PlanStep st;
  st.node_index = k;
  st.def = ops::find_op(n.domain, n.op_type);
  st.dynamic = p.info.nodes[k].state == ops::NodeStatus::State::kDynamic;
  st.threads = p.node_threads.empty() ? 0 : p.node_threads[k];
  NodeView view{n, opset_of(p.graph, n), {}, {}, st.dynamic};
  for (const auto& i : n.inputs) {
    st.in_slots.push_back(p.slot(i));
    view.inputs.push_back(i.empty() ? nullptr : &p.info.at(i));
  }
  for (const auto& o : n.outputs) {
    st.out_slots.push_back(p.slot(o));
    view.outputs.push_back(o.empty() ? nullptr : &p.info.at(o));
  }
  NodeAssignment a{k, n.name, n.op_type, "", "", {}, st.threads, 0};
  kernels::ThreadScope scope(st.threads);
  for (Backend* b : backends_for(p, n)) {
    std::string why;
    st.kernel = b->create(view, why);
    if (st.kernel) {
      st.backend = b;
      a.backend = b->name();
      a.impl = st.kernel->impl();
      break;
    }
    a.declined.push_back(b->name() + ": " + why);
  }
  if (!st.kernel) {
    std::string reasons;
    for (const auto& d : a.declined) reasons += (reasons.empty() ? "" : "; ") + d;
    throw UnsupportedError(p.options.origin + ": " + n.describe() + ": no backend can run it (" +
                           reasons + ")");
  }
  for (int64_t sl : st.out_slots)
    if (sl >= 0) p.slot_device[sl] = &st.backend->device();
  p.assignments.push_back(std::move(a));
  return st;
}

}  // namespace

void place(Plan& p) {
  make_node_lists(p);
  for (const auto& in : p.graph.inputs) p.input_slots.push_back(p.slot(in.name));
  for (size_t k = 0; k < p.graph.nodes.size(); ++k) {
    if (p.info.nodes[k].state == ops::NodeStatus::State::kFolded) {
      for (const auto& o : p.graph.nodes[k].outputs) p.slot(o);
      continue;
    }
    p.steps.push_back(place_node(p, k));
  }
  for (const auto& out : p.graph.outputs) p.output_slots.push_back(p.slot(out.name));
}

void find_fallbacks(Plan& p) {
  if (p.options.backends.size() <= 1) return;
  const ops::GraphCost cost = ops::analyze_cost(p.graph, p.info);
  const double total = static_cast<double>(cost.total.macs);
  for (const auto& a : p.assignments) {
    if (a.declined.empty()) continue;
    const int64_t macs = cost.nodes.at(a.node_index).macs;
    p.fallbacks.push_back({a.node_name, a.op_type, a.backend, a.declined.front(), macs,
                           total > 0 ? static_cast<double>(macs) / total : 0.0});
  }
  std::stable_sort(p.fallbacks.begin(), p.fallbacks.end(),
                   [](const Fallback& x, const Fallback& y) { return x.macs > y.macs; });
}

// Graph outputs are handed to the caller on the host: a value read on a device that cannot
// read its producer's memory gets one copy per (value, device), made right before its
// first such reader.
void insert_transfers(Plan& p) {
  std::vector<PlanStep> steps;
  std::vector<NodeAssignment> assignments;
  std::map<std::pair<size_t, const Device*>, int64_t> copied;  // (slot, device) -> copy slot
  auto copy_of = [&](size_t sl, const Device& to) -> int64_t {
    const Device& from = *p.slot_device[sl];
    if (!needs_copy(from, to)) return static_cast<int64_t>(sl);
    auto it = copied.find({sl, &to});
    if (it != copied.end()) return it->second;
    const std::string value = p.slot_name[sl];
    const auto& ti = p.info.at(value);
    if (!ti.shape)
      throw UnsupportedError(p.options.origin + ": value '" + value +
                             "' (shape known only at run time) cannot move from " + from.name() +
                             " to " + to.name());
    PlanStep c;
    c.copy_node.name = "copy:" + value + "@" + to.name();
    c.copy_node.op_type = "Copy";
    c.copy_node.inputs = {value};
    c.copy_node.outputs = {value + "@" + to.name()};
    c.kernel = std::make_unique<CopyKernel>(from, to);
    c.in_slots = {static_cast<int64_t>(sl)};
    const int64_t out = p.slot(c.copy_node.outputs[0]);
    p.constants[out] = Tensor();
    p.slot_device[out] = &to;
    p.info.values[c.copy_node.outputs[0]] = ops::TensorInfo{ti.dtype, ti.shape, std::nullopt};
    c.out_slots = {out};
    const size_t bytes = static_cast<size_t>(shape_numel(*ti.shape)) * dtype_size(ti.dtype);
    p.transfers.push_back({steps.size(), value, from.name(), to.name(), bytes});
    assignments.push_back({SIZE_MAX, c.copy_node.name, "Copy", "", c.kernel->impl(), {}, 1, bytes});
    steps.push_back(std::move(c));
    copied[{sl, &to}] = out;
    return out;
  };
  for (size_t s = 0; s < p.steps.size(); ++s) {
    PlanStep& st = p.steps[s];
    const Device& here = st.backend ? st.backend->device() : host_device();
    for (auto& in : st.in_slots)
      if (in >= 0 && !p.constants[in].defined()) in = copy_of(static_cast<size_t>(in), here);
    steps.push_back(std::move(st));
    assignments.push_back(std::move(p.assignments[s]));
  }
  for (auto& o : p.output_slots) o = static_cast<size_t>(copy_of(o, host_device()));
  p.steps = std::move(steps);
  p.assignments = std::move(assignments);
}

// Free each intermediate after its last reader, so peak memory is the live set.
void plan_liveness(Plan& p) {
  const auto n = static_cast<int64_t>(p.steps.size());
  p.last_use.assign(p.slot_of.size(), -1);
  for (size_t s = 0; s < p.steps.size(); ++s)
    for (int64_t i : p.steps[s].in_slots)
      if (i >= 0) p.last_use[i] = static_cast<int64_t>(s);
  for (size_t o : p.output_slots) p.last_use[o] = n;
  for (size_t sl = 0; sl < p.last_use.size(); ++sl)
    if (p.last_use[sl] >= 0 && p.last_use[sl] < n && !p.constants[sl].defined())
      p.steps[p.last_use[sl]].free_after.push_back(static_cast<int64_t>(sl));
  p.constant_bytes = 0;
  for (const auto& c : p.constants)
    if (c.defined()) p.constant_bytes += c.nbytes();
  p.native_bytes.assign(p.slot_of.size(), 0);
}

// A value every reader would quantize with the same parameters into the same layout, and
// that its producer can write so, stays u8 (kernels/negotiation.h QuantNegotiable).
// FRUGAL_PLAIN_LAYOUTS=1 or FRUGAL_INT8_FLOAT_BOUNDARIES=1 turn this off (A/B switches of
// bench/RESULTS.md).
void negotiate_quantized(Plan& p) {
  if (env_is_one("FRUGAL_PLAIN_LAYOUTS") || env_is_one("FRUGAL_INT8_FLOAT_BOUNDARIES")) return;
  using kernels::QuantNegotiable;
  const auto readers = p.readers();
  for (size_t s = 0; s < p.steps.size(); ++s) {
    QuantNegotiable* producer = negotiable<QuantNegotiable>(p, s);
    if (!producer) continue;
    for (size_t o = 0; o < p.steps[s].out_slots.size(); ++o) {
      const int64_t sl = p.steps[s].out_slots[o];
      if (sl < 0 || p.is_output(sl) || readers[sl].empty()) continue;
      std::optional<kernels::QuantizedLayout> agreed;
      bool all = true;
      for (const auto& [r, i] : readers[sl]) {
        QuantNegotiable* reader = negotiable<QuantNegotiable>(p, r);
        const auto wanted = reader ? reader->quantized_input(i) : std::nullopt;
        all = all && wanted &&
              (!agreed ||
               (wanted->layout.key == agreed->layout.key && wanted->quant == agreed->quant));
        if (!all) break;
        agreed = wanted;
      }
      if (!all) continue;
      const auto written = producer->quantized_output(o, agreed->quant);
      if (!written || written->key != agreed->layout.key) continue;
      producer->adopt_quantized_output(o, agreed->quant);
      for (const auto& [r, i] : readers[sl])
        negotiable<QuantNegotiable>(p, r)->adopt_quantized_input(i);
      p.native_bytes[sl] = written->bytes;
      p.quantized_values[p.slot_name[sl]] = agreed->quant;
    }
  }
}

// Values that flow only between kernels able to keep the producer's native layout stay in
// it: the producer's reorder to plain and each reader's reorder back go. Graph outputs and
// values any other kernel (a copy included) reads stay plain. FRUGAL_PLAIN_LAYOUTS=1 keeps
// every value plain.
void negotiate_layouts(Plan& p) {
  if (env_is_one("FRUGAL_PLAIN_LAYOUTS")) return;
  using kernels::LayoutNegotiable;
  const auto readers = p.readers();
  for (size_t s = 0; s < p.steps.size(); ++s) {
    LayoutNegotiable* producer = negotiable<LayoutNegotiable>(p, s);
    if (!producer) continue;
    for (size_t o = 0; o < p.steps[s].out_slots.size(); ++o) {
      const int64_t sl = p.steps[s].out_slots[o];
      if (sl < 0 || p.is_output(sl) || readers[sl].empty() || p.native_bytes[sl]) continue;
      const auto layout = producer->native_output(o);
      if (!layout) continue;
      bool agreed = true;
      for (const auto& [r, i] : readers[sl]) {
        LayoutNegotiable* reader = negotiable<LayoutNegotiable>(p, r);
        const auto wanted = reader ? reader->native_input(i) : std::nullopt;
        agreed = agreed && wanted && wanted->key == layout->key;
      }
      if (!agreed) continue;
      producer->adopt_native_output(o);
      for (const auto& [r, i] : readers[sl])
        negotiable<LayoutNegotiable>(p, r)->adopt_native_input(i);
      p.native_bytes[sl] = layout->bytes;
      ++p.native_layout_values;
    }
  }
}

// Kernels that answered the negotiation from descriptions build what runs now, once
// (kernels/deferred_build.h), so that the first run costs what every run costs.
void finish_builds(Plan& p) {
  for (size_t s = 0; s < p.steps.size(); ++s)
    if (auto* k = negotiable<kernels::DeferredBuild>(p, s)) k->finish_build();
  // The kernels' names now that every negotiation has settled (a kernel may name the
  // quantized values or the layouts it adopted).
  for (size_t s = 0; s < p.steps.size(); ++s) p.assignments[s].impl = p.steps[s].kernel->impl();
}

// The leading dimension of the first graph input, as planned: the batch an arena was sized
// for, named when it does not fit.
std::string planned_batch(const Plan& p) {
  for (const auto& [name, shape] : p.info.input_shapes)
    if (!shape.empty()) return " at batch " + std::to_string(shape.front());
  return "";
}

// Refuses host arenas that would not fit in what the host can still give this process
// (MemAvailable, RLIMIT_AS): a huge batch then fails in a line instead of swapping or being
// killed (issue 24). `host_bytes` sums every host-memory arena of the plan so far.
void check_host_budget(const Plan& p, size_t host_bytes) {
  const HostMemoryBudget budget = host_memory_budget();
  if (budget.limited_by.empty() || host_bytes <= budget.bytes) return;
  throw UserError(p.options.origin + ": activations" + planned_batch(p) + " need " +
                  human_bytes(host_bytes) + " (" + std::to_string(host_bytes) +
                  " bytes), more than the " + human_bytes(budget.bytes) +
                  " this process can still use (" + budget.limited_by + ")");
}

// The steps over which each buffer must stay reserved: from the first write to the last
// read of the value, or of any value it holds in place (plan_concat_in_place).
std::vector<std::pair<int64_t, int64_t>> buffer_lifetimes(const Plan& p) {
  std::vector<std::pair<int64_t, int64_t>> life(p.slot_of.size(), {-1, -1});
  for (size_t s = 0; s < p.steps.size(); ++s) {
    if (p.steps[s].dynamic) continue;
    for (int64_t sl : p.steps[s].out_slots) {
      if (sl < 0 || p.is_output(sl)) continue;
      const int64_t root = p.home_slot.empty() || p.home_slot[sl] < 0 ? sl : p.home_slot[sl];
      const auto step = static_cast<int64_t>(s);
      const int64_t last = std::max<int64_t>(p.last_use[sl], step);
      auto& [first, end] = life[root];
      first = first < 0 ? step : std::min(first, step);
      end = std::max(end, last);
    }
  }
  return life;
}

// Outputs of static steps that are not graph outputs, planned by lifetime in their device's
// arena; a value held in another's buffer takes its place there.
void plan_memory_per_device(Plan& p) {
  std::map<const Device*, std::vector<BufferRequest>> requests;
  std::map<const Device*, std::vector<size_t>> request_slot;
  const auto life = buffer_lifetimes(p);
  for (size_t s = 0; s < p.steps.size(); ++s) {
    if (p.steps[s].dynamic) continue;
    for (int64_t sl : p.steps[s].out_slots) {
      if (sl < 0 || p.is_output(sl) ||
          (!p.home_slot.empty() && p.home_slot[sl] >= 0 && p.home_slot[sl] != sl))
        continue;
      const auto& ti = p.info.at(p.slot_name[sl]);
      const size_t bytes = p.native_bytes[sl]
                               ? p.native_bytes[sl]
                               : static_cast<size_t>(shape_numel(*ti.shape)) * dtype_size(ti.dtype);
      requests[p.slot_device[sl]].push_back({bytes, life[sl].first, life[sl].second});
      request_slot[p.slot_device[sl]].push_back(static_cast<size_t>(sl));
    }
  }
  p.arena_of.assign(p.slot_of.size(), -1);
  p.arena_offset.assign(p.slot_of.size(), -1);
  size_t host_bytes = 0;
  for (const auto& [device, reqs] : requests) {
    const MemoryPlan mp = plan_memory(reqs, kTensorAlignment);
    if (device->shares_host_memory()) check_host_budget(p, host_bytes += mp.arena_bytes);
    DeviceArena arena{device, mp.arena_bytes, mp.lower_bound, nullptr};
    const std::string where = device == &host_device() ? "" : " on " + device->name();
    if (arena.bytes > max_tensor_bytes() ||
        (device->memory_capacity() && arena.bytes > device->memory_capacity()))
      throw UserError(p.options.origin + ": activations need " + std::to_string(arena.bytes) +
                      " bytes, more than " +
                      (where.empty() ? "this machine's" : device->name() + "'s") + " memory");
    try {
      arena.memory = device->allocate(arena.bytes);
    } catch (const UserError& e) {
      throw UserError(p.options.origin + ": cannot allocate the activation arena" + where + " (" +
                      std::to_string(arena.bytes) + " bytes): " + e.what());
    }
    for (size_t i = 0; i < reqs.size(); ++i) {
      p.arena_of[request_slot.at(device)[i]] = static_cast<int64_t>(p.arenas.size());
      p.arena_offset[request_slot.at(device)[i]] = static_cast<int64_t>(mp.offsets[i]);
    }
    p.arenas.push_back(std::move(arena));
  }
  for (size_t sl = 0; sl < p.home_slot.size(); ++sl) {
    const int64_t root = p.home_slot[sl];
    if (root < 0 || root == static_cast<int64_t>(sl)) continue;
    p.arena_of[sl] = p.arena_of[root];
    p.arena_offset[sl] = p.arena_offset[root] + static_cast<int64_t>(p.home_offset[sl]);
  }
  p.arena_views.assign(p.slot_of.size(), Tensor());
  for (size_t sl = 0; sl < p.arena_offset.size(); ++sl) {
    if (p.arena_offset[sl] < 0) continue;
    const auto& ti = p.info.at(p.slot_name[sl]);
    const auto& memory = p.arenas[static_cast<size_t>(p.arena_of[sl])].memory;
    p.arena_views[sl] = Tensor::wrap(ti.dtype, *ti.shape,
                                     static_cast<char*>(memory.get()) + p.arena_offset[sl], memory);
  }
}

std::unique_ptr<Plan> compile(const ir::Graph& graph, SessionOptions options) {
  if (options.backends.empty()) throw UserError("--backend: no backend given");
  if (options.threads < 0) throw UserError("--threads: must be 1 or more");
  if (options.threads > 0) kernels::check_thread_count(options.threads);
  auto p = std::make_unique<Plan>();
  options.backends = kernels::resolve_backends(options.backends);
  for (auto& [node, list] : options.node_backends) list = kernels::resolve_backends(list);
  p->options = std::move(options);
  p->graph = graph;
  // Kernels are built for the thread count they will run with (place sets it per node).
  kernels::ThreadScope scope(p->options.threads);
  StageClock clock;
  fold_qdq(*p);
  clock.lap("fold_qdq");
  make_backends(*p);
  optimize(*p);
  split_prefix(*p);
  clock.lap("optimize");
  plan_threads(*p);
  place(*p);
  clock.lap("place");
  find_fallbacks(*p);
  insert_transfers(*p);
  plan_liveness(*p);
  negotiate_quantized(*p);
  negotiate_layouts(*p);
  clock.lap("negotiate");
  finish_builds(*p);
  clock.lap("finish_builds");
  plan_concat_in_place(*p);  // after the layouts: it places only values that stayed plain
  plan_views(*p);            // before the sums in place: they must not write over a view
  plan_sum_in_place(*p);
  plan_memory_per_device(*p);
  clock.lap("memory");
  return p;
}

}  // namespace frugal::runtime
