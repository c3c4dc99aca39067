#include "frugal/runtime/calibrate.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

namespace frugal::runtime {
namespace {

// Widens `r` (when `seen`) by the finite elements of `t`; returns whether any was finite.
bool observe(const Tensor& t, kernels::ValueRange& r, bool seen) {
  if (!dtype_is_float(t.dtype())) return false;
  auto take = [&](double v) {
    if (!std::isfinite(v)) return;
    const float f = static_cast<float>(v);
    if (!seen) {
      r = {f, f};
      seen = true;
    } else {
      r.min = std::min(r.min, f);
      r.max = std::max(r.max, f);
    }
  };
  if (t.dtype() == DType::kF32) {
    for (float v : t.span<float>()) take(v);
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) take(t.at_double(i));
  }
  return seen;
}

// A session over `graph` that returns every node output as a graph output (so that each
// intermediate value is handed back), on `base`'s backends without those that read
// activation ranges (they would observe their own quantization).
Session observing_session(const ir::Graph& graph, SessionOptions base) {
  ir::Graph observed = graph;
  std::set<std::string> outputs;
  for (const auto& o : observed.outputs) outputs.insert(o.name);
  for (const auto& n : observed.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty() && outputs.insert(o).second)
        observed.outputs.push_back(ir::ValueInfo{o, DType::kUndefined, std::nullopt});
  base.backends = kernels::resolve_backends(base.backends);
  std::erase_if(base.backends,
                [](const std::string& b) { return kernels::backend_traits(b).reads_ranges; });
  if (base.backends.empty()) base.backends = {"ref"};
  return Session(observed, base);
}

// Runs every batch and calls `take(name, tensor)` for each graph input and node output.
template <typename F>
void observe_all(Session& session, const std::vector<std::vector<Tensor>>& input_batches, F take) {
  for (size_t b = 0; b < input_batches.size(); ++b) {
    const auto& batch = input_batches[b];
    if (batch.size() != session.inputs().size())
      throw UserError("calibration batch " + std::to_string(b) + ": " +
                      std::to_string(batch.size()) + " tensors for " +
                      std::to_string(session.inputs().size()) + " graph inputs");
    const std::vector<Tensor> outs = session.run(batch);
    for (size_t i = 0; i < batch.size(); ++i) take(session.inputs()[i].name, batch[i]);
    for (size_t i = 0; i < outs.size(); ++i) take(session.outputs()[i].name, outs[i]);
  }
}

template <typename F>
void for_each_double(const Tensor& t, F f) {
  if (t.dtype() == DType::kF32) {
    for (float v : t.span<float>()) f(static_cast<double>(v));
  } else {
    for (int64_t i = 0; i < t.numel(); ++i) f(t.at_double(i));
  }
}

// The quantization step of the 8-bit grid over [lo, hi] (widened to include 0).
double grid_step(double lo, double hi, bool symmetric) {
  lo = std::min(lo, 0.0);
  hi = std::max(hi, 0.0);
  return symmetric ? std::max(-lo, hi) / 127.0 : (hi - lo) / 255.0;
}

double percentile_threshold(const Histogram& h, double percentile) {
  const double target = percentile / 100.0 * static_cast<double>(h.finite);
  double cum = 0;
  for (size_t i = 0; i < h.counts.size(); ++i) {
    cum += h.counts[i];
    if (cum >= target) return h.bin_width() * static_cast<double>(i + 1);
  }
  return h.amax;
}

double mse_threshold(const Histogram& h, bool symmetric) {
  const size_t n = h.counts.size();
  const double w = h.bin_width();
  // Suffix sums over bins above a candidate: count, sum of centres, sum of squared centres.
  std::vector<double> s0(n + 1, 0), s1(n + 1, 0), s2(n + 1, 0);
  for (size_t i = n; i-- > 0;) {
    const double c = (static_cast<double>(i) + 0.5) * w;
    s0[i] = s0[i + 1] + h.counts[i];
    s1[i] = s1[i + 1] + h.counts[i] * c;
    s2[i] = s2[i + 1] + h.counts[i] * c * c;
  }
  double best_t = h.amax, best = -1;
  for (size_t k = 1; k <= n; ++k) {  // t = upper edge of bin k-1; bins k.. are clipped
    const double t = w * static_cast<double>(k);
    const double lo = std::max<double>(h.extent.min, -t), hi = std::min<double>(h.extent.max, t);
    const double step = grid_step(lo, hi, symmetric);
    const double clip = s2[k] - 2 * t * s1[k] + t * t * s0[k];
    const double err = std::max(clip, 0.0) + (s0[0] - s0[k]) * step * step / 12.0;
    if (best < 0 || err <= best) {  // ties toward the wider range
      best = err;
      best_t = t;
    }
  }
  return best_t;
}

double entropy_threshold(const Histogram& hist, int64_t levels) {
  const int64_t n = static_cast<int64_t>(hist.counts.size());
  int64_t nonzero = 0;
  for (double c : hist.counts) nonzero += c > 0;
  if (nonzero <= 1 || n <= levels) return hist.amax;  // constant (or too coarse): keep it all
  // The spike of exact zeros a ReLU leaves in bin 0 would dominate the divergence and push
  // the threshold down; like NVIDIA's pytorch-quantization, bin 0 takes bin 1's count.
  Histogram h = hist;
  h.counts[0] = h.counts[1];
  std::vector<double> p, q;
  double best = std::numeric_limits<double>::infinity();
  int64_t best_i = n;
  double total_above = 0;
  for (int64_t i = n - 1; i >= levels; --i) total_above += h.counts[static_cast<size_t>(i)];
  // total_above now holds counts[levels..n); walk i upward, removing bin i-1 as it joins.
  for (int64_t i = levels; i <= n; ++i) {
    if (i > levels) total_above -= h.counts[static_cast<size_t>(i - 1)];
    p.assign(h.counts.begin(), h.counts.begin() + i);
    p[static_cast<size_t>(i - 1)] += total_above;  // outliers clipped into the last bin
    q.assign(static_cast<size_t>(i), 0.0);
    for (int64_t j = 0; j < levels; ++j) {
      const int64_t a = j * i / levels, b = (j + 1) * i / levels;
      double sum = 0;
      int64_t used = 0;
      for (int64_t k = a; k < b; ++k) {
        sum += h.counts[static_cast<size_t>(k)];
        used += p[static_cast<size_t>(k)] > 0;
      }
      if (used == 0) continue;
      for (int64_t k = a; k < b; ++k)
        if (p[static_cast<size_t>(k)] > 0)
          q[static_cast<size_t>(k)] = sum / static_cast<double>(used);
    }
    double sp = 0, sq = 0;
    for (int64_t k = 0; k < i; ++k)
      sp += p[static_cast<size_t>(k)], sq += q[static_cast<size_t>(k)];
    if (sp <= 0 || sq <= 0) continue;
    double kl = 0;
    for (int64_t k = 0; k < i; ++k) {
      const double pk = p[static_cast<size_t>(k)] / sp;
      if (pk <= 0) continue;
      const double qk = std::max(q[static_cast<size_t>(k)] / sq, 1e-12);
      kl += pk * std::log(pk / qk);
    }
    if (kl <= best + 1e-12) {  // ties toward the wider range
      best = std::min(best, kl);
      best_i = i;
    }
  }
  return std::min(h.amax, h.bin_width() * (static_cast<double>(best_i) + 0.5));
}

}  // namespace

std::string calibration_method_name(const CalibrationOptions& options) {
  switch (options.method) {
    case CalibMethod::kMinMax:
      return "minmax";
    case CalibMethod::kPercentile: {
      std::ostringstream s;
      s << "percentile:" << options.percentile;
      return s.str();
    }
    case CalibMethod::kMse:
      return "mse";
    case CalibMethod::kEntropy:
      return "entropy";
  }
  return "minmax";
}

void parse_calibration_method(const std::string& text, const std::string& origin,
                              CalibrationOptions& options) {
  const std::string forms = "minmax, percentile[:P] (0 < P <= 100), mse or entropy";
  if (text == "minmax") {
    options.method = CalibMethod::kMinMax;
  } else if (text == "mse") {
    options.method = CalibMethod::kMse;
  } else if (text == "entropy") {
    options.method = CalibMethod::kEntropy;
  } else if (text.rfind("percentile", 0) == 0) {
    options.method = CalibMethod::kPercentile;
    if (text.size() > 10) {
      if (text[10] != ':') throw UserError(origin + ": '" + text + "' is not " + forms);
      const std::string num = text.substr(11);
      double p = 0;
      size_t used = 0;
      try {
        p = std::stod(num, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (num.empty() || used != num.size() || !(p > 0 && p <= 100))
        throw UserError(origin + ": percentile '" + num + "' is not a number in (0, 100]");
      options.percentile = p;
    }
  } else {
    throw UserError(origin + ": '" + text + "' is not " + forms);
  }
}

std::map<std::string, Histogram> collect_histograms(
    const ir::Graph& graph, const std::vector<std::vector<Tensor>>& input_batches,
    SessionOptions base, int64_t bins) {
  if (input_batches.empty()) throw UserError("calibration: no input batches given");
  if (bins < 1) throw UserError("calibration: histogram bins must be positive");
  Session session = observing_session(graph, base);
  std::map<std::string, Histogram> hist;
  // Pass 1: extents.
  observe_all(session, input_batches, [&](const std::string& name, const Tensor& t) {
    if (!dtype_is_float(t.dtype())) return;
    Histogram& h = hist[name];
    for_each_double(t, [&](double v) {
      if (!std::isfinite(v)) {
        ++h.nonfinite;
        return;
      }
      const float f = static_cast<float>(v);
      if (h.finite == 0) {
        h.extent = {f, f};
      } else {
        h.extent.min = std::min(h.extent.min, f);
        h.extent.max = std::max(h.extent.max, f);
      }
      ++h.finite;
    });
  });
  std::erase_if(hist, [](const auto& kv) { return kv.second.finite == 0; });
  for (auto& [name, h] : hist) {
    h.amax = std::max(std::fabs(static_cast<double>(h.extent.min)),
                      std::fabs(static_cast<double>(h.extent.max)));
    h.counts.assign(static_cast<size_t>(bins), 0.0);
  }
  // Pass 2: counts of |x| over [0, amax].
  observe_all(session, input_batches, [&](const std::string& name, const Tensor& t) {
    auto it = hist.find(name);
    if (it == hist.end()) return;
    Histogram& h = it->second;
    const double scale = h.amax > 0 ? static_cast<double>(bins) / h.amax : 0.0;
    for_each_double(t, [&](double v) {
      if (!std::isfinite(v)) return;
      const auto i = static_cast<int64_t>(std::fabs(v) * scale);
      h.counts[static_cast<size_t>(std::clamp<int64_t>(i, 0, bins - 1))] += 1;
    });
  });
  return hist;
}

Histogram make_histogram(std::span<const float> values, int64_t bins) {
  if (bins < 1) throw UserError("calibration: histogram bins must be positive");
  Histogram h;
  for (float f : values) {
    if (!std::isfinite(f)) {
      ++h.nonfinite;
      continue;
    }
    h.extent = h.finite == 0
                   ? kernels::ValueRange{f, f}
                   : kernels::ValueRange{std::min(h.extent.min, f), std::max(h.extent.max, f)};
    ++h.finite;
  }
  h.amax = h.finite == 0 ? 0.0
                         : std::max(std::fabs(static_cast<double>(h.extent.min)),
                                    std::fabs(static_cast<double>(h.extent.max)));
  h.counts.assign(static_cast<size_t>(bins), 0.0);
  const double scale = h.amax > 0 ? static_cast<double>(bins) / h.amax : 0.0;
  for (float f : values)
    if (std::isfinite(f))
      h.counts[static_cast<size_t>(std::clamp<int64_t>(
          static_cast<int64_t>(std::fabs(static_cast<double>(f)) * scale), 0, bins - 1))] += 1;
  return h;
}

double select_threshold(const Histogram& h, const CalibrationOptions& options) {
  if (h.amax <= 0 || h.counts.empty()) return 0;
  switch (options.method) {
    case CalibMethod::kMinMax:
      return h.amax;
    case CalibMethod::kPercentile:
      return percentile_threshold(h, options.percentile);
    case CalibMethod::kMse:
      return mse_threshold(h, options.symmetric);
    case CalibMethod::kEntropy: {
      int64_t levels = options.levels;
      if (levels <= 0) levels = (!options.symmetric && h.extent.min >= 0) ? 256 : 128;
      return entropy_threshold(h, levels);
    }
  }
  return h.amax;
}

kernels::ValueRange select_range(const Histogram& h, const CalibrationOptions& options) {
  if (options.method == CalibMethod::kMinMax || h.amax <= 0) return h.extent;
  const double t = select_threshold(h, options);
  kernels::ValueRange r;
  r.min = static_cast<float>(std::max<double>(h.extent.min, -t));
  r.max = static_cast<float>(std::min<double>(h.extent.max, t));
  if (r.min > r.max) r = h.extent;  // cannot happen for t > 0; kept as a guard
  return r;
}

RangeMap calibrate(const ir::Graph& graph, const std::vector<std::vector<Tensor>>& input_batches,
                   SessionOptions base, const CalibrationOptions& options) {
  if (options.method == CalibMethod::kMinMax) return calibrate_minmax(graph, input_batches, base);
  RangeMap ranges;
  for (const auto& [name, h] : collect_histograms(graph, input_batches, base, options.bins))
    ranges[name] = select_range(h, options);
  return ranges;
}

RangeMap calibrate_minmax(const ir::Graph& graph,
                          const std::vector<std::vector<Tensor>>& input_batches,
                          SessionOptions base) {
  if (input_batches.empty()) throw UserError("calibration: no input batches given");
  // Every node output becomes a graph output, so that the session hands it back.
  Session session = observing_session(graph, base);

  RangeMap ranges;
  std::set<std::string> seen;
  auto take = [&](const std::string& name, const Tensor& t) {
    if (observe(t, ranges[name], seen.count(name) != 0)) {
      seen.insert(name);
    } else if (!seen.count(name)) {
      ranges.erase(name);
    }
  };
  observe_all(session, input_batches, take);
  return ranges;
}

}  // namespace frugal::runtime
