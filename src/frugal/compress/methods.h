// The compress pipeline's methods at the settings `frugal study` measures them: one set of
// `frugal compress` options each. A method added to the pipeline (make_pipeline) joins the
// study's transform axis by adding its line to study_methods(); the study reads the list
// and the pipeline's TransformNeeds, and names no method itself.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/compress/pipeline.h"

namespace frugal::compress {

struct MethodRecipe {
  std::string label;  // the study's transform label: "prune90", "int8", "prune90+int8", ...
  PipelineSpec spec;  // the options of `frugal compress`
  // Recovers accuracy only with training afterwards: the study fine-tunes trained models
  // (zeros and shared values kept) after it. Pruning says so here; the pipeline's
  // TransformNeeds::fine_tuning covers the rest.
  bool fine_tune = false;
  // Training images of that one fine-tuning pass: as many as recover the accuracy, no more
  // (measured on resnet8_fmnist, docs/sweep.md "frugal study"; the budget is the study's).
  int64_t fine_tune_images = 12000;
  std::vector<std::string> compress_args() const;  // {"--prune", "global:0.9", ...}
  TransformNeeds needs() const;                    // the union over make_pipeline(spec)
};

// In the pipeline's order (Deep Compression: prune, share weights, quantize).
const std::vector<MethodRecipe>& study_methods();

}  // namespace frugal::compress
