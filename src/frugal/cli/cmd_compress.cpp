// frugal compress MODEL -o OUT.onnx|OUT.fgz [--lowrank SPEC] [--prune SPEC] [--cluster SPEC]
// [--quant SPEC
// [--max-drop P]] [--encode]: parses the options, runs the compress pipeline
// (compress/pipeline.h: low-rank, prune, cluster, quantize, mixed precision; its data from
// measure/compress_data.h) and prints its report: the exact per-layer sparsity
// (compress/sparsity_report.h), clusters, quantization, mixed precision, accuracy
// before/after, the encoded size (compress/weight_encoding.h) and the per-layer sensitivity
// sweep (compress/sensitivity.h). docs/pruning.md, docs/quantization.md, docs/compression.md.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/cli/engine_options.h"
#include "frugal/cli/quant_step.h"
#include "frugal/compress/container.h"
#include "frugal/compress/pipeline.h"
#include "frugal/compress/precision_map.h"
#include "frugal/compress/prune.h"
#include "frugal/compress/sensitivity.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/measure/workflows.h"

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
  std::string cluster;    // weight sharing
  std::string lowrank;    // low-rank factorization
  std::string binarize;   // binary / ternary weights
  std::string circulant;  // block-circulant layers
  bool gather = false;    // export clustered weights as codebook + index + Gather
  bool encode = false;    // write the .fgz container
  int index_bits = 0;     // sparse relative index width of the container (0: best per tensor)
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

std::string assignment_str(const compress::PrecisionMap& m, size_t layers) {
  size_t int8 = 0, bf16 = 0;
  for (const auto& [node, p] : m) {
    if (p == compress::LayerPrecision::kInt8) ++int8;
    if (p == compress::LayerPrecision::kBf16) ++bf16;
  }
  return std::to_string(int8) + " int8, " + std::to_string(bf16) + " bf16, " +
         std::to_string(layers - int8 - bf16) + " fp32";
}

void print_mixed(const compress::MixedStep& m) {
  const auto& r = m.result;
  std::printf("\nmixed precision (max drop %.2f points): score %s; latency %s\n", m.max_drop,
              m.score_method.c_str(), m.latency_method.c_str());
  std::printf("baseline fp32: %.2f points, %.3f ms\n", r.baseline.score, r.baseline.latency);
  Table sens({"layer", "precision", "drop (points)", "gain (ms)"});
  for (const auto& l : r.sensitivity) {
    char d[32], g[32];
    std::snprintf(d, sizeof(d), "%+.2f", l.drop);
    std::snprintf(g, sizeof(g), "%+.3f", l.gain);
    sens.add({l.layer, compress::precision_name(l.precision), d, g});
  }
  std::printf("per-layer sensitivity (that layer alone in that precision):\n%s",
              sens.str().c_str());
  Table front({"assignment", "top-1 (points)", "latency (ms)", "found by"});
  for (const auto& e : r.front) {
    char sc[32], la[32];
    std::snprintf(sc, sizeof(sc), "%.2f", e.score);
    std::snprintf(la, sizeof(la), "%.3f", e.latency);
    front.add({assignment_str(e.assignment, m.layers.size()), sc, la, e.origin});
  }
  std::printf("accuracy/latency front of the %zu configurations measured:\n%s", r.evaluated.size(),
              front.str().c_str());
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
    chosen.add(
        {l, compress::precision_name(p),
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

void print_cluster(const compress::ClusterResult& c) {
  Table t({"layer", "op", "bits", "weights", "non-zeros", "centroids", "iterations", "MSE"});
  for (const auto& l : c.layers) {
    char mse[32];
    std::snprintf(mse, sizeof(mse), "%.3g", l.mse);
    t.add({l.name, l.op_type, std::to_string(l.bits), with_commas(l.weights),
           with_commas(l.nonzeros),
           std::to_string(l.codebook.size()) + (l.zero_fixed ? " (0 fixed)" : ""),
           std::to_string(l.iterations), mse});
  }
  std::printf("\nweight sharing (k-means)\n%s", t.str().c_str());
  for (const auto& n : c.notes) std::printf("note      %s\n", n.c_str());
}

void print_lowrank(const compress::LowRankResult& r) {
  Table t({"layer", "op", "matrix", "rank", "kept energy", "rel. error", "params before",
           "params after", "MACs before", "MACs after"});
  for (const auto& l : r.layers) {
    char energy[32], err[32];
    std::snprintf(energy, sizeof(energy), "%.4f", l.kept_energy);
    std::snprintf(err, sizeof(err), "%.4f", l.rel_error);
    const std::string rank = l.method == "tucker2"
                                 ? std::to_string(l.rank) + "," + std::to_string(l.rank_in) + "/" +
                                       std::to_string(l.full_rank) + "," +
                                       std::to_string(l.full_rank_in)
                                 : std::to_string(l.rank) + "/" + std::to_string(l.full_rank);
    t.add({l.name, l.op_type + (l.method == "tucker2" ? " tucker2" : ""),
           std::to_string(l.rows) + "x" + std::to_string(l.cols),
           rank + (l.factored ? "" : " (dense)"), energy, err, with_commas(l.params_before),
           with_commas(l.params_after), with_commas(l.macs_before), with_commas(l.macs_after)});
  }
  std::printf(
      "\nlow-rank (truncated SVD; Conv: KxK with r filters, then 1x1; tucker2: 1x1 / KxK / 1x1, "
      "rank = output,input channels)\n%s",
      t.str().c_str());
  std::printf("low-rank  weights %s -> %s, MACs %s -> %s (batch 1)\n",
              with_commas(r.params_before).c_str(), with_commas(r.params_after).c_str(),
              with_commas(r.macs_before).c_str(), with_commas(r.macs_after).c_str());
  for (const auto& n : r.notes) std::printf("note      %s\n", n.c_str());
}

void print_circulant(const compress::CirculantResult& r) {
  Table t({"layer", "op", "matrix", "blocks", "rel. error", "params before", "params after"});
  for (const auto& l : r.layers) {
    char err[32];
    std::snprintf(err, sizeof(err), "%.4f", l.rel_error);
    t.add({l.name, l.op_type, std::to_string(l.rows) + "x" + std::to_string(l.cols),
           std::to_string(l.block_rows) + "x" + std::to_string(l.block_cols), err,
           with_commas(l.params_before), with_commas(l.params_after)});
  }
  std::printf("\nblock-circulant (projection: mean of each block's diagonals)\n%s",
              t.str().c_str());
  std::printf("circulant weights %s -> %s\n", with_commas(r.params_before).c_str(),
              with_commas(r.params_after).c_str());
  for (const auto& n : r.notes) std::printf("note      %s\n", n.c_str());
}

void print_binarize(const compress::BinarizeResult& r) {
  Table t({"layer", "op", "matrix", "zeros", "rel. error"});
  for (const auto& l : r.layers) {
    char err[32];
    std::snprintf(err, sizeof(err), "%.4f", l.rel_error);
    t.add({l.name, l.op_type, std::to_string(l.rows) + "x" + std::to_string(l.cols),
           with_commas(l.zeros), err});
  }
  std::printf("\nbinarize (sign x per-channel scale; ternary: TWN threshold 0.7 mean|W|)\n%s",
              t.str().c_str());
  for (const auto& n : r.notes) std::printf("note      %s\n", n.c_str());
}

std::string ratio(int64_t before, int64_t after) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.1fx",
                after ? static_cast<double>(before) / static_cast<double>(after) : 0.0);
  return b;
}

// Deep Compression's per-layer table (their Tables 2-5): the tensors' bits per stored
// value and per relative index, the encoded size, the ratio and what Huffman saved.
// `original_bytes`: the input model's weights as loaded, the baseline a user compares with
// (a factored or binarized model's own float bytes are already smaller).
void print_encoded(const compress::EncodedSize& e, int64_t original_bytes, bool per_layer) {
  if (per_layer) {
    Table t({"tensor", "elements", "float32 B", "encoding", "weight bits", "index bits",
             "encoded B", "ratio", "Huffman saved B"});
    for (const auto& l : e.tensors) {
      const auto fixed = static_cast<int64_t>((l.plan.fixed_bits + 7) / 8);
      t.add({l.tensor, with_commas(l.elements), with_commas(l.raw_bytes), l.plan.describe(),
             std::to_string(l.plan.value_bits),
             l.plan.index_bits ? std::to_string(l.plan.index_bits) : "-",
             with_commas(l.plan.bytes()), ratio(l.raw_bytes, l.plan.bytes()),
             with_commas(fixed - l.plan.bytes())});
    }
    std::printf("\n%s", t.str().c_str());
  }
  std::printf("encoded   weights %s B -> %s B (%s smaller; %s B without Huffman)\n",
              with_commas(e.raw_bytes).c_str(), with_commas(e.encoded_bytes).c_str(),
              ratio(e.raw_bytes, e.encoded_bytes).c_str(), with_commas(e.fixed_bytes).c_str());
  if (original_bytes != e.raw_bytes)
    std::printf("          the input model's weights: %s B (%s smaller than them)\n",
                with_commas(original_bytes).c_str(),
                ratio(original_bytes, e.encoded_bytes).c_str());
}

void check_args(CompressArgs& a) {
  const bool transforms = !a.prune.empty() || !a.quant.empty() || !a.cluster.empty() ||
                          !a.lowrank.empty() || !a.binarize.empty() || !a.circulant.empty();
  if (!transforms && !a.sensitivity && !a.encode)
    throw UserError(
        "frugal compress: nothing to do (give --lowrank SPEC, --circulant B, --prune SPEC, "
        "--cluster SPEC, "
        "--binarize SPEC, --quant SPEC, --encode and/or --sensitivity)");
  if ((transforms || a.encode) && a.output.empty())
    throw UserError(
        "frugal compress: --lowrank, --prune, --cluster and --quant need -o OUT.onnx (--encode: "
        "-o OUT.fgz)");
  if (a.encode && !a.output.ends_with(".fgz"))
    throw UserError("--encode: -o " + a.output + " must end in .fgz");
  if (!a.encode && a.output.ends_with(".fgz"))
    throw UserError("-o " + a.output + ": a .fgz container needs --encode");
  if (a.gather && a.cluster.empty())
    throw UserError("--gather: needs --cluster (it exports the codebook + index)");
  if (a.gather && a.encode)
    throw UserError("--gather: writes ONNX; --encode writes the container (give one)");
  if (a.limit < 0) throw UserError("--limit: must be 0 (all) or more");
  if (a.max_drop >= 0 && a.quant.empty())
    throw UserError("--max-drop: needs --quant int8 (it chooses per layer among fp32, bf16, int8)");
  if (a.max_drop >= 0 && a.data.empty())
    throw UserError("--max-drop: needs --data (the accuracy it keeps within the drop)");
  if (a.latency_runs < 1) throw UserError("--latency-runs: must be 1 or more");
  if (a.index_bits < 0 || a.index_bits > 8)
    throw UserError("--index-bits: must be 1 to 8 (0: the best)");
  std::error_code ec;
  if (!a.output.empty() && std::filesystem::equivalent(a.model, a.output, ec))
    throw UserError("-o " + a.output + ": is the input model; write the pruned model elsewhere");
}

compress::PipelineContext make_context(CompressArgs& a, const ir::Graph& original) {
  // With --quant, --calibration names the quantizer's calibration inputs (not --precision
  // int8 ranges of the engine).
  const std::string quant_calibration = a.quant.empty() ? "" : a.engine.calibration;
  if (!a.quant.empty()) a.engine.calibration.clear();
  compress::PipelineContext ctx = measure::compress_context(
      original, a.model, a.engine, !a.quant.empty(),
      {a.data, a.calib_data, quant_calibration, a.limit, a.datasets_root});
  ctx.latency_runs = a.latency_runs;
  // Progress only on a terminal: an error must stay the one line a script reads on stderr.
  if (!a.json && isatty(2))
    ctx.progress = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  return ctx;
}

std::optional<compress::SensitivityResult> sensitivity(const CompressArgs& a,
                                                       const ir::Graph& original,
                                                       const compress::PipelineContext& ctx) {
  if (!a.sensitivity) return std::nullopt;
  compress::SensitivityOptions so;
  if (!a.levels.empty()) so.levels = parse_levels(a.levels);
  if (!a.exclude.empty()) {
    compress::PruneSpec tmp;
    tmp.add_excludes(a.exclude);
    so.exclude = tmp.exclude;
  }
  if (!a.json && isatty(2))
    so.progress = [](size_t i, size_t n, const std::string& name) {
      std::fprintf(stderr, "sensitivity: %zu/%zu %s\n", i + 1, n, name.c_str());
    };
  compress::SensitivityResult sens;
  if (ctx.score) {
    sens = compress::sensitivity(
        original, [&](const ir::Graph& g) { return ctx.score(g, ctx.base); }, so);
    sens.score_name = "top-1 on " + ctx.score_method;
  } else {
    sens = compress::sensitivity(
        original, compress::agreement_score(original, a.samples, a.seed, ctx.base), so);
    sens.score_name = "top-1 agreement with the unpruned model on " + std::to_string(a.samples) +
                      " random N(0,1) inputs (seed " + std::to_string(a.seed) + ")";
  }
  return sens;
}

struct Written {
  std::string ranges_file, precision_file;
  std::optional<compress::FgzSummary> fgz;
};

Written write_outputs(const CompressArgs& a, const compress::PipelineState& st,
                      nlohmann::json& out) {
  Written w;
  if (st.applied.empty() && !a.encode) return w;
  if (a.encode) {
    compress::EncodeOptions eo;
    eo.index_bits = a.index_bits;
    w.fgz = compress::write_fgz(st.graph, a.output, eo);
    out["fgz_bytes"] = w.fgz->file_bytes;
  } else {
    ir::save_onnx(a.gather ? compress::export_gather(*st.cluster) : st.graph, a.output);
  }
  out["output"] = a.output;
  if (st.quant && st.quant->spec.kind == compress::QuantSpec::Kind::kStatic8) {
    w.ranges_file = ranges_path(a.output);
    runtime::save_ranges(w.ranges_file, st.quant->result.ranges);
    out["ranges_file"] = w.ranges_file;
  }
  if (st.mixed) {
    w.precision_file = precision_path(a.output);
    compress::save_precision_map(w.precision_file, compress::chosen_map(*st.mixed));
    out["precision_file"] = w.precision_file;
  }
  return w;
}

void print_text(const CompressArgs& a, const compress::PipelineState& st, const nlohmann::json& out,
                const Written& w, const compress::EncodedSize& encoded) {
  std::printf("frugal compress %s\n", a.model.c_str());
  if (st.sparsity) {
    std::printf("prune     %s\n\n", out["prune"].get<std::string>().c_str());
    print_report(*st.sparsity, st.structured);
    for (const auto& n : st.notes) std::printf("note      %s\n", n.c_str());
  }
  if (st.lowrank) print_lowrank(*st.lowrank);
  if (st.circulant) print_circulant(*st.circulant);
  if (st.cluster) print_cluster(*st.cluster);
  if (st.binarize) print_binarize(*st.binarize);
  if (st.accuracy_before)
    std::printf("accuracy  top-1 %.4f -> %.4f (%+.2f points) on %s%s\n", *st.accuracy_before,
                *st.accuracy_after, 100.0 * (*st.accuracy_after - *st.accuracy_before),
                a.data.c_str(),
                a.limit ? (", first " + std::to_string(a.limit) + " samples").c_str() : "");
  if (st.quant) {
    std::printf("\nquant     %s%s\n", st.quant->report["spec"].get<std::string>().c_str(),
                a.prune.empty() ? "" : " (of the pruned model)");
    print_quant_step(*st.quant, w.ranges_file);
  }
  if (st.mixed) print_mixed(*st.mixed);
  print_encoded(encoded, out["encoded"].value("original_raw_bytes", encoded.raw_bytes), a.encode);
  if (out.contains("output")) {
    std::string what = "dense with zeros; metadata frugal.compress records the pruning";
    if (st.lowrank) what = "factored layers; metadata frugal.compress records the ranks";
    if (st.circulant)
      what = st.circulant->graph.opsets.count("frugal")
                 ? "frugal.BlockCirculant layers; :dense writes the dense equivalent"
                 : "dense equivalent of the block-circulant layers";
    if (st.binarize)
      what = st.binarize->spec.packed
                 ? "frugal.BinaryConv/BinaryGemm: packed sign bits, scale and bias"
                 : "weights -1/0/+1, then Mul by the per-channel scale and Add of the bias";
    if (st.structured) what = "smaller dense model";
    if (st.cluster)
      what = a.gather ? "codebook + uint8 index + Gather per clustered weight"
                      : "shared weights, float32";
    if (st.quant)
      what = st.quant->spec.kind == compress::QuantSpec::Kind::kStatic8
                 ? (st.mixed && !st.mixed->result.best.assignment.empty()
                        ? "QDQ: the int8 layers chosen; fp32/bf16 layers float"
                        : "QDQ int8")
                 : compress::quant_spec_name(st.quant->spec);
    if (w.fgz)
      what = ".fgz container, " + with_commas(w.fgz->file_bytes) + " B; frugal decompress reads it";
    std::printf("wrote     %s (%s)\n", a.output.c_str(), what.c_str());
  }
  if (!w.ranges_file.empty())
    std::printf("wrote     %s (activation ranges, for --precision int8 --calibration)\n",
                w.ranges_file.c_str());
  if (!w.precision_file.empty())
    std::printf("wrote     %s (per-layer precision chosen)\n", w.precision_file.c_str());
}

void compress_model(CompressArgs a) {
  check_args(a);
  const ir::Graph original = ir::load_onnx(a.model);
  compress::PipelineSpec spec{a.prune,         a.exclude, a.cluster,  a.quant,    a.max_drop,
                              !a.data.empty(), a.lowrank, a.binarize, a.circulant};
  const compress::Pipeline pipeline = compress::make_pipeline(spec);
  const compress::PipelineContext ctx = make_context(a, original);
  const compress::PipelineState st = compress::run_pipeline(original, pipeline, ctx);
  nlohmann::json out = compress::to_json(st, ctx);
  out["model"] = a.model;
  const std::optional<compress::SensitivityResult> sens = sensitivity(a, original, ctx);
  if (sens) out["sensitivity"] = compress::to_json(*sens);
  for (const auto& warning : st.quant ? st.quant->warnings : std::vector<std::string>{})
    std::fprintf(stderr, "warning: %s\n", warning.c_str());
  compress::EncodeOptions eo;
  eo.index_bits = a.index_bits;
  const compress::EncodedSize encoded = compress::encoded_size(st.graph, eo);
  out["encoded"] = compress::to_json(encoded);
  out["encoded"]["original_raw_bytes"] = compress::initializer_bytes(original);
  const Written w = write_outputs(a, st, out);
  if (a.json) {
    print_json(out);
    return;
  }
  print_text(a, st, out, w, encoded);
  if (sens) print_sensitivity(*sens);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<CompressArgs>();
  auto* sub = app.add_subcommand("compress",
                                 "Prune, share weights, quantize, encode a model; per-layer size, "
                                 "MACs, precision, accuracy, encoded size");
  sub->footer(
      "Prune specs: 0.9 (every layer, magnitude) | global:0.9 (one threshold) | "
      "conv1=0.5,fc1=0.95,default=0.8 | nm:2:4 (N of each M input channels) | "
      "channels:0.5[:l1|l2|bn] (remove output channels: a smaller dense model).\n"
      "--exclude: layer names, globs (fc*), first, last.\n"
      "Low-rank specs (truncated SVD: Gemm/MatMul into two layers, Conv into KxK with r "
      "filters then 1x1; a layer stays dense when its factors would not be smaller): 0.25 "
      "(rank = 25% of min(rows, cols)) | rank=R | energy=0.9 (smallest rank keeping 90% of the "
      "sum of squared singular values), then :conv=tucker (KxK convs by Tucker-2 into 1x1 / KxK "
      "/ 1x1, the rank per channel mode) and :hooi=N (N HOOI refinements). Fine-tune the result "
      "with frugal train.\n"
      "Binarize specs: binary (sign x per-output-channel mean |W|, XNOR-Net) | ternary (-1/0/+1 "
      "with TWN's threshold 0.7 mean |W|) [:all] (default: first and last layer stay float) "
      "[:acts] (binary activations: beta sign(x) into Conv/Gemm) [:packed] (with :acts: "
      "bit-packed frugal.BinaryConv/BinaryGemm for the popcount kernels; only frugal runs "
      "them).\n"
      "Cluster specs (k-means weight sharing, Han et al.; zeros stay zero): 5 (every layer, 2^5 "
      "shared values) | conv=8,fc=5 | fc1=4,default kinds... [:init=linear|density|random]; bits "
      "1..8. "
      "Fine-tune the centroids with frugal train --cluster keep.\n"
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
      "  frugal compress lenet300.onnx --prune 0.92 --cluster fc=5 -o pc.onnx\n"
      "  frugal compress lenet5.onnx --lowrank energy=0.9 --data fashion-mnist -o lr.onnx\n"
      "  frugal compress resnet18.onnx --lowrank 0.5:conv=tucker:hooi=2 -o t.onnx\n"
      "  frugal compress lenet5.onnx --binarize ternary --data fashion-mnist -o t.onnx\n"
      "  frugal compress lenet5.onnx --binarize binary:acts:packed -o xnor.onnx\n"
      "  frugal compress lenet300.onnx --circulant 32:pad --exclude last -o c.onnx   (then "
      "fine-tune: frugal train c.onnx ...)\n"
      "  frugal compress lenet5.onnx --prune 0.9 --cluster conv=8,fc=5:init=density --gather -o "
      "g.onnx\n"
      "  frugal compress pc.onnx --encode -o pc.fgz   (then: frugal decompress pc.fgz -o "
      "back.onnx)\n"
      "See docs/pruning.md, docs/quantization.md, docs/compression.md.");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("-o,--output", a->output, "pruned model (ONNX)");
  sub->add_option("--prune", a->prune, "what to prune (see below)");
  sub->add_option("--cluster", a->cluster, "weight sharing (after --prune): see below");
  sub->add_option("--binarize", a->binarize,
                  "binary or ternary weights (after --cluster; not with --quant): see below");
  sub->add_option("--lowrank", a->lowrank,
                  "low-rank factorization (first, before --prune): see below");
  sub->add_option(
      "--circulant", a->circulant,
      "B[:pad][:dense][:rescale][:fft=own|fftw]: fully-connected and 1x1-conv layers as BxB "
      "circulant blocks (B a power of two, 4 to 256; first, before --prune); pad: "
      "zero-pad layers B does not divide; dense: write the dense equivalent; rescale: keep "
      "each layer's weight spread (a start for fine-tuning)");
  sub->add_flag("--gather", a->gather,
                "--cluster: write each shared weight as codebook + uint8 index + Gather (default: "
                "the float32 weights with at most 2^bits values)");
  sub->add_flag(
      "--encode", a->encode,
      "write the compressed container -o OUT.fgz (Huffman-coded codebook indices and relative "
      "sparse indices; frugal decompress reads it)");
  sub->add_option("--index-bits", a->index_bits,
                  "--encode: width of the relative sparse indices, 1 to 8 (default 0: the smallest "
                  "per tensor)");
  sub->add_option("--quant", a->quant, "quantize (after --prune and --cluster): see below");
  sub->add_option("--calib-data", a->calib_data,
                  "--quant calibration data set (default: fashion-mnist's train split for "
                  "--data fashion-mnist, else --data); --calibration a.npy,...|random:N instead");
  // -1 stands for "not given" inside, so a negative value given is refused, not ignored.
  sub->add_option("--max-drop", a->max_drop,
                  "--quant int8: choose fp32/bf16/int8 per layer within this many top-1 points")
      ->check(CLI::Validator(
          [](std::string& v) {
            return std::strtod(v.c_str(), nullptr) >= 0
                       ? std::string()
                       : "must be 0 or more top-1 points, got " + v;
          },
          "POINTS"));
  sub->add_option("--latency-runs", a->latency_runs,
                  "--max-drop: timed runs per configuration (median; default 20)");
  sub->add_option("--exclude", a->exclude,
                  "layers --prune, --lowrank, --circulant and --binarize leave alone: names, "
                  "globs, first, last "
                  "(comma-separated)");
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
