// RegNetY-400MF (Radosavovic et al., "Designing Network Design Spaces", 2020) as
// torchvision.models.regnet defines regnet_y_400mf: depth 16, w_0 48, w_a 27.89, w_m 2.09,
// group width 8, SE ratio 0.25, bottleneck multiplier 1. torchvision's BlockParams turn these
// into four stages of widths 48, 104, 208, 440 and depths 1, 3, 6, 6 (quantized_stage_widths
// below recomputes them). The stem "stem" is a 3x3 stride-2 conv to 32 channels - BN - ReLU;
// stage s is "trunk_output.block<s>", its block i "block<s>-<i>", a ResBottleneckBlock:
//   f.a  1x1 conv - BN - ReLU
//   f.b  3x3 conv, stride on the first block, groups = width / 8 - BN - ReLU
//   f.se squeeze-excitation: x * Sigmoid(fc2(ReLU(fc1(avgpool(x))))), fc = 1x1 conv with bias,
//        squeezed to round(0.25 * the block's input width)
//   f.c  1x1 conv - BN
// plus the input, through "proj" (1x1 conv with the stride - BN) where width or stride
// change, then ReLU. Head: global average pool, flatten, fc. BN epsilon 1e-5.
// Initialization as torchvision's: conv weights N(0, sqrt(2 / (k * k * out))), conv biases
// (the SE convs') left at nn.Conv2d's default, BN scale 1 shift 0, fc N(0, 0.01) bias 0.
// 4,344,144 parameters (torchvision's RegNet_Y_400MF_Weights).
#include <cmath>
#include <vector>

#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

constexpr int64_t kGroupWidth = 8;

struct StageSpec {
  int64_t width, depth;
};

// torchvision's BlockParams.from_init_params: per-block widths w_0 + w_a * i, snapped to
// w_0 * w_m^k (k an integer) and to a multiple of 8; consecutive equal widths form a stage.
// Every width is a multiple of the group width already, so the compatibility step keeps them.
std::vector<StageSpec> quantized_stages(int64_t depth, double w_0, double w_a, double w_m) {
  std::vector<StageSpec> stages;
  for (int64_t i = 0; i < depth; ++i) {
    const double cont = static_cast<double>(i) * w_a + w_0;
    const double k = std::round(std::log(cont / w_0) / std::log(w_m));
    const auto width = static_cast<int64_t>(std::round(w_0 * std::pow(w_m, k) / 8.0)) * 8;
    if (stages.empty() || stages.back().width != width) stages.push_back({width, 0});
    ++stages.back().depth;
  }
  return stages;
}

std::string conv_bn(GraphBuilder& b, const std::string& p, const std::string& x, int64_t out,
                    const ConvOptions& opt) {
  return b.add_bn(p + ".1", b.add_conv(p + ".0", x, out, opt));
}

std::string conv_bn_relu(GraphBuilder& b, const std::string& p, const std::string& x, int64_t out,
                         const ConvOptions& opt) {
  return b.add_relu(p + ".2", conv_bn(b, p, x, out, opt));
}

// torchvision.ops.SqueezeExcitation with ReLU and a Sigmoid gate: scale * input.
std::string squeeze_excitation(GraphBuilder& b, const std::string& p, const std::string& x,
                               int64_t squeeze) {
  const ConvOptions fc{
      .kernel = 1, .bias = true, .init = ConvInit::kKaimingNormalFanOutDefaultBias};
  std::string s = b.add_global_avg_pool(p + ".avgpool", x);
  s = b.add_relu(p + ".activation", b.add_conv(p + ".fc1", s, squeeze, fc));
  s = b.add_sigmoid(p + ".scale_activation", b.add_conv(p + ".fc2", s, b.channels(x), fc));
  return b.add_mul(p + ".mul", s, x);
}

std::string res_bottleneck(GraphBuilder& b, const std::string& p, const std::string& x,
                           int64_t width, int64_t stride) {
  const int64_t in = b.channels(x);
  const std::string f = p + ".f";
  std::string y = conv_bn_relu(b, f + ".a", x, width, {.kernel = 1});
  y = conv_bn_relu(b, f + ".b", y, width,
                   {.kernel = 3, .stride = stride, .pad = 1, .groups = width / kGroupWidth});
  y = squeeze_excitation(b, f + ".se", y, std::llround(0.25 * static_cast<double>(in)));
  y = conv_bn(b, f + ".c", y, width, {.kernel = 1});
  const std::string shortcut =
      (in != width || stride != 1)
          ? conv_bn(b, p + ".proj", x, width, {.kernel = 1, .stride = stride})
          : x;
  return b.add_relu(p + ".activation", b.add_add(p + ".add", shortcut, y));
}

}  // namespace

ir::Graph build_regnet_y_400mf(uint64_t seed) {
  GraphBuilder b("regnet_y_400mf", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = conv_bn_relu(b, "stem", x, 32, {.kernel = 3, .stride = 2, .pad = 1});
  int stage_index = 1;
  for (const StageSpec& s : quantized_stages(16, 48.0, 27.89, 2.09)) {
    const std::string sp = "trunk_output.block" + std::to_string(stage_index);
    for (int64_t i = 0; i < s.depth; ++i) {
      const std::string p = sp + ".block" + std::to_string(stage_index) + "-" + std::to_string(i);
      x = res_bottleneck(b, p, x, s.width, i == 0 ? 2 : 1);
    }
    ++stage_index;
  }
  x = b.add_flatten("flatten", b.add_global_avg_pool("avgpool", x));
  x = b.add_linear("fc", x, 1000, 0.01f);
  return b.finish(x);
}

}  // namespace frugal::zoo
