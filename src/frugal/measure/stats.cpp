#include "frugal/measure/stats.h"

#include <algorithm>
#include <cmath>
#include <string>

#include "frugal/core/error.h"

namespace frugal::measure {
namespace {

void check_quantile(double q) {
  if (!(q >= 0.0 && q <= 1.0))
    throw UserError("percentile: quantile " + std::to_string(q) + " is outside [0, 1]");
}

std::vector<double> sorted_copy(std::span<const double> values) {
  std::vector<double> v(values.begin(), values.end());
  std::sort(v.begin(), v.end());
  return v;
}

// log P[Binomial(n, p) = k], computed in log space so that large n does not underflow.
double log_binomial_pmf(int64_t k, int64_t n, double p) {
  const double kd = static_cast<double>(k), nd = static_cast<double>(n);
  return std::lgamma(nd + 1) - std::lgamma(kd + 1) - std::lgamma(nd - kd + 1) + kd * std::log(p) +
         (nd - kd) * std::log1p(-p);
}

void check_early_stopping_args(double percentile, double confidence, double tolerance) {
  if (!(percentile > 0.0 && percentile < 1.0))
    throw UserError("early stopping: percentile " + std::to_string(percentile) +
                    " must be inside (0, 1)");
  if (!(confidence > 0.0 && confidence < 1.0))
    throw UserError("early stopping: confidence " + std::to_string(confidence) +
                    " must be inside (0, 1)");
  if (!(tolerance >= 0.0 && tolerance < percentile))
    throw UserError("early stopping: tolerance " + std::to_string(tolerance) +
                    " must be in [0, percentile)");
}

}  // namespace

double percentile_sorted(std::span<const double> sorted, double q) {
  check_quantile(q);
  if (sorted.empty()) throw UserError("percentile: no values");
  const double rank = q * static_cast<double>(sorted.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  if (lo + 1 >= sorted.size()) return sorted.back();
  const double frac = rank - static_cast<double>(lo);
  return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
}

double percentile(std::span<const double> values, double q) {
  auto v = sorted_copy(values);
  return percentile_sorted(v, q);
}

double median(std::span<const double> values) {
  return percentile(values, 0.5);
}

double median_absolute_deviation(std::span<const double> values) {
  const double m = median(values);
  std::vector<double> dev(values.size());
  for (size_t i = 0; i < values.size(); ++i) dev[i] = std::fabs(values[i] - m);
  return median(dev);
}

Summary summarize(std::span<const double> values) {
  if (values.empty()) throw UserError("summary: no values to summarise");
  for (double x : values)
    if (!std::isfinite(x)) throw UserError("summary: a value is not finite");
  auto v = sorted_copy(values);
  Summary s;
  s.count = static_cast<int64_t>(v.size());
  s.min = v.front();
  s.max = v.back();
  // Welford's update: stable for long runs of nearly equal latencies.
  double mean = 0, m2 = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    const double d = values[i] - mean;
    mean += d / static_cast<double>(i + 1);
    m2 += d * (values[i] - mean);
  }
  s.mean = mean;
  s.stddev = v.size() > 1 ? std::sqrt(m2 / static_cast<double>(v.size() - 1)) : 0.0;
  s.p50 = percentile_sorted(v, 0.50);
  s.p90 = percentile_sorted(v, 0.90);
  s.p95 = percentile_sorted(v, 0.95);
  s.p99 = percentile_sorted(v, 0.99);
  s.p999 = percentile_sorted(v, 0.999);
  s.mad = median_absolute_deviation(v);
  return s;
}

int64_t early_stopping_max_overlatency(int64_t queries, double percentile, double confidence,
                                       double tolerance) {
  check_early_stopping_args(percentile, confidence, tolerance);
  if (queries <= 0) return -1;
  const double overlatency_rate = 1.0 - (percentile - tolerance);
  const double alpha = 1.0 - confidence;
  // Accumulate the binomial CDF term by term; it grows with t, so the first t at which it
  // exceeds alpha ends the search. At most t + 1 terms are evaluated.
  double cdf = 0.0;
  for (int64_t t = 0; t <= queries; ++t) {
    cdf += std::exp(log_binomial_pmf(t, queries, overlatency_rate));
    if (cdf > alpha) return t - 1;
  }
  return queries;
}

int64_t early_stopping_min_queries(double percentile, double confidence, double tolerance) {
  check_early_stopping_args(percentile, confidence, tolerance);
  // max_overlatency(q) >= 1 is monotone in q: grow an upper bound, then bisect.
  int64_t hi = 1;
  while (early_stopping_max_overlatency(hi, percentile, confidence, tolerance) < 1) {
    if (hi > (int64_t{1} << 40)) throw UserError("early stopping: percentile too close to 1");
    hi *= 2;
  }
  int64_t lo = hi / 2;  // lo fails (or is 0)
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (early_stopping_max_overlatency(mid, percentile, confidence, tolerance) >= 1)
      hi = mid;
    else
      lo = mid;
  }
  return hi;
}

EarlyStoppingEstimate early_stopping_estimate(std::span<const double> latencies, double percentile,
                                              double confidence) {
  EarlyStoppingEstimate e;
  e.percentile = percentile;
  e.confidence = confidence;
  e.queries = static_cast<int64_t>(latencies.size());
  e.min_queries = early_stopping_min_queries(percentile, confidence);
  const int64_t t = early_stopping_max_overlatency(e.queries, percentile, confidence);
  e.overlatency = std::max<int64_t>(t, 0);
  if (t < 1) return e;
  auto v = sorted_copy(latencies);
  e.valid = true;
  e.discarded = t - 1;
  // Keep the q - (t - 1) lowest latencies and report the largest of them.
  e.estimate = v[static_cast<size_t>(e.queries - t)];
  return e;
}

}  // namespace frugal::measure
