// The compress pipeline: `frugal compress`, the sweep and C++ callers apply the same
// transforms in the same order (low-rank factorization or block-circulant projection first, then
// the Deep Compression order: prune, then share weights, then binarize or quantize; then per-layer
// mixed precision, which re-quantizes with the layers it keeps float). Each transform declares what
// it needs from its caller (TransformNeeds), so a caller can refuse a combination before running
// anything.
//
// compress sits below the data sets and the evaluator in the layer order, so everything
// that reads data comes in as callbacks of the PipelineContext;
// measure/compress_data.h builds them from a data-set spec.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/compress/binarize.h"
#include "frugal/compress/circulant.h"
#include "frugal/compress/cluster.h"
#include "frugal/compress/lowrank.h"
#include "frugal/compress/mixed_precision.h"
#include "frugal/compress/quantize.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/ir/graph.h"
#include "frugal/runtime/session.h"

namespace frugal::compress {

struct TransformNeeds {
  bool data = false;         // labelled samples or calibration inputs (PipelineContext callbacks)
  bool fine_tuning = false;  // recovers accuracy only with training afterwards (frugal train)
  bool backend = false;      // measures on an engine backend (latency, true-integer runs)
};
std::string needs_str(const TransformNeeds& n);  // "data, backend" or "nothing"

// Calibration inputs of a quantizer, drawn by the caller.
struct CalibrationSet {
  std::vector<std::vector<Tensor>> batches;
  int64_t batch = 1;
  int64_t samples = 0;
  std::string source;
};

struct PipelineContext {
  std::string origin;            // the model's path, for messages
  runtime::SessionOptions base;  // float32 runs: scoring and latency (threads, backends)
  int64_t latency_batch = 1;
  int64_t latency_runs = 20;  // mixed precision: timed runs per configuration
  // Top-1 (0..1) of `graph` run with `options` on the caller's labelled data; empty: no data.
  std::function<double(const ir::Graph&, const runtime::SessionOptions&)> score;
  std::string score_method;  // "top-1 on fashion-mnist, first 1000 samples"
  int64_t score_samples = 0;
  std::string score_data;   // the data-set spec scored on
  int64_t score_limit = 0;  // its first N samples (0: all)
  // Calibration inputs of `graph` for `spec`; empty: quantizers that need them fail.
  std::function<CalibrationSet(const ir::Graph&, const QuantSpec&)> calibration;
  std::function<void(const std::string&)> progress;  // one line per step; empty: silent
};

struct MixedStep {
  std::vector<std::string> layers;  // the int8-quantizable layers searched
  MixedPrecisionResult result;
  double max_drop = 0;
  std::string score_method, latency_method;
};

struct QuantStepResult {
  QuantSpec spec;
  QuantResult result;
  nlohmann::ordered_json report;  // quant_report_json + calibration + "accuracy" + warnings
  std::vector<std::string> warnings;
};

// What the transforms did, in order; `graph` is the model to save.
struct PipelineState {
  ir::Graph original;
  ir::Graph graph;
  std::vector<std::string> applied;  // transform names, in order
  std::optional<SparsityReport> sparsity;
  bool structured = false;
  std::vector<std::string> notes;  // layers left alone and why
  std::optional<ClusterResult> cluster;
  std::optional<LowRankResult> lowrank;
  std::optional<CirculantResult> circulant;
  std::optional<BinarizeResult> binarize;
  std::optional<QuantStepResult> quant;
  std::optional<MixedStep> mixed;
  // Top-1 of the original and of the pruned/clustered float model (with ctx.score).
  std::optional<double> accuracy_before, accuracy_after;
};

class Transform {
 public:
  virtual ~Transform() = default;
  virtual std::string name() const = 0;  // "prune:global:0.9", "quant:int8", ...
  virtual TransformNeeds needs() const = 0;
  // UserError naming the option when the context lacks what needs() says.
  virtual void apply(PipelineState& state, const PipelineContext& ctx) const = 0;
};
using Pipeline = std::vector<std::unique_ptr<Transform>>;

// The options of `frugal compress` that choose transforms.
struct PipelineSpec {
  std::string prune;      // PruneSpec text ("" none)
  std::string exclude;    // layers pruning leaves alone
  std::string cluster;    // ClusterSpec text ("" none)
  std::string quant;      // QuantSpec text ("" none)
  double max_drop = -1;   // >= 0: mixed precision within this many top-1 points
  bool score = false;     // the caller gives data: accuracy before/after
  std::string lowrank;    // LowRankSpec text ("" none); `exclude` applies to it too
  std::string binarize;   // BinarizeSpec text ("" none); `exclude` applies to it too
  std::string circulant;  // CirculantSpec text ("" none); `exclude` applies to it too
};

// The transforms of `spec` in pipeline order. UserError for a bad spec or combination
// (--max-drop without static int8 quantization, --prune keep).
Pipeline make_pipeline(const PipelineSpec& spec);

// Applies `pipeline` to `model` (not modified). Checks every transform's needs first.
PipelineState run_pipeline(const ir::Graph& model, const Pipeline& pipeline,
                           const PipelineContext& ctx);

// Median milliseconds of at least `runs` inferences and at least `min_seconds` of them (after
// two warm-up runs) on seeded N(0,1) inputs: mixed precision's latency of a configuration.
double median_latency_ms(const ir::Graph& graph, const runtime::SessionOptions& options,
                         int64_t runs, double min_seconds = 0.2);

// The JSON of the compress report ("prune", "report", "notes", "cluster", "quant",
// "mixed_precision", "accuracy", "encoded", "lowrank", "binarize"): what `frugal compress --json`
// prints.
nlohmann::json to_json(const PipelineState& state, const PipelineContext& ctx);

// The per-layer precisions mixed precision chose (fp32 for a layer it left out), and the
// precision-map file's JSON {"node": "fp32|bf16|int8"} (what --precision-map reads).
PrecisionMap chosen_map(const MixedStep& m);
nlohmann::json chosen_precisions(const MixedStep& m);

// A seeded N(0,1) input for `port` (the values of `frugal run --input random:SEED`).
Tensor random_input(const runtime::Session::Port& port, uint64_t seed);

}  // namespace frugal::compress
