// DenseNet-121 (Huang et al., 2017) as torchvision.models.densenet defines it: growth rate
// 32, blocks of 6, 12, 24 and 16 layers, bottleneck width 4 x 32, compression 0.5. Each
// dense layer concatenates every feature map before it (torchvision's `torch.cat(inputs,
// 1)`, one Concat per layer as torch.onnx exports it), then BN - ReLU - 1x1 conv - BN -
// ReLU - 3x3 conv to 32 new channels; a block's output is the Concat of all of them; a
// transition is BN - ReLU - 1x1 conv (half the channels) - 2x2 average pool. The head is
// BN - ReLU - global average pool - Linear. Initialization as torchvision's: convs Kaiming
// normal (fan_in), BN scale 1 shift 0, the Linear's weight nn.Linear's default and bias 0.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

constexpr int64_t kGrowth = 32;
constexpr int64_t kBottleneck = 4;

std::string bn_relu_conv(GraphBuilder& b, const std::string& p, const std::string& idx,
                         const std::string& x, int64_t out_channels, int64_t kernel) {
  std::string y = b.add_relu(p + ".relu" + idx, b.add_bn(p + ".norm" + idx, x));
  return b.add_conv(
      p + ".conv" + idx, y, out_channels,
      {.kernel = kernel, .pad = (kernel - 1) / 2, .init = ConvInit::kKaimingNormalFanIn});
}

std::string dense_block(GraphBuilder& b, const std::string& p, std::string x, int64_t layers) {
  std::vector<std::string> features{std::move(x)};
  for (int64_t i = 1; i <= layers; ++i) {
    const std::string l = p + ".denselayer" + std::to_string(i);
    const std::string in = features.size() == 1 ? features[0] : b.add_concat(l + ".cat", features);
    std::string y = bn_relu_conv(b, l, "1", in, kBottleneck * kGrowth, 1);
    features.push_back(bn_relu_conv(b, l, "2", y, kGrowth, 3));
  }
  return b.add_concat(p + ".cat", features);
}

}  // namespace

ir::Graph build_densenet121(uint64_t seed) {
  GraphBuilder b("densenet121", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.add_conv("features.conv0", x, 64,
                 {.kernel = 7, .stride = 2, .pad = 3, .init = ConvInit::kKaimingNormalFanIn});
  x = b.add_relu("features.relu0", b.add_bn("features.norm0", x));
  x = b.add_max_pool("features.pool0", x, 3, 2, 1);
  const int64_t blocks[] = {6, 12, 24, 16};
  for (int i = 0; i < 4; ++i) {
    x = dense_block(b, "features.denseblock" + std::to_string(i + 1), x, blocks[i]);
    if (i == 3) break;
    const std::string t = "features.transition" + std::to_string(i + 1);
    x = bn_relu_conv(b, t, "", x, b.channels(x) / 2, 1);
    x = b.add_avg_pool(t + ".pool", x, 2, 2, 0);
  }
  x = b.add_relu("features.relu5", b.add_bn("features.norm5", x));
  x = b.add_flatten("flatten", b.add_global_avg_pool("avgpool", x));
  x = b.add_linear("classifier", x, 1000, LinearInit::kTorchDefaultZeroBias);
  return b.finish(x);
}

}  // namespace frugal::zoo
