// Quantize throughput, one thread, per format and rounding mode, next to memcpy of the same
// buffer in the same run. GB/s counts the bytes read (4 per value), for memcpy too.
//
//   ./bench_quantize                       Google Benchmark output, then a summary table
//   ./bench_quantize --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//   ./bench_quantize --benchmark_filter=bf16
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace fn = frugal::numeric;

namespace {

constexpr size_t kValues = size_t{1} << 22;  // 16 MB in, 16 MB out

std::vector<float>& input() {
  static std::vector<float> in = [] {
    std::vector<float> v(kValues);
    std::mt19937 rng(1);
    std::normal_distribution<float> d(0.0f, 1.0f);
    for (auto& x : v) x = d(rng);
    return v;
  }();
  return in;
}

void bm_memcpy(benchmark::State& state) {
  const std::vector<float>& in = input();
  std::vector<float> out(in.size());
  for (auto _ : state) {
    std::memcpy(out.data(), in.data(), in.size() * sizeof(float));
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size() * sizeof(float)));
}

void bm_quantize(benchmark::State& state, fn::NumberFormat f, fn::Rounding r, fn::Isa isa) {
  const std::vector<float>& in = input();
  std::vector<float> out(in.size());
  fn::QuantizeOptions o;
  o.threads = 1;
  o.isa = isa;
  for (auto _ : state) {
    fn::quantize(in, out, f, r, o);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * in.size() * sizeof(float)));
}

// Collects GB/s per benchmark for the summary.
class SummaryReporter : public benchmark::ConsoleReporter {
 public:
  void ReportRuns(const std::vector<Run>& runs) override {
    // With --benchmark_repetitions the median is kept, otherwise the single run.
    for (const Run& r : runs) {
      auto it = r.counters.find("bytes_per_second");
      if (it == r.counters.end()) continue;
      const std::string name = r.run_name.str();
      const bool median = r.run_type == Run::RT_Aggregate && r.aggregate_name == "median";
      if (median || (r.run_type == Run::RT_Iteration && !medians_.count(name)))
        gbps_[name] = it->second.value / 1e9;
      if (median) medians_.insert(name);
    }
    ConsoleReporter::ReportRuns(runs);
  }
  const std::map<std::string, double>& gbps() const { return gbps_; }

 private:
  std::map<std::string, double> gbps_;
  std::set<std::string> medians_;
};

}  // namespace

int main(int argc, char** argv) {
  const char* formats[] = {"fp16",
                           "bf16",
                           "e5m2",
                           "e4m3",
                           "e2m1",
                           "e3m2:sub=off",
                           "mxfp8",
                           "mxfp4",
                           "int8:scale=0.02",
                           "fixed8.8",
                           "binary",
                           "ternary:scale=0.5"};
  const char* roundings[] = {"rne", "rz", "up", "sr", "sr:bits=8"};
  std::vector<std::pair<std::string, std::string>> rows;
  benchmark::RegisterBenchmark("memcpy", bm_memcpy)->Unit(benchmark::kMillisecond);
  for (const char* f : formats)
    for (const char* r : roundings) {
      const std::string name = std::string("quantize/") + f + "/" + r;
      benchmark::RegisterBenchmark(name.c_str(), bm_quantize, fn::parse_format(f),
                                   fn::parse_rounding(r), fn::Isa::kAuto)
          ->Unit(benchmark::kMillisecond);
      rows.emplace_back(f, r);
    }
  // The same kernel on each instruction set.
  for (fn::Isa isa : {fn::Isa::kScalar, fn::Isa::kAvx2, fn::Isa::kAvx512}) {
    if (!fn::isa_supported(isa)) continue;
    for (const char* r : {"rne", "sr"}) {
      const std::string name = std::string("isa/") + std::string(fn::isa_name(isa)) + "/bf16/" + r;
      benchmark::RegisterBenchmark(name.c_str(), bm_quantize, fn::parse_format("bf16"),
                                   fn::parse_rounding(r), isa)
          ->Unit(benchmark::kMillisecond);
    }
  }
  benchmark::Initialize(&argc, argv);
  SummaryReporter reporter;
  benchmark::RunSpecifiedBenchmarks(&reporter);
  const auto& g = reporter.gbps();
  auto it = g.find("memcpy");
  if (it == g.end()) return 0;
  const double copy = it->second;
  std::printf("\nmemcpy: %.2f GB/s (%zu floats, one thread, %s kernels)\n\n", copy, kValues,
              std::string(fn::isa_name(fn::best_isa())).c_str());
  std::printf("| format | rne | rz | up | sr | sr:bits=8 |\n|---|---|---|---|---|---|\n");
  for (const char* f : formats) {
    std::printf("| %s |", f);
    for (const char* r : roundings) {
      auto q = g.find(std::string("quantize/") + f + "/" + r);
      if (q == g.end())
        std::printf(" - |");
      else
        std::printf(" %.2f (%.0f%%) |", q->second, 100 * q->second / copy);
    }
    std::printf("\n");
  }
  std::printf("\nGB/s of input read (%% of memcpy in the same run)\n");
  for (const auto& [name, v] : g)
    if (name.rfind("isa/", 0) == 0) std::printf("%s: %.2f GB/s\n", name.c_str(), v);
  return 0;
}
