// Where session init goes: the time of each of runtime::compile's named stages (plan.h) for
// the last Session compiled on the calling thread, in order. CPU time is the calling
// thread's (oneDNN generates code and converts weights there); wall time includes waiting
// for a core on a loaded machine. frugal_peer --init-stages prints them.
#pragma once

#include <string>
#include <vector>

namespace frugal::runtime {

struct StageTime {
  std::string stage;
  double cpu_ms = 0, wall_ms = 0;
};

const std::vector<StageTime>& last_compile_stages();

// The calling thread's CPU time in milliseconds (from an arbitrary origin).
double thread_cpu_ms();

// Records the stages of one compile into last_compile_stages(): each lap() closes the stage
// that began at the previous lap (or at construction).
class StageClock {
 public:
  StageClock();
  void lap(const char* stage);

 private:
  double cpu0_, wall0_;
};

}  // namespace frugal::runtime
