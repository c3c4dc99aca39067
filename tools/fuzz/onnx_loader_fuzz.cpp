// libFuzzer target: arbitrary bytes through the ONNX loader, shape inference (with
// constant folding) and export. Any exception other than frugal's UserError (bad or
// unsupported model) is a bug, and so is any crash or sanitizer report.
#include <cstddef>
#include <cstdint>

#include "frugal/ir/onnx_io.h"
#include "frugal/ops/infer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace frugal;
  try {
    ir::Graph g = ir::parse_onnx(data, size, "fuzz.onnx");
    ops::InferOptions opt;
    opt.fold_max_elements = 1 << 16;
    auto info = ops::infer_graph(g, opt);
    (void)ir::serialize_onnx(g);
  } catch (const UserError&) {
    // Refused with a reason: the expected outcome for malformed input.
  }
  return 0;
}
