// Range selection methods (runtime/calibrate.h) on synthetic distributions with known
// properties, degenerate values, and histogram collection through a graph.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "frugal/compress/quantize.h"
#include "frugal/core/error.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/zoo/builder.h"

namespace frugal::runtime {
namespace {

CalibrationOptions method(CalibMethod m) {
  CalibrationOptions o;
  o.method = m;
  return o;
}

// N(0, 1) samples, |x| clipped nowhere, plus `outliers` values at +-`at`.
std::vector<float> gaussian_with_outliers(int n, int outliers, float at, bool relu = false,
                                          uint32_t seed = 7) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> nd(0.0f, 1.0f);
  std::vector<float> v;
  for (int i = 0; i < n; ++i) {
    float x = nd(rng);
    v.push_back(relu ? std::max(x, 0.0f) : x);
  }
  for (int i = 0; i < outliers; ++i) v.push_back(i % 2 || relu ? at : -at);
  return v;
}

// Squared quantization error of `v` on the u8 grid of `r` (clip, round).
double quant_mse(const std::vector<float>& v, kernels::ValueRange r) {
  const compress::ActivationParams p = compress::activation_params(r, false);
  double e = 0;
  for (float x : v) {
    const float q = std::clamp(std::nearbyint(x / p.scale) + static_cast<float>(p.zero_point), 0.0f, 255.0f);
    const double d = static_cast<double>(x) - static_cast<double>(p.scale * (q - static_cast<float>(p.zero_point)));
    e += d * d;
  }
  return e / static_cast<double>(v.size());
}

TEST(Calibrate, MinMaxKeepsTheExtent) {
  const auto v = gaussian_with_outliers(20000, 4, 40.0f);
  const Histogram h = make_histogram(v);
  const auto r = select_range(h, method(CalibMethod::kMinMax));
  EXPECT_FLOAT_EQ(r.min, -40.0f);
  EXPECT_FLOAT_EQ(r.max, 40.0f);
}

TEST(Calibrate, PercentileClipsOutliers) {
  const auto v = gaussian_with_outliers(100000, 5, 50.0f);
  CalibrationOptions o = method(CalibMethod::kPercentile);
  o.percentile = 99.9;
  const double t = select_threshold(make_histogram(v), o);
  // 99.9% of |N(0,1)| lies below 3.29; one bin is 50/2048 = 0.024 wide.
  EXPECT_NEAR(t, 3.29, 0.15);
  o.percentile = 100;
  EXPECT_NEAR(select_threshold(make_histogram(v), o), 50.0, 1e-3);
  // A larger percentile never gives a smaller threshold.
  double last = 0;
  for (double p : {90.0, 99.0, 99.9, 99.99, 100.0}) {
    o.percentile = p;
    const double th = select_threshold(make_histogram(v), o);
    EXPECT_GE(th, last) << p;
    last = th;
  }
}

TEST(Calibrate, MseAndEntropyChooseRangesWellInsideTheMax) {
  for (bool relu : {false, true}) {
    // One outlier in a million: rare enough that clipping it beats the coarser grid.
    const auto v = gaussian_with_outliers(1000000, 1, 60.0f, relu);
    const Histogram h = make_histogram(v);
    for (CalibMethod m : {CalibMethod::kMse, CalibMethod::kEntropy}) {
      const double t = select_threshold(h, method(m));
      EXPECT_GT(t, relu ? 1.5 : 2.0) << static_cast<int>(m) << " relu " << relu;
      EXPECT_LT(t, 30.0) << static_cast<int>(m) << " relu " << relu;
      // MSE's clipped range quantizes the data better than min-max (entropy minimises a
      // divergence, not the squared error).
      const auto r = select_range(h, method(m));
      if (m == CalibMethod::kMse) {
        EXPECT_LT(quant_mse(v, r), quant_mse(v, h.extent)) << relu;
      }
    }
  }
}

TEST(Calibrate, MseNeverClipsAUniformDistribution) {
  // Uniform data has no tail to trade for resolution: the MSE optimum is (nearly) the max.
  std::mt19937 rng(3);
  std::uniform_real_distribution<float> u(0.0f, 4.0f);
  std::vector<float> v(40000);
  for (float& x : v) x = u(rng);
  const double t = select_threshold(make_histogram(v), method(CalibMethod::kMse));
  EXPECT_GT(t, 3.9);
}

TEST(Calibrate, DegenerateValuesGiveUsableRanges) {
  for (CalibMethod m : {CalibMethod::kMinMax, CalibMethod::kPercentile, CalibMethod::kMse,
                        CalibMethod::kEntropy}) {
    SCOPED_TRACE(static_cast<int>(m));
    // All zeros: range [0, 0], scale 1 (no division by zero), zero point 0.
    const std::vector<float> zeros(1000, 0.0f);
    auto r = select_range(make_histogram(zeros), method(m));
    EXPECT_EQ(r.min, 0.0f);
    EXPECT_EQ(r.max, 0.0f);
    auto p = compress::activation_params(r, false);
    EXPECT_EQ(p.scale, 1.0f);
    EXPECT_EQ(p.zero_point, 0);
    // A constant: kept whole (a clipped constant would quantize wrongly).
    const std::vector<float> constant(1000, 2.5f);
    r = select_range(make_histogram(constant), method(m));
    EXPECT_FLOAT_EQ(r.max, 2.5f);
    p = compress::activation_params(r, false);
    EXPECT_GT(p.scale, 0.0f);
    EXPECT_NEAR(p.scale * (std::nearbyint(2.5f / p.scale)), 2.5f, p.scale / 2);
    const std::vector<float> negative(1000, -3.0f);
    r = select_range(make_histogram(negative), method(m));
    EXPECT_FLOAT_EQ(r.min, -3.0f);
    EXPECT_TRUE(std::isfinite(compress::activation_params(r, true).scale));
    EXPECT_GT(compress::activation_params(r, true).scale, 0.0f);
    // NaN and Inf are ignored and counted.
    std::vector<float> mixed = gaussian_with_outliers(5000, 0, 0);
    mixed.push_back(std::numeric_limits<float>::quiet_NaN());
    mixed.push_back(std::numeric_limits<float>::infinity());
    mixed.push_back(-std::numeric_limits<float>::infinity());
    const Histogram h = make_histogram(mixed);
    EXPECT_EQ(h.nonfinite, 3);
    EXPECT_EQ(h.finite, 5000);
    r = select_range(h, method(m));
    EXPECT_TRUE(std::isfinite(r.min) && std::isfinite(r.max));
    EXPECT_LT(r.min, 0.0f);
    EXPECT_GT(r.max, 0.0f);
    // Only non-finite values: no range at all, no crash.
    const std::vector<float> nan(10, std::numeric_limits<float>::quiet_NaN());
    const Histogram hn = make_histogram(nan);
    EXPECT_EQ(hn.finite, 0);
    r = select_range(hn, method(m));
    EXPECT_EQ(r.min, 0.0f);
    EXPECT_EQ(r.max, 0.0f);
  }
}

TEST(Calibrate, MethodNamesRoundTripAndBadNamesFail) {
  for (const std::string s : {"minmax", "mse", "entropy", "percentile:99.9", "percentile:100"}) {
    CalibrationOptions o;
    parse_calibration_method(s, "--x", o);
    EXPECT_EQ(calibration_method_name(o), s);
  }
  CalibrationOptions o;
  parse_calibration_method("percentile", "--x", o);
  EXPECT_EQ(o.percentile, 99.99);
  for (const std::string s : {"max", "percentile:", "percentile:0", "percentile:101",
                              "percentile:abc", "percentile99", ""})
    EXPECT_THROW(parse_calibration_method(s, "--x", o), UserError) << s;
}

// A two-layer net whose histograms are collected through the session.
ir::Graph tiny_net() {
  zoo::GraphBuilder b("tiny", 5);
  std::string x = b.add_input("x", {1, 2, 6, 6});
  x = b.add_relu("relu1", b.add_conv("conv1", x, 4, {.kernel = 3, .pad = 1}));
  x = b.add_conv("conv2", x, 3, {.kernel = 3, .pad = 1});
  return b.finish(x, "y");
}

TEST(Calibrate, HistogramsOverBatchesMatchMinMax) {
  const ir::Graph g = tiny_net();
  std::vector<std::vector<Tensor>> batches;
  std::mt19937 rng(1);
  std::normal_distribution<float> nd;
  for (int b = 0; b < 3; ++b) {
    Tensor t(DType::kF32, {1, 2, 6, 6});
    for (float& v : t.span<float>()) v = nd(rng) * static_cast<float>(b + 1);
    batches.push_back({t});
  }
  const RangeMap mm = calibrate_minmax(g, batches, {});
  const auto hist = collect_histograms(g, batches, {});
  ASSERT_EQ(hist.size(), mm.size());
  for (const auto& [name, h] : hist) {
    EXPECT_EQ(h.extent.min, mm.at(name).min) << name;
    EXPECT_EQ(h.extent.max, mm.at(name).max) << name;
    EXPECT_EQ(h.finite, name == "x" ? 3 * 72 : h.finite);
    double total = 0;
    for (double c : h.counts) total += c;
    EXPECT_EQ(total, static_cast<double>(h.finite)) << name;
  }
  // Every method gives a range inside the extent for every value.
  for (CalibMethod m : {CalibMethod::kPercentile, CalibMethod::kMse, CalibMethod::kEntropy}) {
    const RangeMap r = calibrate(g, batches, {}, method(m));
    for (const auto& [name, range] : r) {
      EXPECT_GE(range.min, mm.at(name).min) << name;
      EXPECT_LE(range.max, mm.at(name).max) << name;
      EXPECT_LE(range.min, range.max) << name;
    }
  }
  // The JSON file records the method.
  RangesFile f{"entropy", 3, calibrate(g, batches, {}, method(CalibMethod::kEntropy))};
  const RangesFile back = ranges_from_json(ranges_to_json(f), "t");
  EXPECT_EQ(back.method, "entropy");
  EXPECT_EQ(back.ranges.size(), f.ranges.size());
}

}  // namespace
}  // namespace frugal::runtime
