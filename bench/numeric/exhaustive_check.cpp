// Exhaustive bit-exactness: every one of the 2^32 binary32 inputs rounded to fp16 (four
// rounding modes) against F16C's VCVTPS2PH, and to bf16 (nearest even) against
// AVX512-BF16's VCVTNEPS2BF16. The test suite checks a dense stride; this checks all.
//
//   ./bench_exhaustive [threads]
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 intrinsics (bug 105593)
#include <immintrin.h>

#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace fn = frugal::numeric;

namespace {

constexpr uint64_t kChunk = uint64_t{1} << 20;

__attribute__((target("avx,f16c"))) void hw_fp16(const float* in, float* out, size_t n, int mode) {
  for (size_t i = 0; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    __m128i h;
    switch (mode) {
      case 0:
        h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
        break;
      case 1:
        h = _mm256_cvtps_ph(x, _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
        break;
      case 2:
        h = _mm256_cvtps_ph(x, _MM_FROUND_TO_POS_INF | _MM_FROUND_NO_EXC);
        break;
      default:
        h = _mm256_cvtps_ph(x, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
        break;
    }
    _mm256_storeu_ps(out + i, _mm256_cvtph_ps(h));
  }
}

__attribute__((target("avx512f,avx512bf16"))) void hw_bf16(const float* in, uint16_t* out,
                                                           size_t n) {
  for (size_t i = 0; i + 16 <= n; i += 16) {
    const __m256bh b = _mm512_cvtneps_pbh(_mm512_loadu_ps(in + i));
    std::memcpy(out + i, &b, 32);
  }
}

bool same(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

}  // namespace

int main(int argc, char** argv) {
  const bool f16c = __builtin_cpu_supports("f16c");
  const bool bf16_hw = __builtin_cpu_supports("avx512bf16");
  if (!f16c && !bf16_hw) {
    std::printf("this CPU has neither F16C nor AVX512-BF16: nothing to compare\n");
    return 0;
  }
  unsigned threads =
      argc > 1 ? static_cast<unsigned>(std::atoi(argv[1])) : std::thread::hardware_concurrency();
  if (threads == 0) threads = 1;
  const fn::NumberFormat fp16 = fn::parse_format("fp16"), bf16 = fn::parse_format("bf16");
  const fn::RoundingMode modes[] = {fn::RoundingMode::kNearestEven, fn::RoundingMode::kDown,
                                    fn::RoundingMode::kUp, fn::RoundingMode::kTowardZero};
  std::atomic<uint64_t> next{0}, fp16_bad{0}, bf16_bad{0}, bf16_daz{0}, fp16_done{0}, bf16_done{0};
  const auto t0 = std::chrono::steady_clock::now();
  auto work = [&] {
    std::vector<float> in(kChunk), ours(kChunk), hw(kChunk);
    std::vector<uint16_t> hb(kChunk);
    fn::QuantizeOptions o;
    o.threads = 1;
    for (;;) {
      const uint64_t start = next.fetch_add(kChunk);
      if (start >= (uint64_t{1} << 32)) break;
      for (uint64_t i = 0; i < kChunk; ++i)
        in[i] = std::bit_cast<float>(static_cast<uint32_t>(start + i));
      if (f16c) {
        for (int m = 0; m < 4; ++m) {
          fn::quantize(in, ours, fp16, fn::Rounding::of(modes[m]), o);
          hw_fp16(in.data(), hw.data(), kChunk, m);
          for (uint64_t i = 0; i < kChunk; ++i)
            if (!same(ours[i], hw[i]) && fp16_bad.fetch_add(1) < 5)
              std::printf("fp16 mode %d mismatch at 0x%08x: ours %a, F16C %a\n", m,
                          static_cast<unsigned>(start + i), ours[i], hw[i]);
        }
        fp16_done += 4 * kChunk;
      }
      if (bf16_hw) {
        fn::quantize(in, ours, bf16, fn::Rounding::nearest_even(), o);
        hw_bf16(in.data(), hb.data(), kChunk);
        for (uint64_t i = 0; i < kChunk; ++i) {
          const float h = std::bit_cast<float>(static_cast<uint32_t>(hb[i]) << 16);
          const uint32_t a = static_cast<uint32_t>(start + i) & 0x7fffffffu;
          if (a != 0 && a < 0x00800000u && (hb[i] & 0x7fff) == 0) {
            ++bf16_daz;  // the instruction treats subnormal inputs as zero
            continue;
          }
          if (!same(ours[i], h) && bf16_bad.fetch_add(1) < 5)
            std::printf("bf16 mismatch at 0x%08x: ours %a, hardware %a\n",
                        static_cast<unsigned>(start + i), ours[i], h);
        }
        bf16_done += kChunk;
      }
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 0; t < threads; ++t) pool.emplace_back(work);
  for (auto& t : pool) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (f16c)
    std::printf("fp16 vs F16C (rne, down, up, rz): %llu conversions, %llu mismatches\n",
                static_cast<unsigned long long>(fp16_done.load()),
                static_cast<unsigned long long>(fp16_bad.load()));
  if (bf16_hw)
    std::printf(
        "bf16 vs AVX512-BF16 (rne): %llu conversions, %llu mismatches, %llu subnormal inputs "
        "flushed "
        "by the hardware (excluded)\n",
        static_cast<unsigned long long>(bf16_done.load()),
        static_cast<unsigned long long>(bf16_bad.load()),
        static_cast<unsigned long long>(bf16_daz.load()));
  std::printf("%.1f s on %u threads\n", secs, threads);
  return fp16_bad == 0 && bf16_bad == 0 ? 0 : 1;
}
