#include "frugal/compress/methods.h"

namespace frugal::compress {

std::vector<std::string> MethodRecipe::compress_args() const {
  std::vector<std::string> a;
  for (const auto& [option, value] :
       {std::pair<const char*, const std::string&>{"--prune", spec.prune},
        {"--exclude", spec.exclude},
        {"--lowrank", spec.lowrank},
        {"--circulant", spec.circulant},
        {"--cluster", spec.cluster},
        {"--binarize", spec.binarize},
        {"--quant", spec.quant}})
    if (!value.empty()) a.insert(a.end(), {option, value});
  if (spec.max_drop >= 0) a.insert(a.end(), {"--max-drop", std::to_string(spec.max_drop)});
  return a;
}

TransformNeeds MethodRecipe::needs() const {
  TransformNeeds n;
  for (const auto& t : make_pipeline(spec)) {
    n.data |= t->needs().data;
    n.fine_tuning |= t->needs().fine_tuning;
    n.backend |= t->needs().backend;
  }
  n.fine_tuning |= fine_tune;
  return n;
}

const std::vector<MethodRecipe>& study_methods() {
  // Global magnitude thresholds; the first layer kept dense (it holds few weights and most
  // of the accuracy: docs/pruning.md). Weight sharing at 2^5 values per layer (Han et al.).
  static const std::vector<MethodRecipe> methods = [] {
    std::vector<MethodRecipe> m(7);
    m[0].label = "prune50";
    m[0].spec.prune = "global:0.5";
    m[0].fine_tune = true;
    m[0].fine_tune_images = 3000;  // back within 0.2 points after 3,000 images
    m[1].label = "prune90";
    m[1].spec.prune = "global:0.9";
    m[1].fine_tune = true;
    m[2].label = "int8";
    m[2].spec.quant = "int8";
    m[3].label = "prune90+int8";
    m[3].spec.prune = "global:0.9";
    m[3].spec.quant = "int8";
    m[3].fine_tune = true;
    m[4].label = "prune90+share5";
    m[4].spec.prune = "global:0.9";
    m[4].spec.cluster = "5";
    m[4].fine_tune = true;
    // Truncated SVD keeping 95% of each layer's energy (docs/compression.md).
    m[5].label = "lowrank-e95";
    m[5].spec.lowrank = "energy=0.95";
    m[5].fine_tune_images = 3000;
    // The same with KxK convolutions by Tucker-2 (1x1 / KxK / 1x1).
    m[6].label = "tucker-e95";
    m[6].spec.lowrank = "energy=0.95:conv=tucker";
    m[6].fine_tune_images = 3000;
    for (auto& r : m)
      if (!r.spec.prune.empty()) r.spec.exclude = "first";
    return m;
  }();
  return methods;
}

}  // namespace frugal::compress
