#include "frugal/compress/cluster.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <optional>
#include <set>

#include "frugal/compress/prune.h"
#include "frugal/compress/weight_encoding.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/core/strings.h"

namespace frugal::compress {
namespace {

constexpr int kMaxBits = 8;  // indices are stored as uint8

int parse_bits(const std::string& text, const std::string& what, const std::string& origin) {
  int bits = -1;
  if (!text.empty() && text.size() <= 2 &&
      text.find_first_not_of("0123456789") == std::string::npos)
    bits = std::stoi(text);
  if (bits < 1 || bits > kMaxBits)
    throw UserError(origin + " '" + what + "': bits '" + text + "' must be 1 to " +
                    std::to_string(kMaxBits) + " (the index is stored as uint8)");
  return bits;
}

ClusterInit parse_init(const std::string& text, const std::string& what,
                       const std::string& origin) {
  if (text == "linear") return ClusterInit::kLinear;
  if (text == "density") return ClusterInit::kDensity;
  if (text == "random") return ClusterInit::kRandom;
  throw UserError(origin + " '" + what + "': init '" + text + "' is not linear, density or random");
}

// Initial centroids over the sorted values.
std::vector<double> initial_centroids(const std::vector<float>& sorted, int k, ClusterInit init,
                                      uint64_t seed) {
  std::vector<double> c(static_cast<size_t>(k));
  const size_t n = sorted.size();
  if (init == ClusterInit::kLinear) {
    const double lo = sorted.front(), hi = sorted.back();
    for (int i = 0; i < k; ++i)
      c[static_cast<size_t>(i)] = k == 1 ? (lo + hi) / 2 : lo + (hi - lo) * i / (k - 1);
  } else if (init == ClusterInit::kDensity) {
    // Equal steps of the CDF: the (i + 0.5)/k quantiles.
    for (int i = 0; i < k; ++i) {
      const size_t at =
          std::min(n - 1, static_cast<size_t>((i + 0.5) * static_cast<double>(n) / k));
      c[static_cast<size_t>(i)] = sorted[at];
    }
  } else {
    const Philox rng(seed, 0xC1u);
    for (int i = 0; i < k; ++i)
      c[static_cast<size_t>(i)] =
          sorted[std::min(n - 1, static_cast<size_t>(rng.uniform(static_cast<uint64_t>(i)) * n))];
  }
  std::sort(c.begin(), c.end());
  return c;
}

// Lloyd iterations on sorted values: a cluster is a contiguous run of them, bounded by the
// midpoints of adjacent centroids, so each iteration is one merge-like pass.
int lloyd_sorted(const std::vector<float>& sorted, std::vector<double>& c, int max_iterations,
                 std::vector<size_t>& ends) {
  const size_t k = c.size();
  int it = 0;
  for (; it < max_iterations; ++it) {
    std::vector<size_t> e(k);
    size_t at = 0;
    for (size_t j = 0; j < k; ++j) {
      const double bound = j + 1 < k ? (c[j] + c[j + 1]) / 2 : INFINITY;
      while (at < sorted.size() && sorted[at] < bound) ++at;
      e[j] = j + 1 < k ? at : sorted.size();
    }
    if (e == ends) break;
    ends = e;
    size_t begin = 0;
    for (size_t j = 0; j < k; ++j) {
      if (ends[j] > begin) {
        double sum = 0;
        for (size_t i = begin; i < ends[j]; ++i) sum += sorted[i];
        c[j] = sum / static_cast<double>(ends[j] - begin);
      }
      begin = ends[j];
    }
  }
  return it;
}

uint8_t nearest(const std::vector<float>& c, float v) {
  const auto it = std::lower_bound(c.begin(), c.end(), v);
  if (it == c.begin()) return 0;
  if (it == c.end()) return static_cast<uint8_t>(c.size() - 1);
  const size_t hi = static_cast<size_t>(it - c.begin());
  return static_cast<uint8_t>(v - c[hi - 1] <= c[hi] - v ? hi - 1 : hi);
}

// A layer whose distinct (non-zero) values number at most k is its own codebook: clustering
// it is lossless. The fixed zero, where the layer has zeros, comes first (export_gather).
std::optional<std::vector<float>> exact_codebook(const Tensor& w, int k, bool zero_fixed) {
  std::vector<float> book = distinct_values(w, static_cast<size_t>(k + (zero_fixed ? 1 : 0)));
  if (book.empty()) return std::nullopt;
  if (zero_fixed) {
    book.erase(std::find(book.begin(), book.end(), 0.0f));
    book.insert(book.begin(), 0.0f);
  }
  return book;
}

}  // namespace

const char* cluster_init_name(ClusterInit init) {
  switch (init) {
    case ClusterInit::kLinear:
      return "linear";
    case ClusterInit::kDensity:
      return "density";
    case ClusterInit::kRandom:
      return "random";
  }
  return "?";
}

int ClusterSpec::bits_for(const std::string& name, const std::string& op_type) const {
  if (auto it = per_layer.find(name); it != per_layer.end()) return it->second;
  const int kind = op_type == "Conv" ? conv_bits : fc_bits;
  return kind ? kind : all_bits;
}

std::string ClusterSpec::str() const {
  std::vector<std::string> parts;
  if (all_bits) parts.push_back(std::to_string(all_bits));
  if (conv_bits) parts.push_back("conv=" + std::to_string(conv_bits));
  if (fc_bits) parts.push_back("fc=" + std::to_string(fc_bits));
  for (const auto& [n, b] : per_layer) parts.push_back(n + "=" + std::to_string(b));
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : ",") + p;
  return s + ":init=" + cluster_init_name(init);
}

ClusterSpec parse_cluster_spec(const std::string& text, const std::string& origin) {
  ClusterSpec s;
  std::string body = text;
  if (const size_t colon = text.find(':'); colon != std::string::npos) {
    body = text.substr(0, colon);
    const std::string opt = text.substr(colon + 1);
    if (opt.rfind("init=", 0) != 0)
      throw UserError(origin + " '" + text + "': '" + opt + "' is not init=linear|density|random");
    s.init = parse_init(opt.substr(5), text, origin);
  }
  if (body.empty()) throw UserError(origin + " '" + text + "': give BITS or conv=B,fc=B");
  for (const auto& part : split(body, ',')) {
    const size_t eq = part.find('=');
    if (eq == std::string::npos) {
      if (s.all_bits) throw UserError(origin + " '" + text + "': BITS given twice");
      s.all_bits = parse_bits(part, text, origin);
      continue;
    }
    const std::string key = part.substr(0, eq);
    const int bits = parse_bits(part.substr(eq + 1), text, origin);
    if (key == "conv")
      s.conv_bits = bits;
    else if (key == "fc")
      s.fc_bits = bits;
    else if (key.empty())
      throw UserError(origin + " '" + text + "': '" + part + "' names no layer");
    else
      s.per_layer[key] = bits;
  }
  return s;
}

KMeans1D kmeans_1d(const std::vector<float>& values, int k, ClusterInit init, int max_iterations,
                   uint64_t seed) {
  FRUGAL_CHECK(k >= 1 && static_cast<size_t>(k) <= values.size(), "kmeans_1d: k out of range");
  std::vector<float> sorted = values;
  std::sort(sorted.begin(), sorted.end());
  std::vector<double> c = initial_centroids(sorted, k, init, seed);
  std::vector<size_t> ends;
  KMeans1D r;
  r.iterations = lloyd_sorted(sorted, c, max_iterations, ends);
  r.centroids.assign(c.begin(), c.end());
  std::sort(r.centroids.begin(), r.centroids.end());
  r.index.resize(values.size());
  for (size_t i = 0; i < values.size(); ++i) r.index[i] = nearest(r.centroids, values[i]);
  return r;
}

ClusterResult cluster(const ir::Graph& graph, const ClusterSpec& spec) {
  ClusterResult out;
  out.graph = graph;
  std::set<std::string> named;
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& layer : prunable_layers(graph)) {
    const int bits = spec.bits_for(layer.name, layer.op_type);
    if (spec.per_layer.count(layer.name)) named.insert(layer.name);
    if (bits == 0) continue;
    Tensor w = out.graph.initializers.at(layer.weight).clone();
    auto span = w.span<float>();
    std::vector<float> nonzero;
    for (float v : span)
      if (v != 0.0f) nonzero.push_back(v);
    LayerCluster lc{layer.name,
                    layer.op_type,
                    layer.weight,
                    bits,
                    w.numel(),
                    static_cast<int64_t>(nonzero.size()),
                    nonzero.size() < span.size(),
                    {},
                    0,
                    0,
                    false};
    const int k = (1 << bits) - (lc.zero_fixed ? 1 : 0);
    if (spec.per_layer.count(layer.name) && w.numel() < (int64_t{1} << bits)) {
      const int fits = static_cast<int>(std::bit_width(static_cast<uint64_t>(w.numel()))) - 1;
      throw UserError("--cluster: layer '" + layer.name + "' has " + std::to_string(w.numel()) +
                      " weights, fewer than the " + std::to_string(1 << bits) +
                      " centroids asked for it (" + std::to_string(bits) + " bits); " +
                      (fits > 0 ? "give it " + std::to_string(fits) + " bits or fewer"
                                : std::string("leave it out")));
    }
    if (const auto exact = exact_codebook(w, k, lc.zero_fixed)) {
      lc.codebook = *exact;
      lc.exact = true;
      lc.bits = codebook_index_bits(exact->size());
      out.notes.push_back("layer '" + layer.name + "': " + std::to_string(exact->size()) +
                          " distinct values, no more than its " + std::to_string(1 << bits) +
                          " centroids: kept exactly, " + std::to_string(lc.bits) + "-bit index");
      layers[layer.name] = {{"bits", lc.bits}, {"centroids", lc.codebook.size()}, {"exact", true}};
      out.layers.push_back(std::move(lc));
      continue;
    }
    KMeans1D km = kmeans_1d(nonzero, k, spec.init, spec.iterations, spec.seed);
    lc.iterations = km.iterations;
    if (lc.zero_fixed) lc.codebook.push_back(0.0f);
    lc.codebook.insert(lc.codebook.end(), km.centroids.begin(), km.centroids.end());
    double se = 0;
    size_t j = 0;
    for (float& v : span) {
      const float before = v;
      if (v != 0.0f) v = km.centroids[km.index[j++]];
      se += static_cast<double>(v - before) * (v - before);
    }
    lc.mse = se / static_cast<double>(span.size());
    out.graph.initializers[layer.weight] = w;
    layers[layer.name] = {{"bits", bits}, {"centroids", lc.codebook.size()}};
    out.layers.push_back(std::move(lc));
  }
  for (const auto& [name, b] : spec.per_layer)
    if (!named.count(name))
      throw UserError("--cluster: no Conv/Gemm/MatMul layer named '" + name + "'");
  if (out.layers.empty()) out.notes.push_back("no layer matched the --cluster spec");
  append_compress_metadata(out.graph, {{"cluster", spec.str()}, {"layers", layers}});
  return out;
}

std::vector<float> distinct_values(const Tensor& weight, size_t at_most) {
  std::set<float> seen;
  for (float v : weight.span<float>()) {
    seen.insert(v);
    if (seen.size() > at_most) return {};
  }
  return {seen.begin(), seen.end()};
}

ir::Graph export_gather(const ClusterResult& clustered) {
  ir::Graph g = clustered.graph;
  std::vector<ir::Node> front;
  for (const auto& l : clustered.layers) {
    const Tensor& w = g.initializers.at(l.weight);
    std::vector<float> book = l.codebook;
    std::vector<uint8_t> index(static_cast<size_t>(w.numel()));
    const auto span = w.span<float>();
    for (size_t i = 0; i < index.size(); ++i)
      index[i] =
          static_cast<uint8_t>(std::lower_bound(book.begin(), book.end(), span[i]) - book.begin());
    // A fixed zero sits first, before negative centroids: look it up exactly.
    if (l.zero_fixed) {
      std::vector<float> rest(book.begin() + 1, book.end());
      for (size_t i = 0; i < index.size(); ++i)
        index[i] =
            span[i] == 0.0f
                ? 0
                : static_cast<uint8_t>(
                      1 + (std::lower_bound(rest.begin(), rest.end(), span[i]) - rest.begin()));
    }
    const std::string base = l.weight + "_shared";
    g.initializers[base + "_codebook"] =
        Tensor::from_vector<float>({static_cast<int64_t>(book.size())}, book);
    g.initializers[base + "_index"] = Tensor::from_vector<uint8_t>(w.shape(), index);
    g.initializers.erase(l.weight);
    ir::Node cast{l.name + "_index_cast", "Cast", "", {base + "_index"}, {base + "_index_i32"}, {}};
    cast.attrs["to"] = ir::Attribute{int64_t{6}};  // INT32
    ir::Node gather{l.name + "_gather", "Gather", "", {base + "_codebook", base + "_index_i32"},
                    {l.weight},         {}};
    front.push_back(std::move(cast));
    front.push_back(std::move(gather));
  }
  g.nodes.insert(g.nodes.begin(), front.begin(), front.end());
  return g;
}

nlohmann::json to_json(const ClusterResult& result) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : result.layers)
    layers.push_back({{"layer", l.name},
                      {"op", l.op_type},
                      {"bits", l.bits},
                      {"weights", l.weights},
                      {"nonzeros", l.nonzeros},
                      {"zero_fixed", l.zero_fixed},
                      {"centroids", l.codebook.size()},
                      {"exact", l.exact},
                      {"iterations", l.iterations},
                      {"mse", l.mse}});
  return {{"layers", layers}, {"notes", result.notes}};
}

}  // namespace frugal::compress
