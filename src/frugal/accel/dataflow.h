// One mapping of a layer onto a PE array and its analytical cost.
//
// A mapping splits every dimension d of the layer into factors at five places, from the PE
// outward: RF (temporal loops inside a PE), array rows and array columns (spatial), global
// buffer and DRAM (temporal loops outside the array); the factors' product covers the
// dimension (a spatial factor may overshoot it: the idle PEs are the utilization loss).
// Each temporal level also has a loop order. A dataflow fixes which operands stay in the PE
// register files and which dimensions may go where (dataflow_rules).
//
// Costs follow the reuse analysis of Timeloop (Parashar et al., ISPASS 2019) in its simplest
// form: a tile of operand X held at a level is refilled once per iteration of the loops
// above it, except across the innermost run of loops that do not index X (X stays put:
// "stationary"; an operand without a register file is fetched for every MAC); refills come
// from the nearest outer level holding X, once per distinct word across the array when the
// NoC multicasts (inputs, weights) or reduces in place (psums).
#pragma once

#include <array>
#include <string>

#include "frugal/accel/arch.h"
#include "frugal/accel/energy.h"
#include "frugal/accel/layer.h"

namespace frugal::accel {

enum Place { kAtRf = 0, kAtRows = 1, kAtCols = 2, kAtGlb = 3, kAtDram = 4 };
constexpr int kPlaces = 5;
// The temporal levels with a loop order.
enum TemporalLevel { kOrderRf = 0, kOrderGlb = 1, kOrderDram = 2 };

struct Mapping {
  std::array<Dims, kPlaces> factors;  // factors[place][dim]
  // Loop order per temporal level, innermost first (a permutation of the eight dims).
  std::array<std::array<int, kDims>, 3> order;

  Dims tile_at(int place) const;  // product of factors at places <= place, per dim
  std::string str() const;        // "RF[S3 Q13] rows[R3 C4] cols[P13] GLB[...] DRAM[...]"
};

// What a dataflow allows: operands kept in the RF, and the dims allowed at RF, rows, cols.
struct DataflowRules {
  std::array<bool, kOperands> keeps{};
  std::array<bool, kDims> at_rf{}, at_rows{}, at_cols{};
};
DataflowRules dataflow_rules(Dataflow dataflow);

// The order with the dims not indexing `stationary` innermost (the class order the mapper
// searches: which operand stays put at that level).
std::array<int, kDims> class_order(int stationary);

// Accesses in words (by operand and level) and their energy.
struct Cost {
  bool valid = false;
  std::string why_invalid;  // first capacity or array limit exceeded
  double macs = 0;          // useful MACs (after skipping zero weights)
  double cycles = 0;
  double compute_cycles = 0;
  double utilization = 0;                                      // useful MACs / (cycles x PEs)
  std::array<std::array<double, kLevels>, kOperands> words{};  // accesses by operand, level
  std::array<double, kLevels> energy_pj{};
  double total_pj = 0;
};

struct EvalContext {
  const Architecture* arch = nullptr;
  const Layer* layer = nullptr;
  Dataflow dataflow = Dataflow::kRowStationary;
  Prices prices;
  DataflowRules rules;
};

// The cost of `mapping`; cost.valid is false (with the reason) when a tile exceeds a
// register file or the global buffer, or the spatial factors exceed the array.
Cost evaluate(const EvalContext& ctx, const Mapping& mapping);

}  // namespace frugal::accel
