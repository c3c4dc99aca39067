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

// Transparent huge pages (2 MiB) for a large buffer, asked before its first touch:
// madvise(MADV_HUGEPAGE) over the whole 2 MiB pages inside [p, p + bytes) (Linux's default
// THP mode, "madvise", backs only such ranges). Weights and activations read once per run
// then cost one TLB entry per 2 MiB instead of 512 (bench/RESULTS.md, "Huge pages").
// Does nothing below 2 MiB, where the kernel has no huge pages, or under
// FRUGAL_HUGE_PAGES=0. Returns the bytes advised.
size_t advise_huge_pages(void* p, size_t bytes);

// Where a buffer of `bytes` should start so that advise_huge_pages covers all of it: 2 MiB
// from 2 MiB on (huge pages are enabled), else `alignment`.
size_t huge_page_alignment(size_t bytes, size_t alignment);

// `bytes` of host memory (freed with std::free), starting on a multiple of `alignment` (2
// MiB from 2 MiB on) and advised to huge pages; null when the system has none to give.
void* allocate_host(size_t bytes, size_t alignment);

// "23.5 GB": bytes in decimal units with one decimal, for error messages.
std::string human_bytes(size_t bytes);

}  // namespace frugal
