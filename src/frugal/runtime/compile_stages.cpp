#include "frugal/runtime/compile_stages.h"

#include <time.h>

namespace frugal::runtime {
namespace {

thread_local std::vector<StageTime> stages;

double now_ms(clockid_t clock) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return static_cast<double>(ts.tv_sec) * 1e3 + static_cast<double>(ts.tv_nsec) * 1e-6;
}

}  // namespace

const std::vector<StageTime>& last_compile_stages() {
  return stages;
}

double thread_cpu_ms() {
  return now_ms(CLOCK_THREAD_CPUTIME_ID);
}

StageClock::StageClock() : cpu0_(thread_cpu_ms()), wall0_(now_ms(CLOCK_MONOTONIC)) {
  stages.clear();
}

void StageClock::lap(const char* stage) {
  const double cpu = thread_cpu_ms(), wall = now_ms(CLOCK_MONOTONIC);
  stages.push_back({stage, cpu - cpu0_, wall - wall0_});
  cpu0_ = cpu;
  wall0_ = wall;
}

}  // namespace frugal::runtime
