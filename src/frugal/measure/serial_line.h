// A serial line (USB CDC, UART or pty) in raw mode, shared by the sensor meters
// (serial_meter.h) and the power commands (power_tools.h).
#pragma once

#include <cstdint>
#include <span>
#include <string>

namespace frugal::measure {

class SerialLine {
 public:
  // Opens and configures raw 8N1 at `baud`; throws UserError naming the path and reason.
  SerialLine(std::string path, int baud);
  ~SerialLine();
  SerialLine(const SerialLine&) = delete;
  SerialLine& operator=(const SerialLine&) = delete;

  const std::string& path() const { return path_; }
  int baud() const { return baud_; }
  int fd() const { return fd_; }
  void discard_input() const;
  // Writes every byte; throws UserError when the line refuses them.
  void write_all(std::span<const uint8_t> bytes) const;
  void write_all(const std::string& text) const;
  // Reads exactly out.size() bytes within timeout_s; false on timeout.
  bool read_exact(std::span<uint8_t> out, double timeout_s) const;
  // Reads what is available, waiting at most timeout_s for the first byte; returns the
  // count (0 on timeout), -1 on end of stream or error.
  long read_some(std::span<uint8_t> out, double timeout_s) const;

 private:
  std::string path_;
  int baud_;
  int fd_ = -1;
};

// termios speed constant for a baud rate; throws UserError for a non-standard rate.
unsigned baud_to_speed(int baud);

}  // namespace frugal::measure
