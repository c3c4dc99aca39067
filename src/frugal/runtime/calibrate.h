// Calibration of activation ranges for quantized backends (cpu:int8): run the float32
// model over sample inputs, observe every intermediate value, and keep each float
// value's min and max. Ranges are saved and loaded as JSON:
//   {"schema":"frugal.ranges/1","method":"minmax","samples":N,
//    "ranges":{"value":[min,max],...}}
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "frugal/runtime/session.h"

namespace frugal::runtime {

using RangeMap = std::map<std::string, kernels::ValueRange>;

// Runs `graph` once per batch (each batch: the graph inputs in order) with the options
// `base` (its backends in preference order; quantized ones, cpu:int8, are dropped since
// they would need the ranges being computed) and returns min/max over every run of each
// float value: graph inputs and every node output. Non-finite elements are ignored; a
// value with no finite element has no range. Throws UserError when no batch is given or a
// batch does not fit the graph's inputs.
RangeMap calibrate_minmax(const ir::Graph& graph,
                          const std::vector<std::vector<Tensor>>& input_batches,
                          SessionOptions base);

// Range selection over histograms of |x| (2048 bins over [0, max|x|], collected in a
// second pass once the first has found each value's extent). The chosen threshold t clips
// the min-max range to [max(min, -t), min(max, t)]:
//  - minmax: t = max|x| (no clipping; same ranges as calibrate_minmax);
//  - percentile: the smallest bin edge holding `percentile` % of the elements;
//  - mse: the t minimising the expected squared quantization error, clipping error of the
//    elements above t plus step^2/12 rounding noise for those below (step from the 8-bit
//    grid the range gives: 255 steps asymmetric, 127 per side symmetric);
//  - entropy: TensorRT's KL-divergence calibration (Migacz, "8-bit Inference with
//    TensorRT", GTC 2017): the t whose histogram, merged into `levels` bins and expanded
//    back, diverges least from the clipped reference histogram.
enum class CalibMethod { kMinMax, kPercentile, kMse, kEntropy };

struct CalibrationOptions {
  CalibMethod method = CalibMethod::kMinMax;
  double percentile = 99.99;  // in (0, 100]
  int64_t bins = 2048;
  // Entropy target levels: 0 picks 256 for a value with no negative element quantized
  // asymmetric, else 128 (one sign of a symmetric 8-bit grid).
  int64_t levels = 0;
  bool symmetric = false;  // the activation grid the range is for (mse, entropy levels)
};

// "minmax", "percentile:99.99", "mse", "entropy" (the spelling parse_calibration_method reads).
std::string calibration_method_name(const CalibrationOptions& options);
// Parses "minmax | percentile[:P] | mse | entropy" into `options.method`/`percentile`;
// UserError naming `origin` (an option) and the accepted forms.
void parse_calibration_method(const std::string& text, const std::string& origin,
                              CalibrationOptions& options);

struct Histogram {
  kernels::ValueRange extent;  // min and max of the finite elements
  double amax = 0;             // max |x| of the finite elements: the histogram's upper edge
  std::vector<double> counts;  // counts[i]: elements with |x| in bin i of [0, amax]
  int64_t finite = 0;          // elements counted
  int64_t nonfinite = 0;       // NaN/Inf elements seen (ignored)
  double bin_width() const { return counts.empty() ? 0 : amax / static_cast<double>(counts.size()); }
};

// Histograms of every float value (graph inputs and node outputs) over the batches, in two
// passes (extents, then counts). A value with no finite element is left out.
std::map<std::string, Histogram> collect_histograms(const ir::Graph& graph,
                                                    const std::vector<std::vector<Tensor>>& input_batches,
                                                    SessionOptions base, int64_t bins = 2048);

// The histogram of one set of values (the same binning as collect_histograms).
Histogram make_histogram(std::span<const float> values, int64_t bins = 2048);

// The range `options.method` selects from `h`. All-zero and constant values give their
// extent (a quantizer widens it to include 0, so the scale is non-zero or the value is 0).
kernels::ValueRange select_range(const Histogram& h, const CalibrationOptions& options);
// The clipping threshold alone (0 for an all-zero value).
double select_threshold(const Histogram& h, const CalibrationOptions& options);

// Ranges of every float value by `options.method` (minmax runs one pass, the others two).
RangeMap calibrate(const ir::Graph& graph, const std::vector<std::vector<Tensor>>& input_batches,
                   SessionOptions base, const CalibrationOptions& options);

struct RangesFile {
  std::string method = "minmax";
  int64_t samples = 0;
  RangeMap ranges;
};

// JSON text of `file`, and its parse; `origin` names the text in errors ("x.json: range
// 'conv1': ..."), which are UserError with one line naming the bad entry.
std::string ranges_to_json(const RangesFile& file);
RangesFile ranges_from_json(const std::string& text, const std::string& origin);

// The same through a file; errors name the file.
void save_ranges(const std::string& path, const RangesFile& file);
RangesFile load_ranges(const std::string& path);

}  // namespace frugal::runtime
