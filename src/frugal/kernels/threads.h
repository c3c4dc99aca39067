// Compute threads of the kernels run from the calling thread, for every backend: the
// kernels-level execution context. Each backend that starts threads registers how it sets
// and reads its count (the cpu backend: OpenMP's, for the calling thread); the Session
// applies its count on the thread that runs it, before building and before running each
// kernel, so that pipeline workers each keep their own. The compute threads a thread's
// kernels start live as long as that thread (the cpu backend's runtime keeps one team per
// calling thread, idle between runs): work that should leave none behind runs on a thread of
// its own (pipeline/cpu_thread.h).
#pragma once

#include <functional>
#include <string>

namespace frugal::kernels {

struct ThreadControl {
  std::function<void(int)> set;  // n >= 1, for the calling thread
  std::function<int()> get;
  // How long, in microseconds, the backend's idle compute threads stay awake after a
  // parallel kernel before they sleep (0: at once; infinity: never sleep); a kernel that
  // starts later pays their wake-up. Null: unknown, taken as never.
  std::function<double()> awake_us;
};
void register_thread_control(const std::string& backend, ThreadControl control);

// The most threads a session may ask for. OpenMP runtimes fail far above any real core
// count (libgomp crashed at 100000 and refused 32768 with its own message), so the bound is
// checked here, once, for the CLI, the Python module and C++ callers alike.
inline constexpr int kMaxThreads = 1024;

// UserError naming --threads, the value and the allowed range, unless 1 <= n <= kMaxThreads.
void check_thread_count(int n);

// Threads used by kernels run from the calling thread from now on, in every backend that
// registered a control (check_thread_count first).
void set_threads(int n);
// The calling thread's count (the first registered control's; 1 without any).
int threads();

// The shortest awake_us of the registered controls (infinity without any).
double workers_awake_us();

// Sets the calling thread's count for a scope, and restores the count from before the scope
// when it ends (also after an exception). 0 leaves the count as it is.
class ThreadScope {
 public:
  explicit ThreadScope(int n) { set(n); }
  ~ThreadScope();
  ThreadScope(const ThreadScope&) = delete;
  ThreadScope& operator=(const ThreadScope&) = delete;
  // Switches within the scope (a no-op when n is 0 or already the count).
  void set(int n);

 private:
  int before_ = 0, current_ = 0;
};

}  // namespace frugal::kernels

#define FRUGAL_REGISTER_THREAD_CONTROL(ident, backend, control) \
  static const bool frugal_thread_control_##ident =             \
      (::frugal::kernels::register_thread_control(backend, control), true)
