#include "frugal/runtime/memory_plan.h"

#include <algorithm>
#include <map>
#include <numeric>

namespace frugal::runtime {

MemoryPlan plan_memory(const std::vector<BufferRequest>& req, size_t alignment) {
  MemoryPlan plan;
  plan.offsets.assign(req.size(), 0);
  auto aligned = [&](size_t b) { return (b + alignment - 1) / alignment * alignment; };
  // Lower bound: the largest live set at any step.
  std::map<int64_t, int64_t> delta;
  for (const auto& r : req) {
    delta[r.first_step] += static_cast<int64_t>(aligned(r.bytes));
    delta[r.last_step + 1] -= static_cast<int64_t>(aligned(r.bytes));
  }
  int64_t live = 0;
  for (const auto& [step, d] : delta) {
    live += d;
    plan.lower_bound = std::max(plan.lower_bound, static_cast<size_t>(live));
  }
  std::vector<size_t> order(req.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return req[a].bytes > req[b].bytes;
  });
  std::vector<size_t> placed;
  for (size_t i : order) {
    const auto& r = req[i];
    size_t size = aligned(r.bytes);
    // Intervals in the arena taken by buffers alive at the same time, sorted by offset.
    std::vector<std::pair<size_t, size_t>> busy;
    for (size_t j : placed) {
      const auto& o = req[j];
      if (o.last_step < r.first_step || r.last_step < o.first_step) continue;
      busy.push_back({plan.offsets[j], plan.offsets[j] + aligned(o.bytes)});
    }
    std::sort(busy.begin(), busy.end());
    size_t offset = 0;
    for (const auto& [lo, hi] : busy) {
      if (offset + size <= lo) break;  // fits in the gap before this interval
      offset = std::max(offset, hi);
    }
    plan.offsets[i] = offset;
    plan.arena_bytes = std::max(plan.arena_bytes, offset + size);
    placed.push_back(i);
  }
  return plan;
}

}  // namespace frugal::runtime
