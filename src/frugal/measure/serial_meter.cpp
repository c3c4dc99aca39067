#include "frugal/measure/serial_meter.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>
#include <vector>

#include "frugal/core/error.h"

namespace frugal::measure {

unsigned baud_to_speed(int baud) {
  static const std::pair<int, speed_t> rates[] = {
      {1200, B1200},       {2400, B2400},       {4800, B4800},       {9600, B9600},
      {19200, B19200},     {38400, B38400},     {57600, B57600},     {115200, B115200},
      {230400, B230400},   {460800, B460800},   {500000, B500000},   {576000, B576000},
      {921600, B921600},   {1000000, B1000000}, {1152000, B1152000}, {1500000, B1500000},
      {2000000, B2000000}, {2500000, B2500000}, {3000000, B3000000}, {3500000, B3500000},
      {4000000, B4000000}};
  for (const auto& [rate, speed] : rates)
    if (rate == baud) return speed;
  throw UserError("serial: baud " + std::to_string(baud) +
                  " is not a standard rate (e.g. 9600, 115200, 921600, 2000000)");
}

SerialMeter::SerialMeter(SerialOptions options)
    : options_(std::move(options)), integrator_(options_.max_gap_s) {
  const speed_t speed = baud_to_speed(options_.baud);
  fd_ = ::open(options_.path.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0)
    throw UserError("serial: cannot open " + options_.path + ": " + std::strerror(errno));
  termios tio{};
  if (tcgetattr(fd_, &tio) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw UserError("serial: " + options_.path +
                    " is not a terminal device: " + std::strerror(err));
  }
  // Raw: no line editing, echo, signals or CR/LF translation, which would corrupt
  // binary frames; 8 data bits, receiver on, modem control lines ignored.
  cfmakeraw(&tio);
  tio.c_cflag |= CREAD | CLOCAL;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0 ||
      tcsetattr(fd_, TCSANOW, &tio) != 0) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    throw UserError("serial: cannot configure " + options_.path + " for " +
                    std::to_string(options_.baud) + " baud raw mode: " + std::strerror(err));
  }
}

SerialMeter::~SerialMeter() {
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
}

bool SerialMeter::read_available() {
  uint8_t buf[4096];
  std::vector<SensorSample> samples;
  for (;;) {
    const ssize_t n = ::read(fd_, buf, sizeof(buf));
    if (n > 0) {
      samples.clear();
      parser_.feed(std::span<const uint8_t>(buf, static_cast<size_t>(n)), samples);
      for (const auto& s : samples) integrator_.add(s);
      continue;
    }
    if (n == 0) return true;  // raw mode with VMIN=0: nothing buffered
    if (errno == EINTR) continue;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return true;
    read_error_ = "serial: reading " + options_.path + " failed: " + std::strerror(errno);
    return false;
  }
}

void SerialMeter::read_loop() {
  pollfd p{fd_, POLLIN, 0};
  while (!stopping_) {
    const int rc = ::poll(&p, 1, 20);
    if (rc < 0 && errno != EINTR) {
      read_error_ = "serial: poll on " + options_.path + " failed: " + std::strerror(errno);
      return;
    }
    if (rc > 0 && (p.revents & POLLIN)) {
      if (!read_available()) return;
    } else if (rc > 0 && (p.revents & (POLLERR | POLLHUP | POLLNVAL))) {
      read_error_ = "serial: " + options_.path + " was closed or disconnected";
      return;
    }
  }
  // Bytes that reached the line before stop() belong to the window.
  read_available();
}

void SerialMeter::start() {
  if (running_) throw InternalError("SerialMeter::start: already started");
  tcflush(fd_, TCIFLUSH);
  parser_ = SensorStreamParser();
  integrator_ = EnergyIntegrator(options_.max_gap_s);
  read_error_.clear();
  stopping_ = false;
  running_ = true;
  reader_ = std::thread([this] { read_loop(); });
}

Reading SerialMeter::stop() {
  if (!running_) throw InternalError("SerialMeter::stop: not started");
  stopping_ = true;
  if (reader_.joinable()) reader_.join();
  running_ = false;
  if (integrator_.samples() < 2 || integrator_.duration_s() <= 0) {
    std::string why = read_error_.empty() ? "" : " (" + read_error_ + ")";
    const std::string skipped = parser_.counts().summary();
    if (!skipped.empty()) why += "; " + skipped;
    throw UserError("serial: fewer than two valid samples per channel arrived from " +
                    options_.path + " during the window" + why +
                    ": check the baud rate and that the sensor speaks frugal's protocol");
  }
  Reading r;
  r.source = source();
  r.kind = EnergyKind::kMeasured;
  r.joules = integrator_.joules();
  r.duration_s = integrator_.duration_s();
  r.mean_watts = r.joules / r.duration_s;
  r.samples = integrator_.samples();
  r.period_s = integrator_.mean_period_s();
  std::string note = std::to_string(integrator_.channels()) + " channel(s) summed";
  const std::string skipped = parser_.counts().summary();
  if (!skipped.empty()) note += "; " + skipped;
  if (integrator_.out_of_order() > 0)
    note += "; " + std::to_string(integrator_.out_of_order()) + " out-of-order samples dropped";
  if (integrator_.gaps() > 0)
    note +=
        "; " + std::to_string(integrator_.gaps()) + " gaps longer than max_gap_s not integrated";
  if (!read_error_.empty()) note += "; " + read_error_;
  r.note = note;
  return r;
}

}  // namespace frugal::measure
