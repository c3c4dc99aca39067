// frugal accel as a library call: every Conv/Gemm/MatMul of a graph mapped onto a modeled
// accelerator, with per-layer MACs, utilization, cycles, time, and accesses and energy per
// level (DRAM, GLB, NoC, RF, MAC). All figures are estimates of an analytical model.
//
// A pipeline simulator that treats a modeled accelerator as a device takes
// `node_estimates(estimate_model(...))`: seconds and joules per node name (nodes the model
// does not price are absent and cost nothing there). See docs/accel.md.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frugal/accel/mapper.h"
#include "frugal/ir/graph.h"
#include "frugal/numeric/format_spec.h"

namespace frugal::accel {

struct EstimateOptions {
  std::optional<Dataflow> dataflow;  // nullopt: the architecture's own
  bool best_dataflow = false;        // try every dataflow per layer, keep the cheapest
  // Eyeriss's equal-area comparison: each dataflow gets the RF bytes it does not use moved
  // into the global buffer (with_equal_storage).
  bool equal_storage = false;
  numeric::FormatSpec formats;                                // fp32 everywhere by default
  numeric::CostSource cost = numeric::CostSource::kHorowitz;  // the MAC's price (energy.h)
  int64_t batch = 1;
  MapperOptions mapper;
};

struct LayerEstimate {
  std::string node, op;
  Dims bounds{};
  Dataflow dataflow = Dataflow::kRowStationary;
  double weight_density = 1;
  MapResult map;
  double seconds = 0;
  double joules = 0;
};

struct ModelEstimate {
  std::string arch;
  std::string formats;
  Objective objective = Objective::kEnergy;
  int64_t batch = 1;
  std::vector<LayerEstimate> layers;
  std::vector<std::string> skipped;  // compute nodes not modeled, with the reason
  std::array<double, kLevels> energy_pj{};
  double total_pj = 0, cycles = 0, seconds = 0, macs = 0, dense_macs = 0;
  double weight_density = 1;  // non-zeros / parameters over the modeled layers
};

ModelEstimate estimate_model(const ir::Graph& graph, const Architecture& arch,
                             const EstimateOptions& options);
LayerEstimate estimate_layer(const Layer& layer, const Architecture& arch,
                             const EstimateOptions& options);

struct NodeEstimate {
  double seconds = 0;
  double joules = 0;
};
std::map<std::string, NodeEstimate> node_estimates(const ModelEstimate& estimate);

}  // namespace frugal::accel
