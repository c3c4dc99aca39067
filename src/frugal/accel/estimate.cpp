// Whole-model estimates (see estimate.h).
#include "frugal/accel/estimate.h"

#include "frugal/core/error.h"

namespace frugal::accel {
namespace {

LayerEstimate map_with(const Layer& layer, const Architecture& arch, Dataflow dataflow,
                       const EstimateOptions& o) {
  const Architecture a = o.equal_storage ? with_equal_storage(arch, dataflow) : arch;
  EvalContext ctx{&a, &layer, dataflow, price(a, o.formats, o.cost), dataflow_rules(dataflow)};
  LayerEstimate e;
  e.node = layer.node;
  e.op = layer.op;
  e.bounds = layer.shape.bounds;
  e.dataflow = dataflow;
  e.weight_density = layer.weights.density();
  e.map = map_layer(ctx, o.mapper);
  e.seconds = e.map.cost.cycles / (a.clock_mhz * 1e6);
  e.joules = e.map.cost.total_pj * 1e-12;
  return e;
}

}  // namespace

LayerEstimate estimate_layer(const Layer& layer, const Architecture& arch,
                             const EstimateOptions& o) {
  if (!o.best_dataflow) return map_with(layer, arch, o.dataflow.value_or(arch.dataflow), o);
  std::optional<LayerEstimate> best;
  std::string first_error;
  for (Dataflow d : kDataflows) {
    try {
      LayerEstimate e = map_with(layer, arch, d, o);
      if (!best || objective_value(e.map.cost, o.mapper.objective) <
                       objective_value(best->map.cost, o.mapper.objective))
        best = std::move(e);
    } catch (const UserError& e) {
      if (first_error.empty()) first_error = e.what();  // a dataflow this array cannot run
    }
  }
  if (!best) throw UserError(first_error);
  return *best;
}

ModelEstimate estimate_model(const ir::Graph& graph, const Architecture& arch,
                             const EstimateOptions& o) {
  price(arch, o.formats, o.cost);  // an unpriceable format fails before any search
  const LayerSet set = extract_layers(graph, o.batch);
  ModelEstimate m;
  m.arch = arch.name;
  m.formats = numeric::to_string(o.formats);
  m.objective = o.mapper.objective;
  m.batch = o.batch;
  m.skipped = set.skipped;
  double params = 0, nonzeros = 0;
  for (const Layer& l : set.layers) {
    LayerEstimate e = estimate_layer(l, arch, o);
    for (int lv = 0; lv < kLevels; ++lv) m.energy_pj[lv] += e.map.cost.energy_pj[lv];
    m.total_pj += e.map.cost.total_pj;
    m.cycles += e.map.cost.cycles;
    m.seconds += e.seconds;
    m.macs += e.map.cost.macs;
    m.dense_macs += double(l.shape.macs());
    params += double(l.weights.params);
    nonzeros += double(l.weights.nonzeros);
    m.layers.push_back(std::move(e));
  }
  m.weight_density = params > 0 ? nonzeros / params : 1.0;
  return m;
}

std::map<std::string, NodeEstimate> node_estimates(const ModelEstimate& estimate) {
  std::map<std::string, NodeEstimate> out;
  for (const auto& l : estimate.layers) out[l.node] = {l.seconds, l.joules};
  return out;
}

}  // namespace frugal::accel
