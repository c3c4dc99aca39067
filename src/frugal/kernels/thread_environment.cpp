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
    const std::string value = e.choose ? e.choose() : e.value;
    if (setenv(e.name.c_str(), value.c_str(), 1) == 0) set.push_back(e.name);
  }
  return set;
}

std::vector<std::pair<std::string, std::string>> thread_environment_in_effect() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& e : entries()) {
    std::vector<std::string> names{e.name};
    names.insert(names.end(), e.user_choices.begin(), e.user_choices.end());
    for (const auto& n : names)
      if (is_set(n)) out.emplace_back(n, std::getenv(n.c_str()));
  }
  return out;
}

void apply_thread_environment(char** argv) {
  if (set_thread_environment_defaults().empty()) return;
  execv("/proc/self/exe", argv);
}

}  // namespace frugal::kernels
