// Rewrites every Relu of an ONNX model into another activation, to time operators the
// zoo's networks do not use on a network of real size (bench/RESULTS.md, "Operators moved
// from ref to cpu, session 11"): LeakyRelu (alpha 0.1, as YOLO), PRelu (one constant slope
// per channel, 0.25, as face-recognition networks), or any unary ONNX operator without
// attributes (Elu, Mish, Tanh, Softplus, ...).
//
//   swap_activation IN.onnx OUT.onnx OP
#include <cstdio>
#include <string>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/ops/infer.h"

using namespace frugal;

namespace {

// PRelu's slope for `value`: [C, 1, ..., 1] (one per channel of an N, C, ... tensor).
Tensor channel_slope(const ops::GraphInfo& info, const std::string& value) {
  const Shape& s = *info.at(value).shape;
  if (s.size() < 2) throw UserError("PRelu needs rank >= 2 at '" + value + "'");
  Shape slope(s.size() - 1, 1);
  slope[0] = s[1];
  Tensor t(DType::kF32, slope);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = 0.25f;
  return t;
}

void swap(ir::Graph& g, const std::string& op) {
  const ops::GraphInfo info = ops::infer_graph(g);
  int swapped = 0;
  for (ir::Node& n : g.nodes) {
    if (n.op_type != "Relu") continue;
    n.op_type = op;
    if (op == "LeakyRelu") n.attrs["alpha"] = ir::Attribute{.value = 0.1f};
    if (op == "PRelu") {
      const std::string slope = n.name + "_slope";
      g.initializers[slope] = channel_slope(info, n.inputs[0]);
      n.inputs.push_back(slope);
    }
    ++swapped;
  }
  if (swapped == 0) throw UserError("no Relu to swap");
  std::fprintf(stderr, "swap_activation: %d Relu -> %s\n", swapped, op.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 4) {
    std::fprintf(stderr, "usage: swap_activation IN.onnx OUT.onnx OP\n");
    return 1;
  }
  try {
    ir::Graph g = ir::load_onnx(argv[1]);
    swap(g, argv[3]);
    g.validate_and_sort();
    ir::save_onnx(g, argv[2]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "swap_activation: %s\n", e.what());
    return 1;
  }
  return 0;
}
