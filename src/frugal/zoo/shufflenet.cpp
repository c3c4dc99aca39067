// ShuffleNetV2 x1.0 as torchvision.models.shufflenetv2 defines it. A stride-1 unit
// splits the channels in halves, transforms one half (branch2) and concatenates; a
// stride-2 unit runs both branches on the whole input. Each unit ends with a channel
// shuffle of 2 groups. Initialization: PyTorch's nn.Conv2d / nn.Linear defaults
// (torchvision's ShuffleNetV2 does not override them); BN scale 1, shift 0.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

// branch1: 3x3 depthwise (stride) - BN - 1x1 - BN - ReLU.
std::string branch1(GraphBuilder& b, const std::string& p, const std::string& x, int64_t out,
                    int64_t stride) {
  const int64_t inp = b.channels(x);
  std::string y = b.add_conv(
      p + ".0", x, inp,
      {.kernel = 3, .stride = stride, .pad = 1, .groups = inp, .init = ConvInit::kTorchDefault});
  y = b.add_bn(p + ".1", y);
  y = b.add_conv(p + ".2", y, out, {.kernel = 1, .init = ConvInit::kTorchDefault});
  y = b.add_bn(p + ".3", y);
  return b.add_relu(p + ".4", y);
}

// branch2: 1x1 - BN - ReLU - 3x3 depthwise (stride) - BN - 1x1 - BN - ReLU.
std::string branch2(GraphBuilder& b, const std::string& p, const std::string& x, int64_t out,
                    int64_t stride) {
  std::string y = b.add_conv(p + ".0", x, out, {.kernel = 1, .init = ConvInit::kTorchDefault});
  y = b.add_bn(p + ".1", y);
  y = b.add_relu(p + ".2", y);
  y = b.add_conv(
      p + ".3", y, out,
      {.kernel = 3, .stride = stride, .pad = 1, .groups = out, .init = ConvInit::kTorchDefault});
  y = b.add_bn(p + ".4", y);
  y = b.add_conv(p + ".5", y, out, {.kernel = 1, .init = ConvInit::kTorchDefault});
  y = b.add_bn(p + ".6", y);
  return b.add_relu(p + ".7", y);
}

std::string shuffle_unit(GraphBuilder& b, const std::string& p, const std::string& x, int64_t oup,
                         int64_t stride) {
  const int64_t half = oup / 2;
  std::string out;
  if (stride == 1) {
    auto parts = b.add_split(p + ".chunk", x, {half, half});
    out = b.add_concat(p + ".cat", {parts[0], branch2(b, p + ".branch2", parts[1], half, 1)});
  } else {
    std::string left = branch1(b, p + ".branch1", x, half, stride);
    std::string right = branch2(b, p + ".branch2", x, half, stride);
    out = b.add_concat(p + ".cat", {left, right});
  }
  return b.add_channel_shuffle(p + ".channel_shuffle", out, 2);
}

}  // namespace

ir::Graph build_shufflenet_v2_x1_0(uint64_t seed) {
  GraphBuilder b("shufflenet_v2_x1_0", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.add_conv("conv1.0", x, 24,
                 {.kernel = 3, .stride = 2, .pad = 1, .init = ConvInit::kTorchDefault});
  x = b.add_bn("conv1.1", x);
  x = b.add_relu("conv1.2", x);
  x = b.add_max_pool("maxpool", x, 3, 2, 1);
  const int64_t repeats[3] = {4, 8, 4};
  const int64_t channels[3] = {116, 232, 464};
  for (int s = 0; s < 3; ++s) {
    const std::string sp = "stage" + std::to_string(s + 2);
    for (int64_t i = 0; i < repeats[s]; ++i)
      x = shuffle_unit(b, sp + "." + std::to_string(i), x, channels[s], i == 0 ? 2 : 1);
  }
  x = b.add_conv("conv5.0", x, 1024, {.kernel = 1, .init = ConvInit::kTorchDefault});
  x = b.add_bn("conv5.1", x);
  x = b.add_relu("conv5.2", x);
  x = b.add_global_avg_pool("globalpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 1000);
  return b.finish(x);
}

}  // namespace frugal::zoo
