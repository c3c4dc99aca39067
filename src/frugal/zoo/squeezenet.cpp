// SqueezeNet 1.1 as torchvision.models.squeezenet defines it: convs with bias, max
// pools in ceil mode, and a 1x1 conv classifier (initialised N(0, 0.01)) followed by
// ReLU and global average pooling. Initialization as torchvision's: every other conv
// kaiming_uniform (fan_in, gain sqrt(2)), every bias 0.
#include "frugal/zoo/builder.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

// Fire module: 1x1 squeeze - ReLU, then concat(1x1 expand - ReLU, 3x3 expand - ReLU).
std::string fire(GraphBuilder& b, const std::string& p, const std::string& x, int64_t squeeze,
                 int64_t expand1x1, int64_t expand3x3) {
  std::string s = b.add_conv(p + ".squeeze", x, squeeze,
                             {.kernel = 1, .bias = true, .init = ConvInit::kKaimingUniform});
  s = b.add_relu(p + ".squeeze_activation", s);
  std::string e1 = b.add_conv(p + ".expand1x1", s, expand1x1,
                              {.kernel = 1, .bias = true, .init = ConvInit::kKaimingUniform});
  e1 = b.add_relu(p + ".expand1x1_activation", e1);
  std::string e3 =
      b.add_conv(p + ".expand3x3", s, expand3x3,
                 {.kernel = 3, .pad = 1, .bias = true, .init = ConvInit::kKaimingUniform});
  e3 = b.add_relu(p + ".expand3x3_activation", e3);
  return b.add_concat(p + ".cat", {e1, e3});
}

}  // namespace

ir::Graph build_squeezenet1_1(uint64_t seed) {
  GraphBuilder b("squeezenet1_1", seed);
  std::string x = b.add_input("input", {1, 3, 224, 224});
  x = b.add_conv("features.0", x, 64,
                 {.kernel = 3, .stride = 2, .bias = true, .init = ConvInit::kKaimingUniform});
  x = b.add_relu("features.1", x);
  x = b.add_max_pool("features.2", x, 3, 2, 0, /*ceil_mode=*/true);
  x = fire(b, "features.3", x, 16, 64, 64);
  x = fire(b, "features.4", x, 16, 64, 64);
  x = b.add_max_pool("features.5", x, 3, 2, 0, /*ceil_mode=*/true);
  x = fire(b, "features.6", x, 32, 128, 128);
  x = fire(b, "features.7", x, 32, 128, 128);
  x = b.add_max_pool("features.8", x, 3, 2, 0, /*ceil_mode=*/true);
  x = fire(b, "features.9", x, 48, 192, 192);
  x = fire(b, "features.10", x, 48, 192, 192);
  x = fire(b, "features.11", x, 64, 256, 256);
  x = fire(b, "features.12", x, 64, 256, 256);
  // classifier.0 is Dropout(0.5): an identity at inference, left out.
  x = b.add_conv("classifier.1", x, 1000, {.kernel = 1, .bias = true, .weight_std = 0.01f});
  x = b.add_relu("classifier.2", x);
  x = b.add_global_avg_pool("classifier.3", x);
  x = b.add_flatten("flatten", x);
  return b.finish(x);
}

}  // namespace frugal::zoo
