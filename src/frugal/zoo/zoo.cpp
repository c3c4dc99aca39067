#include "frugal/zoo/zoo.h"

#include <utility>

#include "frugal/core/error.h"
#include "frugal/zoo/models.h"

namespace frugal::zoo {

namespace {

using BuildFn = ir::Graph (*)(uint64_t);

const std::vector<std::pair<std::string, BuildFn>>& registry() {
  static const std::vector<std::pair<std::string, BuildFn>> models{
      {"lenet5", build_lenet5},
      {"resnet18", build_resnet18},
      {"resnet50", build_resnet50},
      {"resnext50_32x4d", build_resnext50_32x4d},
      {"mobilenet_v2", build_mobilenet_v2},
      {"mobilenet_v3_small", build_mobilenet_v3_small},
      {"mobilenet_v3_large", build_mobilenet_v3_large},
      {"squeezenet1_1", build_squeezenet1_1},
      {"shufflenet_v2_x1_0", build_shufflenet_v2_x1_0},
      {"vgg16", build_vgg16},
      {"inception_v3", build_inception_v3},
      {"efficientnet_b0", build_efficientnet_b0},
      {"densenet121", build_densenet121},
      {"convnext_tiny", build_convnext_tiny},
      // Families added to check the engine on networks nobody profiled (issue 16).
      {"regnet_y_400mf", build_regnet_y_400mf},
      {"mnasnet1_0", build_mnasnet1_0},
      {"googlenet", build_googlenet},
      {"wide_resnet50_2", build_wide_resnet50_2},
      // A segmentation model: Resize (bilinear), dilated convs, a 4-D output (session 12).
      {"lraspp_mobilenet_v3_large", build_lraspp_mobilenet_v3_large},
      // A detector: SiLU, C2f splits and concats, nearest Upsample, SPPF, Detect's decoding.
      {"yolov8n", build_yolov8n},
      // A windowed-attention transformer: shifted windows (roll as Slice + Concat), relative
      // position bias and mask constants, PatchMerging's strided Slices (issue 16).
      {"swin_t", build_swin_t},
  };
  return models;
}

// Small 28x28 models for training studies (Fashion-MNIST), listed after the published ones.
const std::vector<std::pair<std::string, BuildFn>>& training_models() {
  static const std::vector<std::pair<std::string, BuildFn>> models{
      {"resnet8_fmnist", build_resnet8_fmnist},
      {"mobilenet_fmnist", build_mobilenet_fmnist},
      {"lenet300_100", build_lenet300_100},
      {"logreg_fmnist", build_logreg_fmnist},
  };
  return models;
}

}  // namespace

std::vector<std::string> names() {
  std::vector<std::string> out;
  for (const auto& [name, fn] : registry()) out.push_back(name);
  for (const auto& [name, fn] : training_models()) out.push_back(name);
  return out;
}

ir::Graph build(const std::string& name, uint64_t seed) {
  for (const auto* list : {&registry(), &training_models()})
    for (const auto& [known, fn] : *list) {
      if (known != name) continue;
      ir::Graph g = fn(seed);
      g.metadata["zoo.model"] = name;
      g.metadata["zoo.seed"] = std::to_string(seed);
      return g;
    }
  std::string list;
  for (const auto& n : names()) list += (list.empty() ? "" : ", ") + n;
  throw UserError("unknown zoo model '" + name + "' (known: " + list + ")");
}

}  // namespace frugal::zoo
