// PowerMeter: measures (or estimates) the energy a system uses over a window.
// Sources: rapl_meter.h (Linux powercap), nvml_meter.h (NVIDIA GPUs, library loaded at
// run time), serial_meter.h (an external current/voltage sensor on a serial line) and
// model_meter.h (an estimate from operation counts, always labelled as such).
// power_select.h picks one from a --power spec. See docs/power.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <nlohmann/json.hpp>

namespace frugal::measure {

enum class EnergyKind { kMeasured, kEstimated };
const char* energy_kind_name(EnergyKind kind);  // "measured", "estimated"

struct Reading {
  double joules = 0;      // energy over duration_s
  double mean_watts = 0;  // joules / duration_s
  int64_t samples = 0;    // counter reads or sensor samples that went into joules
  double period_s = 0;    // sampling period: mean time between samples (0 when not sampled)
  double duration_s = 0;  // time the energy covers; may exceed the window asked for (see note)
  std::string source;     // "rapl", "nvml:0", "serial:/dev/ttyACM0", "model"
  EnergyKind kind = EnergyKind::kMeasured;
  std::string note;  // anything a reader must know: extended window, skipped input...
  // Sensors with several rails: joules per rail, keyed by the device the rail feeds
  // (--power-map) or "chN"; empty for single-counter sources.
  std::map<std::string, double> joules_by_rail;
};
nlohmann::json to_json(const Reading& r);

// Work done in a window, for meters that estimate rather than measure.
struct WorkDone {
  std::map<std::string, double> macs_by_format;  // number format name -> MACs ("fp32", "int8")
  double bytes_moved = 0;
};

class PowerMeter {
 public:
  virtual ~PowerMeter() = default;
  virtual std::string source() const = 0;
  virtual EnergyKind kind() const = 0;
  // Begins a window. A meter may be started again after stop().
  virtual void start() = 0;
  // Ends the window. Throws UserError when the source failed during the window.
  virtual Reading stop() = 0;
  // The runner reports the work each window held: meters that measure ignore it, the
  // model meter turns it into its estimate.
  virtual void record_work(const WorkDone& work) {}
};

// Idle power: the meter run for `seconds` while this thread sleeps, just before a run.
Reading measure_idle(PowerMeter& meter, double seconds);

struct EnergySplit {
  double total_j = 0;     // as measured over the run
  double idle_watts = 0;  // from the idle reading
  double idle_j = 0;      // idle_watts * run duration
  double active_j = 0;    // total - idle (may be slightly negative within noise)
  double duration_s = 0;  // of the run
};
// Active energy = total - idle power x run time. Throws UserError when the readings come
// from different sources or the idle reading covers no time.
EnergySplit split_active_energy(const Reading& run, const Reading& idle);
nlohmann::json to_json(const EnergySplit& s);

}  // namespace frugal::measure
