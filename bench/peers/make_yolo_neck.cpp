// A YOLO-like feature pyramid (YOLOv5's top-down path, plain convolutions): a stride-32
// backbone of 3x3 convs with SiLU, then twice a 1x1 conv, nn.Upsample(scale_factor=2,
// mode="nearest") and a Concat with the backbone's feature map of that size, ending in a
// 3x3 conv on the stride-8 map. For timing Resize (nearest x2) inside a network of real
// size (bench/RESULTS.md, "Resize and the other operators segmentation models use,
// session 12"). Symbolic batch, seeded weights.
//
//   make_yolo_neck OUT.onnx [SIZE]     (input 1x3xSIZExSIZE, default 320)
#include <cstdio>
#include <string>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/zoo/builder.h"

using namespace frugal;

namespace {

std::string conv_silu(zoo::GraphBuilder& b, const std::string& name, const std::string& x,
                      int64_t out, int64_t kernel, int64_t stride) {
  const std::string y = b.add_conv(
      name, x, out, {.kernel = kernel, .stride = stride, .pad = kernel / 2, .bias = true});
  return b.add_silu(name + ".act", y);
}

ir::Graph build(int64_t size) {
  zoo::GraphBuilder b("yolo_neck", 1);
  std::string x = b.add_input("images", {1, 3, size, size});
  std::vector<std::string> stages;  // strides 2 .. 32
  int64_t channels = 16;
  for (int s = 0; s < 5; ++s, channels *= 2) {
    x = conv_silu(b, "backbone." + std::to_string(s), x, channels, 3, 2);
    x = conv_silu(b, "backbone." + std::to_string(s) + ".1", x, channels, 3, 1);
    stages.push_back(x);
  }
  // Top-down: stride 32 -> 16 -> 8.
  for (int s = 0; s < 2; ++s) {
    const std::string p = "neck." + std::to_string(s);
    x = conv_silu(b, p + ".reduce", x, b.channels(x) / 2, 1, 1);
    x = b.add_upsample(p + ".upsample", x, 2, false);
    x = b.add_concat(p + ".concat", {x, stages[3 - s]});
    x = conv_silu(b, p + ".fuse", x, b.channels(x) / 2, 3, 1);
  }
  return b.finish(x, "p3");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: make_yolo_neck OUT.onnx [SIZE]\n");
    return 1;
  }
  try {
    const int64_t size = argc == 3 ? std::stoll(argv[2]) : 320;
    if (size < 32 || size % 32 != 0) throw UserError("SIZE must be a multiple of 32");
    ir::save_onnx(build(size), argv[1]);
    std::printf("wrote %s\n", argv[1]);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "make_yolo_neck: %s\n", e.what());
    return 1;
  }
  return 0;
}
