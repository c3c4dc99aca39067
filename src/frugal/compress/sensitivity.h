// Pruning sensitivity analysis (Distiller's per-layer sweep): each prunable layer is pruned
// alone, by magnitude, at a series of sparsity levels, and the model is scored at each.
// The score is a callback so that compress needs no data set: the CLI passes accuracy on
// --data (measure/eval.h), and agreement_score() below serves when there is no data.
#pragma once

#include <cstdint>
#include <functional>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/runtime/session.h"

namespace frugal::compress {

using ScoreFn = std::function<double(const ir::Graph&)>;

struct SensitivityOptions {
  std::vector<double> levels{0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95};
  std::vector<std::string> exclude;  // layers not swept (names, globs, first, last)
  // Called after each layer: (layer index, layer count, layer name).
  std::function<void(size_t, size_t, const std::string&)> progress;
};

struct SensitivityRow {
  std::string layer;
  int64_t params = 0;
  std::vector<double> scores;  // parallel to the levels
};

struct SensitivityResult {
  std::string score_name;
  double baseline = 0;  // score of the unpruned model
  std::vector<double> levels;
  std::vector<SensitivityRow> rows;
};

// Throws UserError for a level outside [0, 1) or an exclude matching no layer.
SensitivityResult sensitivity(const ir::Graph& graph, const ScoreFn& score,
                              const SensitivityOptions& options = {});

// Top-1 agreement with `reference` on `samples` random N(0, 1) inputs drawn from `seed`
// (one batch; the model must have one float input whose shape is known but for the batch).
ScoreFn agreement_score(const ir::Graph& reference, int64_t samples, uint64_t seed,
                        runtime::SessionOptions options = {});

nlohmann::json to_json(const SensitivityResult& result);

}  // namespace frugal::compress
