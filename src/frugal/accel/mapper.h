// The mapper: for one layer and dataflow, the cheapest mapping by energy, delay or their
// product. The space (dataflow.h): per dimension, a spatial factor among the values
// ceil(D / k) that fit the array, then every split of the rest into RF x GLB x DRAM
// divisors (assignments that leave most of the array idle are dropped: min_array_share);
// per temporal level, which operand's non-indexing loops go innermost (three
// orders; no other order can do better under the reuse rule, which the brute-force test
// checks over all permutations). A space within `max_evaluations` is searched exhaustively;
// a larger one is sampled with a counter-based generator from `seed` (so the result repeats)
// and the best sample refined by moving single prime factors and orders while that helps.
#pragma once

#include <cstdint>
#include <string>

#include "frugal/accel/dataflow.h"

namespace frugal::accel {

enum class Objective { kEnergy, kDelay, kEdp };
Objective parse_objective(const std::string& name, const std::string& option);
std::string to_string(Objective objective);
double objective_value(const Cost& cost, Objective objective);

struct MapperOptions {
  Objective objective = Objective::kEnergy;
  uint64_t seed = 1;
  int64_t max_evaluations = 30000;
  double time_limit_s = 10;  // per layer and dataflow; reported when it cuts the search
  // Spatial assignments must use at least this share of the most PEs any assignment in the
  // space uses: energy alone would otherwise favour idle arrays (the model has no leakage),
  // and Eyeriss compares dataflows at equal parallelism. 0 lifts the floor.
  double min_array_share = 0.5;
};

// The fewest PEs a spatial assignment may use under options.min_array_share.
double min_pes_used(const EvalContext& ctx, const MapperOptions& options);

struct MapResult {
  Mapping mapping;
  Cost cost;
  double space = 0;  // mappings in the pruned space
  int64_t evaluated = 0;
  bool exhaustive = false;  // the whole pruned space was evaluated
  bool timed_out = false;
};

// Throws UserError "layer 'NODE': the register file for OPERAND ... cannot hold ..." when
// even the smallest tile (one word of each operand) does not fit.
MapResult map_layer(const EvalContext& ctx, const MapperOptions& options);

// The mapping that keeps every loop at DRAM level (the smallest tiles).
Mapping smallest_mapping(const Layer& layer);

}  // namespace frugal::accel
