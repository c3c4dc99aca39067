// The --quant options and report shared by `frugal quantize` and `frugal compress --quant`:
// parsing and printing only; the step itself is compress/pipeline.h's quantize transform,
// its data from measure/compress_data.h.
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "frugal/compress/pipeline.h"
#include "frugal/ir/graph.h"
#include "frugal/measure/compress_data.h"

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
};

// Adds --quant, --data, --calib-data, --calibration, --limit, --threads, --datasets-root.
void add_quant_options(CLI::App& sub, QuantArgs& a);

using QuantStep = compress::QuantStepResult;

// Quantizes `graph` (loaded from `origin`) as `a` asks: the pipeline with its quantize
// transform alone. With --data, the float model, the exported graph run in float32 (fake
// quantization) and, for static int8, the prepared graph in int8 with the chosen ranges
// (true integer) are evaluated. UserError for bad options, a calibration set that does not
// fit the model.
QuantStep apply_quant_step(const ir::Graph& graph, const std::string& origin, const QuantArgs& a);

// Prints the calibration line, the per-layer table, weight bytes, notes and the accuracy
// lines (float32, fake-quant, true int8) of a step; `ranges_file` ("" when none) is named.
void print_quant_step(const QuantStep& step, const std::string& ranges_file);

// OUT.onnx -> OUT.ranges.json (activation ranges) and OUT.precision.json (mixed precision).
std::string ranges_path(const std::string& onnx_out);
std::string precision_path(const std::string& onnx_out);

}  // namespace frugal::cli
