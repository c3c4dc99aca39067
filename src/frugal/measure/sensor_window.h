// Energy of a recorded sensor trace over a window of the sensor's own clock, and the
// per-channel calibration the meters apply (docs/power.md, "Markers" and "Calibration").
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frugal/measure/serial_protocol.h"

namespace frugal::measure {

struct WindowEnergy {
  double joules = 0;
  double duration_s = 0;  // t1 - t0
  int64_t samples = 0;    // samples inside [t0, t1]
  std::map<int, double> joules_by_channel;
};

// Trapezoid integral of volts x amps per channel between t0 and t1 (microseconds of one
// clock epoch), the intervals cut at t0 and t1 by linear interpolation, channels summed.
// Consecutive samples further apart than max_gap_s are not joined.
WindowEnergy integrate_window(const std::vector<SensorSample>& samples, uint64_t t0, uint64_t t1,
                              int epoch, double max_gap_s);

struct ChannelCalibration {
  double amps_offset = 0;  // subtracted (zero-current reading)
  double amps_gain = 1;    // then multiplied
  double volts_gain = 1;
};

// A calibration file: JSON {"channels": {"0": {"amps_offset": .., "amps_gain": ..,
// "volts_gain": ..}, ...}}. Written by `frugal power calibrate`.
struct Calibration {
  std::string path;  // where it came from ("" = none)
  std::map<int, ChannelCalibration> channels;
  bool empty() const { return channels.empty(); }
  // Corrects a sample; throws UserError when the file covers other channels only.
  void apply(SensorSample& s) const;
};
Calibration load_calibration(const std::string& path);  // throws UserError naming the file
void save_calibration(const Calibration& c, const std::string& path);

// --power-map "0=gpu0,1=tpu": sensor channel -> device name.
std::map<int, std::string> parse_power_map(const std::string& spec);
std::string rail_name(const std::map<int, std::string>& map, int channel);  // name or "chN"

}  // namespace frugal::measure
