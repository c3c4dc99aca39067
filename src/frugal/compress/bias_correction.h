// Empirical bias correction (Nagel et al., ICCV 2019, section 4.2, the form that uses
// calibration data): quantizing a layer's weights to W~ shifts its expected output by
// (W~ - W) E[x]; adding E[W x] - E[W~ x], measured per output channel on the float
// activations of the calibration batches, removes that shift.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"
#include "frugal/runtime/session.h"

namespace frugal::compress {

// `dequantized`: node name -> its fake-quantized weight (float32, same shape). Returns the
// graph with corrected biases (a Conv or Gemm without one gets one); MatMul nodes are left
// as they are (no bias input) and named in `notes`.
ir::Graph correct_biases(const ir::Graph& graph, const std::map<std::string, Tensor>& dequantized,
                         const std::vector<std::vector<Tensor>>& batches,
                         const runtime::SessionOptions& base, std::vector<std::string>& notes);

}  // namespace frugal::compress
