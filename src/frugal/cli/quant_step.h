// The --quant step as reusable pieces, so that `frugal quantize` and (later) `frugal
// compress --quant` share one option set and one implementation: calibration batches from a
// data set, NPY files or random inputs, compress::quantize, and the accuracy of the float
// model, the fake-quantized graph (QDQ run in float32) and true integer (cpu:int8).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/compress/quantize.h"
#include "frugal/ir/graph.h"

namespace frugal::cli {

struct QuantArgs {
  std::string spec;         // --quant
  std::string data;         // --data: evaluation set (and calibration set unless --calib-data)
  std::string calib_data;   // --calib-data (default: the train split of fashion-mnist, else --data)
  std::string calibration;  // --calibration a.npy,...|random:N[:SEED]
  int64_t limit = 0;        // --limit: evaluate the first N samples only
  int64_t calib_samples = 0;  // samples= of the spec or 512
  std::string datasets_root = "/usr/share/datasets";
  int threads = 1;
  // Quantizable nodes kept out of int8 (compress --max-drop): left float in the QDQ graph
  // and run on float32 cpu in the true-integer evaluation.
  std::set<std::string> keep_float;
  // Skip the float32 accuracy (the caller has it already).
  bool skip_fp32_accuracy = false;
};

// Adds --quant, --data, --calib-data, --calibration, --limit, --threads, --datasets-root.
void add_quant_options(CLI::App& sub, QuantArgs& a);

struct QuantStep {
  compress::QuantSpec spec;
  compress::QuantResult result;
  nlohmann::ordered_json report;    // quant_report_json + "accuracy" (with --data) + warnings
  std::vector<std::string> warnings;  // also in report["warnings"]
};

// Quantizes `graph` (loaded from `origin`) as `a` asks. With --data, evaluates the float
// model, the exported graph run in float32 (fake quantization) and, for static int8, the
// prepared graph on cpu:int8 with the chosen ranges (true integer); `progress` lines go
// to stderr. UserError for bad options, a calibration set that does not fit the model.
QuantStep apply_quant_step(const ir::Graph& graph, const std::string& origin, const QuantArgs& a);

// Prints the calibration line, the per-layer table, weight bytes, notes and the accuracy
// lines (float32, fake-quant, true int8) of a step; `ranges_file` ("" when none) is named.
void print_quant_step(const QuantStep& step, const std::string& ranges_file);

// OUT.onnx -> OUT.ranges.json (activation ranges) and OUT.precision.json (mixed precision).
std::string ranges_path(const std::string& onnx_out);
std::string precision_path(const std::string& onnx_out);

}  // namespace frugal::cli
