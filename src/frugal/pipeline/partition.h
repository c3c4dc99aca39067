// Cutting a model into K pipeline segments, one per device of a DeviceSet, and predicting
// each segment's time on its device (measured per node on host cores, from the device model
// for modeled and remote devices: estimates).
//
// Methods (docs/pipeline.md):
//   params   Coral's Edge TPU compiler --num_segments: cuts where the running parameter
//            count crosses k/K of the total (the baseline).
//   optimal  exact dynamic programme over cut points in topological order minimizing the
//            slowest stage (then the sum), with per-device memory limits, ops a device
//            cannot run and transfer costs; devices may differ (stage k on devices[k]).
//   profile  Coral's profiling partitioner: bisection on a target stage latency, each
//            candidate segment's latency measured (host cores: the extracted segment run
//            and timed; other devices: their model).
// With a remote device in the set (Neurosurgeon), split_curve() evaluates every split point
// of "local then remote", empty ends included.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "frugal/pipeline/chain.h"
#include "frugal/pipeline/devices.h"
#include "frugal/runtime/session.h"

namespace frugal::pipeline {

enum class Method { kParams, kOptimal, kProfile };
enum class Objective { kThroughput, kLatency, kEnergy };
Method parse_method(const std::string& text);        // UserError naming --method
Objective parse_objective(const std::string& text);  // UserError naming --objective
const char* method_name(Method m);
const char* objective_name(Objective o);

struct PartitionOptions {
  int stages = 1;
  Method method = Method::kOptimal;
  Objective objective = Objective::kThroughput;
  std::string precision = "fp32";  // prices parameters and picks a model device's MAC/s
  // Sessions for host-core devices (backends, calibration); threads are set per device.
  runtime::SessionOptions session;
  double profile_seconds = 0.3;  // per timed segment or whole-model profile
  // Fold BatchNormalization into the preceding Conv/Gemm and drop Identity/Dropout before
  // cutting (as the Edge TPU compiler does), so that no cut separates a layer from its
  // BatchNorm; the segments stay standard ONNX. Off: cut the graph as given.
  bool fold = true;
};

// Time and energy of one segment on one device; infeasible when it exceeds the device's
// memory or holds ops the device cannot run (`why` says which).
struct StageCost {
  double time_s = 0;
  double energy_j = 0;  // 0 where the device has no power figures
  bool feasible = true;
  std::string why;
};

// Prices every segment [first, last) on every stage's device: what the methods search.
class CostModel {
 public:
  using Fn = std::function<StageCost(size_t first, size_t last, size_t stage)>;
  CostModel(size_t nodes, size_t stages, Fn fn)
      : nodes_(nodes), stages_(stages), fn_(std::move(fn)) {}
  size_t nodes() const { return nodes_; }
  size_t stages() const { return stages_; }
  StageCost cost(size_t first, size_t last, size_t stage) const { return fn_(first, last, stage); }

 private:
  size_t nodes_, stages_;
  Fn fn_;
};

// A partition's figure of merit under an objective, compared lexicographically: throughput
// (slowest stage, then the sum), latency (sum of times, then slowest), energy (sum of energy,
// then sum of times).
struct Score {
  double primary = 0, secondary = 0;
  bool feasible = true;
  bool operator<(const Score& o) const;
};
Score score(const CostModel& m, const std::vector<size_t>& bounds, Objective objective);

// Cut points as segment bounds {0, c1, ..., N}: K + 1 increasing numbers, no empty segment.
// optimal_bounds returns an empty vector when no partition is feasible.
std::vector<size_t> optimal_bounds(const CostModel& m, Objective objective);
std::vector<size_t> params_bounds(const Chain& chain, size_t stages);
// `measured(first, last, stage)`: a segment's measured latency (memoized by the caller).
std::vector<size_t> profile_bounds(const CostModel& m,
                                   const std::function<double(size_t, size_t, size_t)>& measured);

// The chain partition() cuts (the graph after PartitionOptions::fold, priced at its precision).
Chain make_chain(const ir::Graph& graph, const PartitionOptions& options);
// The prices partition() searches over, for min(stages, devices) stages (`chain` must
// outlive it). For tests and tools.
CostModel cost_model(const Chain& chain, const DeviceSet& devices, const PartitionOptions& options);

struct Segment {
  SegmentStats stats;
  std::string device;
  DeviceKind kind = DeviceKind::kCpu;
  StageCost cost;
  bool estimate = false;  // the time comes from a device model
  std::string first_node, last_node;
};

struct Partition {
  Method method = Method::kOptimal;
  Objective objective = Objective::kThroughput;
  std::string precision, devices_source;
  std::vector<Segment> segments;
  double slowest_s = 0, latency_s = 0, throughput_per_s = 0, energy_j = 0;
  bool estimate = false;  // any figure from a device model
  ir::Graph graph;        // the model with value shapes recorded: segments are cut from it
};

// Partitions `graph` into options.stages segments over the first stages devices. UserError:
// stages < 1, more stages than nodes or devices, a cuda device (no CUDA backend), no
// feasible partition (the segment and device, bytes and limit, or the op a device cannot run).
Partition partition(const ir::Graph& graph, const DeviceSet& devices,
                    const PartitionOptions& options);

// Neurosurgeon's curve: for each split point (0: all remote ... N: all local), the client's
// latency and energy; devices must be [local, remote].
struct SplitPoint {
  size_t cut = 0;
  std::string after;  // the last local node ("(input)" for cut 0)
  int64_t bytes_sent = 0, bytes_received = 0;
  double local_s = 0, transfer_s = 0, remote_s = 0, latency_s = 0, energy_j = 0;
};
std::vector<SplitPoint> split_curve(const ir::Graph& graph, const DeviceSet& devices,
                                    const PartitionOptions& options);
bool has_remote(const DeviceSet& devices);

}  // namespace frugal::pipeline
