// Runs one command in a child process with a wall-clock limit (SIGKILL to its process
// group after it) and an address-space limit (RLIMIT_AS), capturing stdout and the tail
// of stderr. A crash, hang or out-of-memory of the child is a result, never ours.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace frugal::explore {

struct ChildLimits {
  double timeout_s = 600;
  int64_t memory_bytes = 0;             // 0: unlimited
  size_t max_stdout_bytes = 64 << 20;   // more is dropped (and said)
  size_t stderr_tail_bytes = 4096;
};

struct ChildResult {
  int exit_code = -1;  // when it exited; -1 when killed by a signal or never started
  int signal = 0;      // the signal that ended it
  bool timed_out = false;
  bool stdout_truncated = false;
  std::string out;
  std::string err_tail;
  double wall_s = 0;
  bool ok() const { return exit_code == 0 && signal == 0 && !timed_out; }
  // "exit 1", "killed by SIGSEGV", "timed out after 10 s (SIGKILL)".
  std::string describe() const;
  // Last non-empty line of the stderr tail (the child's one-line reason), or "".
  std::string last_error_line() const;
};

// argv[0] is the program path (exec'd directly, no shell).
ChildResult run_child(const std::vector<std::string>& argv, const ChildLimits& limits);

}  // namespace frugal::explore
