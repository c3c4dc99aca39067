// frugal compress MODEL -o OUT.onnx [--prune SPEC] [--quant SPEC [--max-drop P]]: pruning
// (compress/prune.h, compress/structured.h) with the exact per-layer report
// (compress/sparsity_report.h), then post-training quantization of the pruned graph (the
// shared --quant step, cli/quant_step.h; the Deep Compression order), accuracy-driven mixed
// precision (compress/mixed_precision.h), accuracy before/after on --data and the
// per-layer sensitivity sweep (compress/sensitivity.h). docs/pruning.md,
// docs/quantization.md.
#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/cli/quant_step.h"
#include "frugal/cli/tensor_io.h"
#include "frugal/compress/mixed_precision.h"
#include "frugal/compress/prune.h"
#include "frugal/compress/sensitivity.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/measure/clock.h"
#include "frugal/measure/eval.h"
#include "frugal/measure/stats.h"

namespace frugal::cli {
namespace {

struct CompressArgs {
  std::string model;
  std::string output;
  std::string prune;
  std::string exclude;
  std::string data;
  int64_t limit = 0;
  bool sensitivity = false;
  std::string levels;
  int64_t samples = 256;
  uint64_t seed = 0;
  EngineArgs engine;
  std::string datasets_root = "/usr/share/datasets";
  bool json = false;
  // Quantization after pruning.
  std::string quant;
  std::string calib_data;
  double max_drop = -1;  // < 0: no mixed-precision search
  int64_t latency_runs = 20;
};

std::string pct(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f%%", 100.0 * v);
  return b;
}

std::string fixed4(double v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.4f", v);
  return b;
}

std::vector<double> parse_levels(const std::string& text) {
  std::vector<double> v;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string part =
        text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    size_t used = 0;
    double x = -1;
    try {
      x = std::stod(part, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (part.empty() || used != part.size())
      throw UserError("--levels " + text + ": '" + part + "' is not a number");
    v.push_back(x);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return v;
}

// Accuracy scorer over --data (the first --limit samples).
class DataScorer {
 public:
  DataScorer(const CompressArgs& a, const ir::Graph& probe) : a_(a) {
    runtime::SessionOptions opt = session_options(a.engine, a.model, &probe);
    runtime::Session s(probe, opt);
    train::DataOptions d;
    d.datasets_root = a.datasets_root;
    const auto& ports = s.inputs();
    if (ports.size() == 1 && ports[0].shape.size() == 4)
      d.expected_sample_shape = {ports[0].shape[1], ports[0].shape[2], ports[0].shape[3]};
    if (!s.outputs().empty() && s.outputs()[0].shape.size() >= 2)
      d.num_classes = s.outputs()[0].shape[1];
    data_ = train::open_dataset(a.data, d);
  }
  double operator()(const ir::Graph& g) const {
    return (*this)(g, session_options(a_.engine, a_.model, &g));
  }
  double operator()(const ir::Graph& g, const runtime::SessionOptions& opt) const {
    runtime::Session s(g, opt);
    measure::EvalOptions eo;
    eo.limit = a_.limit;
    return measure::evaluate(s, a_.model, *data_, a_.data, eo).top1;
  }

 private:
  const CompressArgs& a_;
  std::shared_ptr<train::Dataset> data_;
};

void print_report(const compress::SparsityReport& r, bool structured) {
  std::vector<std::string> head{"layer", "op"};
  if (structured) head.push_back("shape");
  for (const char* h : {"params", "non-zeros", "sparsity", "dense B", "sparse B", "format",
                        "MACs before", "MACs after"})
    head.emplace_back(h);
  Table t(head);
  for (const auto& s : r.layers) {
    std::vector<std::string> row{s.name, s.op_type};
    if (structured)
      row.push_back(shape_str(s.shape_before) + (s.shape_after != s.shape_before
                                                     ? " -> " + shape_str(s.shape_after)
                                                     : std::string()));
    row.push_back(with_commas(s.params));
    row.push_back(with_commas(s.nonzeros));
    row.push_back(pct(s.sparsity));
    row.push_back(with_commas(s.dense_bytes));
    row.push_back(with_commas(s.sparse_bytes));
    row.push_back(s.sparse_format);
    row.push_back(with_commas(s.macs_before));
    row.push_back(with_commas(s.macs_after));
    t.add(row);
  }
  std::vector<std::string> tot{"total", ""};
  if (structured) tot.push_back("");
  tot.push_back(with_commas(r.params));
  tot.push_back(with_commas(r.nonzeros));
  tot.push_back(pct(r.sparsity()));
  tot.push_back(with_commas(r.dense_bytes));
  tot.push_back(with_commas(r.best_bytes) + " (best)");
  tot.push_back("");
  tot.push_back(with_commas(r.macs_before));
  tot.push_back(with_commas(r.macs_after));
  t.add(tot);
  std::printf("%s", t.str().c_str());
  std::printf(
      "sparsity is of the layer as it is now (non-zeros / params); MACs after = non-zeros x "
      "output positions (batch 1)\n");
  std::printf(
      "model     %s parameters -> %s; weights %s B -> %s B (pruned layers in their smallest "
      "encoding, float32 values)\n",
      with_commas(r.model_params_before).c_str(), with_commas(r.model_params).c_str(),
      with_commas(r.model_bytes_before).c_str(), with_commas(r.model_bytes_after).c_str());
  if (r.macs_after > 0)
    std::printf("MACs      %s -> %s (%.2fx fewer)\n", with_commas(r.macs_before).c_str(),
                with_commas(r.macs_after).c_str(),
                static_cast<double>(r.macs_before) / static_cast<double>(r.macs_after));
}

void print_sensitivity(const compress::SensitivityResult& s) {
  std::printf("\nsensitivity (%s; unpruned %.4f): each layer pruned alone by magnitude\n",
              s.score_name.c_str(), s.baseline);
  std::vector<std::string> head{"layer", "params"};
  for (double l : s.levels) head.push_back(pct(l));
  Table t(head);
  for (const auto& row : s.rows) {
    std::vector<std::string> r{row.layer, with_commas(row.params)};
    for (double v : row.scores) r.push_back(fixed4(v));
    t.add(r);
  }
  std::printf("%s", t.str().c_str());
}

// Timed runs of one configuration last at least this long (small models: many runs).
constexpr double kMinTimedSeconds = 0.2;

// Median milliseconds of at least `runs` inferences, and at least kMinTimedSeconds of them,
// on seeded random inputs (after two warm-up runs).
double median_latency_ms(const ir::Graph& g, const runtime::SessionOptions& opt, int64_t runs) {
  runtime::Session s(g, opt);
  std::vector<Tensor> inputs;
  for (const auto& port : s.inputs()) inputs.push_back(make_input("random:0", port));
  s.run(inputs);
  s.run(inputs);
  std::vector<double> ms;
  const auto start = measure::now();
  while (static_cast<int64_t>(ms.size()) < runs ||
         measure::seconds_between(start, measure::now()) < kMinTimedSeconds) {
    const auto t0 = measure::now();
    s.run(inputs);
    ms.push_back(1e3 * measure::seconds_between(t0, measure::now()));
  }
  return measure::median(ms);
}

struct MixedStep {
  std::vector<std::string> layers;
  compress::MixedPrecisionResult result;
  std::string score_method, latency_method;
};

std::string assignment_str(const compress::PrecisionMap& m, size_t layers) {
  size_t int8 = 0, bf16 = 0;
  for (const auto& [node, p] : m) {
    if (p == compress::LayerPrecision::kInt8) ++int8;
    if (p == compress::LayerPrecision::kBf16) ++bf16;
  }
  return std::to_string(int8) + " int8, " + std::to_string(bf16) + " bf16, " +
         std::to_string(layers - int8 - bf16) + " fp32";
}

nlohmann::json evaluated_json(const compress::Evaluated& e) {
  nlohmann::json m = nlohmann::json::object();
  for (const auto& [node, p] : e.assignment) m[node] = compress::precision_name(p);
  return {{"assignment", m}, {"top1_points", e.score}, {"latency_ms", e.latency},
          {"origin", e.origin}};
}

// Accuracy-driven mixed precision over the int8-quantizable layers of `q`: every candidate
// assignment is scored on --data (top-1, points) and timed (median of --latency-runs).
MixedStep mixed_precision(const CompressArgs& a, const QuantStep& q, const DataScorer& scorer) {
  MixedStep m;
  for (const auto& l : q.result.layers)
    if (l.precision.rfind("int8", 0) == 0) m.layers.push_back(l.node);
  if (m.layers.empty())
    throw UserError("--max-drop: no layer of the model was quantized to int8 (nothing to choose)");
  runtime::SessionOptions base;
  base.origin = a.model;
  base.backends = {"cpu", "ref"};
  base.threads = a.engine.threads;
  base.backend_config.ranges = q.result.ranges.ranges;
  runtime::SessionOptions eval = base;
  eval.infer.batch = 64;
  runtime::SessionOptions timed = base;
  timed.infer.batch = a.engine.batch;
  const ir::Graph& g = q.result.prepared;
  size_t done = 0;
  auto progress = [&](const char* what) {
    if (!a.json) std::fprintf(stderr, "mixed precision: %zu %s\n", ++done, what);
  };
  compress::MixedPrecisionOptions mo;
  mo.max_drop = a.max_drop;
  m.result = compress::search_mixed_precision(
      m.layers,
      [&](const compress::PrecisionMap& p) {
        progress("scored");
        return 100.0 * scorer(g, compress::session_options(eval, p));
      },
      [&](const compress::PrecisionMap& p) {
        return median_latency_ms(g, compress::session_options(timed, p), a.latency_runs);
      },
      mo);
  m.score_method = "top-1 (points) on " + a.data +
                   (a.limit ? ", first " + std::to_string(a.limit) + " samples" : "");
  m.latency_method = "measured: median of at least " + std::to_string(a.latency_runs) +
                     " runs and 0.2 s after 2 warm-up, batch " + std::to_string(a.engine.batch) + ", " +
                     std::to_string(a.engine.threads) + " thread(s), steady clock, random inputs";
  return m;
}

void print_mixed(const MixedStep& m, double max_drop) {
  const auto& r = m.result;
  std::printf("\nmixed precision (max drop %.2f points): score %s; latency %s\n", max_drop,
              m.score_method.c_str(), m.latency_method.c_str());
  std::printf("baseline fp32: %.2f points, %.3f ms\n", r.baseline.score, r.baseline.latency);
  Table sens({"layer", "precision", "drop (points)", "gain (ms)"});
  for (const auto& l : r.sensitivity) {
    char d[32], g[32];
    std::snprintf(d, sizeof(d), "%+.2f", l.drop);
    std::snprintf(g, sizeof(g), "%+.3f", l.gain);
    sens.add({l.layer, compress::precision_name(l.precision), d, g});
  }
  std::printf("per-layer sensitivity (that layer alone in that precision):\n%s", sens.str().c_str());
  Table front({"assignment", "top-1 (points)", "latency (ms)", "found by"});
  for (const auto& e : r.front) {
    char sc[32], la[32];
    std::snprintf(sc, sizeof(sc), "%.2f", e.score);
    std::snprintf(la, sizeof(la), "%.3f", e.latency);
    front.add({assignment_str(e.assignment, m.layers.size()), sc, la, e.origin});
  }
  std::printf("accuracy/latency front of the %zu configurations measured:\n%s",
              r.evaluated.size(), front.str().c_str());
  // Why: each layer's own drop and gain in the precision chosen, and in int8 when not.
  Table chosen({"layer", "precision", "why (that layer alone)"});
  auto alone = [&](const std::string& layer, compress::LayerPrecision p) {
    for (const auto& l : r.sensitivity)
      if (l.layer == layer && l.precision == p) {
        char b[96];
        std::snprintf(b, sizeof(b), "%s: drop %+.2f points, gain %+.3f ms",
                      compress::precision_name(p), l.drop, l.gain);
        return std::string(b);
      }
    return std::string();
  };
  for (const auto& l : m.layers) {
    auto it = r.best.assignment.find(l);
    const auto p = it == r.best.assignment.end() ? compress::LayerPrecision::kFp32 : it->second;
    chosen.add({l, compress::precision_name(p),
                alone(l, p == compress::LayerPrecision::kFp32 ? compress::LayerPrecision::kInt8 : p)});
  }
  if (r.met)
    std::printf("chosen: %s, %.2f points (%+.2f), %.3f ms (%.2fx the fp32 latency)\n%s",
                assignment_str(r.best.assignment, m.layers.size()).c_str(), r.best.score,
                r.best.score - r.baseline.score, r.best.latency,
                r.baseline.latency / r.best.latency, chosen.str().c_str());
  else
    std::printf("chosen: fp32 everywhere (no measured configuration met the drop)\n");
}

void compress_model(CompressArgs a) {
  if (a.prune.empty() && a.quant.empty() && !a.sensitivity)
    throw UserError(
        "frugal compress: nothing to do (give --prune SPEC, --quant SPEC and/or --sensitivity)");
  if ((!a.prune.empty() || !a.quant.empty()) && a.output.empty())
    throw UserError("frugal compress: --prune and --quant need -o OUT.onnx");
  if (a.limit < 0) throw UserError("--limit: must be 0 (all) or more");
  if (a.max_drop >= 0 && a.quant.empty())
    throw UserError("--max-drop: needs --quant int8 (it chooses per layer among fp32, bf16, int8)");
  if (a.max_drop >= 0 && a.data.empty())
    throw UserError("--max-drop: needs --data (the accuracy it keeps within the drop)");
  if (a.latency_runs < 1) throw UserError("--latency-runs: must be 1 or more");
  // With --quant, --calibration names the quantizer's calibration inputs (not --precision
  // int8 ranges of the engine).
  const std::string quant_calibration = a.quant.empty() ? "" : a.engine.calibration;
  if (!a.quant.empty()) a.engine.calibration.clear();
  std::error_code ec;
  if (!a.output.empty() && std::filesystem::equivalent(a.model, a.output, ec))
    throw UserError("-o " + a.output + ": is the input model; write the pruned model elsewhere");
  const ir::Graph original = ir::load_onnx(a.model);

  std::unique_ptr<DataScorer> scorer;
  if (!a.data.empty()) scorer = std::make_unique<DataScorer>(a, original);

  nlohmann::json out = nlohmann::json::object();
  out["model"] = a.model;

  // 1. Pruning.
  ir::Graph result = original;
  std::optional<compress::SparsityReport> report;
  std::vector<std::string> notes;
  bool structured = false;
  if (!a.prune.empty()) {
    compress::PruneSpec spec = compress::PruneSpec::parse(a.prune, "--prune");
    if (!a.exclude.empty()) spec.add_excludes(a.exclude);
    if (spec.kind == compress::PruneSpec::Kind::kKeep)
      throw UserError("--prune keep: only for frugal train (keeps a model's zeros while training)");
    structured = spec.structured();
    compress::PruneOutcome o = compress::prune(original, spec);
    result = std::move(o.graph);
    notes = std::move(o.notes);
    report = compress::sparsity_report(original, result);
    out["prune"] = spec.str();
    out["report"] = compress::to_json(*report);
    out["notes"] = notes;
  }

  // 2. Quantization of the pruned graph (prune, then quantize: the Deep Compression order).
  //    The quant step shares our --data, --limit, --threads and --datasets-root.
  std::optional<QuantStep> quant;
  std::optional<MixedStep> mixed;
  std::string ranges_file, precision_file;
  if (!a.quant.empty()) {
    QuantArgs qa;
    qa.spec = a.quant;
    qa.data = a.data;
    qa.calib_data = a.calib_data;
    qa.calibration = quant_calibration;
    qa.limit = a.limit;
    qa.datasets_root = a.datasets_root;
    qa.threads = a.engine.threads;
    quant = apply_quant_step(result, a.model, qa);
    if (a.max_drop >= 0) {
      if (quant->spec.kind != compress::QuantSpec::Kind::kStatic8)
        throw UserError("--max-drop: needs static int8 (--quant int8...), not " + a.quant);
      mixed = mixed_precision(a, *quant, *scorer);
      // Layers the search left in fp32 or bf16 stay float in the exported QDQ graph.
      for (const auto& l : mixed->layers) {
        auto it = mixed->result.best.assignment.find(l);
        if (it == mixed->result.best.assignment.end() ||
            it->second != compress::LayerPrecision::kInt8)
          qa.keep_float.insert(l);
      }
      if (!qa.keep_float.empty()) {
        qa.skip_fp32_accuracy = true;
        nlohmann::ordered_json fp32 = quant->report["accuracy"]["fp32"];
        quant = apply_quant_step(result, a.model, qa);
        quant->report["accuracy"]["fp32"] = fp32;
      }
    }
    for (const auto& w : quant->warnings) std::fprintf(stderr, "warning: %s\n", w.c_str());
    result = quant->result.graph;
    out["quant"] = quant->report;
    if (quant->spec.kind == compress::QuantSpec::Kind::kStatic8)
      ranges_file = ranges_path(a.output);
    if (mixed) {
      precision_file = precision_path(a.output);
      nlohmann::json mp;
      mp["max_drop_points"] = a.max_drop;
      mp["score"] = mixed->score_method;
      mp["latency"] = mixed->latency_method;
      mp["met"] = mixed->result.met;
      mp["baseline"] = evaluated_json(mixed->result.baseline);
      mp["best"] = evaluated_json(mixed->result.best);
      nlohmann::json sens = nlohmann::json::array(), front = nlohmann::json::array();
      for (const auto& l : mixed->result.sensitivity)
        sens.push_back({{"layer", l.layer}, {"precision", compress::precision_name(l.precision)},
                        {"drop_points", l.drop}, {"gain_ms", l.gain}});
      for (const auto& e : mixed->result.front) front.push_back(evaluated_json(e));
      mp["sensitivity"] = sens;
      mp["front"] = front;
      mp["configurations_measured"] = mixed->result.evaluated.size();
      nlohmann::json layers = nlohmann::json::object();
      for (const auto& l : mixed->layers) {
        auto it = mixed->result.best.assignment.find(l);
        layers[l] = it == mixed->result.best.assignment.end()
                        ? "fp32"
                        : compress::precision_name(it->second);
      }
      mp["layers"] = layers;
      out["mixed_precision"] = mp;
    }
  }

  // 3. Accuracy before/after.
  std::optional<double> acc_before, acc_after;
  if (scorer && report) {
    acc_before = (*scorer)(original);
    // With --quant, the quant step scored the pruned float graph already.
    acc_after = quant ? quant->report["accuracy"]["fp32"].get<double>() : (*scorer)(result);
    out["accuracy"] = {
        {"data", a.data}, {"limit", a.limit}, {"before", *acc_before}, {"after", *acc_after}};
  }

  // 4. Sensitivity of the original model.
  std::optional<compress::SensitivityResult> sens;
  if (a.sensitivity) {
    compress::SensitivityOptions so;
    if (!a.levels.empty()) so.levels = parse_levels(a.levels);
    if (!a.exclude.empty()) {
      compress::PruneSpec tmp;
      tmp.add_excludes(a.exclude);
      so.exclude = tmp.exclude;
    }
    if (!a.json)
      so.progress = [](size_t i, size_t n, const std::string& name) {
        std::fprintf(stderr, "sensitivity: %zu/%zu %s\n", i + 1, n, name.c_str());
      };
    if (scorer) {
      sens = compress::sensitivity(
          original, [&](const ir::Graph& g) { return (*scorer)(g); }, so);
      sens->score_name =
          "top-1 on " + a.data + (a.limit ? ", first " + std::to_string(a.limit) : "");
    } else {
      runtime::SessionOptions opt = session_options(a.engine, a.model, &original);
      sens = compress::sensitivity(original,
                                   compress::agreement_score(original, a.samples, a.seed, opt), so);
      sens->score_name = "top-1 agreement with the unpruned model on " + std::to_string(a.samples) +
                         " random N(0,1) inputs (seed " + std::to_string(a.seed) + ")";
    }
    out["sensitivity"] = compress::to_json(*sens);
  }

  if (report || quant) {
    ir::save_onnx(result, a.output);
    out["output"] = a.output;
    if (!ranges_file.empty()) {
      runtime::save_ranges(ranges_file, quant->result.ranges);
      out["ranges_file"] = ranges_file;
    }
    if (!precision_file.empty()) {
      std::ofstream f(precision_file);
      f << out["mixed_precision"]["layers"].dump(2) << "\n";
      if (!f) throw UserError(precision_file + ": cannot write");
      out["precision_file"] = precision_file;
    }
  }
  if (a.json) {
    print_json(out);
    return;
  }
  std::printf("frugal compress %s\n", a.model.c_str());
  if (report) {
    std::printf("prune     %s\n\n", out["prune"].get<std::string>().c_str());
    print_report(*report, structured);
    for (const auto& n : notes) std::printf("note      %s\n", n.c_str());
    if (acc_before)
      std::printf("accuracy  top-1 %.4f -> %.4f (%+.2f points) on %s%s\n", *acc_before, *acc_after,
                  100.0 * (*acc_after - *acc_before), a.data.c_str(),
                  a.limit ? (", first " + std::to_string(a.limit) + " samples").c_str() : "");
    if (!quant)
      std::printf("wrote     %s (%s)\n", a.output.c_str(),
                  structured ? "smaller dense model"
                             : "dense with zeros; metadata frugal.compress records the pruning");
  }
  if (quant) {
    std::printf("\nquant     %s%s\n", quant->report["spec"].get<std::string>().c_str(),
                a.prune.empty() ? "" : " (of the pruned model)");
    print_quant_step(*quant, ranges_file);
  }
  if (mixed) print_mixed(*mixed, a.max_drop);
  if (quant) {
    std::printf("wrote     %s (%s)\n", a.output.c_str(),
                quant->spec.kind == compress::QuantSpec::Kind::kStatic8
                    ? (mixed && !mixed->result.best.assignment.empty()
                           ? "QDQ: the int8 layers chosen; fp32/bf16 layers float"
                           : "QDQ int8")
                    : compress::quant_spec_name(quant->spec).c_str());
    if (!ranges_file.empty())
      std::printf("wrote     %s (activation ranges, for --precision int8 --calibration)\n",
                  ranges_file.c_str());
    if (!precision_file.empty())
      std::printf("wrote     %s (per-layer precision chosen)\n", precision_file.c_str());
  }
  if (sens) print_sensitivity(*sens);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<CompressArgs>();
  auto* sub = app.add_subcommand(
      "compress", "Prune and/or quantize a model; per-layer size, MACs, precision and accuracy");
  sub->footer(
      "Prune specs: 0.9 (every layer, magnitude) | global:0.9 (one threshold) | "
      "conv1=0.5,fc1=0.95,default=0.8 | nm:2:4 (N of each M input channels) | "
      "channels:0.5[:l1|l2|bn] (remove output channels: a smaller dense model).\n"
      "--exclude: layer names, globs (fc*), first, last.\n"
      "Quant specs (after pruning, as frugal quantize): int8[:per-channel|per-tensor]"
      "[,calib=minmax|percentile[:P]|mse|entropy][,samples=N][,sym|asym][,bias-correct][,cle] | "
      "int8:dynamic | int4[:group=G]. --max-drop P: per-layer fp32/bf16/int8 within P points "
      "of the fp32 top-1 on --data at the lowest measured latency.\n"
      "Examples:\n"
      "  frugal compress lenet5.onnx --prune 0.9 --exclude first -o l90.onnx\n"
      "  frugal compress lenet5.onnx --prune global:0.9 --data fashion-mnist --limit 2000 -o "
      "g90.onnx\n"
      "  frugal compress resnet8.onnx --prune channels:0.5:bn -o r8c50.onnx\n"
      "  frugal compress lenet5.onnx --sensitivity --data fashion-mnist --limit 1000 --json\n"
      "  frugal compress lenet5.onnx --prune global:0.9 --quant int8 --data fashion-mnist -o "
      "g90q.onnx\n"
      "  frugal compress m.onnx --quant int8,calib=percentile --data fashion-mnist --limit 2000 "
      "--max-drop 0.5 -o mp.onnx\n"
      "See docs/pruning.md.");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("-o,--output", a->output, "pruned model (ONNX)");
  sub->add_option("--prune", a->prune, "what to prune (see below)");
  sub->add_option("--quant", a->quant, "quantize (after --prune): see below");
  sub->add_option("--calib-data", a->calib_data,
                  "--quant calibration data set (default: fashion-mnist's train split for "
                  "--data fashion-mnist, else --data); --calibration a.npy,...|random:N instead");
  sub->add_option("--max-drop", a->max_drop,
                  "--quant int8: choose fp32/bf16/int8 per layer within this many top-1 points");
  sub->add_option("--latency-runs", a->latency_runs,
                  "--max-drop: timed runs per configuration (median; default 20)");
  sub->add_option("--exclude", a->exclude,
                  "layers left alone: names, globs, first, last (comma-separated)");
  sub->add_option("--data", a->data,
                  "data set for accuracy before/after, --sensitivity, --max-drop and --quant "
                  "calibration");
  sub->add_option("--limit", a->limit, "use the first N samples of --data (0: all)");
  sub->add_flag("--sensitivity", a->sensitivity, "per-layer score at 10 sparsity levels");
  sub->add_option("--levels", a->levels, "sensitivity levels (default 0.1,...,0.9,0.95)");
  sub->add_option("--samples", a->samples,
                  "sensitivity without --data: random inputs (default 256)");
  sub->add_option("--seed", a->seed, "sensitivity without --data: seed of the random inputs");
  add_engine_options(sub, a->engine);
  sub->add_option("--datasets-root", a->datasets_root, "where named data sets live");
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a] { compress_model(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(compress, 47, setup);

}  // namespace frugal::cli
