// ResNet-18, ResNet-50, ResNeXt-50 32x4d and Wide ResNet-50-2 as torchvision.models.resnet
// defines them (v1.5: in a Bottleneck the stride sits on the 3x3 conv, grouped in ResNeXt;
// Wide ResNet-50-2 (Zagoruyko and Komodakis, 2016) doubles the inner width of every
// Bottleneck, width_per_group 128). Convs have no bias; the
// projection shortcut is "downsample" (1x1 conv + BN). Initialization as torchvision's:
// convs Kaiming normal (fan_out, ReLU gain), BN scale 1 shift 0, fc nn.Linear's default.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

std::string shortcut(GraphBuilder& b, const std::string& p, const std::string& x,
                     int64_t out_channels, int64_t stride) {
  if (stride == 1 && b.channels(x) == out_channels) return x;
  std::string s = b.add_conv(p + ".downsample.0", x, out_channels, {.kernel = 1, .stride = stride});
  return b.add_bn(p + ".downsample.1", s);
}

// BasicBlock (expansion 1): 3x3 conv (stride) - BN - ReLU - 3x3 conv - BN, + shortcut, ReLU.
std::string basic_block(GraphBuilder& b, const std::string& p, const std::string& x, int64_t planes,
                        int64_t stride) {
  std::string out = b.add_conv(p + ".conv1", x, planes, {.kernel = 3, .stride = stride, .pad = 1});
  out = b.add_bn(p + ".bn1", out);
  out = b.add_relu(p + ".relu", out);
  out = b.add_conv(p + ".conv2", out, planes, {.kernel = 3, .pad = 1});
  out = b.add_bn(p + ".bn2", out);
  out = b.add_add(p + ".add", out, shortcut(b, p, x, planes, stride));
  return b.add_relu(p + ".relu", out);
}

// Bottleneck (expansion 4): 1x1 - 3x3 (stride, `groups` groups) - 1x1 (4 * planes), +
// shortcut, ReLU. The inner width is planes * width_per_group / 64 * groups (torchvision):
// planes for ResNet (1 group of 64), 2 * planes for ResNeXt-50 32x4d.
std::string grouped_bottleneck(GraphBuilder& b, const std::string& p, const std::string& x,
                               int64_t planes, int64_t stride, int64_t groups,
                               int64_t width_per_group) {
  const int64_t width = planes * width_per_group / 64 * groups;
  std::string out = b.add_conv(p + ".conv1", x, width, {.kernel = 1});
  out = b.add_bn(p + ".bn1", out);
  out = b.add_relu(p + ".relu", out);
  out = b.add_conv(p + ".conv2", out, width,
                   {.kernel = 3, .stride = stride, .pad = 1, .groups = groups});
  out = b.add_bn(p + ".bn2", out);
  out = b.add_relu(p + ".relu", out);
  out = b.add_conv(p + ".conv3", out, planes * 4, {.kernel = 1});
  out = b.add_bn(p + ".bn3", out);
  out = b.add_add(p + ".add", out, shortcut(b, p, x, planes * 4, stride));
  return b.add_relu(p + ".relu", out);
}

std::string bottleneck(GraphBuilder& b, const std::string& p, const std::string& x, int64_t planes,
                       int64_t stride) {
  return grouped_bottleneck(b, p, x, planes, stride, 1, 64);
}

std::string resnext_32x4d_bottleneck(GraphBuilder& b, const std::string& p, const std::string& x,
                                     int64_t planes, int64_t stride) {
  return grouped_bottleneck(b, p, x, planes, stride, 32, 4);
}

std::string wide_bottleneck(GraphBuilder& b, const std::string& p, const std::string& x,
                            int64_t planes, int64_t stride) {
  return grouped_bottleneck(b, p, x, planes, stride, 1, 128);
}

using BlockFn = std::string (*)(GraphBuilder&, const std::string&, const std::string&, int64_t,
                                int64_t);

ir::Graph build_resnet(const std::string& name, BlockFn block, const int64_t (&blocks)[4],
                       uint64_t seed) {
  GraphBuilder b(name, seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.add_conv("conv1", x, 64, {.kernel = 7, .stride = 2, .pad = 3});
  x = b.add_bn("bn1", x);
  x = b.add_relu("relu", x);
  x = b.add_max_pool("maxpool", x, 3, 2, 1);
  const int64_t planes[4] = {64, 128, 256, 512};
  for (int layer = 0; layer < 4; ++layer) {
    const std::string lp = "layer" + std::to_string(layer + 1);
    for (int64_t i = 0; i < blocks[layer]; ++i) {
      const int64_t stride = (layer > 0 && i == 0) ? 2 : 1;
      x = block(b, lp + "." + std::to_string(i), x, planes[layer], stride);
    }
  }
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 1000);
  return b.finish(x);
}

}  // namespace

ir::Graph build_resnet18(uint64_t seed) {
  return build_resnet("resnet18", basic_block, {2, 2, 2, 2}, seed);
}

ir::Graph build_resnet50(uint64_t seed) {
  return build_resnet("resnet50", bottleneck, {3, 4, 6, 3}, seed);
}

ir::Graph build_resnext50_32x4d(uint64_t seed) {
  return build_resnet("resnext50_32x4d", resnext_32x4d_bottleneck, {3, 4, 6, 3}, seed);
}

ir::Graph build_wide_resnet50_2(uint64_t seed) {
  return build_resnet("wide_resnet50_2", wide_bottleneck, {3, 4, 6, 3}, seed);
}

}  // namespace frugal::zoo
