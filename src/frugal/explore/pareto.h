// Pareto analysis: the non-dominated configurations over any number of objectives, each
// minimized or maximized (accuracy up; latency, energy, size down).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "frugal/explore/store.h"

namespace frugal::explore {

enum class Goal { minimize, maximize };

// a dominates b: at least as good on every objective and better on one.
bool dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<Goal>& goals);

// Indices (ascending) of the points no other point dominates. Equal points do not
// dominate each other, so duplicates on the front are all kept. Points with a NaN
// objective are left out (not comparable).
std::vector<size_t> pareto_front(const std::vector<std::vector<double>>& points, const std::vector<Goal>& goals);

// A figure of a stored record the front can be computed over.
struct Metric {
  std::string name;   // acc, latency, energy, size, throughput, memory
  std::string label;  // "top-1 accuracy", "latency p50 (ms)"
  Goal goal;
  std::optional<double> (*value)(const RecordRow&);
};
const std::vector<Metric>& metrics();
// "acc,latency" -> metrics; UserError naming --pareto and the known names on a bad one.
std::vector<Metric> parse_metrics(const std::string& list);

// The rows (indices into `rows`) on the front over `chosen`; rows missing a metric are out.
std::vector<size_t> pareto_rows(const std::vector<RecordRow>& rows, const std::vector<Metric>& chosen);

}  // namespace frugal::explore
