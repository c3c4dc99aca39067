// The ceiling of one core for int8 and float32 products: independent chains of VNNI
// vpdpbusd (u8 x s8, 64 multiply-accumulates per zmm instruction) and of float32 FMAs (16
// per zmm instruction), 12 accumulators each so that latency never limits, best of 5 runs.
// A convolution layer's MACs / time against these says how close to the core's peak it
// runs (bench/RESULTS.md, "int8 against the core's VNNI peak").
//
//   ninja -C build bench_vnni_peak && build/bench/bench_vnni_peak
//
// Needs AVX-512 with VNNI; says so and exits 0 otherwise.
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

namespace {

constexpr int kChains = 12;
constexpr long kIters = 20'000'000;

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double vnni_gmacs() {
  __m512i acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_epi32(i);
  __m512i a = _mm512_set1_epi8(1);
  const __m512i b = _mm512_set1_epi8(2);
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < kIters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_dpbusd_epi32(acc[j], a, b);
    __asm__ volatile("" : "+v"(a));  // keeps the loop from being folded
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile int sink = 0;
  for (int j = 0; j < kChains; ++j) sink = sink + _mm512_cvtsi512_si32(acc[j]);
  return double(kIters) * kChains * 64 / s / 1e9;
}

__attribute__((target("avx512f"))) double fma_gflops() {
  __m512 acc[kChains];
  for (int i = 0; i < kChains; ++i) acc[i] = _mm512_set1_ps(0.001f * float(i));
  __m512 x = _mm512_set1_ps(0.999f);
  const __m512 y = _mm512_set1_ps(0.0001f);
  const auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < kIters; ++i) {
#pragma GCC unroll 12
    for (int j = 0; j < kChains; ++j) acc[j] = _mm512_fmadd_ps(acc[j], x, y);
    __asm__ volatile("" : "+v"(x));
  }
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  volatile float sink = 0;
  for (int j = 0; j < kChains; ++j) sink = sink + _mm512_cvtss_f32(acc[j]);
  return double(kIters) * kChains * 16 * 2 / s / 1e9;
}

}  // namespace

int main() {
  if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) {
    std::printf("bench_vnni_peak: this CPU has no AVX-512 VNNI: nothing to measure\n");
    return 0;
  }
  double vnni = 0, fma = 0;
  for (int r = 0; r < 5; ++r) {
    vnni = std::max(vnni, vnni_gmacs());
    fma = std::max(fma, fma_gflops());
  }
  std::printf(
      "one core: u8 x s8 vpdpbusd %.1f GMAC/s (int8 multiply-accumulates), "
      "float32 FMA %.1f GFLOP/s, best of 5\n",
      vnni, fma);
  return 0;
}
