// MNASNet-1.0 (Tan et al., "MnasNet: Platform-Aware Neural Architecture Search for Mobile",
// 2019) as torchvision.models.mnasnet defines mnasnet1_0 (alpha 1.0, no squeeze-excitation).
// "layers" is one Sequential: a 3x3 stride-2 conv to 32 channels - BN - ReLU (layers.0-2), a
// depthwise separable block without skip (3x3 depthwise - BN - ReLU - 1x1 to 16 - BN,
// layers.3-7), six stacks of inverted residuals (layers.8-13), a 1x1 conv to 1280 - BN - ReLU
// (layers.14-16). An inverted residual "layers.s.i.layers" is 1x1 expand - BN - ReLU - kxk
// depthwise (stride on a stack's first block) - BN - ReLU - 1x1 project - BN, plus the input
// where stride and channels stay. The head is x.mean([2, 3]) (exported as ReduceMean, not
// GlobalAveragePool + Flatten) and classifier.1, a Linear (classifier.0 is Dropout, left out
// at inference). BN epsilon 1e-5 (torchvision changes only the momentum).
// Initialization as torchvision's: convs Kaiming normal (fan_out), BN scale 1 shift 0, the
// Linear kaiming_uniform (fan_out, gain 1) with bias 0. 4,383,312 parameters.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

std::string conv_bn(GraphBuilder& b, const std::string& p, int conv_index, const std::string& x,
                    int64_t out, const ConvOptions& opt) {
  const std::string y = b.add_conv(p + std::to_string(conv_index), x, out, opt);
  return b.add_bn(p + std::to_string(conv_index + 1), y);
}

std::string conv_bn_relu(GraphBuilder& b, const std::string& p, int conv_index,
                         const std::string& x, int64_t out, const ConvOptions& opt) {
  return b.add_relu(p + std::to_string(conv_index + 2), conv_bn(b, p, conv_index, x, out, opt));
}

// torchvision's _InvertedResidual.
std::string inverted_residual(GraphBuilder& b, const std::string& p, const std::string& x,
                              int64_t out, int64_t kernel, int64_t stride, int64_t expand) {
  const int64_t in = b.channels(x), mid = in * expand;
  const std::string l = p + ".layers.";
  std::string y = conv_bn_relu(b, l, 0, x, mid, {.kernel = 1});
  y = conv_bn_relu(b, l, 3, y, mid,
                   {.kernel = kernel, .stride = stride, .pad = kernel / 2, .groups = mid});
  y = conv_bn(b, l, 6, y, out, {.kernel = 1});
  return (in == out && stride == 1) ? b.add_add(p + ".add", y, x) : y;
}

}  // namespace

ir::Graph build_mnasnet1_0(uint64_t seed) {
  GraphBuilder b("mnasnet1_0", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = conv_bn_relu(b, "layers.", 0, x, 32, {.kernel = 3, .stride = 2, .pad = 1});
  x = conv_bn_relu(b, "layers.", 3, x, 32, {.kernel = 3, .pad = 1, .groups = 32});
  x = conv_bn(b, "layers.", 6, x, 16, {.kernel = 1});
  struct Stack {
    int64_t out, kernel, stride, expand, repeats;
  };
  // torchvision's _stack arguments (the paper's Figure 7 with alpha 1.0).
  const Stack stacks[] = {{24, 3, 2, 3, 3}, {40, 5, 2, 3, 3},  {80, 5, 2, 6, 3},
                          {96, 3, 1, 6, 2}, {192, 5, 2, 6, 4}, {320, 3, 1, 6, 1}};
  int layer = 8;
  for (const Stack& s : stacks) {
    for (int64_t i = 0; i < s.repeats; ++i) {
      const std::string p = "layers." + std::to_string(layer) + "." + std::to_string(i);
      x = inverted_residual(b, p, x, s.out, s.kernel, i == 0 ? s.stride : 1, s.expand);
    }
    ++layer;
  }
  x = conv_bn_relu(b, "layers.", 14, x, 1280, {.kernel = 1});
  x = b.add_reduce_mean("mean", x, {2, 3}, /*keepdims=*/false);
  x = b.add_linear("classifier.1", x, 1000, LinearInit::kKaimingUniformByOutZeroBias);
  return b.finish(x);
}

}  // namespace frugal::zoo
