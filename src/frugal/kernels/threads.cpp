#include "frugal/kernels/threads.h"

#include <algorithm>
#include <limits>
#include <map>

#include "frugal/core/error.h"

namespace frugal::kernels {
namespace {
std::map<std::string, ThreadControl>& controls() {
  static std::map<std::string, ThreadControl> c;
  return c;
}
}  // namespace

void register_thread_control(const std::string& backend, ThreadControl control) {
  if (!controls().emplace(backend, std::move(control)).second)
    throw InternalError("thread control registered twice: " + backend);
}

void check_thread_count(int n) {
  if (n < 1 || n > kMaxThreads)
    throw UserError("--threads: " + std::to_string(n) + " is outside 1.." +
                    std::to_string(kMaxThreads));
}

void set_threads(int n) {
  check_thread_count(n);
  for (const auto& [name, c] : controls()) c.set(n);
}

int threads() {
  return controls().empty() ? 1 : controls().begin()->second.get();
}

double workers_awake_us() {
  double us = std::numeric_limits<double>::infinity();
  for (const auto& [name, c] : controls())
    if (c.awake_us) us = std::min(us, c.awake_us());
  return us;
}

void ThreadScope::set(int n) {
  if (n <= 0 || n == current_) return;
  if (before_ == 0) before_ = current_ = threads();
  if (n != current_) set_threads(n);
  current_ = n;
}

ThreadScope::~ThreadScope() {
  if (before_ > 0 && current_ != before_) set_threads(before_);
}

}  // namespace frugal::kernels
