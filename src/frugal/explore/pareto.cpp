#include "frugal/explore/pareto.h"

#include <cmath>

#include "frugal/core/error.h"

namespace frugal::explore {

bool dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<Goal>& goals) {
  bool better = false;
  for (size_t i = 0; i < goals.size(); ++i) {
    double x = goals[i] == Goal::maximize ? a[i] : -a[i];
    double y = goals[i] == Goal::maximize ? b[i] : -b[i];
    if (x < y) return false;
    if (x > y) better = true;
  }
  return better;
}

std::vector<size_t> pareto_front(const std::vector<std::vector<double>>& points, const std::vector<Goal>& goals) {
  std::vector<size_t> comparable;
  for (size_t i = 0; i < points.size(); ++i) {
    FRUGAL_CHECK(points[i].size() == goals.size(), "pareto_front: a point has the wrong number of objectives");
    bool finite = true;
    for (double v : points[i]) finite = finite && !std::isnan(v);
    if (finite) comparable.push_back(i);
  }
  // Sweeps are hundreds of points: the quadratic check is instant and obviously right.
  std::vector<size_t> front;
  for (size_t i : comparable) {
    bool dominated = false;
    for (size_t j : comparable)
      if (j != i && dominates(points[j], points[i], goals)) {
        dominated = true;
        break;
      }
    if (!dominated) front.push_back(i);
  }
  return front;
}

const std::vector<Metric>& metrics() {
  static const std::vector<Metric> all = {
      {"acc", "top-1 accuracy", Goal::maximize, [](const RecordRow& r) { return r.top1; }},
      {"latency", "latency p50 (ms)", Goal::minimize, [](const RecordRow& r) { return r.latency_p50_ms; }},
      {"energy", "energy per inference (J)", Goal::minimize,
       [](const RecordRow& r) { return r.joules_per_inference; }},
      {"size", "model size (bytes)", Goal::minimize, [](const RecordRow& r) { return r.model_bytes; }},
      {"throughput", "throughput (samples/s)", Goal::maximize,
       [](const RecordRow& r) { return r.samples_per_s; }},
      {"memory", "peak RSS (bytes)", Goal::minimize, [](const RecordRow& r) { return r.peak_rss; }},
  };
  return all;
}

std::vector<Metric> parse_metrics(const std::string& list) {
  std::vector<Metric> out;
  std::string known;
  for (const auto& m : metrics()) known += (known.empty() ? "" : ", ") + m.name;
  size_t start = 0;
  while (start <= list.size()) {
    size_t comma = list.find(',', start);
    std::string name = list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (name == "accuracy" || name == "top1") name = "acc";
    auto it = std::find_if(metrics().begin(), metrics().end(), [&](const Metric& m) { return m.name == name; });
    if (it == metrics().end())
      throw UserError("--pareto: unknown metric '" + name + "' (known: " + known + ")");
    out.push_back(*it);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  if (out.size() < 2) throw UserError("--pareto: give at least two metrics, such as acc,latency");
  return out;
}

std::vector<size_t> pareto_rows(const std::vector<RecordRow>& rows, const std::vector<Metric>& chosen) {
  std::vector<std::vector<double>> values;
  std::vector<Goal> goals;
  for (const auto& m : chosen) goals.push_back(m.goal);
  for (const auto& r : rows) {
    std::vector<double> v;
    for (const auto& m : chosen) v.push_back(m.value(r).value_or(NAN));
    values.push_back(std::move(v));
  }
  return pareto_front(values, goals);
}

}  // namespace frugal::explore
