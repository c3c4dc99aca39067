// MobileNetV2 and MobileNetV3-Small as torchvision.models.mobilenetv2/v3 define them
// (width multiplier 1.0). Conv2dNormActivation "p" is p.0 conv, p.1 BN, p.2 activation.
// MobileNetV3 uses BN epsilon 1e-3, as torchvision does. Initialization as torchvision's:
// convs Kaiming normal (fan_out), conv biases 0, BN scale 1 shift 0, Linear N(0, 0.01)
// with bias 0.
#include <algorithm>

#include "frugal/zoo/builder.h"
#include "frugal/zoo/mobilenet_v3.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

enum class Act { kNone, kRelu, kRelu6, kHardswish };

// Conv (no bias, "same" padding) - BN - activation.
std::string conv_bn_act(GraphBuilder& b, const std::string& p, const std::string& x,
                        int64_t out_channels, int64_t kernel, int64_t stride, int64_t groups,
                        Act act, float bn_epsilon, int64_t dilation = 1) {
  std::string y = b.add_conv(p + ".0", x, out_channels,
                             {.kernel = kernel,
                              .stride = stride,
                              .pad = (kernel - 1) / 2 * dilation,
                              .groups = groups,
                              .dilation = dilation});
  y = b.add_bn(p + ".1", y, bn_epsilon);
  switch (act) {
    case Act::kNone:
      return y;
    case Act::kRelu:
      return b.add_relu(p + ".2", y);
    case Act::kRelu6:
      return b.add_relu6(p + ".2", y);
    case Act::kHardswish:
      return b.add_hardswish(p + ".2", y);
  }
  return y;
}

// torchvision's _make_divisible: round to a multiple of 8, never more than 10% down.
int64_t make_divisible(double v, int64_t divisor = 8) {
  int64_t rounded = static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor;
  int64_t out = std::max(divisor, rounded);
  if (static_cast<double>(out) < 0.9 * v) out += divisor;
  return out;
}

// ---- MobileNetV2 -------------------------------------------------------------------

constexpr float kV2Eps = 1e-5f;

// Inverted residual: [1x1 expand - ReLU6] - 3x3 depthwise - ReLU6 - 1x1 linear project.
std::string v2_block(GraphBuilder& b, const std::string& p, const std::string& x, int64_t oup,
                     int64_t stride, int64_t expand_ratio) {
  const int64_t inp = b.channels(x);
  const int64_t hidden = inp * expand_ratio;
  std::string y = x;
  int idx = 0;
  auto next = [&] { return p + ".conv." + std::to_string(idx++); };
  if (expand_ratio != 1) y = conv_bn_act(b, next(), y, hidden, 1, 1, 1, Act::kRelu6, kV2Eps);
  y = conv_bn_act(b, next(), y, hidden, 3, stride, hidden, Act::kRelu6, kV2Eps);
  y = b.add_conv(next(), y, oup, {.kernel = 1});
  y = b.add_bn(next(), y, kV2Eps);
  if (stride == 1 && inp == oup) y = b.add_add(p + ".add", y, x);
  return y;
}

// ---- MobileNetV3 -------------------------------------------------------------------

constexpr float kV3Eps = 1e-3f;

// Squeeze-and-excitation: x * hardsigmoid(fc2(relu(fc1(avgpool(x))))), fc = 1x1 conv with bias.
std::string squeeze_excitation(GraphBuilder& b, const std::string& p, const std::string& x) {
  const int64_t c = b.channels(x);
  const int64_t squeeze = make_divisible(static_cast<double>(c / 4));
  std::string s = b.add_global_avg_pool(p + ".avgpool", x);
  s = b.add_conv(p + ".fc1", s, squeeze, {.kernel = 1, .bias = true});
  s = b.add_relu(p + ".activation", s);
  s = b.add_conv(p + ".fc2", s, c, {.kernel = 1, .bias = true});
  s = b.add_hardsigmoid(p + ".scale_activation", s);
  return b.add_mul(p + ".mul", x, s);
}

struct V3BlockConfig {
  int64_t kernel;
  int64_t expanded;
  int64_t out;
  bool use_se;
  bool use_hardswish;  // else ReLU
  int64_t stride;
  int64_t dilation = 1;  // > 1: the depthwise conv dilated and at stride 1 (segmentation)
};

std::string v3_block(GraphBuilder& b, const std::string& p, const std::string& x,
                     const V3BlockConfig& cfg) {
  const int64_t inp = b.channels(x);
  const Act act = cfg.use_hardswish ? Act::kHardswish : Act::kRelu;
  std::string y = x;
  int idx = 0;
  auto next = [&] { return p + ".block." + std::to_string(idx++); };
  if (cfg.expanded != inp) y = conv_bn_act(b, next(), y, cfg.expanded, 1, 1, 1, act, kV3Eps);
  const int64_t stride = cfg.dilation > 1 ? 1 : cfg.stride;  // torchvision's InvertedResidual
  y = conv_bn_act(b, next(), y, cfg.expanded, cfg.kernel, stride, cfg.expanded, act, kV3Eps,
                  cfg.dilation);
  if (cfg.use_se) y = squeeze_excitation(b, next(), y);
  y = conv_bn_act(b, next(), y, cfg.out, 1, 1, 1, Act::kNone, kV3Eps);
  if (cfg.stride == 1 && inp == cfg.out) y = b.add_add(p + ".add", y, x);
  return y;
}

}  // namespace

ir::Graph build_mobilenet_v2(uint64_t seed) {
  GraphBuilder b("mobilenet_v2", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = conv_bn_act(b, "features.0", x, 32, 3, 2, 1, Act::kRelu6, kV2Eps);
  struct Stage {
    int64_t expand, channels, repeats, stride;
  };
  const Stage stages[] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                          {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int feature = 1;
  for (const Stage& s : stages)
    for (int64_t i = 0; i < s.repeats; ++i)
      x = v2_block(b, "features." + std::to_string(feature++), x, s.channels, i == 0 ? s.stride : 1,
                   s.expand);
  x = conv_bn_act(b, "features." + std::to_string(feature), x, 1280, 1, 1, 1, Act::kRelu6, kV2Eps);
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  // classifier.0 is Dropout(0.2): an identity at inference, left out.
  x = b.add_linear("classifier.1", x, 1000, 0.01f);
  return b.finish(x);
}

ir::Graph build_mobilenet_v3_small(uint64_t seed) {
  GraphBuilder b("mobilenet_v3_small", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = conv_bn_act(b, "features.0", x, 16, 3, 2, 1, Act::kHardswish, kV3Eps);
  // kernel, expanded, out, SE, hardswish, stride (torchvision's bneck_conf rows)
  const V3BlockConfig blocks[] = {
      {3, 16, 16, true, false, 2}, {3, 72, 24, false, false, 2}, {3, 88, 24, false, false, 1},
      {5, 96, 40, true, true, 2},  {5, 240, 40, true, true, 1},  {5, 240, 40, true, true, 1},
      {5, 120, 48, true, true, 1}, {5, 144, 48, true, true, 1},  {5, 288, 96, true, true, 2},
      {5, 576, 96, true, true, 1}, {5, 576, 96, true, true, 1},
  };
  int feature = 1;
  for (const V3BlockConfig& cfg : blocks)
    x = v3_block(b, "features." + std::to_string(feature++), x, cfg);
  x = conv_bn_act(b, "features." + std::to_string(feature), x, 6 * b.channels(x), 1, 1, 1,
                  Act::kHardswish, kV3Eps);
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("classifier.0", x, 1024, 0.01f);
  x = b.add_hardswish("classifier.1", x);
  // classifier.2 is Dropout(0.2): an identity at inference, left out.
  x = b.add_linear("classifier.3", x, 1000, 0.01f);
  return b.finish(x);
}

std::string mobilenet_v3_large_features(GraphBuilder& b, const std::string& prefix,
                                        const std::string& input, bool dilated,
                                        std::string* stride8) {
  std::string x = conv_bn_act(b, prefix + "0", input, 16, 3, 2, 1, Act::kHardswish, kV3Eps);
  const int64_t d = dilated ? 2 : 1;
  // kernel, expanded, out, SE, hardswish, stride, dilation (torchvision's bneck_conf rows)
  const V3BlockConfig blocks[] = {
      {3, 16, 16, false, false, 1},    {3, 64, 24, false, false, 2},
      {3, 72, 24, false, false, 1},    {5, 72, 40, true, false, 2},
      {5, 120, 40, true, false, 1},    {5, 120, 40, true, false, 1},
      {3, 240, 80, false, true, 2},    {3, 200, 80, false, true, 1},
      {3, 184, 80, false, true, 1},    {3, 184, 80, false, true, 1},
      {3, 480, 112, true, true, 1},    {3, 672, 112, true, true, 1},
      {5, 672, 160, true, true, 2, d}, {5, 960, 160, true, true, 1, d},
      {5, 960, 160, true, true, 1, d},
  };
  int feature = 1;
  for (const V3BlockConfig& cfg : blocks) {
    x = v3_block(b, prefix + std::to_string(feature++), x, cfg);
    if (feature == 5 && stride8) *stride8 = x;  // features.4, the last block at stride 8
  }
  return conv_bn_act(b, prefix + std::to_string(feature), x, 6 * b.channels(x), 1, 1, 1,
                     Act::kHardswish, kV3Eps);
}

ir::Graph build_mobilenet_v3_large(uint64_t seed) {
  GraphBuilder b("mobilenet_v3_large", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = mobilenet_v3_large_features(b, "features.", x, false, nullptr);
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("classifier.0", x, 1280, 0.01f);
  x = b.add_hardswish("classifier.1", x);
  // classifier.2 is Dropout(0.2): an identity at inference, left out.
  x = b.add_linear("classifier.3", x, 1000, 0.01f);
  return b.finish(x);
}

}  // namespace frugal::zoo
