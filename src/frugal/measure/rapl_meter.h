// RaplMeter: package and DRAM energy from Linux powercap (the intel_rapl driver, which
// also serves AMD Zen CPUs, and intel-rapl-mmio). Counters are read at start, at stop
// and every poll period between, so that a wraparound through max_energy_range_uj is
// caught even on long runs.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frugal/measure/power.h"

namespace frugal::measure {

struct RaplDomain {
  std::string zone;         // directory under the root: "intel-rapl:0", "intel-rapl:0:2"
  std::string name;         // contents of its name file: "package-0", "dram"
  std::string energy_path;  // <root>/<zone>/energy_uj
  uint64_t max_energy_range_uj = 0;
};

// Package and DRAM domains under root (default /sys/class/powercap). Core, uncore and
// psys are left out: they overlap the package (psys contains it). intel-rapl-mmio
// package domains are used only when intel-rapl has none, since both report the same
// package counter. Throws UserError naming the path when the root is missing, holds no
// such domain, or a file cannot be read.
std::vector<RaplDomain> discover_rapl_domains(const std::string& root);

// Energy between two readings of a counter that wraps to 0 after max_range_uj.
uint64_t rapl_delta_uj(uint64_t before, uint64_t after, uint64_t max_range_uj);

// Reads an energy_uj file; throws UserError naming the file and why (EACCES explained).
uint64_t read_rapl_counter(const std::string& path);

struct RaplOptions {
  std::string root = "/sys/class/powercap";
  // Time between counter reads during a window; 0 reads only at start and stop. Must be
  // shorter than the time the fastest domain takes to wrap (minutes on current parts).
  double poll_period_s = 0.25;
};

class RaplMeter final : public PowerMeter {
 public:
  // Discovers domains and reads each counter once, so that an unreadable file fails here.
  explicit RaplMeter(RaplOptions options = {});
  ~RaplMeter() override;
  std::string source() const override { return "rapl"; }
  EnergyKind kind() const override { return EnergyKind::kMeasured; }
  void start() override;
  Reading stop() override;
  const std::vector<RaplDomain>& domains() const { return domains_; }

 private:
  void poll_once();  // reads every domain and adds the deltas; caller holds mutex_
  void poll_loop();

  RaplOptions options_;
  std::vector<RaplDomain> domains_;
  std::vector<uint64_t> last_uj_;
  std::vector<uint64_t> accumulated_uj_;
  int64_t reads_ = 0;
  std::exception_ptr error_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  bool running_ = false;
  std::thread poller_;
  double start_s_ = 0;
};

}  // namespace frugal::measure
