// QDQ import for integer execution (issue 8): a graph in ONNX's QDQ form (what quantizers
// such as frugal compress and ONNX Runtime's export) carries its quantization in
// QuantizeLinear -> DequantizeLinear pairs on activations and DequantizeLinear on int8
// weight initializers. For cpu:int8, the activation pairs become calibrated ranges: the
// pair Q(x; s, z) -> DQ(.; s, z) is removed, its readers read x, and x gets the range its
// 8-bit grid spans (u8: [s (0 - z), s (255 - z)], s8: [s (-128 - z), s (127 - z)]), which
// cpu:int8 turns back into exactly that grid (scale s; zero point z, or z + 128 for s8 as
// u8). The weight DequantizeLinear nodes fold into float32 weights here (the values
// fold_constants would give them, at less cost); cpu:int8 quantizes those per output
// channel with max|w| / 127, which is the file's grid when the exporter scaled each
// channel's largest weight to 127 (symmetric per-channel, the common convention), and a
// close one otherwise.
//
// Pairs this does not take stay in the graph (they run as fake quantization in float32),
// each named with the reason in `notes`: per-axis activation scales, non-constant scales
// or zero points, a pair whose scales or zero points differ, 16-bit types, a quantized
// value read by something else than its DequantizeLinear.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::passes {

struct QdqRange {
  float min = 0, max = 0;
};

struct QdqFolded {
  ir::Graph graph;
  std::map<std::string, QdqRange> ranges;  // by value name (the float input of each pair)
  size_t pairs_folded = 0;
  size_t weights_dequantized = 0;  // weight DequantizeLinear nodes folded into initializers
  std::vector<std::string> notes;  // pairs left as they are, with why
};

QdqFolded fold_qdq(const ir::Graph& graph);

}  // namespace frugal::passes
