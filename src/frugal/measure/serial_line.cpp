#include "frugal/measure/serial_line.h"

#include <fcntl.h>
#include <poll.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <utility>

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

SerialLine::SerialLine(std::string path, int baud) : path_(std::move(path)), baud_(baud) {
  const speed_t speed = baud_to_speed(baud_);
  fd_ = ::open(path_.c_str(), O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
  if (fd_ < 0) throw UserError("serial: cannot open " + path_ + ": " + std::strerror(errno));
  termios tio{};
  auto fail = [&](const std::string& what) {
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    return UserError("serial: " + path_ + what + std::strerror(err));
  };
  if (tcgetattr(fd_, &tio) != 0) throw fail(" is not a terminal device: ");
  // Raw: no line editing, echo, signals or CR/LF translation, which would corrupt
  // binary frames; 8 data bits, receiver on, modem control lines ignored.
  cfmakeraw(&tio);
  tio.c_cflag |= CREAD | CLOCAL;
  tio.c_cc[VMIN] = 0;
  tio.c_cc[VTIME] = 0;
  if (cfsetispeed(&tio, speed) != 0 || cfsetospeed(&tio, speed) != 0 ||
      tcsetattr(fd_, TCSANOW, &tio) != 0)
    throw fail(": cannot configure " + std::to_string(baud_) + " baud raw mode: ");
}

SerialLine::~SerialLine() {
  if (fd_ >= 0) ::close(fd_);
}

void SerialLine::discard_input() const {
  tcflush(fd_, TCIFLUSH);
}

void SerialLine::write_all(std::span<const uint8_t> bytes) const {
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
    if (n > 0) {
      done += static_cast<size_t>(n);
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd_, POLLOUT, 0};
      ::poll(&p, 1, 100);
    } else {
      throw UserError("serial: writing to " + path_ + " failed: " + std::strerror(errno));
    }
  }
}

void SerialLine::write_all(const std::string& text) const {
  write_all(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}

long SerialLine::read_some(std::span<uint8_t> out, double timeout_s) const {
  pollfd p{fd_, POLLIN, 0};
  const int rc = ::poll(&p, 1, static_cast<int>(timeout_s * 1000));
  if (rc < 0) return errno == EINTR ? 0 : -1;
  if (rc == 0) return 0;
  if (!(p.revents & POLLIN)) return -1;  // hang-up or error
  const ssize_t n = ::read(fd_, out.data(), out.size());
  if (n < 0) return (errno == EAGAIN || errno == EINTR) ? 0 : -1;
  return n == 0 ? -1 : static_cast<long>(n);
}

bool SerialLine::read_exact(std::span<uint8_t> out, double timeout_s) const {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(timeout_s);
  size_t done = 0;
  while (done < out.size()) {
    const double left =
        std::chrono::duration<double>(deadline - std::chrono::steady_clock::now()).count();
    if (left <= 0) return false;
    const long n = read_some(out.subspan(done), left);
    if (n < 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace frugal::measure
