// Bit-exact against the CPU's own conversions: fp16 through F16C (_mm256_cvtps_ph, in all
// four of its rounding modes) and bf16 through AVX512-BF16 (_mm512_cvtneps_pbh, round to
// nearest even). Inputs: every 97th binary32 bit pattern (44 million) plus boundary cases.
// The exhaustive 2^32 sweep is bench/numeric/exhaustive_check.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"  // GCC 12 intrinsics (bug 105593)
#include <cpuid.h>
#include <immintrin.h>

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace fn = frugal::numeric;
using fn::RoundingMode;

namespace {

__attribute__((target("avx,f16c"))) void hw_fp16(const float* in, uint16_t* out, size_t n,
                                                 int mode) {
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 x = _mm256_loadu_ps(in + i);
    __m128i h;
    switch (mode) {  // the rounding is an immediate
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
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out + i), h);
  }
  FRUGAL_CHECK(i == n, "multiple of 8");
}

// fp16 codes back to binary32 (exact).
__attribute__((target("avx,f16c"))) void hw_fp16_to_float(const uint16_t* in, float* out,
                                                          size_t n) {
  for (size_t i = 0; i + 8 <= n; i += 8)
    _mm256_storeu_ps(out + i,
                     _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(in + i))));
}

__attribute__((target("avx512f,avx512bf16"))) void hw_bf16(const float* in, uint16_t* out,
                                                           size_t n) {
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256bh b = _mm512_cvtneps_pbh(_mm512_loadu_ps(in + i));
    std::memcpy(out + i, &b, 32);
  }
  FRUGAL_CHECK(i == n, "multiple of 16");
}

// Every 97th pattern starting at `start`, padded to a multiple of 16, plus boundary cases.
std::vector<float> dense_stride_inputs() {
  std::vector<float> in;
  in.reserve((uint64_t{1} << 32) / 97 + 4096);
  for (uint64_t u = 0; u < (uint64_t{1} << 32); u += 97)
    in.push_back(std::bit_cast<float>(static_cast<uint32_t>(u)));
  // Boundaries of fp16 and bf16: around every power of two, half-way points and their
  // neighbours, the overflow thresholds, subnormal steps.
  for (int e = -150; e <= 128; ++e) {
    for (double m : {1.0, 1.5, 1.0 + std::ldexp(1.0, -11), 1.0 + std::ldexp(3.0, -11),
                     1.0 + std::ldexp(1.0, -8), 1.0 + std::ldexp(3.0, -8),
                     2.0 - std::ldexp(1.0, -11), 2.0 - std::ldexp(1.0, -8)}) {
      const float x = static_cast<float>(std::ldexp(m, e));
      for (float y : {x, std::nextafter(x, 0.0f), std::nextafter(x, INFINITY)}) {
        in.push_back(y);
        in.push_back(-y);
      }
    }
  }
  for (float x : {65504.0f, 65519.0f, 65520.0f, 65535.0f, 65536.0f, 3.3895314e38f, 3.4028235e38f,
                  INFINITY, NAN, 0.0f, -0.0f, 5.9604645e-8f, 2.9802322e-8f, 6.1035156e-5f})
    for (float y : {x, std::nextafter(x, 0.0f), std::nextafter(x, INFINITY)}) {
      in.push_back(y);
      in.push_back(-y);
    }
  while (in.size() % 16) in.push_back(1.0f);
  return in;
}

const std::vector<float>& inputs() {
  static const std::vector<float> in = dense_stride_inputs();
  return in;
}

// CPUID leaf 1, ECX bit 29 (clang 14's __builtin_cpu_supports does not know "f16c").
bool has_f16c() {
  unsigned a = 0, b = 0, c = 0, d = 0;
  return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

}  // namespace

TEST(HardwareFp16, F16CMatchesInEveryRoundingMode) {
  if (!has_f16c()) GTEST_SKIP() << "CPU without F16C";
  const std::vector<float>& in = inputs();
  const fn::NumberFormat fp16 = fn::parse_format("fp16");
  std::vector<uint16_t> hw(in.size());
  std::vector<float> ours(in.size());
  const RoundingMode modes[] = {RoundingMode::kNearestEven, RoundingMode::kDown, RoundingMode::kUp,
                                RoundingMode::kTowardZero};
  std::vector<float> hw_value(in.size());
  size_t compared = 0;
  for (int m = 0; m < 4; ++m) {
    hw_fp16(in.data(), hw.data(), in.size(), m);
    hw_fp16_to_float(hw.data(), hw_value.data(), in.size());
    fn::quantize(in, ours, fp16, fn::Rounding::of(modes[m]));
    int bad = 0;
    for (size_t i = 0; i < in.size() && bad < 5; ++i) {
      if (std::isnan(in[i])) {
        if (!std::isnan(hw_value[i]) || !std::isnan(ours[i])) ++bad, ADD_FAILURE() << "NaN " << i;
        continue;
      }
      // Same binary32 value (sign of zero included) means the same fp16 code; the codes
      // themselves are compared on a sample.
      const bool same = std::bit_cast<uint32_t>(ours[i]) == std::bit_cast<uint32_t>(hw_value[i]);
      const bool code_ok = i % 1024 != 0 || fn::encode(fp16, ours[i]) == hw[i];
      if (!same || !code_ok) {
        ++bad;
        ADD_FAILURE() << "mode " << m << " input 0x" << std::hex << std::bit_cast<uint32_t>(in[i])
                      << ": ours " << ours[i] << " F16C 0x" << hw[i];
      }
      ++compared;
    }
  }
  RecordProperty("compared", std::to_string(compared));
  std::printf("fp16 vs F16C: %zu conversions bit-exact (4 rounding modes)\n", compared);
}

TEST(HardwareBf16, Avx512Bf16MatchesRoundToNearestEven) {
  if (!__builtin_cpu_supports("avx512bf16")) GTEST_SKIP() << "CPU without AVX512-BF16";
  const std::vector<float>& in = inputs();
  const fn::NumberFormat bf16 = fn::parse_format("bf16");
  std::vector<uint16_t> hw(in.size());
  std::vector<float> ours(in.size());
  hw_bf16(in.data(), hw.data(), in.size());
  fn::quantize(in, ours, bf16, fn::Rounding::nearest_even());
  size_t compared = 0, subnormal_inputs = 0;
  int bad = 0;
  for (size_t i = 0; i < in.size() && bad < 5; ++i) {
    const uint32_t a = std::bit_cast<uint32_t>(in[i]) & 0x7fffffffu;
    if (std::isnan(in[i])) {
      if (!((hw[i] & 0x7f80) == 0x7f80 && (hw[i] & 0x7f)) || !std::isnan(ours[i]))
        ++bad, ADD_FAILURE() << "NaN";
      continue;
    }
    // VCVTNEPS2BF16 may treat binary32 subnormal inputs as zero (DAZ), giving a signed zero
    // where bf16 with subnormals has a subnormal; any other answer must match ours.
    if (a != 0 && a < 0x00800000u && (hw[i] & 0x7fff) == 0) {
      ++subnormal_inputs;
      continue;
    }
    const float hw_value = std::bit_cast<float>(static_cast<uint32_t>(hw[i]) << 16);
    const bool same = std::bit_cast<uint32_t>(ours[i]) == std::bit_cast<uint32_t>(hw_value);
    const bool code_ok = i % 1024 != 0 || fn::encode(bf16, ours[i]) == hw[i];
    if (!same || !code_ok) {
      ++bad;
      ADD_FAILURE() << "input 0x" << std::hex << std::bit_cast<uint32_t>(in[i]) << ": ours "
                    << ours[i] << " hardware 0x" << hw[i];
    }
    ++compared;
  }
  std::printf(
      "bf16 vs AVX512-BF16: %zu conversions bit-exact (%zu subnormal inputs flushed by the "
      "hardware)\n",
      compared, subnormal_inputs);
}
