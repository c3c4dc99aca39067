// Mapping search (see mapper.h).
#include "frugal/accel/mapper.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"

namespace frugal::accel {
namespace {

std::vector<int64_t> divisors(int64_t n) {
  std::vector<int64_t> d;
  for (int64_t i = 1; i * i <= n; ++i)
    if (n % i == 0) {
      d.push_back(i);
      if (i != n / i) d.push_back(n / i);
    }
  std::sort(d.begin(), d.end());
  return d;
}

// Spatial factors for a dimension of `bound` on `extent` PEs: every ceil(bound / k) that fits.
std::vector<int64_t> spatial_candidates(int64_t bound, int64_t extent) {
  std::vector<int64_t> v;
  for (int64_t k = 1; k <= bound; ++k) {
    const int64_t f = (bound + k - 1) / k;
    if (f <= extent && (v.empty() || v.back() != f)) v.push_back(f);
  }
  std::reverse(v.begin(), v.end());  // ascending
  return v;
}

struct Split {
  int64_t rf, glb, dram;
};

// The pruned space of one layer: spatial assignments, and per assignment and dimension the
// RF x GLB x DRAM splits of what the array leaves.
struct Space {
  const EvalContext& ctx;
  std::vector<std::array<int64_t, kDims>> rows, cols;  // parallel: one spatial assignment each

  void build_spatial() {
    const Architecture& a = *ctx.arch;
    const Dims& b = ctx.layer->shape.bounds;
    std::vector<std::vector<int64_t>> opts(kDims);
    for (int d = 0; d < kDims; ++d) {
      if (ctx.rules.at_rows[d])
        opts[d] = spatial_candidates(b[d], a.pe_rows);
      else if (ctx.rules.at_cols[d])
        opts[d] = spatial_candidates(b[d], a.pe_cols);
      else
        opts[d] = {1};
    }
    std::array<int64_t, kDims> pick{};
    enumerate_spatial(opts, 0, pick, 1, 1);
  }

  double pes(size_t s) const {
    double p = 1;
    for (int d = 0; d < kDims; ++d) p *= double(rows[s][d] * cols[s][d]);
    return p;
  }

  void keep_at_least(double min_pes) {
    size_t k = 0;
    for (size_t s = 0; s < rows.size(); ++s)
      if (pes(s) >= min_pes) rows[k] = rows[s], cols[k] = cols[s], ++k;
    rows.resize(k);
    cols.resize(k);
  }

  double most_pes() const {
    double best = 1;
    for (size_t s = 0; s < rows.size(); ++s) best = std::max(best, pes(s));
    return best;
  }

  void enumerate_spatial(const std::vector<std::vector<int64_t>>& opts, int d,
                         std::array<int64_t, kDims>& pick, int64_t r, int64_t c) {
    if (d == kDims) {
      Dims rw, cl;
      for (int i = 0; i < kDims; ++i) {
        rw[i] = ctx.rules.at_rows[i] ? pick[i] : 1;
        cl[i] = ctx.rules.at_cols[i] ? pick[i] : 1;
      }
      rows.push_back(rw);
      cols.push_back(cl);
      return;
    }
    for (int64_t f : opts[d]) {
      const int64_t r2 = ctx.rules.at_rows[d] ? r * f : r, c2 = ctx.rules.at_cols[d] ? c * f : c;
      if (r2 > ctx.arch->pe_rows || c2 > ctx.arch->pe_cols) break;  // options ascend
      pick[d] = f;
      enumerate_spatial(opts, d + 1, pick, r2, c2);
    }
  }

  std::array<std::vector<Split>, kDims> splits(size_t s) const {
    std::array<std::vector<Split>, kDims> out;
    const Dims& b = ctx.layer->shape.bounds;
    for (int d = 0; d < kDims; ++d) {
      const int64_t sp = rows[s][d] * cols[s][d];
      const int64_t rest = (b[d] + sp - 1) / sp;
      for (int64_t rf : ctx.rules.at_rf[d] ? divisors(rest) : std::vector<int64_t>{1})
        for (int64_t glb : divisors(rest / rf)) out[d].push_back({rf, glb, rest / rf / glb});
    }
    return out;
  }
};

Mapping assemble(const Space& sp, size_t s, const std::array<std::vector<Split>, kDims>& splits,
                 const std::array<size_t, kDims>& pick, const std::array<int, 3>& stationary) {
  Mapping m;
  m.factors[kAtRows] = sp.rows[s];
  m.factors[kAtCols] = sp.cols[s];
  for (int d = 0; d < kDims; ++d) {
    const Split& x = splits[d][pick[d]];
    m.factors[kAtRf][d] = x.rf;
    m.factors[kAtGlb][d] = x.glb;
    m.factors[kAtDram][d] = x.dram;
  }
  for (int l = 0; l < 3; ++l) m.order[l] = class_order(stationary[l]);
  return m;
}

struct Search {
  const EvalContext& ctx;
  const MapperOptions& opt;
  MapResult best;
  double best_value = std::numeric_limits<double>::infinity();
  std::chrono::steady_clock::time_point start = std::chrono::steady_clock::now();

  bool out_of_time() {
    if ((best.evaluated & 255) != 0) return best.timed_out;
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    best.timed_out = best.timed_out || s > opt.time_limit_s;
    return best.timed_out;
  }

  bool consider(const Mapping& m) {
    ++best.evaluated;
    const Cost c = evaluate(ctx, m);
    if (!c.valid) return false;
    const double v = objective_value(c, opt.objective);
    if (v < best_value) {
      best_value = v;
      best.mapping = m;
      best.cost = c;
      return true;
    }
    return false;
  }

  // Every order choice (27) for one tiling.
  void all_orders(const Space& sp, size_t s, const std::array<std::vector<Split>, kDims>& splits,
                  const std::array<size_t, kDims>& pick) {
    for (int a = 0; a < kOperands; ++a)
      for (int b = 0; b < kOperands; ++b)
        for (int c = 0; c < kOperands; ++c) consider(assemble(sp, s, splits, pick, {a, b, c}));
  }

  // Tiling number `index` of the mixed-radix space of `splits`.
  static std::array<size_t, kDims> decode(double index,
                                          const std::array<std::vector<Split>, kDims>& splits) {
    std::array<size_t, kDims> pick{};
    for (int d = 0; d < kDims; ++d) {
      const double n = double(splits[d].size());
      pick[d] = static_cast<size_t>(std::fmod(index, n));
      index = std::floor(index / n);
    }
    return pick;
  }

  void run(const Space& sp) {
    std::vector<std::array<std::vector<Split>, kDims>> all(sp.rows.size());
    std::vector<double> sizes(sp.rows.size());
    for (size_t s = 0; s < sp.rows.size(); ++s) {
      all[s] = sp.splits(s);
      sizes[s] = 1;
      for (const auto& v : all[s]) sizes[s] *= double(v.size());
      best.space += sizes[s] * 27;
    }
    best.exhaustive = best.space <= double(opt.max_evaluations);
    const Philox rng(opt.seed);
    uint64_t counter = 0;
    const double per_spatial =
        std::max(1.0, double(opt.max_evaluations) / 27 / double(sp.rows.size()));
    for (size_t s = 0; s < sp.rows.size() && !out_of_time(); ++s) {
      const bool every = best.exhaustive || sizes[s] <= per_spatial;
      const double n = every ? sizes[s] : per_spatial;
      for (double i = 0; i < n && !out_of_time(); ++i) {
        const double u = (double(rng.u32(counter)) * 4294967296.0 + rng.u32(counter + 1)) /
                         18446744073709551616.0;
        counter += 2;
        const double index = every ? i : std::floor(u * sizes[s]);
        all_orders(sp, s, all[s], decode(index, all[s]));
      }
    }
    if (!best.exhaustive) refine();
  }

  // Hill climbing from the best sample: move one prime factor between temporal levels, or
  // change one level's order, while the objective improves.
  void refine() {
    if (!(best_value < std::numeric_limits<double>::infinity())) return;
    static const int kTemporal[] = {kAtRf, kAtGlb, kAtDram};
    for (bool improved = true; improved && !out_of_time();) {
      improved = false;
      const Mapping base = best.mapping;
      for (int d = 0; d < kDims; ++d)
        for (int from : kTemporal)
          for (int to : kTemporal) {
            const int64_t f = base.factors[from][d];
            if (from == to || f == 1) continue;
            int64_t p = 2;
            while (f % p != 0) ++p;
            Mapping m = base;
            m.factors[from][d] /= p;
            m.factors[to][d] *= p;
            improved = consider(m) || improved;
          }
      for (int l = 0; l < 3; ++l)
        for (int x = 0; x < kOperands; ++x) {
          Mapping m = base;
          m.order[l] = class_order(x);
          improved = consider(m) || improved;
        }
    }
  }
};

}  // namespace

Objective parse_objective(const std::string& name, const std::string& option) {
  if (name == "energy") return Objective::kEnergy;
  if (name == "delay") return Objective::kDelay;
  if (name == "edp") return Objective::kEdp;
  throw UserError(option + ": unknown objective '" + name + "' (expected energy, delay or edp)");
}

std::string to_string(Objective o) {
  return o == Objective::kEnergy ? "energy" : o == Objective::kDelay ? "delay" : "edp";
}

double objective_value(const Cost& c, Objective o) {
  // Ties on the main objective go to the other one (a tiny weight keeps the order strict).
  switch (o) {
    case Objective::kEnergy:
      return c.total_pj * (1 + 1e-12 * c.cycles);
    case Objective::kDelay:
      return c.cycles * (1 + 1e-15 * c.total_pj);
    case Objective::kEdp:
      return c.total_pj * c.cycles;
  }
  return c.total_pj;
}

double min_pes_used(const EvalContext& ctx, const MapperOptions& options) {
  Space sp{ctx, {}, {}};
  sp.build_spatial();
  return options.min_array_share * sp.most_pes();
}

Mapping smallest_mapping(const Layer& layer) {
  Mapping m;
  for (auto& f : m.factors) f.fill(1);
  m.factors[kAtDram] = layer.shape.bounds;
  for (int l = 0; l < 3; ++l) m.order[l] = class_order(kWeights);
  return m;
}

MapResult map_layer(const EvalContext& ctx, const MapperOptions& options) {
  const Cost smallest = evaluate(ctx, smallest_mapping(*ctx.layer));
  if (!smallest.valid)
    throw UserError("layer '" + ctx.layer->node + "' (" + ctx.layer->op + ") on '" +
                    ctx.arch->name + "', dataflow " + to_string(ctx.dataflow) +
                    ": even the smallest tile does not fit: " + smallest.why_invalid);
  Space sp{ctx, {}, {}};
  sp.build_spatial();
  sp.keep_at_least(options.min_array_share * sp.most_pes());
  Search search{ctx, options, {}};
  search.run(sp);
  return search.best;
}

}  // namespace frugal::accel
