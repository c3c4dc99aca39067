// MobileNetV3-Large's feature extractor (mobilenet.cpp), shared by the classifier and the
// LRASPP segmentation model (lraspp.cpp).
#pragma once

#include <string>

#include "frugal/zoo/builder.h"

namespace frugal::zoo {

// torchvision's mobilenet_v3_large(...).features from `input`: its 17 stages through the
// 960-channel 1x1 conv, named `prefix` + index ("features.16"; LRASPP's state dict calls
// them "backbone.16"). `dilated`: torchvision's dilated=True, the last
// stage's depthwise convs at stride 1 with dilation 2 (output stride 16 instead of 32).
// `stride8`, when not null, receives features.4's output (40 channels, stride 8).
std::string mobilenet_v3_large_features(GraphBuilder& b, const std::string& prefix,
                                        const std::string& input, bool dilated,
                                        std::string* stride8);

}  // namespace frugal::zoo
