#include "frugal/pipeline/profile.h"

#include <map>

#include "frugal/measure/random_input.h"
#include "frugal/measure/session_bench.h"

namespace frugal::pipeline {

namespace {

std::vector<Tensor> random_inputs(const runtime::Session& s) {
  std::vector<Tensor> in;
  for (size_t i = 0; i < s.inputs().size(); ++i)
    in.push_back(measure::random_tensor(s.inputs()[i].dtype, s.inputs()[i].shape, i + 1));
  return in;
}

measure::BenchOptions short_run(double seconds) {
  measure::BenchOptions o;
  o.min_duration_s = seconds;
  o.min_queries = 5;
  o.warmup_s = seconds / 4;
  o.max_duration_s = 10 * seconds + 1;
  return o;
}

}  // namespace

std::vector<double> profile_nodes(const Chain& chain, const runtime::SessionOptions& options,
                                  double seconds) {
  runtime::Session s(chain.graph(), options);
  const auto r = measure::bench_session(s, random_inputs(s), short_run(seconds), true);
  std::map<std::string, double> per_node;
  for (const auto& row : r.profile)
    if (row.calls > 0) per_node[row.node] += row.time_s / static_cast<double>(row.calls);
  std::vector<double> t(chain.size(), 0);
  for (size_t i = 0; i < chain.size(); ++i)
    if (auto it = per_node.find(chain.graph().nodes[i].name); it != per_node.end())
      t[i] = it->second;
  return t;
}

double time_segment(const Chain& chain, size_t first, size_t last,
                    const runtime::SessionOptions& options, double seconds) {
  runtime::Session s(chain.segment_graph(first, last), options);
  const auto r = measure::bench_session(s, random_inputs(s), short_run(seconds), false);
  return r.bench.latency.p50;
}

}  // namespace frugal::pipeline
