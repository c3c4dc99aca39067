// ModelMeter: an energy estimate from the work a window held (MACs per number format and
// bytes moved), never a measurement: every reading is labelled estimated. The default
// coefficients are per-operation energies at 45 nm (Horowitz, "Computing's energy
// problem", ISSCC 2014); they count arithmetic and memory traffic only, not instruction
// overhead or static power, so they are a floor, useful for comparing formats. The
// numeric layer's cost model is to replace this table (docs/power.md).
#pragma once

#include <map>
#include <string>

#include "frugal/measure/power.h"

namespace frugal::measure {

struct EnergyCoefficients {
  std::map<std::string, double> pj_per_mac;  // format name -> picojoules per multiply-add
  double pj_per_byte = 0;                    // per byte moved
  double static_watts = 0;                   // added for the window's duration
  std::string reference;                     // where the numbers come from
};
EnergyCoefficients horowitz_45nm_coefficients();

class ModelMeter final : public PowerMeter {
 public:
  explicit ModelMeter(EnergyCoefficients coefficients = horowitz_45nm_coefficients());
  std::string source() const override { return "model"; }
  EnergyKind kind() const override { return EnergyKind::kEstimated; }
  void start() override;
  Reading stop() override;
  // Adds to the current window's work. Throws UserError for a format with no coefficient.
  void record_work(const WorkDone& work) override;
  // Joules for an amount of work over a duration, without a window.
  double estimate_joules(const WorkDone& work, double duration_s) const;

 private:
  EnergyCoefficients coefficients_;
  WorkDone work_;
  double start_s_ = 0;
  bool running_ = false;
};

}  // namespace frugal::measure
