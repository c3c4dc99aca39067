// A pseudo-terminal whose slave end a meter opens by name; the test plays the sensor on
// the master end.
#pragma once

#include <pty.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string>

struct Pty {
  int master = -1, slave = -1;
  std::string path;
  Pty() {
    char name[256];
    if (openpty(&master, &slave, name, nullptr, nullptr) != 0) throw std::runtime_error("openpty");
    path = name;
  }
  ~Pty() {
    ::close(master);
    ::close(slave);
  }
  void write_all(const std::string& bytes) const {
    size_t done = 0;
    while (done < bytes.size()) {
      const ssize_t n = ::write(master, bytes.data() + done, bytes.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) throw std::runtime_error("write to pty master failed");
      done += static_cast<size_t>(n);
    }
  }
};
