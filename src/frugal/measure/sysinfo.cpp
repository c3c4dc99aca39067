#include "frugal/measure/sysinfo.h"

#include <sys/utsname.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace frugal::measure {
namespace {

std::string trim(const std::string& s) {
  const auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos) return "";
  const auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string read_text_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

const std::vector<std::string>& cpu_flags_of_interest() {
  static const std::vector<std::string> flags = {
      "avx2",        "fma",         "f16c",     "avx512f",  "avx512bw", "avx512_vnni",
      "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16", "amx_int8"};
  return flags;
}

CpuInfo parse_cpuinfo(const std::string& text) {
  CpuInfo info;
  info.model_name = "unknown";
  info.flags_source = "/proc/cpuinfo";
  std::set<std::pair<std::string, std::string>> cores;
  std::string physical_id, line;
  bool have_flags = false, have_model = false;
  std::istringstream in(text);
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = trim(line.substr(0, colon));
    const std::string value = trim(line.substr(colon + 1));
    if (key == "processor") {
      ++info.logical_cpus;
    } else if (key == "model name" && !have_model) {
      info.model_name = value;
      have_model = true;
    } else if (key == "physical id") {
      physical_id = value;
    } else if (key == "core id") {
      cores.emplace(physical_id, value);
    } else if (key == "flags" && !have_flags) {
      have_flags = true;
      std::set<std::string> present;
      std::istringstream words(value);
      for (std::string w; words >> w;) present.insert(w);
      for (const auto& f : cpu_flags_of_interest())
        if (present.count(f)) info.flags.push_back(f);
    }
  }
  info.physical_cores = static_cast<int>(cores.size());
  return info;
}

std::vector<std::string> cpuid_flags() {
  std::vector<std::string> out;
#if defined(__x86_64__) || defined(__i386__)
  unsigned a = 0, b = 0, c = 0, d = 0;
  bool fma = false, f16c = false;
  if (__get_cpuid(1, &a, &b, &c, &d)) {
    fma = c & (1u << 12);
    f16c = c & (1u << 29);
  }
  unsigned b7 = 0, c7 = 0, d7 = 0, a71 = 0;
  if (__get_cpuid_count(7, 0, &a, &b7, &c7, &d7)) {
    unsigned max_sub = a;
    if (max_sub >= 1 && __get_cpuid_count(7, 1, &a, &b, &c, &d)) a71 = a;
  }
  // Bit positions from the Intel SDM, vol. 2A, CPUID leaf 07H.
  const std::pair<const char*, bool> bits[] = {{"avx2", b7 & (1u << 5)},
                                               {"fma", fma},
                                               {"f16c", f16c},
                                               {"avx512f", b7 & (1u << 16)},
                                               {"avx512bw", b7 & (1u << 30)},
                                               {"avx512_vnni", c7 & (1u << 11)},
                                               {"avx512_bf16", a71 & (1u << 5)},
                                               {"avx512_fp16", d7 & (1u << 23)},
                                               {"amx_tile", d7 & (1u << 24)},
                                               {"amx_bf16", d7 & (1u << 22)},
                                               {"amx_int8", d7 & (1u << 25)}};
  for (const auto& f : cpu_flags_of_interest())
    for (const auto& [name, present] : bits)
      if (f == name && present) out.push_back(f);
#endif
  return out;
}

SystemInfo describe_system() {
  SystemInfo s;
  const std::string text = read_text_file("/proc/cpuinfo");
  s.cpu = parse_cpuinfo(text);
  if (text.find("flags") == std::string::npos) {
    s.cpu.flags = cpuid_flags();
    s.cpu.flags_source = "cpuid";
  }
  const long online = sysconf(_SC_NPROCESSORS_ONLN);
  s.online_cpus = online > 0 ? static_cast<int>(online) : 0;
  if (s.cpu.logical_cpus == 0) s.cpu.logical_cpus = s.online_cpus;
  struct utsname u;
  if (uname(&u) == 0) {
    s.kernel = std::string(u.sysname) + " " + u.release;
    s.machine = u.machine;
  }
  char host[256] = {};
  if (gethostname(host, sizeof(host) - 1) == 0) s.hostname = host;
  return s;
}

nlohmann::json to_json(const SystemInfo& info) {
  return nlohmann::json{{"cpu_model", info.cpu.model_name},
                        {"logical_cpus", info.cpu.logical_cpus},
                        {"physical_cores", info.cpu.physical_cores},
                        {"online_cpus", info.online_cpus},
                        {"cpu_flags", info.cpu.flags},
                        {"cpu_flags_source", info.cpu.flags_source},
                        {"kernel", info.kernel},
                        {"machine", info.machine},
                        {"hostname", info.hostname}};
}

std::optional<int64_t> parse_status_kib_field(const std::string& status_text,
                                              const std::string& key) {
  std::istringstream in(status_text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, key.size(), key) != 0 || line.size() <= key.size() ||
        line[key.size()] != ':')
      continue;
    std::istringstream fields(line.substr(key.size() + 1));
    int64_t value = 0;
    std::string unit;
    if (!(fields >> value)) return std::nullopt;
    fields >> unit;
    if (unit == "kB") return value * 1024;
    return value;
  }
  return std::nullopt;
}

std::optional<int64_t> peak_rss_bytes() {
  return parse_status_kib_field(read_text_file("/proc/self/status"), "VmHWM");
}

std::optional<int64_t> current_rss_bytes() {
  return parse_status_kib_field(read_text_file("/proc/self/status"), "VmRSS");
}

PeakRssReset reset_peak_rss() {
  PeakRssReset r;
  const char* path = "/proc/self/clear_refs";
  FILE* f = std::fopen(path, "w");
  if (!f) {
    r.reason = std::string("cannot open ") + path + ": " + std::strerror(errno);
    return r;
  }
  // "5" resets the peak RSS counter (Documentation/admin-guide/mm/soft-dirty and proc.rst).
  const bool wrote = std::fputs("5", f) >= 0;
  const int saved = errno;
  const bool closed = std::fclose(f) == 0;
  if (!wrote || !closed) {
    r.reason = std::string("cannot write to ") + path + ": " + std::strerror(wrote ? errno : saved);
    return r;
  }
  r.ok = true;
  return r;
}

}  // namespace frugal::measure
