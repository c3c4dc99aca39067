#include "frugal/cli/quant_step.h"

#include <cstdio>

#include "frugal/cli/common.h"
#include "frugal/core/error.h"

namespace frugal::cli {

void add_quant_options(CLI::App& sub, QuantArgs& a) {
  sub.add_option(
      "--quant", a.spec,
      "int8[:per-channel|per-tensor][,calib=minmax|percentile[:P]|mse|entropy]"
      "[,samples=N][,sym|asym][,bias-correct][,cle] | int8:dynamic | int4[:group=32|64|128]");
  sub.add_option(
      "--data", a.data,
      "labelled data: accuracy before/after (fashion-mnist: test split), and calibration "
      "(fashion-mnist: train split) unless --calib-data or --calibration");
  sub.add_option("--calib-data", a.calib_data, "calibration data set spec (default: see --data)");
  sub.add_option("--calibration", a.calibration,
                 "calibration inputs instead of a data set: a.npy,b.npy (batches, NCHW) or "
                 "random:N[:SEED] (says nothing of accuracy)");
  sub.add_option("--limit", a.limit, "evaluate the first N samples only (0: all)");
  sub.add_option("--threads", a.threads, "compute threads for evaluation (default 1)");
  sub.add_option("--datasets-root", a.datasets_root,
                 "where named data sets live (default /usr/share/datasets)");
}

namespace {
measure::CompressData compress_data(const QuantArgs& a) {
  return {a.data, a.calib_data, a.calibration, a.limit, a.datasets_root};
}
}  // namespace

QuantStep apply_quant_step(const ir::Graph& graph, const std::string& origin, const QuantArgs& a) {
  if (a.threads < 1) throw UserError("--threads: must be 1 or more");
  if (a.spec.empty()) throw UserError("--quant: required (e.g. int8, int8,calib=entropy, int4)");
  compress::PipelineSpec spec;
  spec.quant = a.spec;
  const compress::Pipeline pipeline = compress::make_pipeline(spec);
  compress::PipelineContext ctx;
  ctx.origin = origin;
  ctx.base.origin = origin;
  ctx.base.backends = {"cpu", "ref"};
  ctx.base.threads = a.threads;
  measure::attach_data(ctx, graph, compress_data(a));
  return *compress::run_pipeline(graph, pipeline, ctx).quant;
}

namespace {
std::string pct(const nlohmann::ordered_json& v) {
  char b[32];
  std::snprintf(b, sizeof(b), "%.2f%%", 100.0 * v.get<double>());
  return b;
}
std::string stem(const std::string& out) {
  return out.size() > 5 && out.compare(out.size() - 5, 5, ".onnx") == 0
             ? out.substr(0, out.size() - 5)
             : out;
}
}  // namespace

std::string ranges_path(const std::string& onnx_out) {
  return stem(onnx_out) + ".ranges.json";
}
std::string precision_path(const std::string& onnx_out) {
  return stem(onnx_out) + ".precision.json";
}

void print_quant_step(const QuantStep& step, const std::string& ranges_file) {
  if (step.report.contains("calibration"))
    std::printf("calibrated %s on %lld samples of %s (%zu value ranges%s)\n",
                step.result.ranges.method.c_str(),
                static_cast<long long>(step.report["calibration_samples"].get<int64_t>()),
                step.report["calibration_source"].get<std::string>().c_str(),
                step.result.ranges.ranges.size(),
                ranges_file.empty() ? "" : (", saved to " + ranges_file).c_str());
  Table t({"node", "op", "precision", "weight bytes", "quantized", "input range"});
  for (const auto& l : step.result.layers) {
    std::string r = "-";
    if (l.input_range) {
      char b[64];
      std::snprintf(b, sizeof(b), "[%.4g, %.4g]", l.input_range->min, l.input_range->max);
      r = b;
    }
    t.add({l.node, l.op_type, l.precision, with_commas(l.weight_bytes_before),
           with_commas(l.weight_bytes_after), r});
  }
  std::printf("\n%s", t.str().c_str());
  std::printf("total weight bytes %s -> %s\n", with_commas(step.result.weight_bytes_before).c_str(),
              with_commas(step.result.weight_bytes_after).c_str());
  for (const auto& n : step.result.notes) std::printf("note: %s\n", n.c_str());
  if (step.report.contains("accuracy")) {
    const auto& acc = step.report["accuracy"];
    std::printf("\naccuracy on %s (%lld samples, top-1)\n", acc["data"].get<std::string>().c_str(),
                static_cast<long long>(acc["samples"].get<int64_t>()));
    if (acc.contains("fp32")) std::printf("  fp32        %s\n", pct(acc["fp32"]).c_str());
    std::printf("  fake-quant  %s  (the exported graph run in float32)\n",
                pct(acc["fake_quant"]).c_str());
    if (acc.contains("true_int8"))
      std::printf("  true int8   %s  (cpu:int8 with the saved ranges)\n",
                  pct(acc["true_int8"]).c_str());
  }
}

}  // namespace frugal::cli
