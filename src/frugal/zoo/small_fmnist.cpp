// Small models for 28x28 grey images (Fashion-MNIST), for training studies that must run
// on a laptop CPU: a ResNet-style and a MobileNet-V2-style network.
//
// resnet8_fmnist: 3x3 stem (16), then three basic blocks (16, 32 stride 2, 64 stride 2;
// 1x1 conv + BN shortcut when the shape changes), global average pool, linear 64 -> 10.
// 7 convolutions + 1 linear layer; 77,754 parameters.
//
// mobilenet_fmnist: 3x3 stem (16, ReLU6), five inverted residual blocks (expansion 2 then
// 4: 16, 24 s2, 24, 32 s2, 32; residual when stride 1 and equal widths), 1x1 to 128,
// global average pool, linear 128 -> 10. 33,242 parameters.
//
// Initialization as their torchvision counterparts: Kaiming normal (fan_out) convolutions,
// BN scale 1 and shift 0; ResNet's fc keeps nn.Linear's init, MobileNet's is N(0, 0.01).
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {
namespace {

std::string conv_bn(GraphBuilder& b, const std::string& name, const std::string& x, int64_t out,
                    const ConvOptions& opt) {
  return b.add_bn(name + ".bn", b.add_conv(name + ".conv", x, out, opt));
}

std::string basic_block(GraphBuilder& b, const std::string& name, const std::string& x, int64_t out,
                        int64_t stride) {
  std::string y = b.add_relu(
      name + ".relu1", conv_bn(b, name + ".1", x, out, {.kernel = 3, .stride = stride, .pad = 1}));
  y = conv_bn(b, name + ".2", y, out, {.kernel = 3, .pad = 1});
  std::string shortcut = x;
  if (stride != 1 || b.channels(x) != out)
    shortcut = conv_bn(b, name + ".downsample", x, out, {.kernel = 1, .stride = stride});
  return b.add_relu(name + ".relu2", b.add_add(name + ".add", y, shortcut));
}

std::string inverted_residual(GraphBuilder& b, const std::string& name, const std::string& x,
                              int64_t out, int64_t stride, int64_t expand) {
  const int64_t in = b.channels(x), hidden = in * expand;
  std::string y =
      b.add_relu6(name + ".expand.relu", conv_bn(b, name + ".expand", x, hidden, {.kernel = 1}));
  y = b.add_relu6(name + ".dw.relu",
                  conv_bn(b, name + ".dw", y, hidden,
                          {.kernel = 3, .stride = stride, .pad = 1, .groups = hidden}));
  y = conv_bn(b, name + ".project", y, out, {.kernel = 1});
  if (stride == 1 && in == out) y = b.add_add(name + ".add", y, x);
  return y;
}

}  // namespace

ir::Graph build_resnet8_fmnist(uint64_t seed) {
  GraphBuilder b("resnet8_fmnist", seed);
  std::string x = b.add_input("input", {1, 1, 28, 28});
  x = b.add_relu("stem.relu", conv_bn(b, "stem", x, 16, {.kernel = 3, .pad = 1}));
  x = basic_block(b, "layer1", x, 16, 1);
  x = basic_block(b, "layer2", x, 32, 2);
  x = basic_block(b, "layer3", x, 64, 2);
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 10);  // torchvision's ResNet keeps nn.Linear's init
  return b.finish(x);
}

ir::Graph build_mobilenet_fmnist(uint64_t seed) {
  GraphBuilder b("mobilenet_fmnist", seed);
  std::string x = b.add_input("input", {1, 1, 28, 28});
  x = b.add_relu6("stem.relu", conv_bn(b, "stem", x, 16, {.kernel = 3, .pad = 1}));
  x = inverted_residual(b, "block1", x, 16, 1, 2);
  x = inverted_residual(b, "block2", x, 24, 2, 4);
  x = inverted_residual(b, "block3", x, 24, 1, 4);
  x = inverted_residual(b, "block4", x, 32, 2, 4);
  x = inverted_residual(b, "block5", x, 32, 1, 4);
  x = b.add_relu6("head.relu", conv_bn(b, "head", x, 128, {.kernel = 1}));
  x = b.add_global_avg_pool("avgpool", x);
  x = b.add_flatten("flatten", x);
  x = b.add_linear("fc", x, 10, 0.01f);  // torchvision's MobileNetV2 classifier: N(0, 0.01)
  return b.finish(x);
}

}  // namespace frugal::zoo
