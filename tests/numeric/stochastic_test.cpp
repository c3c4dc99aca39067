// Stochastic rounding: unbiased over 10^6 samples, the stated probabilities at chosen points
// (with 32 and with fewer random bits), reproducible per seed, independent of thread count.
//
// Statistical bound: with n samples of a rounding that goes up with probability p, the
// fraction that went up has standard deviation sqrt(p (1 - p) / n); we require it within
// 5 standard deviations (a false alarm has probability below 10^-6 for a fixed seed, and
// the seeds are fixed, so the outcome is deterministic). The mean rounding error must be
// within 5 standard deviations of the mean plus the bias that truncating the probability to
// R bits allows, (hi - lo) * 2^-R.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace fn = frugal::numeric;
using fn::NumberFormat;
using fn::Rounding;

namespace {

constexpr size_t kSamples = 1000000;

struct Draw {
  double lo = 0, hi = 0, ups = 0, mean = 0;
};

// Rounds n copies of x (counters 0..n-1) and summarizes the outcomes.
Draw draw(const NumberFormat& f, float x, const Rounding& r, size_t n = kSamples) {
  std::vector<float> in(n, x), out(n);
  fn::quantize(in, out, f, r);
  Draw d;
  d.lo = d.hi = out[0];
  double sum = 0;
  for (float v : out) {
    d.lo = std::min<double>(d.lo, v);
    d.hi = std::max<double>(d.hi, v);
    sum += v;
  }
  for (float v : out) d.ups += v == d.hi ? 1 : 0;
  d.mean = sum / static_cast<double>(n);
  return d;
}

// The neighbours of x in the format (nearest-down and nearest-up by value).
void neighbours(const NumberFormat& f, float x, double& lo, double& hi) {
  lo = fn::round_value(x, f, Rounding::of(fn::RoundingMode::kDown));
  hi = fn::round_value(x, f, Rounding::of(fn::RoundingMode::kUp));
}

void expect_probability(const char* name, float x, int bits, double want_p) {
  SCOPED_TRACE(std::string(name) + " x=" + std::to_string(x) + " bits=" + std::to_string(bits));
  const NumberFormat f = fn::parse_format(name);
  double lo, hi;
  neighbours(f, x, lo, hi);
  ASSERT_LT(lo, hi);
  const Draw d = draw(f, x, Rounding::stochastic(17, bits));
  ASSERT_GE(d.lo, lo);
  ASSERT_LE(d.hi, hi);
  const double p = (d.hi == hi ? d.ups : kSamples - d.ups) / kSamples;
  const double sd = std::sqrt(want_p * (1 - want_p) / kSamples);
  EXPECT_NEAR(p, want_p, 5 * sd + 1e-12);
}

double exact_p(const char* name, float x, int bits) {
  double lo, hi;
  neighbours(fn::parse_format(name), x, lo, hi);
  const double f = (static_cast<double>(x) - lo) / (hi - lo);
  return std::floor(std::ldexp(f, bits)) / std::ldexp(1.0, bits);
}

}  // namespace

TEST(Stochastic, UnbiasedOverAMillionSamples) {
  std::mt19937 rng(3);
  const char* names[] = {
      "bf16", "fp16", "e4m3", "e5m2", "e2m1", "fixed4.4", "int8:scale=0.1:zp=5", "e3m2:sub=off"};
  for (const char* name : names) {
    const NumberFormat f = fn::parse_format(name);
    const fn::FormatInfo info = fn::describe(f);
    for (int k = 0; k < 3; ++k) {
      // A value well inside the range, and one in the subnormal / below-smallest region.
      const double mag = k == 2
                             ? info.min_normal * 0.37
                             : std::exp(std::uniform_real_distribution<double>(
                                   std::log(info.min_normal), std::log(info.max_finite / 2))(rng));
      const float x = static_cast<float>(k == 1 ? -mag : mag);
      double lo, hi;
      neighbours(f, x, lo, hi);
      if (lo == hi) continue;
      const Draw d = draw(f, x, Rounding::stochastic(1000 + k));
      const double p = (static_cast<double>(x) - lo) / (hi - lo);
      const double sd_mean = (hi - lo) * std::sqrt(p * (1 - p) / kSamples);
      EXPECT_NEAR(d.mean, x, 5 * sd_mean + (hi - lo) * std::ldexp(1.0, -32))
          << name << " x=" << x << " lo=" << lo << " hi=" << hi;
    }
  }
}

TEST(Stochastic, ProbabilitiesAtChosenPoints) {
  const float one_plus = [] { return 1.0f; }();
  (void)one_plus;
  // bf16 steps of 2^-7 above 1: x = 1 + f 2^-7.
  for (double f : {0.25, 0.5, 0.75, 1.0 / 3, 0.01}) {
    const float x = static_cast<float>(1 + f * std::ldexp(1.0, -7));
    expect_probability("bf16", x, 32, exact_p("bf16", x, 32));
    expect_probability("bf16", -x, 32,
                       exact_p("bf16", -x, 32) == 0 ? 0 : 1 - exact_p("bf16", x, 32));
  }
  // Below the smallest subnormal of e4m3 (2^-9): 0 or 2^-9 with probability x / 2^-9.
  expect_probability("e4m3", static_cast<float>(0.3 * std::ldexp(1.0, -9)), 32, 0.3);
  expect_probability("fixed4.4", 0.3f / 16, 32, 0.3);
  expect_probability("ternary", 0.3f, 32, 0.3);
  expect_probability("binary", 0.2f, 32, 0.6);  // P(+1) = (x + 1) / 2
  // Limited random bits: P = floor(f 2^R) / 2^R with f = 0.3.
  const float x = static_cast<float>(1 + 0.3 * std::ldexp(1.0, -7));
  EXPECT_EQ(exact_p("bf16", x, 2), 0.25);
  EXPECT_EQ(exact_p("bf16", x, 4), 0.25);
  EXPECT_EQ(exact_p("bf16", x, 8), 76.0 / 256);
  for (int bits : {1, 2, 4, 8, 16}) expect_probability("bf16", x, bits, exact_p("bf16", x, bits));
}

TEST(Stochastic, ReproduciblePerSeedAndOffset) {
  std::mt19937 rng(9);
  std::vector<float> in(100000);
  for (auto& v : in) v = std::uniform_real_distribution<float>(-4, 4)(rng);
  const NumberFormat f = fn::parse_format("e4m3");
  std::vector<float> a(in.size()), b(in.size()), c(in.size());
  fn::quantize(in, a, f, Rounding::stochastic(42));
  fn::quantize(in, b, f, Rounding::stochastic(42));
  fn::quantize(in, c, f, Rounding::stochastic(43));
  EXPECT_EQ(a, b);
  size_t differ = 0;
  for (size_t i = 0; i < a.size(); ++i) differ += a[i] != c[i];
  EXPECT_GT(differ, in.size() / 20);
  // Counter = element index + offset: a suffix quantized with offset k matches.
  for (size_t k : {1u, 5u, 64u, 1001u}) {
    std::vector<float> tail(in.begin() + k, in.end()), tail_out(tail.size());
    fn::QuantizeOptions o;
    o.counter_offset = k;
    fn::quantize(tail, tail_out, f, Rounding::stochastic(42), o);
    EXPECT_TRUE(std::equal(tail_out.begin(), tail_out.end(), a.begin() + k)) << k;
  }
}

TEST(Stochastic, IndependentOfThreadCount) {
  std::mt19937 rng(10);
  std::vector<float> in(3 * 1000 * 1000 + 17);
  for (auto& v : in) v = std::uniform_real_distribution<float>(-100, 100)(rng);
  for (const char* name : {"bf16", "mxfp4", "int4:scale=0.25"}) {
    const NumberFormat f = fn::parse_format(name);
    std::vector<float> ref(in.size());
    fn::QuantizeOptions one;
    one.threads = 1;
    fn::quantize(in, ref, f, Rounding::stochastic(5, 20), one);
    for (int t : {2, 3, 8, 0}) {
      std::vector<float> out(in.size());
      fn::QuantizeOptions o;
      o.threads = t;
      fn::quantize(in, out, f, Rounding::stochastic(5, 20), o);
      EXPECT_TRUE(std::equal(out.begin(), out.end(), ref.begin(),
                             [](float a, float b) {
                               return std::bit_cast<uint32_t>(a) == std::bit_cast<uint32_t>(b);
                             }))
          << name << " threads " << t;
    }
  }
}
