// SerialMeter: an external current/voltage sensor streaming samples over a serial line
// (USB CDC or UART): frugal's own protocol (serial_protocol.h) or PowerSensor3's
// (powersensor3.h), behind SensorProtocol. A thread reads the line during the window;
// the energy is the trapezoid integral of volts x amps over the sensor's own timestamps,
// summed over channels (rails). With markers on, the meter asks the sensor to timestamp
// the window's start and end and integrates exactly between them (docs/power.md).
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "frugal/measure/power.h"
#include "frugal/measure/sensor_window.h"
#include "frugal/measure/serial_line.h"
#include "frugal/measure/serial_protocol.h"

namespace frugal::measure {

// One sensor's wire protocol.
class SensorProtocol {
 public:
  virtual ~SensorProtocol() = default;
  virtual std::string scheme() const = 0;       // "serial", "powersensor3"
  virtual std::string description() const = 0;  // for messages: "frugal's sensor protocol"
  // After opening the line (PowerSensor3 reads the sensors' configuration here).
  virtual void open(const SerialLine& line) {}
  // Starts a window: forget partial input and parser state.
  virtual void restart(const SerialLine& line) = 0;
  virtual void feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& samples,
                    std::vector<SensorMarker>& markers) = 0;
  virtual StreamCounts counts() const = 0;  // what was parsed and skipped this window
  // Bytes that ask the sensor to timestamp a marker.
  virtual std::string marker_command(int id) = 0;
  virtual void close(const SerialLine& line) {}
};

class FrugalProtocol final : public SensorProtocol {
 public:
  std::string scheme() const override { return "serial"; }
  std::string description() const override { return "frugal's sensor protocol"; }
  void restart(const SerialLine& line) override;
  void feed(std::span<const uint8_t> bytes, std::vector<SensorSample>& samples,
            std::vector<SensorMarker>& markers) override {
    parser_.feed(bytes, samples, markers);
  }
  StreamCounts counts() const override { return parser_.counts(); }
  std::string marker_command(int id) override;

 private:
  SensorStreamParser parser_;
};

struct SerialOptions {
  std::string path;                  // /dev/ttyACM0, /dev/ttyUSB0, a pty
  int baud = 115200;                 // one of the standard termios rates, 1200 .. 4000000
  double max_gap_s = 1.0;            // see EnergyIntegrator
  bool markers = false;              // send a marker at start and stop, integrate between them
  double marker_timeout_s = 1.0;     // how long stop() waits for the end marker
  std::map<int, std::string> rails;  // channel -> device name (--power-map)
  Calibration calibration;
};

// Where a window began and ended, by host time (first/last sample received) and by the
// markers (sensor timestamps), for reports and the simulator's alignment check.
struct WindowBounds {
  bool markers_used = false;
  // Sensor clock of the first sample received after start() and the last received
  // before stop() was called: where a window by host time lies.
  uint64_t first_sample_us = 0, last_sample_us = 0;
  uint64_t start_marker_us = 0, end_marker_us = 0;  // valid when markers_used
  double host_joules = 0;                           // all samples received in the window
};

class SerialMeter final : public PowerMeter {
 public:
  // Opens the line and the protocol; throws UserError naming the path and the reason.
  explicit SerialMeter(SerialOptions options, std::unique_ptr<SensorProtocol> protocol =
                                                  std::make_unique<FrugalProtocol>());
  ~SerialMeter() override;
  std::string source() const override { return protocol_->scheme() + ":" + options_.path; }
  EnergyKind kind() const override { return EnergyKind::kMeasured; }
  // Discards input buffered before the window and starts reading (and marks the start).
  void start() override;
  // Marks the end, waits for the marker, stops and integrates. Throws UserError when no
  // valid sample arrived in the window.
  Reading stop() override;
  const WindowBounds& last_window() const { return window_; }
  // Parser counters of the last window (garbage lines, bad frames...).
  StreamCounts counts() const { return protocol_->counts(); }
  // Samples and markers of the last window (after stop()).
  const std::vector<SensorSample>& samples() const { return samples_; }
  const std::vector<SensorMarker>& markers() const { return markers_; }
  // Waits until a first sample arrives (between start and stop); throws UserError naming
  // the expected baud and protocol when none does within timeout_s.
  void await_data(double timeout_s);
  // Sends a marker with this id (shown in traces); the sensor timestamps it.
  void mark(int id);
  // Moves the samples received so far out of the meter (thread-safe), so that a long
  // monitoring session holds only what its caller keeps.
  std::vector<SensorSample> take_samples();

  static constexpr int kStartMarker = '<', kEndMarker = '>';

 private:
  void read_loop();
  Reading host_window_reading(const EnergyIntegrator& integrator) const;
  std::string no_data_message() const;

  SerialOptions options_;
  std::unique_ptr<SensorProtocol> protocol_;
  SerialLine line_;
  std::thread reader_;
  std::atomic<bool> stopping_{false};
  bool running_ = false;
  mutable std::mutex mutex_;  // samples_, markers_, read_error_, bytes_ while reading
  std::vector<SensorSample> samples_;
  std::vector<SensorMarker> markers_;
  int64_t bytes_ = 0;
  std::string read_error_;
  WindowBounds window_;
};

}  // namespace frugal::measure
