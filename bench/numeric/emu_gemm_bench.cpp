// Emulated GEMM (kernels/emu) next to oneDNN's fp32 sgemm in the same run, square sizes
// 512 and 1024, both on every hardware thread (oneDNN: OpenMP; emu_gemm: its row threads).
// Inputs are e4m3 values (what the emulator multiplies); the emulated accumulators:
//   fp16:chunk=32  the target mode (chunk-based, Wang et al. 2018)
//   fp16           per-add rounding into one accumulator
//   bf16:chunk=32, fp32 (a plain FMA loop: the kernel's floor)
// Threads: OMP_NUM_THREADS, when set, bounds both (oneDNN reads it; emu_gemm is told here).
// Run: OMP_NUM_THREADS=1 ./bench_emu_gemm --benchmark_min_time=1 (bench/RESULTS.md, numeric).
#include <benchmark/benchmark.h>
#include <oneapi/dnnl/dnnl.h>

#include <cstdlib>
#include <vector>

#include "frugal/core/rng.h"
#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/numeric/quantize.h"

namespace {

using namespace frugal;

struct Operands {
  std::vector<float> a, b, c;
};

Operands make(int64_t n) {
  Operands o;
  o.a.resize(n * n);
  o.b.resize(n * n);
  o.c.resize(n * n);
  Philox rng(1);
  for (int64_t i = 0; i < n * n; ++i) {
    o.a[i] = rng.normal(i);
    o.b[i] = rng.normal(n * n + i);
  }
  const auto e4m3 = numeric::parse_format("e4m3");
  numeric::quantize(o.a, o.a, e4m3, numeric::Rounding::nearest_even());
  numeric::quantize(o.b, o.b, e4m3, numeric::Rounding::nearest_even());
  return o;
}

void set_counters(benchmark::State& state, int64_t n) {
  state.counters["GMAC/s"] = benchmark::Counter(static_cast<double>(n * n * n) * 1e-9,
                                                benchmark::Counter::kIsIterationInvariantRate);
}

void BM_sgemm_onednn(benchmark::State& state) {
  const int64_t n = state.range(0);
  Operands o = make(n);
  for (auto _ : state) {
    dnnl_sgemm('N', 'N', n, n, n, 1.0f, o.a.data(), n, o.b.data(), n, 0.0f, o.c.data(), n);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_counters(state, n);
}

void emu(benchmark::State& state, const char* acc_format, int chunk) {
  if (const char* t = std::getenv("OMP_NUM_THREADS")) kernels::emu::set_emu_threads(std::atoi(t));
  const int64_t n = state.range(0);
  Operands o = make(n);
  kernels::emu::Accumulator acc;
  acc.format = numeric::parse_format(acc_format);
  acc.chunk = chunk;
  for (auto _ : state) {
    kernels::emu::emu_gemm(false, false, n, n, n, o.a.data(), n, o.b.data(), n, o.c.data(), n,
                           acc);
    benchmark::DoNotOptimize(o.c.data());
  }
  set_counters(state, n);
}

void BM_emu_fp16_chunk32(benchmark::State& s) { emu(s, "fp16", 32); }
void BM_emu_fp16_per_add(benchmark::State& s) { emu(s, "fp16", 0); }
void BM_emu_bf16_chunk32(benchmark::State& s) { emu(s, "bf16", 32); }
void BM_emu_fp32(benchmark::State& s) { emu(s, "fp32", 0); }

}  // namespace

BENCHMARK(BM_sgemm_onednn)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_emu_fp16_chunk32)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_emu_fp16_per_add)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_emu_bf16_chunk32)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_emu_fp32)->Arg(512)->Arg(1024)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
