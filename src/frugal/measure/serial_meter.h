// SerialMeter: an external current/voltage sensor board streaming samples over a serial
// line (USB CDC or UART) in frugal's protocol (serial_protocol.h, docs/power.md). The
// line is put in raw mode at the given baud; a thread reads it during the window; the
// energy is the trapezoid integral of volts x amps over the sensor's own timestamps,
// summed over channels.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "frugal/measure/power.h"
#include "frugal/measure/serial_protocol.h"

namespace frugal::measure {

struct SerialOptions {
  std::string path;        // /dev/ttyACM0, /dev/ttyUSB0, a pty
  int baud = 115200;       // one of the standard termios rates, 1200 .. 4000000
  double max_gap_s = 1.0;  // see EnergyIntegrator
};

class SerialMeter final : public PowerMeter {
 public:
  // Opens and configures the line; throws UserError naming the path and the reason.
  explicit SerialMeter(SerialOptions options);
  ~SerialMeter() override;
  std::string source() const override { return "serial:" + options_.path; }
  EnergyKind kind() const override { return EnergyKind::kMeasured; }
  // Discards input buffered before the window and starts reading.
  void start() override;
  // Reads what has arrived, stops, and integrates. Throws UserError when no valid sample
  // arrived in the window.
  Reading stop() override;
  // Parser counters of the last window (garbage lines, bad frames...).
  const StreamCounts& counts() const { return parser_.counts(); }

 private:
  void read_loop();
  bool read_available();  // false on end of stream or a read error

  SerialOptions options_;
  int fd_ = -1;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  bool running_ = false;
  SensorStreamParser parser_;
  EnergyIntegrator integrator_;
  std::string read_error_;
};

// termios speed constant for a baud rate; throws UserError for a non-standard rate.
unsigned baud_to_speed(int baud);

}  // namespace frugal::measure
