#include "frugal/kernels/thread_environment.h"

#include <unistd.h>

#include <cstdlib>
#include <utility>

namespace frugal::kernels {
namespace {
std::vector<EnvironmentDefault>& entries() {
  static std::vector<EnvironmentDefault> e;
  return e;
}

bool is_set(const std::string& name) {
  return std::getenv(name.c_str()) != nullptr;
}
}  // namespace

void register_thread_environment(EnvironmentDefault entry) {
  entries().push_back(std::move(entry));
}

std::vector<EnvironmentDefault> thread_environment() {
  return entries();
}

std::vector<std::string> set_thread_environment_defaults() {
  std::vector<std::string> set;
  for (const auto& e : entries()) {
    bool chosen = is_set(e.name);
    for (const auto& c : e.user_choices) chosen = chosen || is_set(c);
    if (chosen) continue;
    if (setenv(e.name.c_str(), e.value.c_str(), 1) == 0) set.push_back(e.name);
  }
  return set;
}

void apply_thread_environment(char** argv) {
  if (set_thread_environment_defaults().empty()) return;
  execv("/proc/self/exe", argv);
}

}  // namespace frugal::kernels
