// One builder per architecture, each defined in its family's file.
#pragma once

#include <cstdint>

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
ir::Graph build_resnet8_fmnist(uint64_t seed);             // small_fmnist.cpp
ir::Graph build_mobilenet_fmnist(uint64_t seed);           // small_fmnist.cpp
ir::Graph build_lenet300_100(uint64_t seed);               // mlp.cpp
ir::Graph build_logreg_fmnist(uint64_t seed);              // mlp.cpp

}  // namespace frugal::zoo
