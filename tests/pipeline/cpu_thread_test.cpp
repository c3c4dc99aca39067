// Host-core work on a thread of its own (pipeline/cpu_thread.h): result, error, pinning,
// and the partitioner's profiling leaving no compute threads behind on its caller, where
// they made a two-thread pipeline stage slower than a one-thread one.
#include "frugal/pipeline/cpu_thread.h"

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <thread>

#include "frugal/measure/affinity.h"
#include "frugal/pipeline/partition.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::pipeline;

namespace {

// Threads of this process now.
size_t process_threads() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/task")) ++n;
  return n;
}

}  // namespace

TEST(CpuThread, ReturnsResultAndRethrows) {
  EXPECT_EQ(on_cpu_thread({}, [] { return std::string("done"); }), "done");
  EXPECT_THROW(on_cpu_thread({}, []() -> int { throw std::runtime_error("boom"); }),
               std::runtime_error);
}

TEST(CpuThread, PinsOnlyItsOwnThread) {
  const std::vector<int> before = measure::current_affinity();
  ASSERT_FALSE(before.empty());
  const std::vector<int> one{before.back()};
  EXPECT_EQ(on_cpu_thread(one, [] { return measure::current_affinity(); }), one);
  EXPECT_EQ(measure::current_affinity(), before);
}

// Profiling for a two-thread cpu device starts compute threads; they must end with the
// profiling. Run on a fresh thread, so that the count does not depend on what earlier
// tests left on the main thread.
TEST(CpuThread, PartitionProfilingLeavesNoComputeThreads) {
  DeviceSet devices;
  devices.source = "test";
  pipeline::Device d;
  d.name = "two-threads";
  d.kind = pipeline::DeviceKind::kCpu;
  d.origin = "test:1";
  d.cpu.threads = 2;
  devices.devices.push_back(d);
  PartitionOptions o;
  o.session.backends = {"cpu", "ref"};
  o.session.parallel_min_us = 0;  // every node on both threads
  o.profile_seconds = 0.05;
  const ir::Graph g = zoo::build("resnet8_fmnist", 0);
  size_t before = 0, after = 0;
  std::thread caller([&] {
    before = process_threads();
    partition(g, devices, o);
    // A finished thread's OpenMP workers leave after it, not with it: wait up to 5 s for
    // them (idle workers kept for the caller, the fault this test is for, never leave).
    after = process_threads();
    for (int i = 0; i < 500 && after > before; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
      after = process_threads();
    }
  });
  caller.join();
  EXPECT_EQ(after, before);
}
