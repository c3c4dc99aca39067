// One error budget per format, asserted in one table (the ggml habit): for values in the
// normal range, the relative error of rounding to a float format with M mantissa bits is at
// most 2^-(M+1) for the nearest modes and below 2^-M for the directed and stochastic modes;
// for fixed and integer formats the absolute error inside the range is at most half a step
// (nearest) or one step (others). The largest observed error must also come close to the
// budget, so a quantizer that rounds too little fails too: at least 80% of u / (1 + u) for
// floats (rounding toward zero and to nearest reach only that: the worst case sits just
// above a power of two), 80% of the budget for fixed and integer formats.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace fn = frugal::numeric;
using fn::RoundingMode;

namespace {

struct Budget {
  const char* format;
  bool relative;    // relative error (floats, normal range) or absolute (fixed, int)
  double nearest;   // rne, rna
  double directed;  // rz, up, down, sr
};

double p2(int e) {
  return std::ldexp(1.0, e);
}

const Budget kBudgets[] = {
    {"tf32", true, p2(-11), p2(-10)},
    {"fp16", true, p2(-11), p2(-10)},
    {"bf16", true, p2(-8), p2(-7)},
    {"e5m2", true, p2(-3), p2(-2)},
    {"e4m3", true, p2(-4), p2(-3)},
    {"e3m4", true, p2(-5), p2(-4)},
    {"e2m3", true, p2(-4), p2(-3)},
    {"e3m2", true, p2(-3), p2(-2)},
    {"e2m1", true, p2(-2), p2(-1)},
    {"e8m15", true, p2(-16), p2(-15)},
    {"e4m3:sub=off", true, p2(-4), p2(-3)},
    {"e6m5:bias=20", true, p2(-6), p2(-5)},
    {"fixed4.4", false, p2(-5), p2(-4)},
    {"ufixed1.7", false, p2(-8), p2(-7)},
    {"int8:scale=0.1:zp=5", false, 0.05, 0.1},
    {"uint4:scale=0.25", false, 0.125, 0.25},
};

}  // namespace

TEST(ErrorBudget, EveryFormatStaysWithinAndReachesItsBudget) {
  std::mt19937 rng(21);
  for (const Budget& b : kBudgets) {
    const fn::NumberFormat f = fn::parse_format(b.format);
    const fn::FormatInfo info = fn::describe(f);
    std::vector<float> in(40000);
    for (auto& x : in) {
      double v;
      if (b.relative) {
        v = std::exp(std::uniform_real_distribution<double>(std::log(info.min_normal),
                                                            std::log(info.max_finite))(rng));
        if (rng() & 1) v = -v;
      } else {
        v = std::uniform_real_distribution<double>(info.min_finite, info.max_finite)(rng);
      }
      x = static_cast<float>(v);
      if (std::fabs(x) > info.max_finite)
        x = static_cast<float>(info.max_finite);  // binary32 rounding up past max
    }
    for (RoundingMode m : fn::all_rounding_modes()) {
      std::vector<float> out(in.size());
      fn::quantize(in, out, f, fn::Rounding{m, 77, 32});
      const bool nearest = m == RoundingMode::kNearestEven || m == RoundingMode::kNearestAway;
      const double budget = nearest ? b.nearest : b.directed;
      const double reach = b.relative ? budget / (1 + budget) : budget;
      double worst = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        double err = std::fabs(static_cast<double>(out[i]) - in[i]);
        if (b.relative) err /= std::fabs(static_cast<double>(in[i]));
        worst = std::max(worst, err);
        // int formats carry (q - zp) * scale in binary32: allow its last-bit rounding.
        const double slack = b.relative ? 0 : info.max_finite * p2(-23);
        if (nearest ? err > budget + slack : err >= budget + slack) {
          ADD_FAILURE() << b.format << " " << fn::rounding_mode_name(m) << " x=" << in[i] << " -> "
                        << out[i] << " error " << err << " over budget " << budget;
          break;
        }
      }
      EXPECT_GE(worst, 0.8 * reach) << b.format << " " << fn::rounding_mode_name(m);
    }
  }
}
