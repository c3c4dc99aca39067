#include "frugal/measure/clock.h"

#include <algorithm>
#include <thread>

namespace frugal::measure {

void sleep_seconds(double seconds) {
  if (seconds > 0) std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

double measured_clock_resolution_s() {
  double best = 1.0;
  for (int i = 0; i < 1000; ++i) {
    const TimePoint a = now();
    TimePoint b = now();
    while (b == a) b = now();
    best = std::min(best, seconds_between(a, b));
  }
  return best;
}

}  // namespace frugal::measure
