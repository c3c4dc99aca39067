#include "frugal/pipeline/accel_device.h"

namespace frugal::pipeline {

std::map<std::string, accel::NodeEstimate> accel_node_costs(const ir::Graph& graph,
                                                            const AccelDevice& device,
                                                            int64_t batch) {
  accel::EstimateOptions o;
  o.dataflow = device.dataflow;
  o.best_dataflow = device.best_dataflow;
  o.formats = device.formats;
  o.cost = device.cost;
  o.batch = batch;
  return accel::node_estimates(accel::estimate_model(graph, device.arch, o));
}

accel::NodeEstimate accel_sum(const std::map<std::string, accel::NodeEstimate>& costs,
                              const std::vector<std::string>& nodes) {
  accel::NodeEstimate sum;
  for (const auto& n : nodes) {
    const auto it = costs.find(n);
    if (it == costs.end()) continue;
    sum.seconds += it->second.seconds;
    sum.joules += it->second.joules;
  }
  return sum;
}

LinkTime accel_link(const AccelDevice& device, int64_t bytes_in, int64_t bytes_out) {
  return {device.link_latency_s + static_cast<double>(bytes_in) / device.link_bytes_per_s,
          static_cast<double>(bytes_out) / device.link_bytes_per_s};
}

}  // namespace frugal::pipeline
