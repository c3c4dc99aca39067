// Calibration of activation ranges for quantized backends (cpu:int8): run the float32
// model over sample inputs, observe every intermediate value, and keep each float
// value's min and max. Ranges are saved and loaded as JSON:
//   {"schema":"frugal.ranges/1","method":"minmax","samples":N,
//    "ranges":{"value":[min,max],...}}
#pragma once

#include <cstdint>
#include <map>
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
