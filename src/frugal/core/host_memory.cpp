#include "frugal/core/host_memory.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <sstream>

namespace frugal {
namespace {

// MemAvailable in bytes, or SIZE_MAX when /proc/meminfo does not say.
size_t mem_available() {
  std::ifstream in("/proc/meminfo");
  std::string key;
  size_t kib = 0;
  std::string unit;
  while (in >> key >> kib >> unit)
    if (key == "MemAvailable:") return kib * 1024;
  return std::numeric_limits<size_t>::max();
}

// Bytes of address space this process has mapped (VmSize), or 0 when unknown.
size_t mapped_bytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0;
  if (!(in >> pages)) return 0;
  const long page = sysconf(_SC_PAGE_SIZE);
  return page > 0 ? pages * static_cast<size_t>(page) : 0;
}

// RLIMIT_AS minus what is mapped, or SIZE_MAX when unlimited.
size_t address_space_left() {
  rlimit rl{};
  if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
    return std::numeric_limits<size_t>::max();
  const size_t limit = static_cast<size_t>(rl.rlim_cur), used = mapped_bytes();
  return used < limit ? limit - used : 0;
}

constexpr size_t kHugePage = size_t{2} << 20;

bool huge_pages_enabled() {
  static const bool on = [] {
    const char* v = std::getenv("FRUGAL_HUGE_PAGES");
    return !(v && std::strcmp(v, "0") == 0);
  }();
  return on;
}

}  // namespace

size_t advise_huge_pages(void* p, size_t bytes) {
  if (!p || bytes < kHugePage || !huge_pages_enabled()) return 0;
  const uintptr_t start = reinterpret_cast<uintptr_t>(p);
  const uintptr_t first = (start + kHugePage - 1) / kHugePage * kHugePage;
  const uintptr_t last = (start + bytes) / kHugePage * kHugePage;
  if (last <= first) return 0;
#ifdef MADV_HUGEPAGE
  // Advice only: a kernel without THP refuses it, and the buffer keeps its small pages.
  if (madvise(reinterpret_cast<void*>(first), last - first, MADV_HUGEPAGE) == 0)
    return last - first;
#endif
  return 0;
}

size_t huge_page_alignment(size_t bytes, size_t alignment) {
  return bytes >= kHugePage && huge_pages_enabled() ? kHugePage : alignment;
}

void* allocate_host(size_t bytes, size_t alignment) {
  const size_t align = huge_page_alignment(bytes, alignment);
  void* p = std::aligned_alloc(align, (bytes + align - 1) / align * align);
  advise_huge_pages(p, bytes);
  return p;
}

HostMemoryBudget host_memory_budget() {
  const size_t avail = mem_available(), as_left = address_space_left();
  if (as_left < avail) return {as_left, "RLIMIT_AS"};
  if (avail != std::numeric_limits<size_t>::max()) return {avail, "MemAvailable"};
  return {avail, ""};
}

std::string human_bytes(size_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB", "EB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1000.0 && u < 6) {
    v /= 1000.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, kUnits[u]);
  return buf;
}

}  // namespace frugal
