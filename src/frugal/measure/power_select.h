// Choosing a PowerMeter from a --power spec: auto | rapl | nvml[:GPU] | serial:PATH[@BAUD]
// | powersensor3:PATH | model | none. `auto` tries rapl, then nvml (nvml first for a run on a
// GPU), then falls back to the model estimate and says why each measured source was passed over.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frugal/measure/model_meter.h"
#include "frugal/measure/nvml_meter.h"
#include "frugal/measure/power.h"
#include "frugal/measure/rapl_meter.h"
#include "frugal/measure/serial_meter.h"

namespace frugal::runtime {
class Session;
}

namespace frugal::measure {

struct PowerSpec {
  enum class Kind { kAuto, kRapl, kNvml, kSerial, kPowerSensor3, kModel, kNone };
  Kind kind = Kind::kNone;
  std::string path;  // serial device
  int baud = 115200;
  unsigned gpu = 0;  // nvml device index
};
// Throws UserError naming the spec and the accepted forms.
PowerSpec parse_power_spec(const std::string& spec);

// Where each source looks; tests point these at fake trees and absent libraries.
struct PowerConfig {
  RaplOptions rapl;
  NvmlOptions nvml;
  EnergyCoefficients model = horowitz_45nm_coefficients();
  SerialOptions serial;  // markers, rails and calibration for serial and powersensor3
  // The run computes on a GPU (session_uses_gpu): `auto` tries nvml before rapl.
  bool prefer_nvml = false;
};

// Whether the session plans memory on a CUDA device (some step runs on a GPU).
bool session_uses_gpu(const runtime::Session& session);

struct PowerChoice {
  std::unique_ptr<PowerMeter> meter;  // null for `none`
  std::string explanation;            // one line: which source and, for auto, why
};

// Builds the meter a spec names. An explicit source that is unavailable throws its
// UserError; `auto` never throws for an unavailable source.
PowerChoice make_power_meter(const PowerSpec& spec, const PowerConfig& config = {});
PowerChoice select_power_meter_auto(const PowerConfig& config = {});

}  // namespace frugal::measure
