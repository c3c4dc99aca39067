// How much more memory this process can take on the host before it swaps, is killed or
// hits its address-space limit: what a plan compares its arena with before allocating,
// so that an absurd batch is refused up front instead of grinding in memory (issue 24).
#pragma once

#include <cstddef>
#include <string>

namespace frugal {

struct HostMemoryBudget {
  size_t bytes = 0;        // SIZE_MAX: no limit known
  std::string limited_by;  // "MemAvailable", "RLIMIT_AS", or empty when unknown
};

// min(MemAvailable of /proc/meminfo, RLIMIT_AS minus the address space already mapped).
HostMemoryBudget host_memory_budget();

// "23.5 GB": bytes in decimal units with one decimal, for error messages.
std::string human_bytes(size_t bytes);

}  // namespace frugal
