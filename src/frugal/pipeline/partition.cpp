#include "frugal/pipeline/partition.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <set>

#include "frugal/core/error.h"
#include "frugal/passes/passes.h"
#include "frugal/pipeline/accel_device.h"
#include "frugal/pipeline/cpu_thread.h"
#include "frugal/pipeline/pipeline_sim.h"
#include "frugal/pipeline/profile.h"

namespace frugal::pipeline {

namespace {
constexpr double kInf = std::numeric_limits<double>::infinity();
}

Method parse_method(const std::string& text) {
  if (text == "params") return Method::kParams;
  if (text == "optimal") return Method::kOptimal;
  if (text == "profile") return Method::kProfile;
  throw UserError("--method: unknown method '" + text + "' (expected optimal, params or profile)");
}

Objective parse_objective(const std::string& text) {
  if (text == "throughput") return Objective::kThroughput;
  if (text == "latency") return Objective::kLatency;
  if (text == "energy") return Objective::kEnergy;
  throw UserError("--objective: unknown objective '" + text +
                  "' (expected throughput, latency or energy)");
}

const char* method_name(Method m) {
  switch (m) {
    case Method::kParams:
      return "params";
    case Method::kOptimal:
      return "optimal";
    case Method::kProfile:
      return "profile";
  }
  return "?";
}

const char* objective_name(Objective o) {
  switch (o) {
    case Objective::kThroughput:
      return "throughput";
    case Objective::kLatency:
      return "latency";
    case Objective::kEnergy:
      return "energy";
  }
  return "?";
}

bool Score::operator<(const Score& o) const {
  if (feasible != o.feasible) return feasible;
  if (primary != o.primary) return primary < o.primary;
  return secondary < o.secondary;
}

namespace {

// The score of a prefix extended by one more segment costing `c`.
Score extend(const Score& prev, const StageCost& c, Objective objective) {
  Score s;
  s.feasible = prev.feasible && c.feasible;
  switch (objective) {
    case Objective::kThroughput:
      s.primary = std::max(prev.primary, c.time_s);
      s.secondary = prev.secondary + c.time_s;
      break;
    case Objective::kLatency:
      s.primary = prev.primary + c.time_s;
      s.secondary = std::max(prev.secondary, c.time_s);
      break;
    case Objective::kEnergy:
      s.primary = prev.primary + c.energy_j;
      s.secondary = prev.secondary + c.time_s;
      break;
  }
  return s;
}

}  // namespace

Score score(const CostModel& m, const std::vector<size_t>& bounds, Objective objective) {
  Score s;
  for (size_t k = 0; k + 1 < bounds.size(); ++k)
    s = extend(s, m.cost(bounds[k], bounds[k + 1], k), objective);
  return s;
}

// best[k][j]: the best score of nodes [0, j) in k segments (stages 0..k-1); the primary is
// exact (max and sums decompose), the secondary a tie-break taken greedily.
std::vector<size_t> optimal_bounds(const CostModel& m, Objective objective) {
  const size_t n = m.nodes(), stages = m.stages();
  if (stages == 0 || stages > n) return {};
  Score none;
  none.feasible = false;
  std::vector<std::vector<Score>> best(stages + 1, std::vector<Score>(n + 1, none));
  std::vector<std::vector<size_t>> from(stages + 1, std::vector<size_t>(n + 1, 0));
  best[0][0] = Score{};
  for (size_t k = 1; k <= stages; ++k)
    for (size_t j = k; j + (stages - k) <= n; ++j)
      for (size_t i = k - 1; i < j; ++i) {
        if (!best[k - 1][i].feasible) continue;
        const Score s = extend(best[k - 1][i], m.cost(i, j, k - 1), objective);
        if (s < best[k][j]) {
          best[k][j] = s;
          from[k][j] = i;
        }
      }
  if (!best[stages][n].feasible) return {};
  std::vector<size_t> bounds(stages + 1, n);
  for (size_t k = stages; k > 0; --k) bounds[k - 1] = from[k][bounds[k]];
  return bounds;
}

std::vector<size_t> params_bounds(const Chain& chain, size_t stages) {
  const size_t n = chain.size();
  std::vector<int64_t> prefix(n + 1, 0);
  for (size_t i = 0; i < n; ++i) prefix[i + 1] = prefix[i] + chain.node_cost(i).params;
  std::vector<size_t> bounds{0};
  for (size_t k = 1; k < stages; ++k) {
    const double target =
        static_cast<double>(prefix[n]) * static_cast<double>(k) / static_cast<double>(stages);
    size_t j = bounds.back() + 1;
    while (j < n - (stages - k) && static_cast<double>(prefix[j]) < target) ++j;
    bounds.push_back(j);
  }
  bounds.push_back(n);
  return bounds;
}

namespace {

// Greedy cover under a stage-latency target: each stage takes the longest run of nodes whose
// measured latency stays within it (binary search: latency grows with the run).
std::vector<size_t> greedy_bounds(size_t n, size_t stages, double target,
                                  const std::function<double(size_t, size_t, size_t)>& measured) {
  std::vector<size_t> bounds{0};
  for (size_t s = 0; s < stages; ++s) {
    const size_t i = bounds.back();
    const size_t max_j = n - (stages - 1 - s);
    if (s + 1 == stages) {
      if (measured(i, n, s) > target) return {};
      bounds.push_back(n);
      break;
    }
    if (measured(i, i + 1, s) > target) return {};
    size_t lo = i + 1, hi = max_j;  // lo fits
    while (lo < hi) {
      const size_t mid = (lo + hi + 1) / 2;
      if (measured(i, mid, s) <= target)
        lo = mid;
      else
        hi = mid - 1;
    }
    bounds.push_back(lo);
  }
  return bounds;
}

}  // namespace

std::vector<size_t> profile_bounds(const CostModel& m,
                                   const std::function<double(size_t, size_t, size_t)>& measured) {
  const size_t n = m.nodes(), stages = m.stages();
  auto slowest = [&](const std::vector<size_t>& b) {
    double worst = 0;
    for (size_t k = 0; k + 1 < b.size(); ++k) worst = std::max(worst, measured(b[k], b[k + 1], k));
    return worst;
  };
  // Start from equal node counts, then bisect the target between 0 and that split's slowest.
  std::vector<size_t> best{0};
  for (size_t k = 1; k <= stages; ++k) best.push_back(n * k / stages);
  double hi = slowest(best), lo = 0;
  if (!std::isfinite(hi)) {
    hi = 0;
    for (size_t i = 0; i < n; ++i) hi += measured(i, i + 1, 0);
    hi *= 4;
  }
  for (int step = 0; step < 24 && hi - lo > 0.01 * hi; ++step) {
    const double target = 0.5 * (lo + hi);
    std::vector<size_t> b = greedy_bounds(n, stages, target, measured);
    if (b.empty()) {
      lo = target;
    } else {
      hi = std::min(target, slowest(b));
      best = b;
    }
  }
  return std::isfinite(slowest(best)) ? best : std::vector<size_t>{};
}

bool has_remote(const DeviceSet& devices) {
  for (const auto& d : devices.devices)
    if (d.kind == DeviceKind::kRemote) return true;
  return false;
}

namespace {

// The graph the segments are cut from (PartitionOptions::fold).
ir::Graph prepare(const ir::Graph& graph, const PartitionOptions& o) {
  if (!o.fold) return graph;
  passes::PassReport r;
  ir::Graph g = passes::remove_identities(graph, r);
  g = passes::fold_batch_norm(g, r);
  return passes::remove_dead_nodes(g, r);
}

// Everything partition() and split_curve() share: the chain, the devices and their node
// profiles, and the price of a segment on a device.
class Pricer {
 public:
  Pricer(const Chain& chain, const DeviceSet& devices, const PartitionOptions& o)
      : chain_(chain), devices_(devices), o_(o) {
    for (const auto& d : devices_.devices) check_device(d);
    unsupported_.resize(devices_.devices.size());
    for (size_t k = 0; k < devices_.devices.size(); ++k) index_ops(k);
  }

  const Chain& chain() const { return chain_; }
  const Device& device(size_t k) const { return devices_.devices[k]; }

  // Memoized: the DP asks for each (segment, stage) once, the methods and reports again.
  const SegmentStats& stats(size_t first, size_t last) const {
    auto key = std::pair{first, last};
    auto it = stats_.find(key);
    if (it == stats_.end()) it = stats_.emplace(key, chain_.stats(first, last)).first;
    return it->second;
  }

  StageCost cost(size_t first, size_t last, size_t k) const {
    const SegmentStats& s = stats(first, last);
    const Device& d = device(k);
    StageCost c;
    if (d.memory_bytes > 0 && s.memory_bytes() > d.memory_bytes) {
      c.feasible = false;
      c.why = "needs " + std::to_string(s.memory_bytes()) + " bytes, device '" + d.name +
              "' holds " + std::to_string(d.memory_bytes);
    }
    const auto& bad = unsupported_[k];
    auto it = std::lower_bound(bad.begin(), bad.end(), first);
    if (it != bad.end() && *it < last) {
      const ir::Node& n = chain_.graph().nodes[*it];
      c.feasible = false;
      c.why = "device '" + d.name + "' cannot run " + n.op_type + " (node '" + n.name + "')";
    }
    switch (d.kind) {
      case DeviceKind::kCpu:
        c.time_s = cpu_time(first, last, d);
        break;
      case DeviceKind::kModel:
        model_cost(s, d, c);
        break;
      case DeviceKind::kRemote:
        remote_cost(s, d, c);
        break;
      case DeviceKind::kAccel:
        accel_cost(s, k, c);
        break;
      case DeviceKind::kCuda:
        break;
    }
    return c;
  }

  // The segment as it runs alone (host cores: extracted and timed; others: their model).
  double measured(size_t first, size_t last, size_t k) const {
    const StageCost c = cost(first, last, k);
    if (!c.feasible) return kInf;
    if (device(k).kind != DeviceKind::kCpu) return c.time_s;
    auto key = std::tuple{first, last, device(k).cpu.threads};
    auto it = measured_.find(key);
    if (it != measured_.end()) return it->second;
    const double t = on_cpu_thread(device(k).cpu.cores, [&] {
      return time_segment(chain_, first, last, session_for(device(k)), o_.profile_seconds / 10);
    });
    measured_[key] = t;
    return t;
  }

 private:
  const Chain& chain_;
  const DeviceSet devices_;
  const PartitionOptions o_;
  std::vector<std::vector<size_t>> unsupported_;  // per device: nodes it cannot run, sorted
  mutable std::map<int, std::vector<double>> cpu_prefix_;  // threads -> prefix of node times
  mutable std::map<std::pair<size_t, size_t>, SegmentStats> stats_;
  mutable std::map<std::tuple<size_t, size_t, int>, double> measured_;
  mutable std::map<size_t, std::vector<accel::NodeEstimate>> accel_prefix_;  // device -> prefix

  void check_device(const Device& d) const {
    if (d.kind == DeviceKind::kCuda)
      throw UserError(d.origin + ": device '" + d.name +
                      "' is cuda: this build of frugal has no CUDA backend to profile or run it");
    if (d.kind == DeviceKind::kModel && !d.model.peak_macs_per_s.count(o_.precision)) {
      std::string has;
      for (const auto& [p, v] : d.model.peak_macs_per_s) has += (has.empty() ? "" : ", ") + p;
      throw UserError(d.origin + ": device '" + d.name + "' has no peak_macs_per_s for " +
                      o_.precision + " (it runs " + has + "): give --precision " +
                      d.model.peak_macs_per_s.begin()->first);
    }
  }

  void index_ops(size_t k) {
    const Device& d = device(k);
    if (d.kind != DeviceKind::kModel || d.model.ops.empty()) return;
    const std::set<std::string> ok(d.model.ops.begin(), d.model.ops.end());
    for (size_t i = 0; i < chain_.size(); ++i)
      if (!ok.count(chain_.graph().nodes[i].op_type)) unsupported_[k].push_back(i);
  }

  runtime::SessionOptions session_for(const Device& d) const {
    runtime::SessionOptions so = o_.session;
    so.threads = d.cpu.threads;
    return so;
  }

  double cpu_time(size_t first, size_t last, const Device& d) const {
    auto it = cpu_prefix_.find(d.cpu.threads);
    if (it == cpu_prefix_.end()) {
      const std::vector<double> t = on_cpu_thread(
          d.cpu.cores, [&] { return profile_nodes(chain_, session_for(d), o_.profile_seconds); });
      std::vector<double> prefix(t.size() + 1, 0);
      for (size_t i = 0; i < t.size(); ++i) prefix[i + 1] = prefix[i] + t[i];
      it = cpu_prefix_.emplace(d.cpu.threads, prefix).first;
    }
    return it->second[last] - it->second[first];
  }

  // The simulator's own stage model (one formula for a modeled device's time).
  void model_cost(const SegmentStats& s, const Device& d, StageCost& c) const {
    c.time_s = model_stage(d.name, 0, d, s.macs, s.layers, s.param_bytes, s.bytes_in, s.bytes_out,
                           o_.precision)
                   .service_s();
    c.energy_j = d.model.active_w * c.time_s;
  }

  // The nodes' accel estimates over the whole chain, once per device, as prefix sums.
  void accel_cost(const SegmentStats& s, size_t k, StageCost& c) const {
    const AccelDevice& a = device(k).accel;
    auto it = accel_prefix_.find(k);
    if (it == accel_prefix_.end()) {
      const auto costs = accel_node_costs(chain_.graph(), a, o_.session.infer.batch);
      std::vector<accel::NodeEstimate> prefix(chain_.size() + 1);
      for (size_t i = 0; i < chain_.size(); ++i) {
        const accel::NodeEstimate n = accel_sum(costs, {chain_.graph().nodes[i].name});
        prefix[i + 1] = {prefix[i].seconds + n.seconds, prefix[i].joules + n.joules};
      }
      it = accel_prefix_.emplace(k, std::move(prefix)).first;
    }
    const auto& p = it->second;
    const LinkTime link = accel_link(a, s.bytes_in, s.bytes_out);
    c.time_s = link.in_s + (p[s.last].seconds - p[s.first].seconds) + link.out_s;
    c.energy_j = p[s.last].joules - p[s.first].joules;
  }

  // The client's side of offloading: its radio sends and receives, and it idles meanwhile.
  void remote_cost(const SegmentStats& s, const Device& d, StageCost& c) const {
    const RemoteDevice& r = d.remote;
    c.time_s = r.rtt_s + static_cast<double>(s.bytes_in) / r.up_bytes_per_s +
               static_cast<double>(s.bytes_out) / r.down_bytes_per_s +
               static_cast<double>(s.macs) / r.server_macs_per_s +
               static_cast<double>(s.layers) * r.layer_overhead_s;
    const Device& client = device(0);
    const double idle_w = client.kind == DeviceKind::kModel ? client.model.idle_w : 0;
    c.energy_j = static_cast<double>(s.bytes_in) * r.sent_j_per_byte +
                 static_cast<double>(s.bytes_out) * r.received_j_per_byte + idle_w * c.time_s;
  }
};

void check_stages(const Pricer& p, const DeviceSet& devices, int stages) {
  if (stages < 1) throw UserError("--stages: must be at least 1, got " + std::to_string(stages));
  if (static_cast<size_t>(stages) > p.chain().size())
    throw UserError("--stages " + std::to_string(stages) + ": the model has only " +
                    std::to_string(p.chain().size()) + " nodes");
  if (static_cast<size_t>(stages) > devices.devices.size())
    throw UserError("--stages " + std::to_string(stages) + ": devices '" + devices.source +
                    "' has only " + std::to_string(devices.devices.size()) + " devices");
}

std::string node_range(const Chain& c, size_t first, size_t last) {
  return "nodes " + std::to_string(first) + "-" + std::to_string(last - 1) + " '" +
         c.graph().nodes[first].name + "'..'" + c.graph().nodes[last - 1].name + "'";
}

// Why no partition is feasible: a node no stage's device can take alone, else the first
// infeasible segment of the parameter-count split.
[[noreturn]] void explain_infeasible(const Pricer& p, size_t stages) {
  const Chain& c = p.chain();
  for (size_t i = 0; i < c.size(); ++i) {
    std::string why;
    bool fits_somewhere = false;
    for (size_t k = 0; k < stages && !fits_somewhere; ++k) {
      const StageCost sc = p.cost(i, i + 1, k);
      fits_somewhere = sc.feasible;
      if (why.empty()) why = sc.why;
    }
    if (!fits_somewhere)
      throw UserError("partition: " + c.graph().nodes[i].describe() + " fits no device: " + why);
  }
  const std::vector<size_t> b = params_bounds(c, stages);
  for (size_t k = 0; k < stages; ++k) {
    const StageCost sc = p.cost(b[k], b[k + 1], k);
    if (!sc.feasible)
      throw UserError("partition: no split into " + std::to_string(stages) +
                      " segments fits; e.g. segment " + std::to_string(k) + " (" +
                      node_range(c, b[k], b[k + 1]) + ") " + sc.why);
  }
  throw UserError("partition: no split into " + std::to_string(stages) +
                  " segments fits the devices");
}

Partition describe(const Pricer& p, const std::vector<size_t>& bounds, const PartitionOptions& o,
                   const DeviceSet& devices, size_t first_device) {
  Partition out;
  out.method = o.method;
  out.objective = o.objective;
  out.precision = o.precision;
  out.devices_source = devices.source;
  out.graph = p.chain().graph();
  for (size_t k = 0; k + 1 < bounds.size(); ++k) {
    if (bounds[k] == bounds[k + 1]) continue;
    Segment s;
    s.stats = p.stats(bounds[k], bounds[k + 1]);
    const Device& d = p.device(first_device + k);
    s.device = d.name;
    s.kind = d.kind;
    s.cost = p.cost(bounds[k], bounds[k + 1], first_device + k);
    // The profiling method judged host-core segments by their measured latency: report it.
    if (o.method == Method::kProfile && d.kind == DeviceKind::kCpu && s.cost.feasible)
      s.cost.time_s = p.measured(bounds[k], bounds[k + 1], first_device + k);
    if (!s.cost.feasible)
      throw UserError("partition: segment " + std::to_string(out.segments.size()) + " (" +
                      node_range(p.chain(), bounds[k], bounds[k + 1]) + ") " + s.cost.why);
    s.estimate = d.estimate();
    s.first_node = p.chain().graph().nodes[bounds[k]].name;
    s.last_node = p.chain().graph().nodes[bounds[k + 1] - 1].name;
    out.slowest_s = std::max(out.slowest_s, s.cost.time_s);
    out.latency_s += s.cost.time_s;
    out.energy_j += s.cost.energy_j;
    out.estimate = out.estimate || s.estimate;
    out.segments.push_back(std::move(s));
  }
  out.throughput_per_s = out.slowest_s > 0 ? 1.0 / out.slowest_s : 0;
  return out;
}

void check_energy(const DeviceSet& devices, size_t stages, Objective o) {
  if (o != Objective::kEnergy) return;
  for (size_t k = 0; k < stages; ++k)
    if (devices.devices[k].kind == DeviceKind::kCpu)
      throw UserError(
          "--objective energy: device '" + devices.devices[k].name +
          "' (cpu) has no power figures in a devices file; use a model or remote device");
}

std::vector<SplitPoint> curve(const Pricer& p) {
  const Chain& c = p.chain();
  const size_t n = c.size();
  std::vector<SplitPoint> out;
  for (size_t cut = 0; cut <= n; ++cut) {
    SplitPoint s;
    s.cut = cut;
    s.after = cut == 0 ? "(input)" : c.graph().nodes[cut - 1].name;
    if (cut > 0) {
      const StageCost l = p.cost(0, cut, 0);
      s.local_s = l.time_s;
      s.energy_j += l.energy_j;
    }
    if (cut < n) {
      const SegmentStats& r = p.stats(cut, n);
      const StageCost rc = p.cost(cut, n, 1);
      s.bytes_sent = r.bytes_in;
      s.bytes_received = r.bytes_out;
      const RemoteDevice& rd = p.device(1).remote;
      s.transfer_s = rd.rtt_s + static_cast<double>(r.bytes_in) / rd.up_bytes_per_s +
                     static_cast<double>(r.bytes_out) / rd.down_bytes_per_s;
      s.remote_s = rc.time_s - s.transfer_s;
      s.energy_j += rc.energy_j;
    }
    s.latency_s = s.local_s + s.transfer_s + s.remote_s;
    out.push_back(s);
  }
  return out;
}

void check_remote_pair(const DeviceSet& devices) {
  if (devices.devices.size() != 2 || devices.devices[0].kind == DeviceKind::kRemote ||
      devices.devices[1].kind != DeviceKind::kRemote)
    throw UserError("--devices " + devices.source +
                    ": a remote device is used as [local, remote]: exactly two devices, the "
                    "second remote");
}

}  // namespace

std::vector<SplitPoint> split_curve(const ir::Graph& graph, const DeviceSet& devices,
                                    const PartitionOptions& options) {
  check_remote_pair(devices);
  const Chain chain = make_chain(graph, options);
  Pricer p(chain, devices, options);
  return curve(p);
}

Chain make_chain(const ir::Graph& graph, const PartitionOptions& o) {
  return Chain(prepare(graph, o), bytes_per_param(o.precision), o.session.infer);
}

CostModel cost_model(const Chain& chain, const DeviceSet& devices, const PartitionOptions& o) {
  auto p = std::make_shared<Pricer>(chain, devices, o);
  const size_t stages =
      std::min(devices.devices.size(), static_cast<size_t>(std::max(o.stages, 1)));
  return CostModel(chain.size(), stages,
                   [p](size_t i, size_t j, size_t k) { return p->cost(i, j, k); });
}

Partition partition(const ir::Graph& graph, const DeviceSet& devices, const PartitionOptions& o) {
  const Chain chain = make_chain(graph, o);
  Pricer p(chain, devices, o);
  if (has_remote(devices)) {
    check_remote_pair(devices);
    const auto points = curve(p);
    auto key = [&](const SplitPoint& s) {
      return o.objective == Objective::kEnergy ? std::pair{s.energy_j, s.latency_s}
                                               : std::pair{s.latency_s, s.energy_j};
    };
    const SplitPoint best =
        *std::min_element(points.begin(), points.end(),
                          [&](const auto& a, const auto& b) { return key(a) < key(b); });
    return describe(p, {0, best.cut, p.chain().size()}, o, devices, 0);
  }
  check_stages(p, devices, o.stages);
  const size_t stages = static_cast<size_t>(o.stages);
  check_energy(devices, stages, o.objective);
  const CostModel m(p.chain().size(), stages,
                    [&p](size_t i, size_t j, size_t k) { return p.cost(i, j, k); });
  std::vector<size_t> bounds;
  switch (o.method) {
    case Method::kParams:
      bounds = params_bounds(p.chain(), stages);
      break;
    case Method::kOptimal:
      bounds = optimal_bounds(m, o.objective);
      break;
    case Method::kProfile:
      bounds =
          profile_bounds(m, [&p](size_t i, size_t j, size_t k) { return p.measured(i, j, k); });
      break;
  }
  if (bounds.empty()) explain_infeasible(p, stages);
  return describe(p, bounds, o, devices, 0);
}

}  // namespace frugal::pipeline
