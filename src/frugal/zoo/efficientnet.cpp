// EfficientNet-B0 (Tan and Le, 2019) as torchvision.models.efficientnet defines it (width
// and depth multipliers 1.0). MBConv "features.s.i.block": [1x1 expand - BN - SiLU] -
// kxk depthwise - BN - SiLU - squeeze-excitation - 1x1 project - BN, plus the input when
// the block keeps stride 1 and its channels (stochastic depth is the identity at
// inference; so is the classifier's Dropout, which torch.onnx leaves out). SiLU is
// x * Sigmoid(x), as torch.onnx exports it at opset 17. Initialization as torchvision's:
// convs Kaiming normal (fan_out), conv biases 0, BN scale 1 shift 0 (epsilon 1e-5 for B0),
// the Linear U(+-1/sqrt(out_features)) with bias 0.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

// Conv (no bias, "same" padding) - BN - SiLU; "p" is p.0 conv, p.1 BN, p.2 SiLU.
std::string conv_bn_silu(GraphBuilder& b, const std::string& p, const std::string& x,
                         int64_t out_channels, int64_t kernel, int64_t stride, int64_t groups) {
  std::string y =
      b.add_conv(p + ".0", x, out_channels,
                 {.kernel = kernel, .stride = stride, .pad = (kernel - 1) / 2, .groups = groups});
  return b.add_silu(p + ".2", b.add_bn(p + ".1", y));
}

// Squeeze-excitation: x * sigmoid(fc2(silu(fc1(avgpool(x))))), squeezed to a quarter of the
// block's input channels (not of the expanded ones).
std::string squeeze_excitation(GraphBuilder& b, const std::string& p, const std::string& x,
                               int64_t squeeze) {
  std::string s = b.add_global_avg_pool(p + ".avgpool", x);
  s = b.add_conv(p + ".fc1", s, squeeze, {.kernel = 1, .bias = true});
  s = b.add_silu(p + ".activation", s);
  s = b.add_conv(p + ".fc2", s, b.channels(x), {.kernel = 1, .bias = true});
  return b.add_mul(p + ".mul", b.add_sigmoid(p + ".scale_activation", s), x);
}

std::string mbconv(GraphBuilder& b, const std::string& p, const std::string& x, int64_t expand,
                   int64_t kernel, int64_t stride, int64_t out_channels) {
  const int64_t in = b.channels(x), hidden = in * expand;
  std::string y = x;
  int idx = 0;
  auto next = [&] { return p + ".block." + std::to_string(idx++); };
  if (expand != 1) y = conv_bn_silu(b, next(), y, hidden, 1, 1, 1);
  y = conv_bn_silu(b, next(), y, hidden, kernel, stride, hidden);
  y = squeeze_excitation(b, next(), y, std::max<int64_t>(1, in / 4));
  const std::string proj = next();
  y = b.add_bn(proj + ".1", b.add_conv(proj + ".0", y, out_channels, {.kernel = 1}));
  if (stride == 1 && in == out_channels) y = b.add_add(p + ".add", y, x);
  return y;
}

}  // namespace

ir::Graph build_efficientnet_b0(uint64_t seed) {
  GraphBuilder b("efficientnet_b0", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = conv_bn_silu(b, "features.0", x, 32, 3, 2, 1);
  struct Stage {
    int64_t expand, kernel, stride, out, layers;
  };
  // torchvision's B0 setting (the paper's Table 1).
  const Stage stages[] = {{1, 3, 1, 16, 1},  {6, 3, 2, 24, 2},  {6, 5, 2, 40, 2}, {6, 3, 2, 80, 3},
                          {6, 5, 1, 112, 3}, {6, 5, 2, 192, 4}, {6, 3, 1, 320, 1}};
  int stage_index = 1;
  for (const Stage& s : stages) {
    for (int64_t i = 0; i < s.layers; ++i) {
      const std::string p = "features." + std::to_string(stage_index) + "." + std::to_string(i);
      x = mbconv(b, p, x, s.expand, s.kernel, i == 0 ? s.stride : 1, s.out);
    }
    ++stage_index;
  }
  x = conv_bn_silu(b, "features.8", x, 1280, 1, 1, 1);
  x = b.add_flatten("flatten", b.add_global_avg_pool("avgpool", x));
  x = b.add_linear("classifier.1", x, 1000, LinearInit::kUniformByOutZeroBias);
  return b.finish(x);
}

}  // namespace frugal::zoo
