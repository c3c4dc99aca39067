#include "frugal/compress/prune.h"

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <numeric>
#include <sstream>

#include "frugal/compress/structured.h"
#include "frugal/core/error.h"

namespace frugal::compress {
namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::stringstream in(s);
  std::string part;
  while (std::getline(in, part, sep)) out.push_back(trim(part));
  if (!s.empty() && s.back() == sep) out.push_back("");
  return out;
}

double parse_sparsity(const std::string& text, const std::string& option, const std::string& what) {
  double v = 0;
  size_t used = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || !std::isfinite(v))
    throw UserError(option + ": " + what + "'" + text +
                    "' is not a number (expected a sparsity in [0, 1))");
  if (v < 0 || v >= 1)
    throw UserError(option + ": " + what + "sparsity " + text + " is outside [0, 1)");
  return v;
}

int parse_small_int(const std::string& text, const std::string& option, const std::string& what) {
  size_t used = 0;
  long long v = -1;
  try {
    v = std::stoll(text, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (text.empty() || used != text.size() || v < 0 || v > 1024)
    throw UserError(option + ": " + what + " '" + text + "' is not an integer in 0..1024");
  return static_cast<int>(v);
}

std::string fmt_double(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

std::string layer_list(const std::vector<PrunableLayer>& layers) {
  std::string s;
  for (size_t i = 0; i < layers.size() && i < 40; ++i) s += (i ? ", " : "") + layers[i].name;
  if (layers.size() > 40) s += ", ... (" + std::to_string(layers.size()) + " in all)";
  return s.empty() ? "none" : s;
}

// Indices of the k smallest |w| (ties: lower position first).
void prune_smallest(const float* w, int64_t n, int64_t k, std::vector<uint8_t>& mask) {
  mask.assign(static_cast<size_t>(n), 1);
  if (k <= 0) return;
  std::vector<int64_t> idx(static_cast<size_t>(n));
  std::iota(idx.begin(), idx.end(), int64_t{0});
  auto less = [w](int64_t a, int64_t b) {
    const float fa = std::fabs(w[a]), fb = std::fabs(w[b]);
    return fa < fb || (fa == fb && a < b);
  };
  if (k < n) std::nth_element(idx.begin(), idx.begin() + k, idx.end(), less);
  for (int64_t i = 0; i < std::min(k, n); ++i)
    mask[static_cast<size_t>(idx[static_cast<size_t>(i)])] = 0;
}

}  // namespace

bool glob_match(const std::string& pattern, const std::string& text) {
  // Iterative matcher with backtracking to the last '*'.
  size_t p = 0, t = 0, star = std::string::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p, ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (star != std::string::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::vector<PrunableLayer> prunable_layers(const ir::Graph& graph) {
  std::map<std::string, int> readers;
  for (const auto& n : graph.nodes)
    for (const auto& in : n.inputs)
      if (!in.empty()) ++readers[in];
  std::vector<PrunableLayer> out;
  for (size_t i = 0; i < graph.nodes.size(); ++i) {
    const ir::Node& n = graph.nodes[i];
    if (n.name.empty() || (!n.domain.empty() && n.domain != "ai.onnx")) continue;
    if (n.op_type != "Conv" && n.op_type != "Gemm" && n.op_type != "MatMul") continue;
    if (!n.has_input(1)) continue;
    const Tensor* w = graph.initializer(n.inputs[1]);
    if (!w || w->dtype() != DType::kF32 || readers[n.inputs[1]] != 1) continue;
    PrunableLayer l;
    l.name = n.name;
    l.op_type = n.op_type;
    l.weight = n.inputs[1];
    l.node = static_cast<int64_t>(i);
    l.shape = w->shape();
    if (n.op_type == "Conv") {
      if (w->rank() < 3) continue;
      l.rows = w->dim(0);
      l.in_channels = w->dim(1);
      l.kernel_positions = w->numel() / std::max<int64_t>(1, l.rows * l.in_channels);
      l.cols = l.in_channels * l.kernel_positions;
    } else {
      if (w->rank() != 2) continue;
      const bool trans_b = n.op_type == "Gemm" && n.attr_int("transB", 0) != 0;
      l.transposed = !trans_b;
      l.rows = trans_b ? w->dim(0) : w->dim(1);
      l.cols = trans_b ? w->dim(1) : w->dim(0);
      l.in_channels = l.cols;
    }
    if (l.numel() == 0) continue;
    out.push_back(std::move(l));
  }
  return out;
}

PruneSpec PruneSpec::parse(const std::string& raw, const std::string& option) {
  const std::string text = trim(raw);
  PruneSpec s;
  if (text.empty()) throw UserError(option + ": empty spec (e.g. 0.9, global:0.9, nm:2:4)");
  if (text == "keep") {
    s.kind = Kind::kKeep;
    return s;
  }
  if (text.rfind("global:", 0) == 0) {
    s.kind = Kind::kGlobal;
    s.sparsity = parse_sparsity(text.substr(7), option, "global ");
    return s;
  }
  if (text.rfind("nm:", 0) == 0) {
    const auto parts = split(text.substr(3), ':');
    if (parts.size() != 2)
      throw UserError(option + ": '" + text + "': expected nm:N:M (e.g. nm:2:4)");
    s.kind = Kind::kNM;
    s.n = parse_small_int(parts[0], option, "N of " + text);
    s.m = parse_small_int(parts[1], option, "M of " + text);
    if (s.m < 2 || s.m > 64) throw UserError(option + ": '" + text + "': M must be 2..64");
    if (s.n < 1 || s.n >= s.m)
      throw UserError(option + ": '" + text + "': N must be 1..M-1 (N non-zeros kept of each M)");
    return s;
  }
  if (text.rfind("channels:", 0) == 0) {
    const auto parts = split(text.substr(9), ':');
    if (parts.empty() || parts.size() > 2)
      throw UserError(option + ": '" + text + "': expected channels:RATIO[:l1|l2|bn]");
    s.kind = Kind::kChannels;
    s.sparsity = parse_sparsity(parts[0], option, "channel ratio ");
    if (parts.size() == 2) {
      s.criterion = parts[1];
      if (s.criterion != "l1" && s.criterion != "l2" && s.criterion != "bn")
        throw UserError(option + ": '" + text + "': criterion '" + s.criterion +
                        "' is not l1, l2 or bn");
    }
    return s;
  }
  if (text.find('=') != std::string::npos) {
    s.kind = Kind::kLayerwise;
    s.has_default = false;
    for (const auto& item : split(text, ',')) {
      const size_t eq = item.find('=');
      if (eq == std::string::npos || eq == 0)
        throw UserError(option + ": '" + item + "' is not LAYER=SPARSITY (in '" + text + "')");
      const std::string name = trim(item.substr(0, eq));
      const double v = parse_sparsity(trim(item.substr(eq + 1)), option, "layer " + name + ": ");
      if (name == "default") {
        s.has_default = true;
        s.sparsity = v;
      } else {
        if (s.per_layer.count(name)) throw UserError(option + ": layer '" + name + "' named twice");
        s.per_layer[name] = v;
      }
    }
    return s;
  }
  s.kind = Kind::kLayerwise;
  s.sparsity = parse_sparsity(text, option, "");
  return s;
}

void PruneSpec::add_excludes(const std::string& list) {
  for (const auto& e : split(list, ',')) {
    if (e.empty()) throw UserError("--exclude: empty name in '" + list + "'");
    exclude.push_back(e);
  }
}

std::string PruneSpec::str() const {
  std::string s;
  switch (kind) {
    case Kind::kKeep:
      s = "keep";
      break;
    case Kind::kGlobal:
      s = "global:" + fmt_double(sparsity);
      break;
    case Kind::kNM:
      s = "nm:" + std::to_string(n) + ":" + std::to_string(m);
      break;
    case Kind::kChannels:
      s = "channels:" + fmt_double(sparsity) + ":" + criterion;
      break;
    case Kind::kLayerwise:
      if (per_layer.empty()) {
        s = fmt_double(sparsity);
      } else {
        for (const auto& [k, v] : per_layer) s += (s.empty() ? "" : ",") + k + "=" + fmt_double(v);
        if (has_default) s += ",default=" + fmt_double(sparsity);
      }
      break;
  }
  if (!exclude.empty()) {
    s += " exclude=";
    for (size_t i = 0; i < exclude.size(); ++i) s += (i ? "," : "") + exclude[i];
  }
  return s;
}

std::vector<bool> excluded_layers(const std::vector<PrunableLayer>& layers,
                                  const std::vector<std::string>& exclude) {
  std::vector<bool> ex(layers.size(), false);
  for (const auto& pat : exclude) {
    bool hit = false;
    if (pat == "first" || pat == "last") {
      if (!layers.empty()) ex[pat == "first" ? 0 : layers.size() - 1] = hit = true;
    } else {
      for (size_t i = 0; i < layers.size(); ++i)
        if (glob_match(pat, layers[i].name)) ex[i] = hit = true;
    }
    if (!hit)
      throw UserError("--exclude: '" + pat +
                      "' matches no prunable layer (prunable: " + layer_list(layers) + ")");
  }
  return ex;
}

std::vector<double> resolve_targets(const std::vector<PrunableLayer>& layers,
                                    const PruneSpec& spec) {
  const std::vector<bool> ex = excluded_layers(layers, spec.exclude);
  for (const auto& [name, v] : spec.per_layer) {
    const bool found = std::any_of(layers.begin(), layers.end(),
                                   [&](const PrunableLayer& l) { return l.name == name; });
    if (!found)
      throw UserError("--prune: no prunable layer '" + name + "' (prunable: " + layer_list(layers) +
                      ")");
  }
  std::vector<double> t(layers.size(), -1.0);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (ex[i]) continue;
    switch (spec.kind) {
      case PruneSpec::Kind::kLayerwise: {
        auto it = spec.per_layer.find(layers[i].name);
        if (it != spec.per_layer.end())
          t[i] = it->second;
        else if (spec.has_default)
          t[i] = spec.sparsity;
        break;
      }
      case PruneSpec::Kind::kGlobal:
      case PruneSpec::Kind::kChannels:
        t[i] = spec.sparsity;
        break;
      case PruneSpec::Kind::kNM:
        t[i] = 1.0 - static_cast<double>(spec.n) / spec.m;
        break;
      case PruneSpec::Kind::kKeep:
        t[i] = 0;
        break;
    }
  }
  return t;
}

std::vector<uint8_t> nm_mask(const PrunableLayer& l, const Tensor& weight, int n, int m,
                             std::string* why) {
  if (l.in_channels % m != 0) {
    if (why)
      *why = "left dense: " + std::to_string(l.in_channels) + " input channel" +
             (l.in_channels == 1 ? "" : "s") + (l.op_type == "Conv" ? " per group" : " (K)") +
             " not a multiple of M=" + std::to_string(m);
    return {};
  }
  const float* w = weight.data<float>();
  std::vector<uint8_t> mask(static_cast<size_t>(l.numel()), 1);
  std::vector<std::pair<float, int64_t>> grp(static_cast<size_t>(m));
  const int64_t K = l.kernel_positions;
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t kp = 0; kp < K; ++kp)
      for (int64_t g = 0; g < l.in_channels / m; ++g) {
        for (int j = 0; j < m; ++j) {
          const int64_t off = l.offset(r, (g * m + j) * K + kp);
          grp[static_cast<size_t>(j)] = {std::fabs(w[off]), off};
        }
        // Largest magnitudes first; ties: lower position kept.
        std::sort(grp.begin(), grp.end(), [](const auto& a, const auto& b) {
          return a.first > b.first || (a.first == b.first && a.second < b.second);
        });
        for (int j = n; j < m; ++j)
          mask[static_cast<size_t>(grp[static_cast<size_t>(j)].second)] = 0;
      }
  return mask;
}

bool satisfies_nm(const PrunableLayer& l, const Tensor& weight, int n, int m) {
  if (l.in_channels % m != 0) return false;
  const float* w = weight.data<float>();
  const int64_t K = l.kernel_positions;
  for (int64_t r = 0; r < l.rows; ++r)
    for (int64_t kp = 0; kp < K; ++kp)
      for (int64_t g = 0; g < l.in_channels / m; ++g) {
        int nz = 0;
        for (int j = 0; j < m; ++j) nz += w[l.offset(r, (g * m + j) * K + kp)] != 0.0f;
        if (nz > n) return false;
      }
  return true;
}

Masks compute_masks(const std::vector<PrunableLayer>& layers,
                    const std::vector<const Tensor*>& weights, const PruneSpec& spec,
                    const std::function<double(double)>& scale_sparsity) {
  FRUGAL_CHECK(weights.size() == layers.size(), "one weight per layer");
  if (spec.kind == PruneSpec::Kind::kChannels)
    throw InternalError("compute_masks: channel pruning is graph surgery (prune_channels)");
  const std::vector<double> targets = resolve_targets(layers, spec);
  auto scaled = [&](double s) { return scale_sparsity ? scale_sparsity(s) : s; };
  Masks masks(layers.size());
  switch (spec.kind) {
    case PruneSpec::Kind::kKeep:
      for (size_t i = 0; i < layers.size(); ++i) {
        if (targets[i] < 0) continue;
        const auto w = weights[i]->span<float>();
        masks[i].resize(w.size());
        for (size_t j = 0; j < w.size(); ++j) masks[i][j] = w[j] != 0.0f;
      }
      break;
    case PruneSpec::Kind::kNM:
      for (size_t i = 0; i < layers.size(); ++i)
        if (targets[i] >= 0) masks[i] = nm_mask(layers[i], *weights[i], spec.n, spec.m);
      break;
    case PruneSpec::Kind::kLayerwise:
      for (size_t i = 0; i < layers.size(); ++i) {
        if (targets[i] < 0) continue;
        const int64_t n = weights[i]->numel();
        const auto k =
            static_cast<int64_t>(std::llround(scaled(targets[i]) * static_cast<double>(n)));
        prune_smallest(weights[i]->data<float>(), n, k, masks[i]);
      }
      break;
    case PruneSpec::Kind::kGlobal: {
      std::vector<float> mags;
      for (size_t i = 0; i < layers.size(); ++i)
        if (targets[i] >= 0)
          for (float v : weights[i]->span<float>()) mags.push_back(std::fabs(v));
      const auto total = static_cast<int64_t>(mags.size());
      const auto k =
          static_cast<int64_t>(std::llround(scaled(spec.sparsity) * static_cast<double>(total)));
      for (size_t i = 0; i < layers.size(); ++i)
        if (targets[i] >= 0) masks[i].assign(static_cast<size_t>(weights[i]->numel()), 1);
      if (k <= 0 || total == 0) break;
      // Threshold = k-th smallest magnitude; everything below it goes, then values equal to
      // it in (layer, position) order until exactly k are pruned.
      std::vector<float> sorted = mags;
      std::nth_element(sorted.begin(), sorted.begin() + (k - 1), sorted.end());
      const float thr = sorted[static_cast<size_t>(k - 1)];
      int64_t below = 0;
      for (float v : mags) below += v < thr;
      int64_t ties = k - below;
      for (size_t i = 0; i < layers.size(); ++i) {
        if (targets[i] < 0) continue;
        const float* w = weights[i]->data<float>();
        for (int64_t j = 0; j < weights[i]->numel(); ++j) {
          const float a = std::fabs(w[j]);
          if (a < thr || (a == thr && ties > 0)) {
            if (a == thr) --ties;
            masks[i][static_cast<size_t>(j)] = 0;
          }
        }
      }
      break;
    }
    case PruneSpec::Kind::kChannels:
      break;
  }
  return masks;
}

PruneOutcome prune(const ir::Graph& graph, const PruneSpec& spec) {
  if (spec.kind == PruneSpec::Kind::kChannels) return prune_channels(graph, spec);
  if (spec.kind == PruneSpec::Kind::kKeep)
    throw UserError("--prune keep: only meaningful while training (frugal train --prune keep)");
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  if (layers.empty())
    throw UserError(
        "--prune: the model has no prunable layer (Conv, Gemm, MatMul with a constant weight)");
  std::vector<const Tensor*> weights;
  for (const auto& l : layers) weights.push_back(graph.initializer(l.weight));
  const Masks masks = compute_masks(layers, weights, spec);
  const std::vector<double> targets = resolve_targets(layers, spec);
  PruneOutcome out{graph, {}};
  nlohmann::json per_layer = nlohmann::json::object();
  for (size_t i = 0; i < layers.size(); ++i) {
    const PrunableLayer& l = layers[i];
    if (masks[i].empty()) {
      std::string why;
      if (spec.kind == PruneSpec::Kind::kNM && targets[i] >= 0 &&
          nm_mask(l, *weights[i], spec.n, spec.m, &why).empty())
        out.notes.push_back("layer '" + l.name + "' " + why);
      continue;
    }
    Tensor w = weights[i]->clone();
    float* d = w.data<float>();
    int64_t nnz = 0;
    for (size_t j = 0; j < masks[i].size(); ++j) {
      if (!masks[i][j]) d[j] = 0.0f;
      nnz += d[j] != 0.0f;
    }
    out.graph.initializers[l.weight] = w;
    nlohmann::json e;
    e["sparsity"] = 1.0 - static_cast<double>(nnz) / static_cast<double>(w.numel());
    e["pattern"] = spec.kind == PruneSpec::Kind::kNM
                       ? "nm:" + std::to_string(spec.n) + ":" + std::to_string(spec.m)
                       : std::string("unstructured");
    per_layer[l.name] = e;
  }
  nlohmann::json step;
  step["prune"] = spec.str();
  step["layers"] = per_layer;
  append_compress_metadata(out.graph, step);
  return out;
}

void append_compress_metadata(ir::Graph& graph, const nlohmann::json& step) {
  nlohmann::json meta = nlohmann::json::object();
  auto it = graph.metadata.find(kCompressMetadataKey);
  if (it != graph.metadata.end()) {
    try {
      meta = nlohmann::json::parse(it->second);
    } catch (const std::exception&) {
      meta = nlohmann::json::object();  // foreign or damaged: replaced
    }
    if (!meta.is_object()) meta = nlohmann::json::object();
  }
  meta["steps"].push_back(step);
  graph.metadata[kCompressMetadataKey] = meta.dump();
}

}  // namespace frugal::compress
