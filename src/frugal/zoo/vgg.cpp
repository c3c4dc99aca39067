// VGG-16 as torchvision.models.vgg16 defines it (configuration D, no batch norm): 13 3x3
// convolutions with bias and ReLU in five blocks, each ended by a 2x2 max pool, then three
// linear layers. 138,357,544 parameters. Initialized as torchvision's VGG: convolutions
// Kaiming normal (fan_out), linear layers N(0, 0.01), biases 0.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

ir::Graph build_vgg16(uint64_t seed) {
  GraphBuilder b("vgg16", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  const int64_t kPool = 0;  // marks a max pool in the configuration
  const int64_t config[] = {64,    64,  kPool, 128, 128,   kPool, 256, 256, 256,
                            kPool, 512, 512,   512, kPool, 512,   512, 512, kPool};
  int index = 0;
  for (int64_t c : config) {
    const std::string name = "features." + std::to_string(index);
    if (c == kPool) {
      x = b.add_max_pool(name, x, 2, 2, 0);
      index += 1;
      continue;
    }
    x = b.add_conv(name, x, c, {.kernel = 3, .pad = 1, .bias = true});
    x = b.add_relu("features." + std::to_string(index + 1), x);
    index += 2;
  }
  // avgpool is AdaptiveAvgPool2d(7, 7): an identity on the 7x7 maps of a 224x224 input.
  x = b.add_flatten("flatten", x);
  x = b.add_linear("classifier.0", x, 4096, 0.01f);
  x = b.add_relu("classifier.1", x);
  x = b.add_linear("classifier.3", x, 4096, 0.01f);  // classifier.2 and .5 are Dropout
  x = b.add_relu("classifier.4", x);
  x = b.add_linear("classifier.6", x, 1000, 0.01f);
  return b.finish(x);
}

}  // namespace frugal::zoo
