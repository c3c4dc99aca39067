// What machine a measurement ran on: CPU model and the instruction-set flags that change
// which kernels run (AVX2, AVX-512, VNNI, BF16, AMX, F16C), core counts, kernel and host;
// and the process's peak resident memory.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace frugal::measure {

// Flags frugal reports, in this order, by their /proc/cpuinfo names.
const std::vector<std::string>& cpu_flags_of_interest();

struct CpuInfo {
  std::string model_name;          // "unknown" when not found
  int logical_cpus = 0;            // processors the OS lists
  int physical_cores = 0;          // distinct (physical id, core id) pairs; 0 when not listed
  std::vector<std::string> flags;  // those of cpu_flags_of_interest() present
  std::string flags_source;        // "/proc/cpuinfo" or "cpuid"
};

// Parses the text of /proc/cpuinfo (x86 layout: "key\t: value" lines, blank line between
// processors). Flags are taken from the first processor's "flags" line.
CpuInfo parse_cpuinfo(const std::string& text);

// Flags of interest from the cpuid instruction (x86 only; empty elsewhere). The kernel
// hides flags whose register state it does not save, so /proc/cpuinfo is preferred.
std::vector<std::string> cpuid_flags();

struct SystemInfo {
  CpuInfo cpu;
  int online_cpus = 0;  // sysconf(_SC_NPROCESSORS_ONLN)
  std::string kernel;   // uname: sysname release
  std::string machine;  // uname: machine (x86_64, aarch64)
  std::string hostname;
};

// Reads /proc/cpuinfo (falling back to cpuid for flags), uname and the host name.
SystemInfo describe_system();
nlohmann::json to_json(const SystemInfo& info);

// Peak resident set size of this process in bytes (VmHWM of /proc/self/status), or
// nullopt when the file or field is missing.
std::optional<int64_t> peak_rss_bytes();
// Current resident set size (VmRSS), or nullopt.
std::optional<int64_t> current_rss_bytes();
// Value in bytes of a "Key:   1234 kB" line of a /proc status text, or nullopt.
std::optional<int64_t> parse_status_kib_field(const std::string& status_text,
                                              const std::string& key);

struct PeakRssReset {
  bool ok = false;
  std::string reason;  // why not, when !ok
};
// Resets VmHWM to the current RSS by writing "5" to /proc/self/clear_refs (Linux >= 4.0).
// Never throws: reports when the file is missing or not writable.
PeakRssReset reset_peak_rss();

}  // namespace frugal::measure
