#include "frugal/train/cluster_keep.h"

#include <algorithm>
#include <set>

#include "frugal/compress/cluster.h"
#include "frugal/compress/prune.h"
#include "frugal/core/error.h"

namespace frugal::train {

ClusterKeep::ClusterKeep(const ir::Graph& model, const std::vector<std::string>& params) {
  const std::set<std::string> trainable(params.begin(), params.end());
  for (const auto& l : compress::prunable_layers(model)) {
    if (!trainable.count(l.weight)) continue;
    const Tensor& w = model.initializers.at(l.weight);
    const std::vector<float> book = compress::distinct_values(w);
    if (book.empty() || w.numel() <= static_cast<int64_t>(book.size())) continue;  // not shared
    Layer layer;
    layer.first.assign(book.size(), -1);
    layer.index.resize(static_cast<size_t>(w.numel()));
    const auto v = w.span<float>();
    for (size_t i = 0; i < v.size(); ++i) {
      const auto c =
          static_cast<size_t>(std::lower_bound(book.begin(), book.end(), v[i]) - book.begin());
      layer.index[i] = static_cast<uint8_t>(c);
      if (layer.first[c] < 0) layer.first[c] = static_cast<int64_t>(i);
      if (v[i] == 0.0f) layer.zero_cluster = static_cast<int64_t>(c);
    }
    layers_[l.weight] = std::move(layer);
  }
  if (layers_.empty())
    throw UserError(
        "--cluster keep: the model has no shared-weight layer (at most 256 distinct values); "
        "run frugal compress --cluster first");
}

void ClusterKeep::tie_gradient(const std::string& param, Tensor& grad) const {
  auto it = layers_.find(param);
  if (it == layers_.end()) return;
  const Layer& l = it->second;
  std::vector<double> sum(l.first.size(), 0.0);
  auto g = grad.span<float>();
  for (size_t i = 0; i < g.size(); ++i) sum[l.index[i]] += g[i];
  if (l.zero_cluster >= 0) sum[static_cast<size_t>(l.zero_cluster)] = 0;
  for (size_t i = 0; i < g.size(); ++i) g[i] = static_cast<float>(sum[l.index[i]]);
}

void ClusterKeep::snap(const std::string& param, Tensor& weight) const {
  auto it = layers_.find(param);
  if (it == layers_.end()) return;
  const Layer& l = it->second;
  auto w = weight.span<float>();
  std::vector<float> value(l.first.size());
  for (size_t c = 0; c < value.size(); ++c) value[c] = w[static_cast<size_t>(l.first[c])];
  if (l.zero_cluster >= 0) value[static_cast<size_t>(l.zero_cluster)] = 0.0f;
  for (size_t i = 0; i < w.size(); ++i) w[i] = value[l.index[i]];
}

std::string ClusterKeep::describe() const {
  std::string s = std::to_string(layers_.size()) + " shared-weight layers (";
  bool first = true;
  for (const auto& [name, l] : layers_) {
    s += (first ? "" : ", ") + name + " " + std::to_string(l.first.size());
    first = false;
  }
  return s + " centroids), indices fixed";
}

}  // namespace frugal::train
