#include "frugal/explore/child.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "frugal/core/error.h"

namespace frugal::explore {

std::string ChildResult::describe() const {
  if (timed_out) return "timed out after " + std::to_string(static_cast<int>(wall_s + 0.5)) + " s (SIGKILL)";
  if (signal != 0) {
    const char* name = sigabbrev_np(signal);
    return std::string("killed by ") + (name ? std::string("SIG") + name : "signal " + std::to_string(signal));
  }
  return "exit " + std::to_string(exit_code);
}

std::string ChildResult::last_error_line() const {
  size_t end = err_tail.find_last_not_of("\r\n \t");
  if (end == std::string::npos) return "";
  size_t start = err_tail.rfind('\n', end);
  start = start == std::string::npos ? 0 : start + 1;
  return err_tail.substr(start, end - start + 1);
}

ChildResult run_child(const std::vector<std::string>& argv, const ChildLimits& limits) {
  FRUGAL_CHECK(!argv.empty(), "run_child needs a program");
  ChildResult r;
  int out_pipe[2], err_pipe[2];
  if (pipe2(out_pipe, O_CLOEXEC) != 0) throw UserError(std::string("pipe: ") + std::strerror(errno));
  if (pipe2(err_pipe, O_CLOEXEC) != 0) {
    close(out_pipe[0]);
    close(out_pipe[1]);
    throw UserError(std::string("pipe: ") + std::strerror(errno));
  }
  std::vector<char*> cargv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);

  auto t0 = std::chrono::steady_clock::now();
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    for (int fd : {out_pipe[0], out_pipe[1], err_pipe[0], err_pipe[1]}) close(fd);
    throw UserError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Child: own process group (so a time-out kills its helpers too), limits, exec.
    setpgid(0, 0);
    // Dies with the sweep (even a SIGKILLed one) instead of running on unsupervised.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    if (limits.memory_bytes > 0) {
      rlimit rl{static_cast<rlim_t>(limits.memory_bytes), static_cast<rlim_t>(limits.memory_bytes)};
      setrlimit(RLIMIT_AS, &rl);
    }
    dup2(out_pipe[1], 1);
    dup2(err_pipe[1], 2);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(cargv[0], cargv.data());
    const char* msg = "cannot execute the child program\n";
    (void)!write(2, msg, std::strlen(msg));
    _exit(127);
  }
  setpgid(pid, pid);  // also here, so that the kill below cannot race the child's own call
  close(out_pipe[1]);
  close(err_pipe[1]);

  pollfd fds[2] = {{out_pipe[0], POLLIN, 0}, {err_pipe[0], POLLIN, 0}};
  bool open_fd[2] = {true, true};
  char buf[1 << 16];
  auto deadline = t0 + std::chrono::duration<double>(limits.timeout_s);
  while (open_fd[0] || open_fd[1]) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      r.timed_out = true;
      kill(-pid, SIGKILL);
      break;
    }
    for (int i = 0; i < 2; ++i) fds[i].fd = open_fd[i] ? (i == 0 ? out_pipe[0] : err_pipe[0]) : -1;
    int n = poll(fds, 2, static_cast<int>(std::min<int64_t>(left.count(), 1000)));
    if (n < 0 && errno != EINTR) break;
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (!open_fd[i] || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got <= 0) {
        open_fd[i] = false;
        continue;
      }
      if (i == 0) {
        size_t room = limits.max_stdout_bytes - std::min(limits.max_stdout_bytes, r.out.size());
        if (static_cast<size_t>(got) > room) r.stdout_truncated = true;
        r.out.append(buf, std::min(room, static_cast<size_t>(got)));
      } else {
        r.err_tail.append(buf, static_cast<size_t>(got));
        if (r.err_tail.size() > 2 * limits.stderr_tail_bytes)
          r.err_tail.erase(0, r.err_tail.size() - limits.stderr_tail_bytes);
      }
    }
  }
  close(out_pipe[0]);
  close(err_pipe[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (r.err_tail.size() > limits.stderr_tail_bytes) r.err_tail.erase(0, r.err_tail.size() - limits.stderr_tail_bytes);
  if (WIFEXITED(status)) {
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.signal = WTERMSIG(status);
    r.exit_code = -1;
  }
  return r;
}

}  // namespace frugal::explore
