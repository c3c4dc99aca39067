// ConvNeXt-Tiny (Liu et al., 2022) as torchvision.models.convnext defines it: stages of 3,
// 3, 9 and 3 blocks at 96, 192, 384 and 768 channels. The stem is a 4x4 stride-4 conv and
// a channels-last LayerNorm; each later stage starts with LayerNorm and a 2x2 stride-2
// conv. A block (CNBlock) is a 7x7 depthwise conv, then channels last (Transpose):
// LayerNorm - Linear (4x) - GELU - Linear, back to channels first, times the layer scale
// (initialized 1e-6), plus the input (stochastic depth is the identity at inference).
// torch.onnx (opset 17) exports torchvision's LayerNorm2d as Transpose - LayerNormalization
// - Transpose, a Linear on a 4-D value as MatMul + Add, and GELU as its Erf form. The head
// is global average pool - LayerNorm2d - Flatten - Linear. Initialization as torchvision's:
// conv and Linear weights truncated normal (std 0.02, cut at +-2, i.e. a plain normal at this
// scale), biases 0, LayerNorm scale 1 shift 0; LayerNorm epsilon 1e-6.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

constexpr float kStd = 0.02f;
constexpr float kLnEps = 1e-6f;

// torchvision's LayerNorm2d: LayerNorm over the channels of an N x C x H x W value.
std::string layer_norm_2d(GraphBuilder& b, const std::string& p, const std::string& x) {
  std::string y = b.add_transpose(p + ".to_last", x, {0, 2, 3, 1});
  y = b.add_layer_norm(p, y, kLnEps);
  return b.add_transpose(p + ".to_first", y, {0, 3, 1, 2});
}

std::string cn_block(GraphBuilder& b, const std::string& p, const std::string& x) {
  const int64_t c = b.channels(x);
  std::string y = b.add_conv(
      p + ".block.0", x, c, {.kernel = 7, .pad = 3, .groups = c, .bias = true, .weight_std = kStd});
  y = b.add_transpose(p + ".block.1", y, {0, 2, 3, 1});
  y = b.add_layer_norm(p + ".block.2", y, kLnEps);
  y = b.add_linear_nd(p + ".block.3", y, 4 * c, kStd);
  y = b.add_gelu(p + ".block.4", y);
  y = b.add_linear_nd(p + ".block.5", y, c, kStd);
  y = b.add_transpose(p + ".block.6", y, {0, 3, 1, 2});
  y = b.add_channel_scale(p + ".layer_scale", y, 1e-6f);
  return b.add_add(p + ".add", y, x);
}

}  // namespace

ir::Graph build_convnext_tiny(uint64_t seed) {
  GraphBuilder b("convnext_tiny", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.add_conv("features.0.0", x, 96,
                 {.kernel = 4, .stride = 4, .bias = true, .weight_std = kStd});
  x = layer_norm_2d(b, "features.0.1", x);
  const int64_t depths[] = {3, 3, 9, 3};
  const int64_t dims[] = {96, 192, 384, 768};
  for (int s = 0; s < 4; ++s) {
    const std::string stage = "features." + std::to_string(2 * s + 1);
    for (int64_t i = 0; i < depths[s]; ++i) x = cn_block(b, stage + "." + std::to_string(i), x);
    if (s == 3) break;
    const std::string down = "features." + std::to_string(2 * s + 2);
    x = layer_norm_2d(b, down + ".0", x);
    x = b.add_conv(down + ".1", x, dims[s + 1],
                   {.kernel = 2, .stride = 2, .bias = true, .weight_std = kStd});
  }
  x = b.add_global_avg_pool("avgpool", x);
  x = layer_norm_2d(b, "classifier.0", x);
  x = b.add_flatten("classifier.1", x);
  x = b.add_linear("classifier.2", x, 1000, kStd);
  return b.finish(x);
}

}  // namespace frugal::zoo
