#include "frugal/measure/affinity.h"

#include <sched.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <sstream>

#include "frugal/core/error.h"

namespace frugal::measure {
namespace {

int parse_cpu(const std::string& s, const std::string& text, const std::string& option) {
  int v = -1;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || p != s.data() + s.size() || v < 0 || v >= CPU_SETSIZE)
    throw UserError(option + " " + text + ": '" + s + "' is not a CPU number (0.." +
                    std::to_string(CPU_SETSIZE - 1) + ")");
  return v;
}

}  // namespace

std::vector<int> parse_cpu_list(const std::string& text, const std::string& option) {
  if (text.empty()) throw UserError(option + ": empty CPU list (expected e.g. 0-3,6)");
  std::vector<int> cpus;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    const auto dash = part.find('-');
    if (dash == std::string::npos) {
      cpus.push_back(parse_cpu(part, text, option));
      continue;
    }
    const int a = parse_cpu(part.substr(0, dash), text, option);
    const int b = parse_cpu(part.substr(dash + 1), text, option);
    if (b < a) throw UserError(option + " " + text + ": range " + part + " runs backwards");
    for (int c = a; c <= b; ++c) cpus.push_back(c);
  }
  if (cpus.empty() || text.back() == ',')
    throw UserError(option + " " + text + ": empty entry in the CPU list");
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

std::string cpu_list_str(const std::vector<int>& cpus) {
  std::string s;
  for (size_t i = 0; i < cpus.size();) {
    size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    s += (s.empty() ? "" : ",") + std::to_string(cpus[i]);
    if (j > i) s += "-" + std::to_string(cpus[j]);
    i = j + 1;
  }
  return s;
}

void pin_to_cpus(const std::vector<int>& cpus) {
  cpu_set_t set;
  CPU_ZERO(&set);
  for (int c : cpus) CPU_SET(c, &set);
  if (sched_setaffinity(0, sizeof(set), &set) != 0)
    throw UserError("--pin " + cpu_list_str(cpus) + ": the kernel refused (" +
                    std::strerror(errno) + "; allowed CPUs: " + cpu_list_str(current_affinity()) +
                    ")");
}

std::vector<int> current_affinity() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof(set), &set) != 0) return cpus;
  for (int c = 0; c < CPU_SETSIZE; ++c)
    if (CPU_ISSET(c, &set)) cpus.push_back(c);
  return cpus;
}

}  // namespace frugal::measure
