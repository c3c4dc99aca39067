#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/measure/stats.h"

using namespace frugal::measure;

// Hand-computed with r = q (n - 1): {15, 20, 35, 40, 50}.
TEST(Percentile, LinearInterpolationBetweenClosestRanks) {
  const std::vector<double> v = {15, 20, 35, 40, 50};
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.0), 15);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 1.0), 50);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.5), 35);
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.25), 20);  // r = 1
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.40), 29);  // r = 1.6: 20 + 0.6 * 15
  EXPECT_DOUBLE_EQ(percentile_sorted(v, 0.90), 46);  // r = 3.6: 40 + 0.6 * 10
  const std::vector<double> shuffled = {40, 15, 50, 35, 20};
  EXPECT_DOUBLE_EQ(percentile(shuffled, 0.40), 29);
  const std::vector<double> even = {4, 1, 3, 2};
  EXPECT_DOUBLE_EQ(median(even), 2.5);
  const std::vector<double> one = {7};
  EXPECT_DOUBLE_EQ(percentile(one, 0.99), 7);
}

TEST(Percentile, RejectsEmptyAndOutOfRange) {
  const std::vector<double> none;
  const std::vector<double> v = {1, 2};
  EXPECT_THROW(percentile(none, 0.5), frugal::UserError);
  EXPECT_THROW(percentile(v, 1.5), frugal::UserError);
  EXPECT_THROW(percentile(v, -0.1), frugal::UserError);
  EXPECT_THROW(percentile(v, std::nan("")), frugal::UserError);
}

TEST(Summary, HandComputedMomentsAndSpread) {
  const std::vector<double> v = {2, 4, 4, 4, 5, 5, 7, 9};
  const Summary s = summarize(v);
  EXPECT_EQ(s.count, 8);
  EXPECT_DOUBLE_EQ(s.min, 2);
  EXPECT_DOUBLE_EQ(s.max, 9);
  EXPECT_DOUBLE_EQ(s.mean, 5);
  EXPECT_NEAR(s.stddev, std::sqrt(32.0 / 7.0), 1e-12);  // sum of squared deviations is 32
  EXPECT_DOUBLE_EQ(s.p50, 4.5);
  EXPECT_DOUBLE_EQ(s.p90, 7.6);  // r = 6.3: 7 + 0.3 * 2
  // |x - 4.5| = 2.5 .5 .5 .5 .5 .5 2.5 4.5 -> median 0.5
  EXPECT_DOUBLE_EQ(s.mad, 0.5);
}

TEST(Summary, TailPercentilesOfARamp) {
  std::vector<double> v(1001);
  std::iota(v.begin(), v.end(), 1.0);  // 1..1001: r = q * 1000 lands on integers
  std::shuffle(v.begin(), v.end(), std::mt19937(1));
  const Summary s = summarize(v);
  EXPECT_DOUBLE_EQ(s.p50, 501);
  EXPECT_DOUBLE_EQ(s.p90, 901);
  EXPECT_DOUBLE_EQ(s.p95, 951);
  EXPECT_DOUBLE_EQ(s.p99, 991);
  EXPECT_DOUBLE_EQ(s.p999, 1000);
  EXPECT_NEAR(s.stddev, std::sqrt(1001.0 * 1002.0 / 12.0), 1e-9);  // (n^2-1)/12 * n/(n-1)
  EXPECT_DOUBLE_EQ(s.mad, 250);
}

TEST(Summary, RejectsEmptyAndNonFinite) {
  const std::vector<double> none;
  const std::vector<double> nan = {1, std::nan("")};
  EXPECT_THROW(summarize(none), frugal::UserError);
  EXPECT_THROW(summarize(nan), frugal::UserError);
}

// Published LoadGen figures: p90 needs at least 64 queries and p99 at least 662
// (mlperf_log_summary "Processed at least 64 queries"); 2048 queries at p90 discard the
// 172 highest latencies, 2116 queries discard 178.
TEST(EarlyStopping, MatchesLoadGenFigures) {
  EXPECT_EQ(early_stopping_min_queries(0.90), 64);
  EXPECT_EQ(early_stopping_min_queries(0.99), 662);
  EXPECT_EQ(early_stopping_max_overlatency(63, 0.90), 0);
  EXPECT_EQ(early_stopping_max_overlatency(64, 0.90), 1);
  EXPECT_EQ(early_stopping_max_overlatency(2048, 0.90), 173);
  EXPECT_EQ(early_stopping_max_overlatency(2116, 0.90), 179);
  EXPECT_EQ(early_stopping_max_overlatency(661, 0.99), 0);
  EXPECT_EQ(early_stopping_max_overlatency(662, 0.99), 1);
}

// The criterion by a naive formula: P[Bin(n, 0.1) <= t] from products of exact terms.
TEST(EarlyStopping, AgreesWithNaiveBinomialSum) {
  for (int n : {70, 100, 150, 300}) {
    long double cdf = 0;
    int expected = -1;
    for (int t = 0; t <= n; ++t) {
      long double term = 1;  // C(n, t) 0.1^t 0.9^(n-t), built factor by factor
      for (int i = 0; i < t; ++i) term *= (n - i) / static_cast<long double>(i + 1) * 0.1L;
      for (int i = 0; i < n - t; ++i) term *= 0.9L;
      cdf += term;
      if (cdf > 0.01L) break;
      expected = t;
    }
    EXPECT_EQ(early_stopping_max_overlatency(n, 0.90), expected) << "n=" << n;
  }
}

TEST(EarlyStopping, EstimateDiscardsHighestLatencies) {
  std::vector<double> v(2048);
  std::iota(v.begin(), v.end(), 1.0);
  std::shuffle(v.begin(), v.end(), std::mt19937(7));
  const auto e = early_stopping_estimate(v, 0.90);
  ASSERT_TRUE(e.valid);
  EXPECT_EQ(e.queries, 2048);
  EXPECT_EQ(e.discarded, 172);
  EXPECT_DOUBLE_EQ(e.estimate, 2048 - 172);  // above the plain p90 (1843.7)
  EXPECT_GT(e.estimate, percentile(v, 0.90));

  const std::vector<double> few(63, 1.0);
  const auto short_run = early_stopping_estimate(few, 0.90);
  EXPECT_FALSE(short_run.valid);
  EXPECT_EQ(short_run.min_queries, 64);
}
