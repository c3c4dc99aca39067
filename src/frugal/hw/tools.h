// The external tools behind `frugal hw`: locating them (with the Debian package to install
// when one is missing), scratch directories and running a command with its output logged.
#pragma once

#include <string>

namespace frugal::hw {

// The full path of `tool` on PATH; throws UserError naming the Debian package otherwise.
std::string require_tool(const std::string& tool, const std::string& debian_package);

// A fresh directory under the system's temp directory, removed by the destructor unless kept.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }
  void keep() { keep_ = true; }

 private:
  std::string path_;
  bool keep_ = false;
};

// Runs `command` through the shell with stdout and stderr appended to `log`; returns the
// exit status (-1 when it could not run).
int run_logged(const std::string& command, const std::string& log);

// The last non-empty line of a file ("" when none), to quote a tool's failure in one line.
std::string last_line(const std::string& path);

}  // namespace frugal::hw
