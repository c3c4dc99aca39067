// GoogLeNet (Inception v1; Szegedy et al., "Going Deeper with Convolutions", 2015) as
// torchvision.models.googlenet defines it for inference: no auxiliary classifiers
// (aux_logits=False) and no input transform (transform_input=False, the default without
// pretrained weights). Every BasicConv2d is a convolution without bias, BatchNorm (eps 0.001)
// and ReLU. The max pools run in ceil mode, as torchvision's do (maxpool4 is 2x2). An
// Inception block concatenates four branches: 1x1; 1x1 - 3x3; 1x1 - 3x3 (torchvision keeps a
// 3x3 where the paper has a 5x5: its "known bug", kept for the same weights); 3x3 max pool
// (stride 1, pad 1, ceil mode) - 1x1. Initialization as torchvision's: conv and Linear weights
// N(0, 0.01) (its truncated normal cuts at +-2 = 200 standard deviations), the Linear's bias
// left at nn.Linear's default, BN scale 1 shift 0. 6,624,904 parameters.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

std::string basic_conv(GraphBuilder& b, const std::string& p, const std::string& x, int64_t out,
                       int64_t kernel, int64_t stride = 1, int64_t pad = 0) {
  std::string y = b.add_conv(p + ".conv", x, out,
                             {.kernel = kernel, .stride = stride, .pad = pad, .weight_std = 0.01f});
  return b.add_relu(p + ".relu", b.add_bn(p + ".bn", y, 0.001f));
}

struct InceptionSpec {
  int64_t ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj;
};

std::string inception(GraphBuilder& b, const std::string& p, const std::string& x,
                      const InceptionSpec& s) {
  const std::string b1 = basic_conv(b, p + ".branch1", x, s.ch1x1, 1);
  const std::string b2 = basic_conv(
      b, p + ".branch2.1", basic_conv(b, p + ".branch2.0", x, s.ch3x3red, 1), s.ch3x3, 3, 1, 1);
  const std::string b3 = basic_conv(
      b, p + ".branch3.1", basic_conv(b, p + ".branch3.0", x, s.ch5x5red, 1), s.ch5x5, 3, 1, 1);
  const std::string pool = b.add_max_pool(p + ".branch4.0", x, 3, 1, 1, /*ceil_mode=*/true);
  const std::string b4 = basic_conv(b, p + ".branch4.1", pool, s.pool_proj, 1);
  return b.add_concat(p + ".cat", {b1, b2, b3, b4});
}

}  // namespace

ir::Graph build_googlenet(uint64_t seed) {
  GraphBuilder b("googlenet", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = basic_conv(b, "conv1", x, 64, 7, 2, 3);
  x = b.add_max_pool("maxpool1", x, 3, 2, 0, /*ceil_mode=*/true);
  x = basic_conv(b, "conv2", x, 64, 1);
  x = basic_conv(b, "conv3", x, 192, 3, 1, 1);
  x = b.add_max_pool("maxpool2", x, 3, 2, 0, /*ceil_mode=*/true);
  x = inception(b, "inception3a", x, {64, 96, 128, 16, 32, 32});
  x = inception(b, "inception3b", x, {128, 128, 192, 32, 96, 64});
  x = b.add_max_pool("maxpool3", x, 3, 2, 0, /*ceil_mode=*/true);
  x = inception(b, "inception4a", x, {192, 96, 208, 16, 48, 64});
  x = inception(b, "inception4b", x, {160, 112, 224, 24, 64, 64});
  x = inception(b, "inception4c", x, {128, 128, 256, 24, 64, 64});
  x = inception(b, "inception4d", x, {112, 144, 288, 32, 64, 64});
  x = inception(b, "inception4e", x, {256, 160, 320, 32, 128, 128});
  x = b.add_max_pool("maxpool4", x, 2, 2, 0, /*ceil_mode=*/true);
  x = inception(b, "inception5a", x, {256, 160, 320, 32, 128, 128});
  x = inception(b, "inception5b", x, {384, 192, 384, 48, 128, 128});
  x = b.add_global_avg_pool("avgpool", x);  // AdaptiveAvgPool2d(1); dropout is an identity
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 1000, LinearInit::kNormal001DefaultBias);
  return b.finish(x);
}

}  // namespace frugal::zoo
