// Workflows of `frugal power` (docs/power.md, "Testbed"): calibrating a sensor channel,
// recording a trace to CSV, and a live per-rail reading. Each opens the sensor with
// open_sensor and fails with a one-line UserError when no data arrives in time.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "frugal/measure/serial_meter.h"

namespace frugal::measure {

// "serial:PATH[@BAUD]" or "powersensor3:PATH" -> an opened meter with `base`'s options.
std::unique_ptr<SerialMeter> open_sensor(const std::string& source, SerialOptions base = {});

struct CalibrateOptions {
  int channel = 0;
  double seconds = 2;                      // averaging time
  std::optional<double> known_load_watts;  // unset: zero-current offset
  double data_timeout_s = 3;
};
struct CalibrateResult {
  ChannelCalibration channel;                            // what was stored
  double mean_amps = 0, mean_volts = 0, mean_watts = 0;  // as read (offset applied for gain)
  int64_t samples = 0;
};
// Zero: amps_offset = mean current with no load. Known load: amps_gain = watts / measured
// watts (after the stored offset). Updates `calibration` (the file is written by the caller
// with save_calibration, so that a failed run leaves it untouched).
CalibrateResult calibrate_channel(const std::string& source, const CalibrateOptions& o,
                                  Calibration& calibration);

struct RecordTraceOptions {
  double seconds = 10;
  double data_timeout_s = 3;
  std::map<int, std::string> rails;
};
struct TraceSummary {
  int64_t samples = 0, markers = 0;
  Reading reading;
};
// Writes t_us,epoch,kind,channel,rail,volts,amps,watts rows (kind "sample" or "marker",
// whose id goes in channel) to csv_path; a failed recording leaves no file.
TraceSummary record_trace(SerialMeter& meter, const RecordTraceOptions& o,
                          const std::string& csv_path);

// Mean watts per rail over the last `window_s` of sensor time in `samples`.
std::map<std::string, double> recent_watts(const std::vector<SensorSample>& samples,
                                           double window_s,
                                           const std::map<int, std::string>& rails);
// Calls show(rail -> watts) every `interval_s` for `seconds` (0: until show returns false).
void monitor_sensor(SerialMeter& meter, double seconds, double interval_s, double data_timeout_s,
                    const std::map<int, std::string>& rails,
                    const std::function<bool(const std::map<std::string, double>&)>& show);

}  // namespace frugal::measure
