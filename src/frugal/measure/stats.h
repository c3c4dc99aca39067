// Summary statistics of measured values (latencies, powers): percentiles with a
// stated interpolation, moments, robust spread, and MLPerf LoadGen's early-stopping
// percentile estimate for runs with few queries.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace frugal::measure {

// The q-quantile (q in [0, 1]) of values sorted ascending, by linear interpolation
// between closest ranks (Hyndman & Fan type 7, numpy's default "linear"):
//   r = q * (n - 1);  result = v[floor r] + (r - floor r) * (v[floor r + 1] - v[floor r]).
// So q = 0 is the minimum, q = 1 the maximum, and p50 of an even count is the mean of
// the two middle values. Throws UserError when empty or q is outside [0, 1].
double percentile_sorted(std::span<const double> sorted, double q);
// Same on unsorted values (sorts a copy).
double percentile(std::span<const double> values, double q);
double median(std::span<const double> values);
// Median absolute deviation: median(|x - median(x)|), unscaled (multiply by 1.4826 for
// a normal-consistent estimate of sigma).
double median_absolute_deviation(std::span<const double> values);

struct Summary {
  int64_t count = 0;
  double min = 0, max = 0, mean = 0;
  double stddev = 0;  // sample standard deviation (divides by n - 1); 0 when n == 1
  double mad = 0;     // median absolute deviation, unscaled
  double p50 = 0, p90 = 0, p95 = 0, p99 = 0, p999 = 0;
};
// Throws UserError when values is empty or holds a non-finite value.
Summary summarize(std::span<const double> values);

// MLPerf LoadGen early stopping (MLPerf Inference Rules, appendix "Early Stopping
// Criterion"; LoadGen's early_stopping.cc). Queries are Bernoulli trials that are
// "overlatency" with probability 1 - p for a system at the target percentile p. Given q
// processed queries, t is the largest overlatency count such that a minimally failing
// system (success rate p - tolerance) would show at most t overlatency queries with
// probability at most 1 - confidence:  P[Binomial(q, 1 - (p - tolerance)) <= t] <= 1 - c.
// The single-stream estimate then discards the t - 1 highest latencies and reports the
// largest remaining one. LoadGen uses tolerance 0 and confidence 0.99.
//
// Largest such t for q queries, or -1 when even t = 0 does not qualify.
int64_t early_stopping_max_overlatency(int64_t queries, double percentile, double confidence = 0.99,
                                       double tolerance = 0.0);
// Fewest queries for which t >= 1 (64 for p90 and 662 for p99 at c = 0.99).
int64_t early_stopping_min_queries(double percentile, double confidence = 0.99,
                                   double tolerance = 0.0);

struct EarlyStoppingEstimate {
  bool valid = false;       // false: too few queries (then estimate is not meaningful)
  int64_t queries = 0;      // q
  int64_t overlatency = 0;  // t
  int64_t discarded = 0;    // t - 1 highest latencies dropped
  int64_t min_queries = 0;  // queries needed for a valid estimate
  double estimate = 0;      // largest latency left after discarding
  double percentile = 0;
  double confidence = 0;
};
EarlyStoppingEstimate early_stopping_estimate(std::span<const double> latencies, double percentile,
                                              double confidence = 0.99);

}  // namespace frugal::measure
