// 16-bit float conversions of core/dtype.h: the vectorized widening at load against the
// scalar reference over every float16 and bfloat16 bit pattern, and the rounding a Cast to
// those types applies (round_to_held) at ties, overflow and NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "frugal/core/dtype.h"

using namespace frugal;

TEST(Dtype, WideningEveryHalfAndBfloat16MatchesTheScalarConversion) {
  for (const bool bf16 : {false, true}) {
    // Every bit pattern, at an odd byte offset (ONNX raw data need not be aligned), and a
    // count that leaves a tail after the 8-wide steps.
    std::vector<uint8_t> bytes(1 + 2 * 65536 + 6);
    for (uint32_t v = 0; v < 65536 + 3; ++v) {
      const uint16_t h = static_cast<uint16_t>(v & 0xffff);
      std::memcpy(bytes.data() + 1 + 2 * v, &h, 2);
    }
    const int64_t n = 65536 + 3;
    std::vector<float> got(static_cast<size_t>(n));
    widen_16bit_floats(bytes.data() + 1, got.data(), n, bf16);
    for (int64_t i = 0; i < n; ++i) {
      const uint16_t h = static_cast<uint16_t>(i & 0xffff);
      const float want = bf16 ? bf16_to_float(h) : half_to_float(h);
      const float g = got[static_cast<size_t>(i)];
      if (std::isnan(want)) {
        ASSERT_TRUE(std::isnan(g)) << (bf16 ? "bf16 " : "f16 ") << h;
      } else {
        ASSERT_EQ(std::memcmp(&g, &want, 4), 0)
            << (bf16 ? "bf16 " : "f16 ") << h << ": " << g << " != " << want;
      }
    }
  }
}

TEST(Dtype, SixteenBitFloatsAreHeldAsFloat32) {
  EXPECT_EQ(held_type(DType::kF16), DType::kF32);
  EXPECT_EQ(held_type(DType::kBF16), DType::kF32);
  EXPECT_EQ(held_type(DType::kI64), DType::kI64);
  // float16: 2049 lies halfway between 2048 and 2050 (ulp 2): to even, 2048; 65520 overflows.
  EXPECT_EQ(round_to_held(DType::kF16, 2049.0f), 2048.0f);
  EXPECT_EQ(round_to_held(DType::kF16, 2051.0f), 2052.0f);
  EXPECT_TRUE(std::isinf(round_to_held(DType::kF16, 65520.0f)));
  EXPECT_EQ(round_to_held(DType::kF16, 65519.0f), 65504.0f);
  // bfloat16 keeps 8 significant bits: 1 + 2^-8 is a tie, to even 1; 1 + 3 * 2^-8 to 1 + 2^-6.
  EXPECT_EQ(round_to_held(DType::kBF16, 1.00390625f), 1.0f);
  EXPECT_EQ(round_to_held(DType::kBF16, 1.01171875f), 1.015625f);
  EXPECT_TRUE(std::isnan(round_to_held(DType::kBF16, std::nanf(""))));
  EXPECT_EQ(round_to_held(DType::kF32, 1.00390625f), 1.00390625f);
}
