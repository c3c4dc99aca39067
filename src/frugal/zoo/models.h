// One builder per architecture, each defined in its family's file.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::zoo {

ir::Graph build_lenet5(uint64_t seed);                     // lenet.cpp
ir::Graph build_resnet18(uint64_t seed);                   // resnet.cpp
ir::Graph build_resnet50(uint64_t seed);                   // resnet.cpp
ir::Graph build_resnext50_32x4d(uint64_t seed);            // resnet.cpp
ir::Graph build_wide_resnet50_2(uint64_t seed);            // resnet.cpp
ir::Graph build_mobilenet_v2(uint64_t seed);               // mobilenet.cpp
ir::Graph build_mobilenet_v3_small(uint64_t seed);         // mobilenet.cpp
ir::Graph build_mobilenet_v3_large(uint64_t seed);         // mobilenet.cpp
ir::Graph build_squeezenet1_1(uint64_t seed);              // squeezenet.cpp
ir::Graph build_shufflenet_v2_x1_0(uint64_t seed);         // shufflenet.cpp
ir::Graph build_vgg16(uint64_t seed);                      // vgg.cpp
ir::Graph build_inception_v3(uint64_t seed);               // inception.cpp
ir::Graph build_efficientnet_b0(uint64_t seed);            // efficientnet.cpp
ir::Graph build_densenet121(uint64_t seed);                // densenet.cpp
ir::Graph build_convnext_tiny(uint64_t seed);              // convnext.cpp
ir::Graph build_regnet_y_400mf(uint64_t seed);             // regnet.cpp
ir::Graph build_mnasnet1_0(uint64_t seed);                 // mnasnet.cpp
ir::Graph build_googlenet(uint64_t seed);                  // googlenet.cpp
ir::Graph build_lraspp_mobilenet_v3_large(uint64_t seed);  // lraspp.cpp
ir::Graph build_yolov8n(uint64_t seed);                    // yolo.cpp
ir::Graph build_swin_t(uint64_t seed);                     // swin.cpp
ir::Graph build_resnet8_fmnist(uint64_t seed);             // small_fmnist.cpp
ir::Graph build_mobilenet_fmnist(uint64_t seed);           // small_fmnist.cpp
ir::Graph build_lenet300_100(uint64_t seed);               // mlp.cpp
ir::Graph build_logreg_fmnist(uint64_t seed);              // mlp.cpp

// A Swin Transformer of other sizes (tests run a small one against the reference): the
// defaults are torchvision's swin_t. The maps of every stage must be multiples of the window.
struct SwinConfig {
  std::string name = "swin_t";
  int64_t image = 224, embed = 96, window = 7, classes = 1000;
  std::vector<int64_t> depths{2, 2, 6, 2}, heads{3, 6, 12, 24};
};
ir::Graph build_swin(const SwinConfig& config, uint64_t seed);  // swin.cpp

}  // namespace frugal::zoo
