// Analytical cost of one mapping (see dataflow.h, docs/accel.md).
#include "frugal/accel/dataflow.h"

#include <algorithm>

namespace frugal::accel {
namespace {

struct Loop {
  int dim;
  int64_t bound;
};
// Temporal loops innermost first, at most three levels of eight dims.
struct LoopList {
  std::array<Loop, 3 * kDims> loops;
  int size = 0;
  void add_level(const Mapping& m, int level, int place) {
    for (int d : m.order[level])
      if (m.factors[place][d] > 1) loops[size++] = {d, m.factors[place][d]};
  }
};

// Refills of an operand's tile below `above`: every iteration of the loops above, except
// across the innermost run of loops that do not index it. distinct: how many different tiles.
// An operand the PEs do not store (bypassing the RF) is fetched for every MAC.
struct Fills {
  double fills = 1, distinct = 1;
};
Fills refills(int operand, const LoopList& above, bool stored) {
  Fills f;
  double reuse = 1;
  bool stationary = stored;  // without storage at this level, every iteration refetches
  for (int i = 0; i < above.size; ++i) {
    const Loop& l = above.loops[i];
    f.fills *= double(l.bound);
    if (relevant(operand, l.dim)) {
      f.distinct *= double(l.bound);
      stationary = false;
    } else if (stationary) {
      reuse *= double(l.bound);
    }
  }
  f.fills /= reuse;
  return f;
}

Dims ones() {
  Dims d;
  d.fill(1);
  return d;
}

Dims product(const Dims& a, const Dims& b) {
  Dims d;
  for (int i = 0; i < kDims; ++i) d[i] = a[i] * b[i];
  return d;
}

double product_of(const Dims& d) {
  double p = 1;
  for (int64_t x : d) p *= double(x);
  return p;
}

std::string bytes_text(double bits) {
  return std::to_string(static_cast<int64_t>(bits / 8 + 0.5)) + " bytes";
}

// Words moved between the PE level and its parent, and between the GLB and DRAM.
struct OperandTraffic {
  const EvalContext& ctx;
  const Mapping& m;
  Cost& cost;
  double pes, macs_slots, density;

  // Ratio of stored weight bits to dense bits (compressed storage).
  double weight_ratio() const {
    const Architecture& a = *ctx.arch;
    const WeightStats& w = ctx.layer->weights;
    if (a.storage == SparseStorage::kDense || w.params == 0) return 1.0;
    return w.storage_bits(a.storage, ctx.prices.bits[kWeights], a.index_bits) /
           (double(w.params) * ctx.prices.bits[kWeights]);
  }

  // Returns false with cost.why_invalid set when the operand's tile does not fit.
  bool pe_level(int x, double scale, double& glb_bits) {
    const Architecture& a = *ctx.arch;
    const LayerShape& sh = ctx.layer->shape;
    const bool kept = ctx.rules.keeps[x];
    const Dims tile = kept ? m.tile_at(kAtRf) : ones();
    const Dims spatial = product(m.factors[kAtRows], m.factors[kAtCols]);
    const double pe_tile = sh.footprint(x, tile);
    const double bits = ctx.prices.bits[x];
    if (kept && pe_tile * bits * scale > a.rf_bytes[x] * 8) {
      cost.why_invalid = "the register file for " + operand_name(x) + " (" +
                         bytes_text(a.rf_bytes[x] * 8) + " per PE) cannot hold a tile of " +
                         bytes_text(pe_tile * bits * scale);
      return false;
    }
    LoopList above;
    if (!kept) above.add_level(m, kOrderRf, kAtRf);
    above.add_level(m, kOrderGlb, kAtGlb);
    above.add_level(m, kOrderDram, kAtDram);
    const Fills f = refills(x, above, kept);
    const bool shares = x == kPsums ? a.noc_forwarding : (a.noc_multicast || a.noc_forwarding);
    const double per_fill = shares ? sh.footprint(x, product(tile, spatial)) : pe_tile * pes;
    // Psums go out after each pass and come back for all but the first.
    const double trips = x == kPsums ? 2 * f.fills - f.distinct : f.fills;
    const int parent = a.glb_holds[x] ? kGlb : kDram;
    cost.words[x][kNoc] += trips * pe_tile * pes * scale;
    cost.words[x][parent] += trips * per_fill * scale;
    if (kept) {
      const double per_mac = x == kPsums ? 2 : 1;
      const double mac_share = x == kWeights && ctx.arch->sparse == SparseMode::kGate ? 1 : density;
      cost.words[x][kRf] += per_mac * macs_slots * mac_share + trips * pe_tile * pes * scale;
    } else if (x == kPsums) {
      cost.words[x][kNoc] *= density;
    }
    if (a.glb_holds[x]) glb_level(x, scale, glb_bits);
    return true;
  }

  void glb_level(int x, double scale, double& glb_bits) {
    const LayerShape& sh = ctx.layer->shape;
    const double tile = sh.footprint(x, m.tile_at(kAtGlb));
    glb_bits += tile * ctx.prices.bits[x] * scale;
    LoopList above;
    above.add_level(m, kOrderDram, kAtDram);
    const Fills f = refills(x, above, true);
    const double trips = x == kPsums ? 2 * f.fills - f.distinct : f.fills;
    cost.words[x][kDram] += trips * tile * scale;
    cost.words[x][kGlb] += trips * tile * scale;
  }
};

void add_energy(const EvalContext& ctx, const Mapping& m, Cost& c) {
  const Prices& p = ctx.prices;
  for (int x = 0; x < kOperands; ++x)
    for (int l = kDram; l <= kRf; ++l)
      c.energy_pj[l] += c.words[x][l] * p.bits[x] * p.pj_per_bit[l];
  // Final outputs leave in the activation format, not the accumulator's.
  const double outputs = ctx.layer->shape.footprint(kPsums, m.tile_at(kAtDram));
  c.energy_pj[kDram] -= std::min(outputs, c.words[kPsums][kDram]) *
                        (p.bits[kPsums] - p.output_bits) * p.pj_per_bit[kDram];
  c.energy_pj[kMac] = c.macs * p.mac_pj;
  c.total_pj = 0;
  for (double e : c.energy_pj) c.total_pj += e;
}

void add_cycles(const EvalContext& ctx, double temporal_iters, double density, Cost& c) {
  const Architecture& a = *ctx.arch;
  double dram_bits = 0, glb_bits = 0;
  for (int x = 0; x < kOperands; ++x) {
    dram_bits += c.words[x][kDram] * ctx.prices.bits[x];
    glb_bits += c.words[x][kGlb] * ctx.prices.bits[x];
  }
  const double dram_bits_per_cycle = a.dram_gbps * 8e9 / (a.clock_mhz * 1e6);
  const double glb_bits_per_cycle = double(a.glb_banks) * a.glb_bank_bits;
  c.compute_cycles = temporal_iters * (a.sparse == SparseMode::kSkip ? density : 1.0);
  c.cycles =
      std::max({c.compute_cycles, dram_bits / dram_bits_per_cycle, glb_bits / glb_bits_per_cycle});
  c.utilization = c.macs / (c.cycles * a.pes());
}

bool within_rules(const EvalContext& ctx, const Mapping& m, Cost& c) {
  const Architecture& a = *ctx.arch;
  const Dims& rows = m.factors[kAtRows];
  const Dims& cols = m.factors[kAtCols];
  if (product_of(rows) > a.pe_rows || product_of(cols) > a.pe_cols) {
    c.why_invalid = "the spatial factors exceed the PE array";
    return false;
  }
  for (int d = 0; d < kDims; ++d) {
    if ((m.factors[kAtRf][d] > 1 && !ctx.rules.at_rf[d]) ||
        (rows[d] > 1 && !ctx.rules.at_rows[d]) || (cols[d] > 1 && !ctx.rules.at_cols[d])) {
      c.why_invalid =
          std::string("dimension ") + dim_name(d) + " is placed where the dataflow forbids it";
      return false;
    }
  }
  for (int x = 0; x < kOperands; ++x) {
    if (ctx.rules.keeps[x] && !(a.rf_bytes[x] > 0)) {
      c.why_invalid = "the dataflow keeps " + operand_name(x) + " in a register file of 0 bytes";
      return false;
    }
  }
  return true;
}

}  // namespace

Dims Mapping::tile_at(int place) const {
  Dims t = ones();
  for (int p = 0; p <= place; ++p) t = product(t, factors[p]);
  return t;
}

std::string Mapping::str() const {
  static const char* const names[] = {"RF", "rows", "cols", "GLB", "DRAM"};
  static const int level_of[] = {kOrderRf, -1, -1, kOrderGlb, kOrderDram};
  std::string s;
  for (int p = 0; p < kPlaces; ++p) {
    std::string inner;
    // Temporal levels list their loops outermost first, like the loop nest reads.
    std::array<int, kDims> dims =
        level_of[p] >= 0 ? order[level_of[p]] : std::array<int, kDims>{0, 1, 2, 3, 4, 5, 6, 7};
    if (level_of[p] >= 0) std::reverse(dims.begin(), dims.end());
    for (int d : dims)
      if (factors[p][d] > 1)
        inner +=
            (inner.empty() ? "" : " ") + std::string(dim_name(d)) + std::to_string(factors[p][d]);
    s += (s.empty() ? "" : " ") + std::string(names[p]) + "[" + inner + "]";
  }
  return s;
}

DataflowRules dataflow_rules(Dataflow dataflow) {
  DataflowRules r;
  for (int x = 0; x < kOperands; ++x) r.keeps[x] = keeps_in_rf(dataflow, x);
  auto set = [](std::array<bool, kDims>& a, std::initializer_list<int> dims) {
    for (int d : dims) a[d] = true;
  };
  switch (dataflow) {
    case Dataflow::kWeightStationary:  // weights pinned in the PEs, C x M across the array
      set(r.at_rf, {kN, kM, kC, kP, kQ, kR, kS});
      set(r.at_rows, {kC, kR, kS});
      set(r.at_cols, {kM, kG});
      break;
    case Dataflow::kOutputStationary:  // each PE owns output pixels and accumulates them
      set(r.at_rf, {kN, kM, kC, kP, kQ, kR, kS});
      set(r.at_rows, {kP, kN, kG});
      set(r.at_cols, {kQ, kM});
      break;
    case Dataflow::kRowStationary:  // a filter row x an input row per PE: R down, P across
      set(r.at_rf, {kN, kM, kC, kQ, kS});
      set(r.at_rows, {kR, kC});
      set(r.at_cols, {kP, kM, kN, kG});
      break;
    case Dataflow::kNoLocalReuse:  // no RF: C x M across the array, everything from the buffer
      set(r.at_rows, {kC});
      set(r.at_cols, {kM, kG});
      break;
  }
  return r;
}

std::array<int, kDims> class_order(int stationary) {
  std::array<int, kDims> o{};
  int i = 0;
  for (bool indexes : {false, true})
    for (int d = 0; d < kDims; ++d)
      if (d != kG && relevant(stationary, d) == indexes) o[i++] = d;
  o[i] = kG;  // G indexes every operand: outermost
  return o;
}

Cost evaluate(const EvalContext& ctx, const Mapping& m) {
  Cost c;
  if (!within_rules(ctx, m, c)) return c;
  const Architecture& a = *ctx.arch;
  const LayerShape& sh = ctx.layer->shape;
  const double density = a.sparse == SparseMode::kNone ? 1.0 : ctx.layer->weights.density();
  const double pes = product_of(m.factors[kAtRows]) * product_of(m.factors[kAtCols]);
  const double temporal =
      product_of(product(m.factors[kAtRf], product(m.factors[kAtGlb], m.factors[kAtDram])));
  OperandTraffic t{ctx, m, c, pes, temporal * pes, density};
  double glb_bits = 0;
  for (int x = 0; x < kOperands; ++x)
    if (!t.pe_level(x, x == kWeights ? t.weight_ratio() : 1.0, glb_bits)) return c;
  if (glb_bits > a.glb_bytes * 8) {
    c.why_invalid = "the global buffer (" + bytes_text(a.glb_bytes * 8) +
                    ") cannot hold the tiles of " + bytes_text(glb_bits);
    return c;
  }
  c.macs = double(sh.macs()) * density;
  add_energy(ctx, m, c);
  add_cycles(ctx, temporal, density, c);
  c.valid = true;
  return c;
}

}  // namespace frugal::accel
