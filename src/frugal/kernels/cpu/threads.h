// Thread count of the cpu backend's kernels. oneDNN is built on OpenMP here, so this sets
// OpenMP's thread count for the calling thread (the one that runs sessions); results are
// deterministic for a given count. Registered as the cpu backend's kernels::ThreadControl
// (kernels/threads.h): code outside kernels/cpu calls kernels::set_threads.
#pragma once

#include <cstdint>

namespace frugal::kernels::cpu {

// Threads used by kernels run from the calling thread from now on; n >= 1.
// Throws UserError for n < 1.
void set_num_threads(int n);
// Threads kernels run from the calling thread will use.
int num_threads();

// The smallest share of a streaming pass (each element read once: scale-shift, the
// squeeze-excite passes, copies) worth handing to another thread, in floats. It depends on
// what waking a worker costs: a spinning worker (libgomp's default and frugal's on a quiet
// machine, cpu/openmp_spin.h) starts within a microsecond, a sleeping one (GOMP_SPINCOUNT=0
// or OMP_WAIT_POLICY=passive, frugal's choice under load) needs a futex wake-up and a
// scheduler slice (cpu/openmp_spin.h has the figures). Decided once, from the environment
// the OpenMP runtime read.
int64_t min_floats_per_thread();

// How long idle workers stay awake after a parallel kernel, in microseconds
// (kernels::ThreadControl::awake_us), from the environment the OpenMP runtime read.
double awake_us();

// Runs `fn(data, t, T)` on T = min(threads, num_threads()) threads of the OpenMP pool that
// oneDNN uses (t = 0 .. T-1), the backend's own loops' way to share the cores; on the
// calling thread when T == 1 (or no OpenMP runtime is loaded).
void parallel_run(int threads, void (*fn)(void*, int, int), void* data);

// Inside parallel_run's fn: waits until every thread of the team has called it (the
// OpenMP runtime's barrier: its workers spin, then sleep, as between kernels). A no-op on
// one thread.
void parallel_barrier();

// Splits the items [0, count) evenly over parallel_run's threads: fn(begin, end) once on
// each.
template <typename F>
void parallel_split(int threads, int64_t count, const F& fn) {
  struct Job {
    const F* fn;
    int64_t count;
  } job{&fn, count};
  parallel_run(
      threads,
      [](void* data, int t, int T) {
        const Job& j = *static_cast<const Job*>(data);
        (*j.fn)(j.count * t / T, j.count * (t + 1) / T);
      },
      &job);
}

}  // namespace frugal::kernels::cpu
