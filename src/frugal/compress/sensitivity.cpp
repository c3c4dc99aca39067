#include "frugal/compress/sensitivity.h"

#include <memory>

#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"

namespace frugal::compress {
namespace {

std::vector<int64_t> argmax_rows(const Tensor& logits) {
  const Tensor t = logits.dtype() == DType::kF32 ? logits : logits.cast(DType::kF32);
  const int64_t n = t.rank() >= 1 ? t.dim(0) : 1;
  const int64_t k = n ? t.numel() / n : 0;
  const float* d = t.data<float>();
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    int64_t best = 0;
    for (int64_t j = 1; j < k; ++j)
      if (d[i * k + j] > d[i * k + best]) best = j;
    out[static_cast<size_t>(i)] = best;
  }
  return out;
}

}  // namespace

SensitivityResult sensitivity(const ir::Graph& graph, const ScoreFn& score,
                              const SensitivityOptions& options) {
  for (double l : options.levels)
    if (!(l >= 0 && l < 1))
      throw UserError("--sensitivity: level " + std::to_string(l) + " is outside [0, 1)");
  const std::vector<PrunableLayer> layers = prunable_layers(graph);
  if (layers.empty()) throw UserError("--sensitivity: the model has no prunable layer");
  const std::vector<bool> ex = excluded_layers(layers, options.exclude);
  SensitivityResult r;
  r.levels = options.levels;
  r.baseline = score(graph);
  for (size_t i = 0; i < layers.size(); ++i) {
    if (ex[i]) continue;
    SensitivityRow row;
    row.layer = layers[i].name;
    row.params = layers[i].numel();
    for (double level : options.levels) {
      PruneSpec spec;
      spec.kind = PruneSpec::Kind::kLayerwise;
      spec.has_default = false;
      spec.per_layer[layers[i].name] = level;
      row.scores.push_back(score(prune(graph, spec).graph));
    }
    r.rows.push_back(std::move(row));
    if (options.progress) options.progress(i, layers.size(), layers[i].name);
  }
  return r;
}

ScoreFn agreement_score(const ir::Graph& reference, int64_t samples, uint64_t seed,
                        runtime::SessionOptions options) {
  if (samples < 1) throw UserError("--samples: must be at least 1");
  options.infer.batch = samples;
  auto ref = std::make_shared<runtime::Session>(reference, options);
  if (ref->inputs().size() != 1 || ref->inputs()[0].dtype != DType::kF32)
    throw UserError("sensitivity without --data needs a model with one float32 input");
  const runtime::Session::Port& port = ref->inputs()[0];
  Tensor x(DType::kF32, port.shape);
  const Philox rng(seed, 0x5e45);
  float* d = x.data<float>();
  for (int64_t i = 0; i < x.numel(); ++i) d[i] = rng.normal(static_cast<uint64_t>(i));
  const std::vector<int64_t> expected = argmax_rows(ref->run({x}).at(0));
  return [x, expected, options](const ir::Graph& g) {
    runtime::Session s(g, options);
    const std::vector<int64_t> got = argmax_rows(s.run({x}).at(0));
    int64_t same = 0;
    for (size_t i = 0; i < got.size() && i < expected.size(); ++i) same += got[i] == expected[i];
    return static_cast<double>(same) / static_cast<double>(expected.size());
  };
}

nlohmann::json to_json(const SensitivityResult& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const auto& row : r.rows)
    rows.push_back({{"layer", row.layer}, {"params", row.params}, {"scores", row.scores}});
  return {
      {"score", r.score_name}, {"baseline", r.baseline}, {"levels", r.levels}, {"layers", rows}};
}

}  // namespace frugal::compress
