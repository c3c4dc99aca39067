// LRASPP with a MobileNetV3-Large backbone as torchvision.models.segmentation defines it
// (lraspp_mobilenet_v3_large, 21 classes): the backbone (MobileNetV3-Large's features,
// state-dict names "backbone.N") dilated (output stride 16), its stride-8 features
// (backbone.4, 40 channels) as "low" and its last conv (960 channels) as "high"; the head
//   x = cbr(high) * scale(high)          cbr: 1x1 conv 960->128, BN, ReLU
//                                         scale: global average pool, 1x1 conv 960->128, Sigmoid
//   x = bilinear resize of x to low's size
//   out = low_classifier(low) + high_classifier(x)   (1x1 convs with bias)
// and the logits bilinearly resized to the input size (align_corners=False throughout).
// Initialization as torchvision's: the backbone as MobileNetV3's, the head's convs
// PyTorch's nn.Conv2d default (LRASPPHead does not override it), BN scale 1 shift 0.
#include "frugal/zoo/mobilenet_v3.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

ir::Graph build_lraspp_mobilenet_v3_large(uint64_t seed) {
  constexpr int64_t kClasses = 21, kInter = 128;
  GraphBuilder b("lraspp_mobilenet_v3_large", seed);
  const std::string input = b.add_input("input", {1, 3, 224, 224});
  std::string low;
  const std::string high = mobilenet_v3_large_features(b, "backbone.", input, true, &low);
  const ConvOptions head{.kernel = 1, .init = ConvInit::kTorchDefault};
  std::string x = b.add_conv("classifier.cbr.0", high, kInter, head);
  x = b.add_bn("classifier.cbr.1", x);
  x = b.add_relu("classifier.cbr.2", x);
  std::string s = b.add_global_avg_pool("classifier.scale.0", high);
  s = b.add_conv("classifier.scale.1", s, kInter, head);
  s = b.add_sigmoid("classifier.scale.2", s);
  x = b.add_mul("classifier.mul", x, s);
  x = b.add_upsample("classifier.interpolate", x, b.shape_of(low)[2] / b.shape_of(x)[2], true);
  ConvOptions classifier = head;
  classifier.bias = true;
  const std::string l = b.add_conv("classifier.low_classifier", low, kClasses, classifier);
  const std::string h = b.add_conv("classifier.high_classifier", x, kClasses, classifier);
  x = b.add_add("classifier.add", l, h);
  x = b.add_upsample("interpolate", x, b.shape_of(input)[2] / b.shape_of(x)[2], true);
  return b.finish(x, "out");
}

}  // namespace frugal::zoo
