#include "frugal/compress/mixed_precision.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <set>

namespace frugal::compress {

const char* precision_name(LayerPrecision p) {
  switch (p) {
    case LayerPrecision::kFp32:
      return "fp32";
    case LayerPrecision::kBf16:
      return "bf16";
    case LayerPrecision::kInt8:
      return "int8";
  }
  return "?";
}

namespace {

// Pareto front: sorted by latency, each kept only if more accurate than every faster one.
std::vector<Evaluated> pareto_front(std::vector<Evaluated> all) {
  std::stable_sort(all.begin(), all.end(), [](const Evaluated& a, const Evaluated& b) {
    return a.latency < b.latency || (a.latency == b.latency && a.score > b.score);
  });
  std::vector<Evaluated> front;
  double best_score = -std::numeric_limits<double>::infinity();
  for (auto& e : all)
    if (e.score > best_score) {
      best_score = e.score;
      front.push_back(std::move(e));
    }
  return front;
}

}  // namespace

MixedPrecisionResult search_mixed_precision(const std::vector<std::string>& layers,
                                            const PrecisionScoreFn& score,
                                            const PrecisionLatencyFn& latency,
                                            const MixedPrecisionOptions& options) {
  if (layers.empty()) throw UserError("mixed precision: no layers to assign");
  if (std::set<std::string>(layers.begin(), layers.end()).size() != layers.size())
    throw UserError("mixed precision: a layer is listed twice");
  if (!std::isfinite(options.max_drop) || options.max_drop < 0)
    throw UserError("--max-drop: must be a finite number of points >= 0");
  if (options.candidates.empty()) throw UserError("mixed precision: no candidate precision");

  MixedPrecisionResult r;
  auto evaluate = [&](const PrecisionMap& a, const char* origin) {
    Evaluated e{a, score(a), latency(a), origin};
    r.evaluated.push_back(e);
    return e;
  };
  r.baseline = evaluate({}, "baseline");

  // One layer at a time.
  for (const auto& layer : layers)
    for (LayerPrecision p : options.candidates) {
      if (p == LayerPrecision::kFp32) continue;
      const Evaluated e = evaluate({{layer, p}}, "sensitivity");
      r.sensitivity.push_back(
          {layer, p, r.baseline.score - e.score, r.baseline.latency - e.latency});
    }

  // Least drop per unit of gain first; moves that gain nothing last, by drop.
  std::vector<LayerSensitivity> moves = r.sensitivity;
  auto cost = [](const LayerSensitivity& m) {
    const double drop = std::max(m.drop, 0.0);
    return m.gain > 0 ? drop / m.gain : std::numeric_limits<double>::infinity();
  };
  std::stable_sort(moves.begin(), moves.end(),
                   [&](const LayerSensitivity& a, const LayerSensitivity& b) {
                     const double ca = cost(a), cb = cost(b);
                     if (ca != cb) return ca < cb;
                     return a.drop < b.drop;
                   });
  PrecisionMap current;
  for (const auto& m : moves) {
    if (m.gain <= 0) break;  // nothing left that is faster
    auto it = current.find(m.layer);
    // A layer's cheaper move came first; a later one for the same layer replaces it only
    // when it gains more on its own.
    if (it != current.end()) {
      double had = 0;
      for (const auto& s : r.sensitivity)
        if (s.layer == m.layer && s.precision == it->second) had = s.gain;
      if (m.gain <= had) continue;
    }
    current[m.layer] = m.precision;
    evaluate(current, "search");
  }

  r.front = pareto_front(r.evaluated);
  r.best = r.baseline;
  for (const auto& e : r.evaluated)
    if (r.baseline.score - e.score <= options.max_drop && (!r.met || e.latency < r.best.latency)) {
      r.best = e;
      r.met = true;
    }
  return r;
}

runtime::SessionOptions session_options(const runtime::SessionOptions& base,
                                        const PrecisionMap& assignment) {
  runtime::SessionOptions o = base;
  // The backends able to run every precision: the base backends of `base` (kernels/backend.h
  // with_precision), with the reference kernels last.
  std::vector<std::string> fp32 = *kernels::with_precision(base.backends, "fp32");
  if (std::find(fp32.begin(), fp32.end(), "ref") == fp32.end()) fp32.push_back("ref");
  for (const auto& [node, p] : assignment) {
    const char* name = p == LayerPrecision::kBf16   ? "bf16"
                       : p == LayerPrecision::kInt8 ? "int8"
                                                    : "fp32";
    const auto list = kernels::with_precision(fp32, name);
    if (!list)
      throw UserError("--precision-map: node '" + node + "': " + name + " applies to the " +
                      kernels::backends_with_precision(name) + " backend, not in the list " +
                      "given");
    o.node_backends[node] = *list;
  }
  return o;
}

}  // namespace frugal::compress
