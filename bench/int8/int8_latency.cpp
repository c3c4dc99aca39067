// Latency of zoo models on the cpu backend in fp32, bf16, int8 (cpu:int8,cpu; u8 between
// int8 kernels) and int8f (the same with float32 boundaries), batch 1,
// one thread, the sessions run alternately in the same process so that load on a
// shared machine hits them alike. Prints median and p90 per precision, the speedup over
// fp32, and where the int8 session spends its time (per backend and op type).
//
// Build: ninja -C build bench_int8_latency
// Run:   OMP_NUM_THREADS=1 build/bench/bench_int8_latency [RUNS=25] [MODEL...] [--batch N]
//        [--threads N]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "../bench_util.h"
#include "frugal/core/rng.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

namespace {

using Clock = std::chrono::steady_clock;

using bench::normal_input;
using bench::quantile;

// Milliseconds per (backend, op type) over the runs it observes.
struct OpProfile : runtime::NodeObserver {
  const runtime::Session* session = nullptr;
  std::map<std::string, double> ms;
  Clock::time_point t0;
  void before(size_t) override { t0 = Clock::now(); }
  void after(size_t step) override {
    const auto& a = session->assignments()[step];
    ms[a.backend + " " + a.op_type] +=
        std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
  }
};

}  // namespace

int main(int argc, char** argv) {
  const int runs = argc > 1 ? std::atoi(argv[1]) : 25;
  std::vector<std::string> models;
  int64_t batch = 1;
  int threads = 1;
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if ((arg == "--batch" || arg == "--threads") && i + 1 < argc) {
      if (arg == "--batch") batch = std::atoll(argv[++i]);
      else threads = std::atoi(argv[++i]);
      continue;
    }
    models.push_back(arg);
  }
  std::printf("batch %lld, %d thread(s), %d timed runs per session after 3 warm-ups\n",
              static_cast<long long>(batch), threads, runs);
  if (models.empty()) models = {"resnet18", "resnet50", "mobilenet_v2"};

  for (const auto& name : models) {
    const ir::Graph g = zoo::build(name, 3);
    runtime::SessionOptions fp32;
    fp32.backends = {"cpu", "ref"};
    fp32.threads = threads;
    if (batch != 1) fp32.infer.input_shapes["input"] = {batch, 3, 224, 224};
    runtime::SessionOptions bf16 = fp32;
    bf16.backends = {"cpu:bf16", "ref"};
    runtime::SessionOptions int8 = fp32;
    int8.backends = {"cpu:int8", "cpu", "ref"};

    runtime::Session probe(g, fp32);
    const Shape shape = probe.inputs()[0].shape;
    std::vector<std::vector<Tensor>> calibration;
    for (uint64_t s = 0; s < 4; ++s) calibration.push_back({normal_input(shape, 100 + s)});
    int8.backend_config.ranges = runtime::calibrate_minmax(g, calibration, fp32);

    std::vector<std::pair<std::string, std::unique_ptr<runtime::Session>>> sessions;
    sessions.emplace_back("fp32", std::make_unique<runtime::Session>(g, fp32));
    sessions.emplace_back("bf16", std::make_unique<runtime::Session>(g, bf16));
    sessions.emplace_back("int8", std::make_unique<runtime::Session>(g, int8));
    // The same int8 kernels with float32 boundaries (each quantizes its input, writes
    // float32): the A/B of the u8 values between int8 kernels (docs/architecture.md).
    setenv("FRUGAL_INT8_FLOAT_BOUNDARIES", "1", 1);
    sessions.emplace_back("int8f", std::make_unique<runtime::Session>(g, int8));
    unsetenv("FRUGAL_INT8_FLOAT_BOUNDARIES");
    std::printf("%-13s int8: %zu values u8 between int8 kernels\n", name.c_str(),
                sessions[2].second->quantized_values().size());
    const Tensor x = normal_input(shape, 7);
    std::vector<std::vector<double>> ms(sessions.size());
    for (int r = -3; r < runs; ++r) {
      for (size_t i = 0; i < sessions.size(); ++i) {
        const auto t0 = Clock::now();
        sessions[i].second->run({x});
        const double t = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();
        if (r >= 0) ms[i].push_back(t);
      }
    }
    const double base = quantile(ms[0], 0.5);
    for (size_t i = 0; i < sessions.size(); ++i)
      std::printf("%-13s %-5s median %8.2f ms  p90 %8.2f ms  speedup vs fp32 %.2fx\n", name.c_str(),
                  sessions[i].first.c_str(), quantile(ms[i], 0.5), quantile(ms[i], 0.9),
                  base / quantile(ms[i], 0.5));

    for (size_t i : {size_t(0), size_t(2), size_t(3)}) {
      OpProfile prof;
      prof.session = sessions[i].second.get();
      sessions[i].second->set_observer(&prof);
      for (int r = 0; r < 5; ++r) sessions[i].second->run({x});
      sessions[i].second->set_observer(nullptr);
      std::printf("  %s profile (ms per run):", sessions[i].first.c_str());
      for (const auto& [k, v] : prof.ms) std::printf("  %s %.2f;", k.c_str(), v / 5);
      std::printf("\n");
    }
    std::map<std::string, int> impls;
    for (const auto& a : sessions[2].second->assignments())
      if (a.backend == "cpu:int8") impls[a.impl]++;
    for (const auto& [impl, n] : impls) std::printf("  int8 impl %s: %d nodes\n", impl.c_str(), n);
  }
  return 0;
}
