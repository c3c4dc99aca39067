// Sub-batches: a batch of N run as N / b consecutive runs of a plan compiled for batch b.
// A session runs a network layer by layer over the whole batch, so each step reads and
// writes every image's activations; at batch 8 the early layers of a CNN move 10-40 MB per
// step, more than the caches hold, and each step then waits on memory (bench/RESULTS.md,
// "Sub-batches", session 13: on the 2-core EPYC the same plan ran 8-25 % faster per image
// at batch 2 or 4 than at batch 8). Smaller batches keep a step's working set in cache; the
// weights, read once per sub-batch, set the limit the other way.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "frugal/ir/graph.h"
#include "frugal/ops/infer.h"

namespace frugal::runtime {

struct SubBatch {
  int64_t batch = 0;  // the graph inputs' batch (dimension 0); 0 when they have none in common
  int64_t size = 0;   // the batch each run sees; == batch: no sub-batches
  // Runs of the plan per batch.
  int64_t count() const { return size > 0 && prefix_nodes == 0 ? batch / size : 1; }
  std::string why;  // the reason for the choice, for `info --plan`
  // One run's graph input shapes (dimension 0 = size), where count() > 1.
  std::map<std::string, Shape> input_shapes;
  // > 0: a split plan (runtime/batch_split.h): only the graph's first `prefix_nodes` nodes
  // (in its order, before the passes) run in sub-batches of `size`, as copies within one
  // plan of the whole batch; `until` names the first node that runs over the whole batch.
  size_t prefix_nodes = 0;
  std::string until;
};

// Every node of `graph` (as given, before the passes) treats the images of dimension 0
// independently, and every value's shape at batch `small` is its shape at `infer.batch`
// with dimension 0 scaled alike (or has no batch dimension): then running batch N as N / small
// sub-batches gives the same outputs. Empty when it does; else why not (first offender).
std::string sub_batch_refusal(const ir::Graph& graph, const ops::InferOptions& infer,
                              int64_t small);

// The sub-batch `graph` runs with at `infer.batch`:
// - `requested` > 0: that size (UserError when it does not divide the batch or the graph's
//   images are not independent); with `until` (a node name), for the nodes before that
//   node only (a split plan; UserError naming the node where it cannot hold); < 0: none;
// - 0 (auto): the divisor b of the batch that saves the most memory traffic (an estimate:
//   each step whose activation bytes, weights excluded, exceed `cache_bytes` at the full
//   batch but not at b saves them; each run after the first reads the weights again,
//   counted twice),
//   where that is at least a tenth of the run's activation traffic; none otherwise or where
//   the graph's images are not independent. A split plan is weighed the same way, its
//   prefix's weights read again per sub-batch and the values crossing the cut copied once
//   (Concat); it is chosen where it saves a hundredth of the traffic more than the best
//   whole-graph choice, unless `splits` is false or FRUGAL_NO_SPLIT_PLAN=1.
SubBatch choose_sub_batch(const ir::Graph& graph, const ops::InferOptions& infer, int64_t requested,
                          size_t cache_bytes, const std::string& until = "", bool splits = true);

// A split plan's graph (runtime/batch_split.h): `graph`'s nodes before node `until` as
// copies over `size` images each, the rest over `infer`'s batch (`big`: the graph's shapes
// there, as inferred already); nullopt with `why` where that cannot hold (no such node, a
// node before it mixes images, a value crossing the cut has no batch dimension). The plan
// stage split_prefix (runtime/plan.h) calls it on the graph after the passes, whose fused
// nodes keep their names.
std::optional<ir::Graph> split_at(const ir::Graph& graph, const ops::InferOptions& infer,
                                  const ops::GraphInfo& big, int64_t size, const std::string& until,
                                  std::string& why);

// The activation bytes the auto choice lets a step hold: half the host's last-level cache
// (last_level_cache_from below) for a run on `threads` threads, shared with the weights and
// the other core's work; FRUGAL_SUB_BATCH_CACHE_KB overrides it.
size_t sub_batch_cache_bytes(int threads);

// The last-level cache one core's working set shares, from what the host describes: the
// kernel's sysfs figure (`sysfs`, 0 when the VM hides /sys/devices/system/cpu/cpu0/cache)
// as it is; else glibc's sysconf figures, read from CPUID, which a hypervisor fills with a
// socket's or an invented figure (508 MiB of L3 on the 2-core Zen 5 EPYC, 320 MiB on the Zen
// 4 one whose sysfs said 32 MiB): an L3 above kMaxCoreComplexL3 is not one core complex's
// and counts as kVmL3PerThread per thread of the run, the share of a shared L3 that grows
// with the cores running (measured best on that VM: 16 MiB at 1 thread, 32 at 2; bench/
// RESULTS.md, "Sub-batches on a VM that hides its caches").
inline constexpr size_t kMaxCoreComplexL3 = size_t{96} << 20;  // AMD's 3D V-Cache CCD
inline constexpr size_t kVmL3PerThread = size_t{16} << 20;
size_t last_level_cache_from(size_t sysfs, long sysconf_l3, long sysconf_l2, int threads);

// `infer` for runs of `size` images: the graph inputs' shapes at the full batch
// (GraphInfo::input_shapes), dimension 0 replaced.
ops::InferOptions with_batch(const ops::InferOptions& infer,
                             const std::map<std::string, Shape>& input_shapes, int64_t size);

}  // namespace frugal::runtime
