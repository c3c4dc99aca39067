// Clocks for measurement: one monotonic clock (std::chrono::steady_clock, never adjusted
// by NTP or the user) so that every duration frugal reports comes from the same source.
#pragma once

#include <chrono>
#include <cstdint>

namespace frugal::measure {

using SteadyClock = std::chrono::steady_clock;
using TimePoint = SteadyClock::time_point;

inline TimePoint now() {
  return SteadyClock::now();
}
inline double seconds_between(TimePoint a, TimePoint b) {
  return std::chrono::duration<double>(b - a).count();
}
// Seconds since an arbitrary fixed origin (the steady clock's epoch).
inline double now_seconds() {
  return std::chrono::duration<double>(SteadyClock::now().time_since_epoch()).count();
}

// Measures elapsed time from construction or the last restart().
class Stopwatch {
 public:
  Stopwatch() : start_(now()) {}
  void restart() { start_ = now(); }
  double elapsed_s() const { return seconds_between(start_, now()); }
  int64_t elapsed_ns() const {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(now() - start_).count();
  }
  TimePoint started() const { return start_; }

 private:
  TimePoint start_;
};

// Sleeps for the given seconds (no-op for non-positive values).
void sleep_seconds(double seconds);

// The steady clock's resolution as measured: the smallest non-zero difference seen between
// consecutive readings (a few tens of ns on Linux/x86).
double measured_clock_resolution_s();

}  // namespace frugal::measure
