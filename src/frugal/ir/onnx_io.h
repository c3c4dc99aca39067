// ONNX interchange at the edges: ModelProto <-> ir::Graph.
#pragma once

#include <string>

#include "frugal/ir/graph.h"

namespace frugal::ir {

// Highest default-domain opset frugal's operators implement.
inline constexpr int64_t kMaxOpset = 18;
inline constexpr int64_t kMinOpset = 1;

// Loads an ONNX model file. External-data tensors are read relative to the file's
// folder; float16/bfloat16 initializers are converted to float32. Throws UserError
// ("FILE: reason") for unreadable, truncated or inconsistent models, UnsupportedError
// for valid ONNX that frugal does not handle (subgraphs, non-tensor types, opset > 18).
Graph load_onnx(const std::string& path);
// Same, from bytes in memory; `origin` names the source in messages, `base_dir` resolves
// external data (empty: external data refused).
Graph parse_onnx(const void* data, size_t size, const std::string& origin,
                 const std::string& base_dir = "");

// Writes the graph as an ONNX model (all tensors inline as raw_data).
void save_onnx(const Graph& graph, const std::string& path);
std::string serialize_onnx(const Graph& graph);

// A TensorProto file (the ONNX test-data format, input_0.pb) <-> Tensor.
Tensor load_tensor_pb(const std::string& path);

}  // namespace frugal::ir
