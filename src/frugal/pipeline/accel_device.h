// What a run of nodes costs on an accel device (devices.h, kind accel): each Conv, Gemm and
// MatMul mapped onto the device's architecture in its formats by accel::estimate_model, plus
// the host link for the bytes that cross the run's ends. Every figure is an estimate of an
// analytical model (docs/accel.md, docs/pipeline.md).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frugal/accel/estimate.h"
#include "frugal/ir/graph.h"
#include "frugal/pipeline/devices.h"

namespace frugal::pipeline {

// Seconds and joules per node name, for the graph's Conv/Gemm/MatMul at `batch` (other
// nodes are absent: they cost nothing on the device). UserError: a layer the architecture's
// buffers cannot hold, naming the layer and operand.
std::map<std::string, accel::NodeEstimate> accel_node_costs(const ir::Graph& graph,
                                                            const AccelDevice& device,
                                                            int64_t batch);

// The sum over `nodes` (names absent from `costs` add nothing).
accel::NodeEstimate accel_sum(const std::map<std::string, accel::NodeEstimate>& costs,
                              const std::vector<std::string>& nodes);

// The host link: link_latency_s + (bytes_in + bytes_out) / link_bytes_per_s, split into the
// inbound part (with the latency) and the outbound one.
struct LinkTime {
  double in_s = 0, out_s = 0;
};
LinkTime accel_link(const AccelDevice& device, int64_t bytes_in, int64_t bytes_out);

}  // namespace frugal::pipeline
