#include "frugal/kernels/cpu/threads.h"

#include <dlfcn.h>
#include <strings.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>

#include "frugal/core/error.h"
#include "frugal/kernels/cpu/openmp_spin.h"
#include "frugal/kernels/thread_environment.h"
#include "frugal/kernels/threads.h"

namespace frugal::kernels::cpu {
namespace {

// The OpenMP runtime is the one libdnnl was built against and is loaded with it. It is
// looked up at run time so that frugal itself need not be compiled with -fopenmp.
template <typename Fn>
Fn openmp_symbol(const char* name) {
  void* sym = dlsym(RTLD_DEFAULT, name);
  if (!sym) throw InternalError(std::string("OpenMP runtime not loaded: no symbol ") + name);
  return reinterpret_cast<Fn>(sym);
}

// Null where the runtime lacks it (a oneDNN built on another threading runtime).
template <typename Fn>
Fn optional_openmp_symbol(const char* name) {
  return reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, name));
}

struct OpenMpTeam {
  void (*parallel)(void (*)(void*), void*, unsigned, unsigned) = nullptr;
  int (*thread_num)() = nullptr;
  int (*team_size)() = nullptr;
  void (*barrier)() = nullptr;
  bool loaded() const { return parallel && thread_num && team_size && barrier; }
};
const OpenMpTeam& openmp_team() {
  static const OpenMpTeam team{
      optional_openmp_symbol<void (*)(void (*)(void*), void*, unsigned, unsigned)>("GOMP_parallel"),
      optional_openmp_symbol<int (*)()>("omp_get_thread_num"),
      optional_openmp_symbol<int (*)()>("omp_get_num_threads"),
      optional_openmp_symbol<void (*)()>("GOMP_barrier")};
  return team;
}

struct Trampoline {
  void (*fn)(void*, int, int);
  void* data;
};
void trampoline(void* p) {
  const auto* t = static_cast<const Trampoline*>(p);
  t->fn(t->data, openmp_team().thread_num(), openmp_team().team_size());
}

}  // namespace

void parallel_run(int threads, void (*fn)(void*, int, int), void* data) {
  const OpenMpTeam& team = openmp_team();
  threads = std::min(threads, num_threads());
  if (threads <= 1 || !team.loaded()) {
    fn(data, 0, 1);
    return;
  }
  Trampoline t{fn, data};
  team.parallel(trampoline, &t, static_cast<unsigned>(threads), 0);
}

void parallel_barrier() {
  const OpenMpTeam& team = openmp_team();
  if (team.loaded() && team.team_size() > 1) team.barrier();
}

void set_num_threads(int n) {
  if (n < 1) throw UserError("--threads: " + std::to_string(n) + " must be at least 1");
  static const auto set = openmp_symbol<void (*)(int)>("omp_set_num_threads");
  set(n);
}

int num_threads() {
  static const auto get = openmp_symbol<int (*)()>("omp_get_max_threads");
  return get();
}

int64_t min_floats_per_thread() {
  // The runtime read its environment when it loaded; the program has not changed it since
  // (thread_environment.h sets it before, and runs the program again).
  static const int64_t floats = min_floats_per_thread(awake_us() > 0);
  return floats;
}

double awake_us() {
  static const double us =
      openmp_awake_us(std::getenv("OMP_WAIT_POLICY"), std::getenv("GOMP_SPINCOUNT"));
  return us;
}

FRUGAL_REGISTER_THREAD_CONTROL(cpu, "cpu", (ThreadControl{set_num_threads, num_threads, awake_us}));

// libgomp's idle workers spin GOMP_SPINCOUNT pause iterations before they sleep on a futex
// (default 300,000, about 3 ms here; OMP_WAIT_POLICY=passive: 0). A sleeping worker costs a
// futex wake-up at every parallel region, which made 2 threads slower than 1 on every model
// with many small layers (mobilenet_v2 6.4 against 4.7 ms); a 3 ms spin holds a core another
// process needs on a shared machine (resnet18 at 2 threads 44 against 22 ms passive, three
// busy processes on 2 cores). 10,000 iterations, about 0.1 ms at 10 ns a pause here, spans
// the gap between one kernel and the next and little more (bench/RESULTS.md, "OpenMP
// waits"). On a machine far busier than its CPUs even that spin loses: the spinning
// worker uses up its share while the thread it waits for is not scheduled (mobilenet_v2 at 2
// threads 69 ms with 10,000, 16 passive, at load 11-12 on 2 CPUs), so the spin is chosen when
// the program starts (docs/pipeline.md, "The spin under load"). libgomp spins far less (100
// iterations; 1,000 with OMP_WAIT_POLICY=active) while the process holds more OpenMP threads
// than CPUs, and each thread that ran a parallel region keeps its team's threads until it
// exits: work that is done before a pipeline's stages start runs on a thread of its own
// (pipeline/cpu_thread.h), else a two-thread stage sleeps between kernels (mobilenet_v2 7.75
// against 5.80 ms on one thread, docs/pipeline.md).
std::string openmp_spin_count(double load_average, int online_cpus) {
  if (online_cpus < 1 || load_average < 0) return kQuietSpinCount;
  return load_average > 2.0 * online_cpus ? kBusySpinCount : kQuietSpinCount;
}

double openmp_awake_us(const char* wait_policy, const char* spin_count) {
  constexpr double kForever = std::numeric_limits<double>::infinity();
  const bool passive = wait_policy && strcasecmp(wait_policy, "passive") == 0;
  const bool active = wait_policy && strcasecmp(wait_policy, "active") == 0;
  double count = passive ? 0 : active ? kForever : 300000;
  if (spin_count && (strncasecmp(spin_count, "infinit", 7) == 0)) {
    count = kForever;
  } else if (spin_count && spin_count[0] >= '0' && spin_count[0] <= '9') {
    char* end = nullptr;
    count = static_cast<double>(std::strtoull(spin_count, &end, 10));
    static constexpr char kSuffixes[] = "kmgt";  // x 1e3 each
    const char* k =
        *end ? std::strchr(kSuffixes, std::tolower(static_cast<unsigned char>(*end))) : nullptr;
    if (k) count *= std::pow(1e3, static_cast<double>(k - kSuffixes + 1));
  }
  return count * kSpinIterationNs / 1000.0;
}

int64_t min_floats_per_thread(bool workers_spin) {
  return workers_spin ? int64_t{1} << 14 : int64_t{1} << 18;
}

std::string openmp_spin_count_now() {
  // The load average and the online CPUs are both machine-wide; the CPUs this process may
  // run on (sched_getaffinity) would undercount the cores that load is spread over.
  double load = -1;
  std::ifstream("/proc/loadavg") >> load;
  const long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  return openmp_spin_count(load, cpus > 0 ? static_cast<int>(cpus) : 0);
}

FRUGAL_REGISTER_THREAD_ENVIRONMENT(cpu_openmp_spin, (EnvironmentDefault{"GOMP_SPINCOUNT",
                                                                        kQuietSpinCount,
                                                                        {"OMP_WAIT_POLICY"},
                                                                        openmp_spin_count_now}));

}  // namespace frugal::kernels::cpu
