// Quantize kernels against an independent oracle (rounding by search in the sorted list of
// a format's values), the double-precision reference against the kernels, the ISA variants
// against each other, and hand-computed ties, subnormal boundaries, overflow, NaN and -0.
#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cfloat>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace fn = frugal::numeric;
using fn::Isa;
using fn::NumberFormat;
using fn::Rounding;
using fn::RoundingMode;

namespace {

double p2(int e) {
  return std::ldexp(1.0, e);
}

bool same_float(float a, float b) {
  return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b) ||
         (std::isnan(a) && std::isnan(b));
}

std::string hex(float v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a (0x%08x)", v, std::bit_cast<uint32_t>(v));
  return buf;
}

// Rounding to a float format by searching its sorted values: shares no code with the kernels.
class Oracle {
 public:
  explicit Oracle(const NumberFormat& f) : f_(f) {
    for (double v : fn::finite_values(f))
      if (v >= 0) pos_.push_back(v);
    max_ = pos_.back();
    next_ = max_ + p2(std::ilogb(max_) - f.mantissa_bits);  // the code after max, if unbounded
    const uint32_t mag_mask = (uint32_t{1} << (f.exponent_bits + f.mantissa_bits)) - 1;
    max_code_ = fn::encode(f, max_) & mag_mask;
    has_inf_ = f.specials == fn::Specials::kIeee;
  }

  float round(float x, RoundingMode mode, uint32_t rnd, int bits) const {
    if (std::isnan(x)) return x;
    const double over = f_.saturate ? max_ : has_inf_ ? INFINITY : NAN;
    const bool neg = std::signbit(x);
    const double a = std::fabs(static_cast<double>(x));
    auto sign = [&](double v) { return static_cast<float>(neg ? -v : v); };
    if (std::isinf(a)) return sign(over);
    if (neg && mode == RoundingMode::kUp)
      mode = RoundingMode::kDown;
    else if (neg && mode == RoundingMode::kDown)
      mode = RoundingMode::kUp;
    // Now kUp means "away from zero" and kDown "toward zero" for the magnitude.
    if (a >= next_)
      return sign(mode == RoundingMode::kTowardZero || mode == RoundingMode::kDown ? max_ : over);
    auto it = std::upper_bound(pos_.begin(), pos_.end(), a);
    const double lo = *(it - 1);
    if (lo == a) return sign(a);
    const double hi = it == pos_.end() ? next_ : *it;
    const uint32_t mag_mask = (uint32_t{1} << (f_.exponent_bits + f_.mantissa_bits)) - 1;
    const uint32_t lo_code = fn::encode(f_, lo) & mag_mask;
    const uint32_t hi_code = hi == next_ ? max_code_ + 1 : fn::encode(f_, hi) & mag_mask;
    bool up = false;
    switch (mode) {
      case RoundingMode::kNearestEven:
        if (a - lo != hi - a)
          up = hi - a < a - lo;
        else
          up = (lo_code & 1) && !(hi_code & 1);  // both even: only 0 vs min normal, take 0
        break;
      case RoundingMode::kNearestAway:
        up = hi - a <= a - lo;
        break;
      case RoundingMode::kTowardZero:
      case RoundingMode::kDown:
        up = false;
        break;
      case RoundingMode::kUp:
        up = true;
        break;
      case RoundingMode::kStochastic: {
        const double frac = (a - lo) / (hi - lo);
        up = std::floor(std::ldexp(frac, bits)) + rnd >= p2(bits);
        break;
      }
    }
    if (!up) return sign(lo);
    return sign(hi == next_ ? over : hi);
  }

 private:
  NumberFormat f_;
  std::vector<double> pos_;
  double max_ = 0, next_ = 0;
  uint32_t max_code_ = 0;
  bool has_inf_ = false;
};

std::vector<Isa> isas() {
  std::vector<Isa> v = {Isa::kScalar};
  if (fn::isa_supported(Isa::kAvx2)) v.push_back(Isa::kAvx2);
  if (fn::isa_supported(Isa::kAvx512)) v.push_back(Isa::kAvx512);
  return v;
}

// Quantizes with every ISA the CPU has, checks they agree, returns the result.
std::vector<float> quantize_all_isas(const std::vector<float>& in, const NumberFormat& f,
                                     const Rounding& r, uint64_t offset = 0) {
  std::vector<float> first;
  for (Isa isa : isas()) {
    std::vector<float> out(in.size());
    fn::QuantizeOptions o;
    o.isa = isa;
    o.counter_offset = offset;
    o.threads = 1;
    fn::quantize(in, out, f, r, o);
    if (first.empty()) {
      first = out;
      continue;
    }
    for (size_t i = 0; i < in.size(); ++i)
      if (!same_float(out[i], first[i])) {
        ADD_FAILURE() << fn::isa_name(isa) << " differs from scalar for " << fn::to_string(f) << " "
                      << fn::to_string(r) << " at " << hex(in[i]) << ": " << hex(out[i]) << " vs "
                      << hex(first[i]);
        return first;
      }
  }
  return first;
}

// Inputs that exercise a format: its values, midpoints (ties), near-midpoints, quarter
// points, neighbours of the range ends, and random binary32 patterns around its range.
std::vector<float> probe_inputs(const NumberFormat& f, uint32_t seed) {
  std::vector<double> vals = fn::finite_values(f);
  std::vector<float> in;
  auto push = [&](double v) {
    const float x = static_cast<float>(v);
    if (static_cast<double>(x) != v) return;  // keep only exact binary32 probes
    in.push_back(x);
    in.push_back(std::nextafter(x, INFINITY));
    in.push_back(std::nextafter(x, -INFINITY));
  };
  const double max = vals.back();
  const double next = max + p2(std::ilogb(max) - f.mantissa_bits);
  vals.push_back(next);
  vals.push_back(-next);
  std::sort(vals.begin(), vals.end());
  // Large formats: an even sample of neighbouring pairs keeps the test fast.
  const size_t stride = std::max<size_t>(1, vals.size() / 3000);
  const size_t n = vals.size(), mid = n / 2;
  auto dense = [&](size_t i) { return i < 40 || i + 40 > n || (i + 40 > mid && i < mid + 40); };
  for (size_t i = 0; i + 1 < n; ++i) {
    if (!dense(i) && i % stride != 0) continue;
    push(vals[i]);
    const double lo = vals[i], hi = vals[i + 1];
    push((lo + hi) / 2);
    push(lo + (hi - lo) / 4);
    push(lo + 3 * (hi - lo) / 4);
  }
  for (double v : {next * 2, next * 1.5, (max + next) / 2, 1e30, 1e-30, 1e-40, 1e-45})
    for (double s : {1.0, -1.0}) push(v * s);
  in.push_back(INFINITY);
  in.push_back(-INFINITY);
  in.push_back(NAN);
  in.push_back(-0.0f);
  in.push_back(0.0f);
  in.push_back(std::bit_cast<float>(0x7f800001u));  // signalling NaN
  std::mt19937 rng(seed);
  const int e_lo = std::max(-149, std::ilogb(vals[vals.size() / 2 + 1]) - 4);
  const int e_hi = std::min(127, std::ilogb(max) + 2);
  std::uniform_int_distribution<int> e_dist(e_lo, e_hi);
  for (int i = 0; i < 4000; ++i) {
    const uint32_t mant = rng() & 0x7fffffu;
    const int e = e_dist(rng);
    float x = e < -126 ? std::bit_cast<float>(mant >> (-126 - e))
                       : std::bit_cast<float>((uint32_t(e + 127) << 23) | mant);
    in.push_back((rng() & 1) ? -x : x);
  }
  for (int i = 0; i < 2000; ++i) in.push_back(std::bit_cast<float>(static_cast<uint32_t>(rng())));
  return in;
}

const char* kOracleFormats[] = {"fp16",
                                "bf16",
                                "e5m2",
                                "e4m3",
                                "e3m4",
                                "e2m3",
                                "e3m2",
                                "e2m1",
                                "e4m3:specials=ieee",
                                "e4m3:overflow=sat",
                                "e5m2:overflow=sat",
                                "e3m3:sub=off",
                                "e4m0",
                                "e1m2",
                                "e2m0:specials=fn",
                                "e3m2:bias=2",
                                "e4m3:bias=8",
                                "e5m1:sub=off:bias=16",
                                "e6m4",
                                "e7m2",
                                "e8m3",
                                "e8m7:sub=off",
                                "e2m5",
                                "e1m4",
                                "e4m2:specials=fn:overflow=sat",
                                "e5m0:sub=off",
                                "e3m1:specials=none:bias=4",
                                "e8m0",
                                "e6m9:bias=40"};

}  // namespace

TEST(QuantizeOracle, EveryModeMatchesValueSearchOnEveryIsa) {
  for (const char* name : kOracleFormats) {
    SCOPED_TRACE(name);
    const NumberFormat f = fn::parse_format(name);
    const Oracle oracle(f);
    const std::vector<float> in = probe_inputs(f, 7);
    for (RoundingMode mode : fn::all_rounding_modes()) {
      for (int bits : {32, 5}) {
        if (bits != 32 && mode != RoundingMode::kStochastic) continue;
        const Rounding r{mode, 99, bits};
        const uint64_t offset = 3;
        const std::vector<float> got = quantize_all_isas(in, f, r, offset);
        frugal::Philox ph(r.seed);
        int bad = 0;
        for (size_t i = 0; i < in.size() && bad < 5; ++i) {
          const uint32_t word = ph.u32(offset + i);
          const uint32_t rnd = bits == 32 ? word : word >> (32 - bits);
          const float want = oracle.round(in[i], mode, rnd, bits);
          if (!same_float(got[i], want)) {
            ++bad;
            ADD_FAILURE() << fn::to_string(r) << " " << hex(in[i]) << " -> " << hex(got[i])
                          << ", want " << hex(want);
          }
        }
      }
    }
  }
}

TEST(QuantizeReference, DoublePathAgreesWithKernelsOnRandomPatterns) {
  const char* names[] = {"fp32",
                         "tf32",
                         "fp16",
                         "bf16",
                         "e4m3",
                         "e8m20",
                         "e8m22:sub=off",
                         "e7m21",
                         "e5m2:overflow=sat",
                         "e7m1:bias=70",
                         "e2m1",
                         "e8m3",
                         "int8:scale=0.1:zp=3",
                         "uint4:scale=0.25",
                         "fixed4.4",
                         "ufixed1.7",
                         "int16:scale=3e-05",
                         "fixed1.23",
                         "int1",
                         "binary:scale=0.5",
                         "ternary"};
  std::mt19937 rng(5);
  std::vector<float> in(20000);
  for (auto& x : in) x = std::bit_cast<float>(static_cast<uint32_t>(rng()));
  for (int i = 0; i < 4000; ++i)  // small magnitudes, where subnormal paths live
    in[i] = std::bit_cast<float>(static_cast<uint32_t>(rng()) & 0x8fffffffu);
  for (const char* name : names) {
    const NumberFormat f = fn::parse_format(name);
    for (RoundingMode mode : fn::all_rounding_modes()) {
      const Rounding r{mode, 1234, mode == RoundingMode::kStochastic ? 13 : 32};
      const std::vector<float> got = quantize_all_isas(in, f, r);
      int bad = 0;
      for (size_t i = 0; i < in.size() && bad < 5; ++i) {
        const float want = static_cast<float>(fn::round_value(in[i], f, r, i));
        if (!same_float(got[i], want)) {
          ++bad;
          ADD_FAILURE() << name << " " << fn::to_string(r) << " " << hex(in[i]) << " -> "
                        << hex(got[i]) << ", reference " << hex(want);
        }
      }
    }
  }
}

TEST(QuantizeIsa, VariantsAgreeOnOddLengthsAndOffsets) {
  std::mt19937 rng(11);
  for (const char* name : {"bf16", "e4m3", "e2m1", "fp16:sub=off", "int8:scale=0.37:zp=-5",
                           "fixed4.4", "mxint8", "mxfp4", "mxfp8", "binary", "ternary:scale=0.5"}) {
    const NumberFormat f = fn::parse_format(name);
    for (size_t n : {1u, 3u, 15u, 17u, 63u, 65u, 130u, 1000u}) {
      std::vector<float> in(n);
      for (auto& x : in)
        x = std::ldexp(std::uniform_real_distribution<float>(-1, 1)(rng), int(rng() % 20) - 10);
      for (uint64_t offset : {uint64_t{0}, uint64_t{1}, uint64_t{6}, (uint64_t{1} << 34) - 5})
        quantize_all_isas(in, f, Rounding::stochastic(3, 32), offset);
      quantize_all_isas(in, f, Rounding::nearest_even());
    }
  }
}

TEST(QuantizeCases, TiesSubnormalsOverflowNanAndNegativeZero) {
  auto q = [](const char* name, double x, RoundingMode m = RoundingMode::kNearestEven) {
    std::vector<float> in = {static_cast<float>(x)}, out(1);
    fn::quantize(in, out, fn::parse_format(name), Rounding::of(m));
    return static_cast<double>(out[0]);
  };
  using M = RoundingMode;
  // fp16 ties: 1 + 2^-11 is half way between 1 and 1 + 2^-10.
  EXPECT_EQ(q("fp16", 1 + p2(-11)), 1.0);
  EXPECT_EQ(q("fp16", 1 + 3 * p2(-11)), 1 + p2(-9));
  EXPECT_EQ(q("fp16", 1 + p2(-11), M::kNearestAway), 1 + p2(-10));
  EXPECT_EQ(q("fp16", -(1 + p2(-11)), M::kNearestAway), -(1 + p2(-10)));
  EXPECT_EQ(q("fp16", 1 + p2(-11), M::kUp), 1 + p2(-10));
  EXPECT_EQ(q("fp16", -(1 + p2(-11)), M::kUp), -1.0);
  EXPECT_EQ(q("fp16", -(1 + p2(-11)), M::kDown), -(1 + p2(-10)));
  EXPECT_EQ(q("fp16", -(1 + p2(-11)), M::kTowardZero), -1.0);
  // fp16 subnormal boundaries: smallest subnormal 2^-24.
  EXPECT_EQ(q("fp16", p2(-25)), 0.0);  // tie -> 0 (even)
  EXPECT_EQ(q("fp16", p2(-25) * 1.5), p2(-24));
  EXPECT_EQ(q("fp16", p2(-25), M::kNearestAway), p2(-24));
  EXPECT_EQ(q("fp16", 3 * p2(-25)), p2(-23));        // tie 1 vs 2 subnormal steps -> 2
  EXPECT_EQ(q("fp16", 5 * p2(-25)), p2(-23));        // tie 2 vs 3 -> 2
  EXPECT_EQ(q("fp16", p2(-14) - p2(-25)), p2(-14));  // largest subnormal + half step
  EXPECT_EQ(q("fp16", 1e-30, M::kUp), p2(-24));
  EXPECT_EQ(q("fp16", -1e-30, M::kUp), -0.0);
  EXPECT_TRUE(std::signbit(q("fp16", -1e-30)));  // sign of zero kept
  EXPECT_TRUE(std::signbit(q("fp16", -0.0)));
  // e4m3: smallest subnormal 2^-9; 1.5 * 2^-9 ties between codes 1 and 2 -> code 2.
  EXPECT_EQ(q("e4m3", 1.5 * p2(-9)), p2(-8));
  EXPECT_EQ(q("e4m3", 2.5 * p2(-9)), p2(-8));
  // Overflow: fp16 max 65504, next code would be 65536.
  EXPECT_EQ(q("fp16", 65519), 65504.0);
  EXPECT_EQ(q("fp16", 65520), INFINITY);
  EXPECT_EQ(q("fp16", 1e6, M::kTowardZero), 65504.0);
  EXPECT_EQ(q("fp16", 1e6, M::kDown), 65504.0);
  EXPECT_EQ(q("fp16", -1e6, M::kUp), -65504.0);
  EXPECT_EQ(q("fp16", -1e6, M::kDown), -INFINITY);
  EXPECT_EQ(q("fp16", INFINITY, M::kTowardZero), INFINITY);
  // e4m3 (no inf): 464 ties 448 (even) and 480 (the NaN code): stays 448; beyond is NaN.
  EXPECT_EQ(q("e4m3", 464), 448.0);
  EXPECT_TRUE(std::isnan(q("e4m3", 465)));
  EXPECT_TRUE(std::isnan(q("e4m3", INFINITY)));
  EXPECT_EQ(q("e4m3:overflow=sat", 1e9), 448.0);
  EXPECT_EQ(q("e4m3:overflow=sat", -INFINITY), -448.0);
  EXPECT_EQ(q("e5m2", 61440), INFINITY);  // tie 57344 (odd) vs 65536 -> overflow
  EXPECT_EQ(q("e5m2", 61439), 57344.0);
  EXPECT_EQ(q("e2m1", 100), 6.0);
  EXPECT_EQ(q("e2m1", 5), 4.0);  // tie 4 (even) vs 6
  EXPECT_EQ(q("e2m1", 0.25), 0.0);
  EXPECT_EQ(q("e2m1", -INFINITY), -6.0);
  EXPECT_TRUE(std::isnan(q("e2m1", NAN)));
  // Without subnormals: below the smallest normal 2^-14 rounds to 0 or 2^-14.
  EXPECT_EQ(q("fp16:sub=off", p2(-15)), 0.0);
  EXPECT_EQ(q("fp16:sub=off", p2(-15) * 1.01), p2(-14));
  EXPECT_EQ(q("fp16:sub=off", p2(-15), M::kNearestAway), p2(-14));
  EXPECT_EQ(q("fp16:sub=off", p2(-20), M::kUp), p2(-14));
  // bf16 keeps binary32 range: subnormal 2^-133 steps.
  EXPECT_EQ(q("bf16", p2(-134)), 0.0);
  EXPECT_EQ(q("bf16", 3 * p2(-134)), p2(-132));
  EXPECT_EQ(q("bf16", FLT_MAX), INFINITY);
  EXPECT_EQ(q("bf16", 1.00390625), 1.0);       // 1 + 2^-8: tie -> even
  EXPECT_EQ(q("bf16", 1.01171875), 1.015625);  // 1 + 3*2^-8 -> 1 + 2^-6
  // fp32 is the identity on every non-NaN binary32.
  for (float x : {1.1f, -3e-42f, FLT_MAX, -FLT_MIN, 1e-45f}) EXPECT_EQ(q("fp32", x), x);
}

TEST(QuantizeCases, IntegerFixedBinaryTernary) {
  auto q = [](const char* name, float x, RoundingMode m = RoundingMode::kNearestEven) {
    std::vector<float> in = {x}, out(1);
    fn::quantize(in, out, fn::parse_format(name), Rounding::of(m));
    return out[0];
  };
  using M = RoundingMode;
  EXPECT_EQ(q("int8", 2.5f), 2.0f);
  EXPECT_EQ(q("int8", 3.5f), 4.0f);
  EXPECT_EQ(q("int8", -2.5f, M::kNearestAway), -3.0f);
  EXPECT_EQ(q("int8", 2.7f, M::kTowardZero), 2.0f);
  EXPECT_EQ(q("int8", -2.7f, M::kUp), -2.0f);
  EXPECT_EQ(q("int8", -2.2f, M::kDown), -3.0f);
  EXPECT_EQ(q("int8", 300.0f), 127.0f);
  EXPECT_EQ(q("int8", -INFINITY), -128.0f);
  EXPECT_EQ(q("uint8", -5.0f), 0.0f);
  EXPECT_FALSE(std::signbit(q("int8", -0.2f)));
  EXPECT_TRUE(std::isnan(q("int8", NAN)));
  // int4 with scale 0.5 and zero point 1: q in [-8, 7], value (q - 1) * 0.5 in [-4.5, 3].
  EXPECT_EQ(q("int4:scale=0.5:zp=1", 10.0f), 3.0f);
  EXPECT_EQ(q("int4:scale=0.5:zp=1", -10.0f), -4.5f);
  EXPECT_EQ(q("int4:scale=0.5:zp=1", 1.3f), 1.5f);
  // int8 with scale 0.1: the carried value is binary32 (q * 0.1f).
  EXPECT_EQ(q("int8:scale=0.1", 0.33f), 3.0f * 0.1f);
  // fixed4.4: steps of 1/16, range [-8, 8 - 1/16].
  EXPECT_EQ(q("fixed4.4", 0.03125f), 0.0f);    // tie -> even
  EXPECT_EQ(q("fixed4.4", 0.09375f), 0.125f);  // tie 1/16 vs 2/16 -> 2/16
  EXPECT_EQ(q("fixed4.4", 100.0f), 7.9375f);
  EXPECT_EQ(q("fixed4.4", -100.0f), -8.0f);
  EXPECT_EQ(q("ufixed2.2", -1.0f), 0.0f);
  EXPECT_EQ(q("ufixed2.2", 1.2f, M::kUp), 1.25f);
  EXPECT_EQ(q("binary", 0.3f), 1.0f);
  EXPECT_EQ(q("binary", -0.3f), -1.0f);
  EXPECT_EQ(q("binary:scale=0.5", 0.0f), 0.5f);
  EXPECT_EQ(q("binary", 0.5f, M::kDown), -1.0f);
  EXPECT_EQ(q("ternary", 0.4f), 0.0f);
  EXPECT_EQ(q("ternary", 0.6f), 1.0f);
  EXPECT_EQ(q("ternary", 0.5f), 0.0f);  // at the threshold: 0
  EXPECT_EQ(q("ternary", 0.5f, M::kNearestAway), 1.0f);
  EXPECT_EQ(q("ternary:threshold=0.7", -0.65f), 0.0f);
  EXPECT_EQ(q("ternary:threshold=0.7", -0.75f), -1.0f);
  EXPECT_EQ(q("ternary", -0.1f, M::kDown), -1.0f);
  EXPECT_EQ(q("ternary", 3.0f), 1.0f);
}

TEST(QuantizeCases, PerChannelIntegers) {
  // Two channels of three: channel 0 spans [-1, 2], channel 1 spans [0, 0.5].
  std::vector<float> x = {-1.0f, 0.5f, 2.0f, 0.0f, 0.25f, 0.5f};
  const NumberFormat f = fn::parse_format("int8:axis=0");
  fn::AffineParams p = fn::choose_affine_params(x, f, 2, 3, /*symmetric=*/true);
  ASSERT_EQ(p.scales.size(), 2u);
  EXPECT_FLOAT_EQ(p.scales[0], 2.0f / 127);
  EXPECT_FLOAT_EQ(p.scales[1], 0.5f / 127);
  std::vector<float> out(6);
  fn::quantize_per_channel(x, out, f, p, 3, Rounding::nearest_even());
  for (size_t i = 0; i < x.size(); ++i) {
    const float s = p.scales[i / 3];
    const float want = static_cast<float>(std::nearbyint(x[i] / static_cast<double>(s))) * s;
    EXPECT_EQ(out[i], want) << i;
    EXPECT_NEAR(out[i], x[i], s / 2);
  }
  frugal::Tensor t = frugal::Tensor::from_vector<float>({2, 3}, x);
  frugal::Tensor qt = fn::quantize_tensor(t, f, Rounding::nearest_even());
  for (size_t i = 0; i < x.size(); ++i) EXPECT_EQ(qt.data<float>()[i], out[i]);
  EXPECT_THROW(fn::quantize(x, out, f, Rounding::nearest_even()), frugal::UserError);
}

TEST(QuantizeCases, MxBlocksShareAPowerOfTwoScale) {
  // mxfp4 (E2M1, emax 2), blocks of 32. Block 0: max 20 -> X = floor(log2 20) - 2 = 2, so
  // elements are rounded as v/4 in E2M1 {0, .5, 1, 1.5, 2, 3, 4, 6} and scaled back by 4.
  std::vector<float> in(64, 0.0f);
  in[0] = 20.0f;  // 5 -> tie 4 / 6 -> 4 -> 16
  in[1] = 7.0f;   // 1.75 -> tie 1.5 / 2 -> 2 -> 8
  in[2] = -1.0f;  // -0.25 -> tie 0 / 0.5 -> 0 -> -0
  in[3] = 0.3f;   // 0.075 -> 0
  in[4] = 23.9f;  // 5.975 -> 6 -> 24
  // Block 1: max 0.75 -> X = -1 - 2 = -3: v * 8 in E2M1.
  in[32] = 0.75f;  // 6 -> 6 -> 0.75
  in[33] = 0.1f;   // 0.8 -> 1 -> 0.125
  in[34] = 0.05f;  // 0.4 -> 0.5 -> 0.0625
  std::vector<float> out(64);
  fn::quantize(in, out, fn::parse_format("mxfp4"), Rounding::nearest_even());
  EXPECT_EQ(out[0], 16.0f);
  EXPECT_EQ(out[1], 8.0f);
  EXPECT_EQ(out[2], 0.0f);
  EXPECT_TRUE(std::signbit(out[2]));
  EXPECT_EQ(out[3], 0.0f);
  EXPECT_EQ(out[4], 24.0f);
  EXPECT_EQ(out[32], 0.75f);
  EXPECT_EQ(out[33], 0.125f);
  EXPECT_EQ(out[34], 0.0625f);
  // Rounding up at the top of a block clamps to the element maximum (6 * 2^X).
  std::vector<float> top = {7.9f, 1.0f}, top_out(2);
  fn::quantize(top, top_out, fn::parse_format("e2m1:block=2"), Rounding::nearest_even());
  EXPECT_EQ(top_out[0], 6.0f);
  // A NaN or inf makes the whole block NaN; other blocks are unaffected.
  std::vector<float> bad = {1.0f, NAN, 1.0f, 2.0f}, bad_out(4);
  fn::quantize(bad, bad_out, fn::parse_format("e4m3:block=2"), Rounding::nearest_even());
  EXPECT_TRUE(std::isnan(bad_out[0]));
  EXPECT_TRUE(std::isnan(bad_out[1]));
  EXPECT_EQ(bad_out[2], 1.0f);
  EXPECT_EQ(bad_out[3], 2.0f);
  // mxint8: elements are 1.6 fixed point; max 100 -> X = 6 - 0 = 6, step 2^6 / 64 = 1.
  std::vector<float> mi = {100.0f, 2.5f, -3.5f}, mi_out(3);
  fn::quantize(mi, mi_out, fn::parse_format("int8:block=3"), Rounding::nearest_even());
  EXPECT_EQ(mi_out[0], 100.0f);
  fn::quantize(mi, mi_out, fn::parse_format("mxint8"), Rounding::nearest_even());
  EXPECT_EQ(mi_out[0], 100.0f);
  EXPECT_EQ(mi_out[1], 2.0f);
  EXPECT_EQ(mi_out[2], -4.0f);
}

TEST(QuantizeRoundTrip, EveryValueOfEveryPresetIsAFixedPoint) {
  for (const auto& p : fn::format_presets()) {
    SCOPED_TRACE(p.name);
    const NumberFormat f = p.format;
    std::vector<float> in;
    if (fn::code_bits(f) <= 16 && f.block == 0) {
      for (double v : fn::finite_values(f)) in.push_back(static_cast<float>(v));
    } else if (f.block == 0) {
      // fp32 and tf32: a stride through every code.
      const int w = fn::code_bits(f);
      for (uint64_t c = 0; c < (uint64_t{1} << w); c += (w == 32 ? 65537 : 3)) {
        const double v = fn::decode(f, static_cast<uint32_t>(c));
        if (std::isfinite(v)) in.push_back(static_cast<float>(v));
      }
    } else {
      // Block formats: a block of element values reaching the element maximum is exact.
      for (double v : fn::finite_values(f.element())) in.push_back(static_cast<float>(v * 8));
      in.resize((in.size() + f.block - 1) / f.block * f.block, 0.0f);
      for (size_t b = 0; b < in.size(); b += f.block)
        in[b] = static_cast<float>(fn::describe(f.element()).max_finite * 8);
    }
    for (RoundingMode m : fn::all_rounding_modes()) {
      std::vector<float> out(in.size());
      fn::quantize(in, out, f, Rounding{m, 5, 32});
      for (size_t i = 0; i < in.size(); ++i) {
        ASSERT_TRUE(same_float(out[i], in[i]) || (in[i] == 0 && out[i] == 0))
            << fn::rounding_mode_name(m) << " " << hex(in[i]) << " -> " << hex(out[i]);
      }
      if (f.block == 0 && fn::code_bits(f) <= 24) {
        for (float v : out) EXPECT_NO_THROW(fn::encode(f, v));
      }
    }
  }
}

TEST(QuantizeErrors, BadArgumentsAreUserErrors) {
  std::vector<float> a(4), b(5);
  EXPECT_THROW(fn::quantize(a, b, fn::parse_format("fp16"), Rounding{}), frugal::UserError);
  EXPECT_THROW(
      fn::quantize(a, a, fn::parse_format("fp16"), Rounding{RoundingMode::kStochastic, 0, 0}),
      frugal::UserError);
  NumberFormat broken = fn::parse_format("fp16");
  broken.mantissa_bits = 30;
  EXPECT_THROW(fn::quantize(a, a, broken, Rounding{}), frugal::UserError);
  EXPECT_EQ(fn::parse_rounding("sr:seed=7:bits=8"), (Rounding{RoundingMode::kStochastic, 7, 8}));
  EXPECT_EQ(fn::to_string(fn::parse_rounding("sr:bits=8:seed=7")), "sr:seed=7:bits=8");
  EXPECT_THROW(fn::parse_rounding("sr:bits=0"), frugal::UserError);
  EXPECT_THROW(fn::parse_rounding("nearest"), frugal::UserError);
  EXPECT_THROW(fn::parse_rounding("rne:seed=1"), frugal::UserError);
}

// Block formats against their definition, element by element: X from the block's largest
// magnitude, the element rounding (saturating) of v * 2^-X computed exactly in double, times
// 2^X. Blocks mix huge and tiny values (underflow on scaling) and all-tiny blocks (the lowest
// scale), on every ISA and rounding mode.
TEST(QuantizeBlocks, EveryElementIsTheScaledElementRounding) {
  std::mt19937 rng(31);
  for (const char* name :
       {"e4m3:block=32", "e2m1:block=16", "e5m2:block=48", "fp16:block=7", "fixed2.6:block=32"}) {
    const NumberFormat f = fn::parse_format(name);
    NumberFormat elem = f.element();
    if (elem.kind == fn::FormatKind::kFloat) elem.saturate = true;
    const fn::FormatInfo ei = fn::describe(elem);
    const int emax = std::ilogb(ei.max_finite);
    const double elem_min = std::isnan(ei.min_subnormal) ? ei.min_normal : ei.min_subnormal;
    const int lowest = std::max(-127, -149 - std::ilogb(elem_min));
    const size_t bs = static_cast<size_t>(f.block);
    std::vector<float> in(bs * 40 + 5);
    for (size_t i = 0; i < in.size(); ++i) {
      const size_t blk = i / bs;
      const int e = blk % 4 == 0   ? int(rng() % 250) - 125
                    : blk % 4 == 1 ? int(rng() % 20) - 140
                                   : int(rng() % 16) - 8;
      in[i] = std::ldexp(std::uniform_real_distribution<float>(-2, 2)(rng), e);
    }
    for (RoundingMode mode : fn::all_rounding_modes()) {
      const Rounding r{mode, 8, 32};
      const std::vector<float> got = quantize_all_isas(in, f, r, 0);
      int bad = 0;
      for (size_t b = 0; b < in.size() && bad < 3; b += bs) {
        const size_t len = std::min(bs, in.size() - b);
        double amax = 0;
        for (size_t i = 0; i < len; ++i) amax = std::max(amax, std::fabs(double(in[b + i])));
        const int x = std::clamp(amax > 0 ? std::ilogb(amax) - emax : 0, lowest, 127);
        for (size_t i = 0; i < len && bad < 3; ++i) {
          const double q = fn::round_value(std::ldexp(double(in[b + i]), -x), elem, r, b + i);
          const float want = static_cast<float>(std::ldexp(q, x));
          if (!(same_float(got[b + i], want) || (want == 0 && got[b + i] == 0))) {
            ++bad;
            ADD_FAILURE() << name << " " << fn::to_string(r) << " x=" << hex(in[b + i])
                          << " X=" << x << " -> " << hex(got[b + i]) << ", want " << hex(want);
          }
        }
      }
    }
  }
}
