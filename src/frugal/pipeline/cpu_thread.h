// Work for a host-core device on a thread of its own, as a pipeline stage runs it: the
// partitioner's profiling and the simulator's timing of a segment alone.
#pragma once

#include <exception>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#include "frugal/measure/affinity.h"

namespace frugal::pipeline {

// Runs fn() on a new thread pinned to `cores` (empty: not pinned), waits for it and returns
// its result (rethrows its exception). Two reasons for the new thread:
//  - Sessions fn builds see the cores a stage on this device sees.
//  - The compute threads its kernels start end with it. A backend's thread runtime keeps
//    them for as long as the thread that started them lives (kernels/threads.h); started
//    from the caller's thread, they would stay idle for the rest of the process and count
//    against its CPUs, which makes every later multi-threaded Session wait for a wake-up
//    at each kernel: a two-thread pipeline stage ran mobilenet_v2 in 7.75 ms against 5.80
//    on one thread (docs/pipeline.md, "Two threads in one stage").
template <typename Fn>
std::invoke_result_t<Fn&> on_cpu_thread(const std::vector<int>& cores, Fn&& fn) {
  using Result = std::invoke_result_t<Fn&>;
  std::optional<Result> result;
  std::exception_ptr error;
  std::thread worker([&] {
    try {
      if (!cores.empty()) measure::pin_to_cpus(cores);
      result.emplace(fn());
    } catch (...) {
      error = std::current_exception();
    }
  });
  worker.join();
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

}  // namespace frugal::pipeline
