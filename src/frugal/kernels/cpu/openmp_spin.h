// How long the cpu backend's OpenMP workers spin before they sleep (GOMP_SPINCOUNT), chosen
// from how busy the machine is when a program starts (kernels/thread_environment.h applies
// it before the runtime loads; a user's GOMP_SPINCOUNT or OMP_WAIT_POLICY wins).
#pragma once

#include <cstdint>
#include <string>

namespace frugal::kernels::cpu {

// The spin on a quiet machine: spans the gap between one kernel and the next.
inline constexpr const char* kQuietSpinCount = "10000";
// The spin on a busy machine: none (a waiting worker sleeps at once, as with
// OMP_WAIT_POLICY=passive), since a spinning worker uses up the share of a core that the
// thread it waits for needs.
inline constexpr const char* kBusySpinCount = "0";

// Pure: the spin count for a machine whose 1-minute load average is `load_average` and which
// has `online_cpus` CPUs. Busy means a load above twice the CPUs: the load counts frugal's
// own threads too (a script of 2-thread runs keeps a quiet 2-core machine at 1.3-2), and at
// load 3.7 on 2 CPUs (two busy processes beside it) the spin still won, while from load 4 up
// it lost by 2 to 8 times (docs/pipeline.md, "The spin under load"). Unknown inputs
// (online_cpus < 1, or a negative load) give the quiet spin.
std::string openmp_spin_count(double load_average, int online_cpus);

// Pure: how long idle OpenMP workers spin before they sleep, in microseconds, given the
// OMP_WAIT_POLICY and GOMP_SPINCOUNT a process started with (null: unset), as libgomp reads
// them: a count with an optional k/M/G/T suffix or "infinite"; unset, 300,000 (active
// policy: infinite; passive: 0). A spin iteration (a `pause`) takes about 10 ns here:
// 10,000 kept a worker awake across gaps of 100 us and asleep after 200 us (an empty
// parallel region then took 23-250 us instead of 1; bench/RESULTS.md, "Isolated parallel
// nodes").
double openmp_awake_us(const char* wait_policy, const char* spin_count);
inline constexpr double kSpinIterationNs = 10.0;

// The smallest share of a streaming pass worth another thread (threads.h,
// min_floats_per_thread) when workers spin (openmp_awake_us > 0) or sleep: 64 KiB and 1 MiB of
// floats. DenseNet's scale-shift passes at batch 1 (0.1-3 MiB) ran 9 % slower on two sleeping
// workers than on one (load 9); with spinning workers a 64 KiB share made densenet121,
// efficientnet_b0 and mobilenet_v3_large 5-14 % faster at 2 threads, 16 KiB and 256 KiB
// no better (quiet machine; bench/RESULTS.md, "Small passes on two threads").
int64_t min_floats_per_thread(bool workers_spin);

// openmp_spin_count of this machine now (/proc/loadavg, the online CPUs).
std::string openmp_spin_count_now();

}  // namespace frugal::kernels::cpu
