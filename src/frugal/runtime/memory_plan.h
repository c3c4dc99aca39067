// Static memory planning (XNNPACK/MNN habit: plan, then run): every intermediate tensor
// whose size is known before running gets an offset in one arena, and tensors whose
// lifetimes do not overlap share bytes. Peak activation memory is then a number known
// before the first run, and the run loop allocates nothing for them.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace frugal::runtime {

struct BufferRequest {
  size_t bytes;
  int64_t first_step;  // step that writes it
  int64_t last_step;   // last step that reads it (>= first_step)
};

struct MemoryPlan {
  std::vector<size_t> offsets;  // parallel to the requests, multiples of the alignment
  size_t arena_bytes = 0;       // arena size needed
  size_t lower_bound = 0;       // max over steps of the live bytes: no plan can do better
};

// Greedy by size (largest first, each at the lowest aligned offset that does not overlap a
// time-overlapping buffer already placed), the "greedy by size" strategy of TFLite's
// arena planner. Deterministic.
MemoryPlan plan_memory(const std::vector<BufferRequest>& requests, size_t alignment = 64);

}  // namespace frugal::runtime
