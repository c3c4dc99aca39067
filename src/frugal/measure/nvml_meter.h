// NvmlMeter: energy of one NVIDIA GPU through NVML. libnvidia-ml.so.1 comes with the
// driver, not with a development package, so it is opened with dlopen at run time and
// the few functions used are declared here from NVIDIA's NVML API reference. Where the
// GPU has a total-energy counter (Volta and later) it is read at the window's edges;
// otherwise power is sampled on a thread and integrated.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "frugal/measure/power.h"

namespace frugal::measure {

struct NvmlOptions {
  std::string library = "libnvidia-ml.so.1";
  unsigned device = 0;
  // Power sampling period when the energy counter is not supported.
  double sample_period_s = 0.02;
  // The energy counter advances in steps (tens of ms). A window is extended to the next
  // step so that it is never reported as zero; this bounds how long stop() may wait.
  double max_extension_s = 2.0;
};

class NvmlMeter final : public PowerMeter {
 public:
  // Loads the library, initialises NVML and opens the device; throws UserError saying
  // which step failed and why (library absent: no NVIDIA driver on this machine).
  explicit NvmlMeter(NvmlOptions options = {});
  ~NvmlMeter() override;
  std::string source() const override;
  EnergyKind kind() const override { return EnergyKind::kMeasured; }
  void start() override;
  Reading stop() override;
  bool has_energy_counter() const { return has_energy_counter_; }

  struct Api;  // the dlopen'ed entry points (nvml_meter.cpp)

 private:
  uint64_t read_energy_mj() const;
  double read_power_w() const;
  // Polls the counter until it differs from `value`; returns the new value and sets
  // `when` to the steady-clock seconds it was seen, or returns `value` after the limit.
  uint64_t wait_for_counter_step(uint64_t value, double& when) const;
  void sample_loop();

  NvmlOptions options_;
  std::unique_ptr<Api> api_;
  bool has_energy_counter_ = false;
  bool running_ = false;
  // Counter mode.
  uint64_t start_mj_ = 0;
  double start_s_ = 0;
  double window_start_s_ = 0;
  std::string start_note_;
  // Sampling mode.
  std::thread sampler_;
  std::atomic<bool> stopping_{false};
  std::vector<std::pair<double, double>> power_samples_;  // (seconds, watts), sampler-owned
  std::string sample_error_;
};

}  // namespace frugal::measure
