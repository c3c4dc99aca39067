#include "frugal/compress/pipeline.h"

#include <algorithm>
#include <chrono>
#include <set>

#include "frugal/compress/prune.h"
#include "frugal/compress/weight_encoding.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"

namespace frugal::compress {
namespace {

constexpr int64_t kFewCalibrationSamples = 100;  // below this, a warning

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

void say(const PipelineContext& ctx, const std::string& line) {
  if (ctx.progress) ctx.progress(line);
}

void require_score(const PipelineContext& ctx, const std::string& option, const std::string& why) {
  if (!ctx.score) throw UserError(option + ": needs --data (" + why + ")");
}

class PruneTransform : public Transform {
 public:
  explicit PruneTransform(PruneSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "prune:" + spec_.str(); }
  TransformNeeds needs() const override { return {}; }
  void apply(PipelineState& s, const PipelineContext&) const override {
    PruneOutcome o = prune(s.graph, spec_);
    s.structured = spec_.structured();
    s.sparsity = sparsity_report(s.graph, o.graph);
    s.graph = std::move(o.graph);
    s.notes.insert(s.notes.end(), o.notes.begin(), o.notes.end());
  }

 private:
  PruneSpec spec_;
};

class ClusterTransform : public Transform {
 public:
  explicit ClusterTransform(ClusterSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "cluster:" + spec_.str(); }
  TransformNeeds needs() const override { return {false, true, false}; }
  void apply(PipelineState& s, const PipelineContext&) const override {
    ClusterResult r = cluster(s.graph, spec_);
    s.graph = r.graph;
    s.notes.insert(s.notes.end(), r.notes.begin(), r.notes.end());
    s.cluster = std::move(r);
  }

 private:
  ClusterSpec spec_;
};

class LowRankTransform : public Transform {
 public:
  explicit LowRankTransform(LowRankSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "lowrank:" + spec_.str(); }
  TransformNeeds needs() const override { return {false, true, false}; }
  void apply(PipelineState& s, const PipelineContext&) const override {
    LowRankResult r = lowrank(s.graph, spec_);
    s.graph = r.graph;
    s.notes.insert(s.notes.end(), r.notes.begin(), r.notes.end());
    s.lowrank = std::move(r);
  }

 private:
  LowRankSpec spec_;
};

class CirculantTransform : public Transform {
 public:
  explicit CirculantTransform(CirculantSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "circulant:" + spec_.str(); }
  TransformNeeds needs() const override { return {false, true, false}; }
  void apply(PipelineState& s, const PipelineContext&) const override {
    CirculantResult r = circulant(s.graph, spec_);
    s.graph = r.graph;
    s.notes.insert(s.notes.end(), r.notes.begin(), r.notes.end());
    s.circulant = std::move(r);
  }

 private:
  CirculantSpec spec_;
};

class BinarizeTransform : public Transform {
 public:
  explicit BinarizeTransform(BinarizeSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "binarize:" + spec_.str(); }
  TransformNeeds needs() const override { return {false, true, false}; }
  void apply(PipelineState& s, const PipelineContext&) const override {
    BinarizeResult r = binarize(s.graph, spec_);
    s.graph = r.graph;
    s.notes.insert(s.notes.end(), r.notes.begin(), r.notes.end());
    s.binarize = std::move(r);
  }

 private:
  BinarizeSpec spec_;
};

// The accuracy entries of a quantization: the float model, the exported graph run in
// float32 (fake quantization) and, for static int8, the prepared graph with int8 kernels.
nlohmann::ordered_json quant_accuracy(const ir::Graph& input, const QuantStepResult& q,
                                      const PipelineContext& ctx,
                                      const std::set<std::string>& keep_float, bool score_float) {
  nlohmann::ordered_json acc;
  acc["data"] = ctx.score_data;
  acc["samples"] = ctx.score_samples;
  if (score_float) acc["fp32"] = ctx.score(input, ctx.base);
  acc["fake_quant"] = ctx.score(q.result.graph, ctx.base);
  if (q.spec.kind == QuantSpec::Kind::kStatic8) {
    PrecisionMap int8;
    for (const auto& l : q.result.layers)
      int8[l.node] = keep_float.count(l.node) ? LayerPrecision::kFp32 : LayerPrecision::kInt8;
    runtime::SessionOptions o = session_options(ctx.base, int8);
    o.backend_config.ranges = q.result.ranges.ranges;
    acc["true_int8"] = ctx.score(q.result.prepared, o);
  } else if (q.spec.kind == QuantSpec::Kind::kDynamic8) {
    acc["note"] = "dynamic: the fake-quant run computes MatMulInteger in integers (ref kernel)";
  }
  return acc;
}

QuantStepResult quantize_step(const ir::Graph& g, const QuantSpec& parsed,
                              const std::set<std::string>& keep_float, const PipelineContext& ctx,
                              bool score_float) {
  QuantStepResult q;
  q.spec = parsed;
  CalibrationSet calib;
  if (parsed.needs_calibration() || parsed.bias_correct) {
    if (!ctx.calibration)
      throw UserError("--quant " + quant_spec_name(parsed) +
                      ": needs calibration data; add --data D, --calibration a.npy,... or "
                      "--calibration random:N");
    calib = ctx.calibration(g, parsed);
    if (calib.samples < kFewCalibrationSamples)
      q.warnings.push_back("calibration uses only " + std::to_string(calib.samples) +
                           " samples (fewer than " + std::to_string(kFewCalibrationSamples) +
                           "): ranges may miss the data's extremes");
  }
  QuantSpec spec = parsed;
  spec.keep_float = keep_float;
  spec.samples = 0;  // the calibration callback took that many already
  runtime::SessionOptions base = ctx.base;
  base.infer.batch = calib.batch;
  q.result = quantize(g, spec, calib.batches, base);
  q.report = quant_report_json(q.result, q.spec);
  if (!calib.source.empty()) {
    q.report["calibration_source"] = calib.source;
    q.report["calibration_samples"] = calib.samples;
  }
  if (ctx.score) q.report["accuracy"] = quant_accuracy(g, q, ctx, keep_float, score_float);
  q.report["warnings"] = q.warnings;
  return q;
}

class QuantizeTransform : public Transform {
 public:
  explicit QuantizeTransform(QuantSpec spec) : spec_(std::move(spec)) {}
  std::string name() const override { return "quant:" + quant_spec_name(spec_); }
  TransformNeeds needs() const override {
    return {spec_.needs_calibration() || spec_.bias_correct, false, false};
  }
  void apply(PipelineState& s, const PipelineContext& ctx) const override {
    s.quant = quantize_step(s.graph, spec_, {}, ctx, true);
    if (s.quant->report.contains("accuracy"))
      s.accuracy_after = s.quant->report["accuracy"]["fp32"].get<double>();
    s.graph = s.quant->result.graph;
  }

 private:
  QuantSpec spec_;
};

// Per-layer fp32/bf16/int8 over the layers the quantizer put in int8, then the graph
// re-quantized with the layers left fp32/bf16 kept float (the keep-float step).
class MixedPrecisionTransform : public Transform {
 public:
  explicit MixedPrecisionTransform(double max_drop) : max_drop_(max_drop) {}
  std::string name() const override {
    return "mixed-precision:max-drop=" + std::to_string(max_drop_);
  }
  TransformNeeds needs() const override { return {true, false, true}; }
  void apply(PipelineState& s, const PipelineContext& ctx) const override {
    if (!s.quant || s.quant->spec.kind != QuantSpec::Kind::kStatic8)
      throw UserError("--max-drop: needs static int8 (--quant int8...)");
    require_score(ctx, "--max-drop", "the accuracy it keeps within the drop");
    MixedStep m = search(*s.quant, ctx);
    std::set<std::string> keep_float;
    for (const auto& l : m.layers) {
      auto it = m.result.best.assignment.find(l);
      if (it == m.result.best.assignment.end() || it->second != LayerPrecision::kInt8)
        keep_float.insert(l);
    }
    if (!keep_float.empty()) {
      const ir::Graph& input = s.quant->result.prepared;
      nlohmann::ordered_json fp32 = s.quant->report["accuracy"]["fp32"];
      // The prepared graph is the folded float input: re-quantizing it reproduces the
      // int8 layers and leaves the chosen ones float.
      s.quant = quantize_step(input, s.quant->spec, keep_float, ctx, false);
      s.quant->report["accuracy"]["fp32"] = fp32;
      s.graph = s.quant->result.graph;
    }
    s.mixed = std::move(m);
  }

 private:
  MixedStep search(const QuantStepResult& q, const PipelineContext& ctx) const {
    MixedStep m;
    m.max_drop = max_drop_;
    for (const auto& l : q.result.layers)
      if (l.precision.rfind("int8", 0) == 0) m.layers.push_back(l.node);
    if (m.layers.empty())
      throw UserError(
          "--max-drop: no layer of the model was quantized to int8 (nothing to choose)");
    runtime::SessionOptions base = ctx.base;
    base.backend_config.ranges = q.result.ranges.ranges;
    runtime::SessionOptions timed = base;
    timed.infer.batch = ctx.latency_batch;
    const ir::Graph& g = q.result.prepared;
    size_t done = 0;
    MixedPrecisionOptions mo;
    mo.max_drop = max_drop_;
    m.result = search_mixed_precision(
        m.layers,
        [&](const PrecisionMap& p) {
          say(ctx, "mixed precision: " + std::to_string(++done) + " scored");
          return 100.0 * ctx.score(g, session_options(base, p));
        },
        [&](const PrecisionMap& p) {
          return median_latency_ms(g, session_options(timed, p), ctx.latency_runs);
        },
        mo);
    m.score_method = "top-1 (points) on " + ctx.score_method;
    m.latency_method = "measured: median of at least " + std::to_string(ctx.latency_runs) +
                       " runs and 0.2 s after 2 warm-up, batch " +
                       std::to_string(ctx.latency_batch) + ", " + std::to_string(ctx.base.threads) +
                       " thread(s), steady clock, random inputs";
    return m;
  }
  double max_drop_;
};

nlohmann::json evaluated_json(const Evaluated& e) {
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [node, p] : e.assignment) m[node] = precision_name(p);
  return {
      {"assignment", m}, {"top1_points", e.score}, {"latency_ms", e.latency}, {"origin", e.origin}};
}

nlohmann::json mixed_json(const MixedStep& m) {
  nlohmann::json mp;
  mp["max_drop_points"] = m.max_drop;
  mp["score"] = m.score_method;
  mp["latency"] = m.latency_method;
  mp["met"] = m.result.met;
  mp["baseline"] = evaluated_json(m.result.baseline);
  mp["best"] = evaluated_json(m.result.best);
  nlohmann::json sens = nlohmann::json::array(), front = nlohmann::json::array();
  for (const auto& l : m.result.sensitivity)
    sens.push_back({{"layer", l.layer},
                    {"precision", precision_name(l.precision)},
                    {"drop_points", l.drop},
                    {"gain_ms", l.gain}});
  for (const auto& e : m.result.front) front.push_back(evaluated_json(e));
  mp["sensitivity"] = sens;
  mp["front"] = front;
  mp["configurations_measured"] = m.result.evaluated.size();
  mp["layers"] = chosen_precisions(m);
  return mp;
}

}  // namespace

std::string needs_str(const TransformNeeds& n) {
  std::string s;
  for (auto [on, what] :
       {std::pair{n.data, "data"}, {n.fine_tuning, "fine-tuning"}, {n.backend, "backend"}})
    if (on) s += (s.empty() ? "" : ", ") + std::string(what);
  return s.empty() ? "nothing" : s;
}

PrecisionMap chosen_map(const MixedStep& m) {
  PrecisionMap out;
  for (const auto& l : m.layers) {
    auto it = m.result.best.assignment.find(l);
    out[l] = it == m.result.best.assignment.end() ? LayerPrecision::kFp32 : it->second;
  }
  return out;
}

nlohmann::json chosen_precisions(const MixedStep& m) {
  nlohmann::json layers = nlohmann::json::object();
  for (const auto& [l, p] : chosen_map(m)) layers[l] = precision_name(p);
  return layers;
}

namespace {

// The --exclude list as PruneSpec parses it (names, globs, first, last).
std::vector<std::string> exclude_list(const std::string& text) {
  PruneSpec excludes;
  if (!text.empty()) excludes.add_excludes(text);
  return excludes.exclude;
}

}  // namespace

Pipeline make_pipeline(const PipelineSpec& spec) {
  Pipeline p;
  if (!spec.lowrank.empty()) {
    LowRankSpec ls = parse_lowrank_spec(spec.lowrank);
    ls.exclude = exclude_list(spec.exclude);
    p.push_back(std::make_unique<LowRankTransform>(std::move(ls)));
  }
  if (!spec.circulant.empty()) {
    if (!spec.lowrank.empty())
      throw UserError("--circulant: give it or --lowrank, not both (both restructure the layers)");
    CirculantSpec cs = parse_circulant_spec(spec.circulant);
    cs.exclude = exclude_list(spec.exclude);
    p.push_back(std::make_unique<CirculantTransform>(std::move(cs)));
  }
  if (!spec.prune.empty()) {
    PruneSpec ps = PruneSpec::parse(spec.prune, "--prune");
    if (!spec.exclude.empty()) ps.add_excludes(spec.exclude);
    if (ps.kind == PruneSpec::Kind::kKeep)
      throw UserError("--prune keep: only for frugal train (keeps a model's zeros while training)");
    p.push_back(std::make_unique<PruneTransform>(std::move(ps)));
  }
  if (!spec.cluster.empty())
    p.push_back(std::make_unique<ClusterTransform>(parse_cluster_spec(spec.cluster)));
  if (!spec.binarize.empty()) {
    if (!spec.quant.empty())
      throw UserError("--binarize: give it or --quant, not both (both set the weights' precision)");
    BinarizeSpec bs = parse_binarize_spec(spec.binarize);
    bs.exclude = exclude_list(spec.exclude);
    p.push_back(std::make_unique<BinarizeTransform>(std::move(bs)));
  }
  if (spec.max_drop >= 0 && spec.quant.empty())
    throw UserError("--max-drop: needs --quant int8 (it chooses per layer among fp32, bf16, int8)");
  if (!spec.quant.empty()) {
    QuantSpec qs = parse_quant_spec(spec.quant);
    if (spec.max_drop >= 0 && qs.kind != QuantSpec::Kind::kStatic8)
      throw UserError("--max-drop: needs static int8 (--quant int8...), not " + spec.quant);
    p.push_back(std::make_unique<QuantizeTransform>(std::move(qs)));
  }
  if (spec.max_drop >= 0) p.push_back(std::make_unique<MixedPrecisionTransform>(spec.max_drop));
  return p;
}

PipelineState run_pipeline(const ir::Graph& model, const Pipeline& pipeline,
                           const PipelineContext& ctx) {
  for (const auto& t : pipeline)
    if (t->needs().data && !ctx.score && !ctx.calibration)
      throw UserError(t->name() +
                      ": needs calibration data; add --data D, --calibration a.npy,... or "
                      "--calibration random:N");
  PipelineState s;
  s.original = model;
  s.graph = model;
  for (const auto& t : pipeline) {
    say(ctx, "compress: " + t->name());
    t->apply(s, ctx);
    s.applied.push_back(t->name());
  }
  if (ctx.score && (s.sparsity || s.cluster || s.lowrank || s.circulant || s.binarize)) {
    s.accuracy_before = ctx.score(s.original, ctx.base);
    // With quantization, its step scored the pruned/clustered float graph already.
    if (!s.accuracy_after) s.accuracy_after = ctx.score(s.graph, ctx.base);
  }
  return s;
}

Tensor random_input(const runtime::Session::Port& port, uint64_t seed) {
  Tensor t(DType::kF32, port.shape);
  const Philox rng(seed);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = rng.normal(static_cast<uint64_t>(i));
  return port.dtype == DType::kF32 ? t : t.cast(port.dtype);
}

double median_latency_ms(const ir::Graph& graph, const runtime::SessionOptions& options,
                         int64_t runs, double min_seconds) {
  runtime::Session s(graph, options);
  std::vector<Tensor> inputs;
  for (const auto& port : s.inputs()) inputs.push_back(random_input(port, 0));
  s.run(inputs);
  s.run(inputs);
  std::vector<double> ms;
  const auto start = std::chrono::steady_clock::now();
  while (static_cast<int64_t>(ms.size()) < runs || seconds_since(start) < min_seconds) {
    const auto t0 = std::chrono::steady_clock::now();
    s.run(inputs);
    ms.push_back(1e3 * seconds_since(t0));
  }
  std::sort(ms.begin(), ms.end());
  const size_t n = ms.size();
  return n % 2 ? ms[n / 2] : (ms[n / 2 - 1] + ms[n / 2]) / 2;
}

nlohmann::json to_json(const PipelineState& s, const PipelineContext& ctx) {
  nlohmann::json out = nlohmann::json::object();
  out["transforms"] = s.applied;
  if (s.sparsity) {
    for (const auto& t : s.applied)
      if (t.rfind("prune:", 0) == 0) out["prune"] = t.substr(6);
    out["report"] = to_json(*s.sparsity);
    out["notes"] = s.notes;
  }
  if (s.cluster) out["cluster"] = to_json(*s.cluster);
  if (s.lowrank) out["lowrank"] = to_json(*s.lowrank);
  if (s.circulant) out["circulant"] = to_json(*s.circulant);
  if (s.binarize) out["binarize"] = to_json(*s.binarize);
  if (s.quant) out["quant"] = s.quant->report;
  if (s.mixed) out["mixed_precision"] = mixed_json(*s.mixed);
  if (s.accuracy_before)
    out["accuracy"] = {{"data", ctx.score_data},
                       {"limit", ctx.score_limit},
                       {"before", *s.accuracy_before},
                       {"after", *s.accuracy_after}};
  out["encoded"] = to_json(encoded_size(s.graph));
  return out;
}

}  // namespace frugal::compress
