// Accuracy of a classifier over a labelled data set, run in batches through a Session:
// top-1/top-5, per-class accuracy, confusion matrix, and agreement with a reference model
// (the fraction of identical top-1 predictions and the mean KL divergence of their softmax
// outputs), which is how a compressed model is judged against its original.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frugal/runtime/session.h"
#include "frugal/train/data/dataset.h"

namespace frugal::measure {

struct EvalOptions {
  int64_t limit = 0;                                          // first N samples only (0: all)
  std::function<void(int64_t done, int64_t total)> progress;  // after each batch
};

struct ClassAccuracy {
  int64_t cls = 0;
  int64_t samples = 0;
  int64_t correct = 0;  // top-1
  double top1() const { return samples > 0 ? static_cast<double>(correct) / samples : 0; }
};

struct ReferenceAgreement {
  std::string model;
  double top1_agreement = 0;  // fraction of samples whose top-1 classes are equal
  double mean_kl = 0;         // mean over samples of KL(softmax(ref) || softmax(model)), nats
};

struct EvalResult {
  int64_t samples = 0;
  int64_t classes = 0;  // the model's outputs per sample
  int64_t batch = 1;
  int64_t top1_correct = 0, top5_correct = 0;
  // Samples whose score row holds a NaN or an infinity: never correct, left out of the
  // confusion matrix (there is no meaningful prediction to file them under).
  int64_t nonfinite = 0;
  double top1 = 0, top5 = 0;                    // top-5 is top-min(5, classes)
  std::vector<ClassAccuracy> per_class;         // classes of the model's output
  std::vector<std::vector<int64_t>> confusion;  // [true][predicted]
  std::optional<ReferenceAgreement> reference;
  double seconds = 0;  // wall time of the batches (data loading included)
  double samples_per_s = 0;
  std::string data;  // the dataset's description
};

// Model and data fit: one f32 input [B, C, H, W] with C, H, W those of the samples, and one
// output [B, K] (or [B, K, 1, 1]) with K covering the data set's classes. UserError naming
// the model or data origin and what differs.
void check_eval_compatible(const runtime::Session& model, const std::string& model_origin,
                           const train::Dataset& data, const std::string& data_origin);

// `reference_name` names the reference model in the result. Throws UserError when a label
// is outside the model's classes or the reference's outputs differ in shape.
EvalResult evaluate(runtime::Session& model, const std::string& model_origin,
                    const train::Dataset& data, const std::string& data_origin,
                    const EvalOptions& options = {}, runtime::Session* reference = nullptr,
                    const std::string& reference_name = "");

// Helpers (exposed for tests): a numerically stable softmax (max subtracted), KL divergence
// sum p log(p / q) in nats (terms with p = 0 are 0), and the rank of `cls` among the
// scores, ties broken toward the lower index (0: top-1).
std::vector<double> softmax(std::span<const float> logits);
double kl_divergence(std::span<const double> p, std::span<const double> q);
int64_t rank_of(std::span<const float> scores, int64_t cls);
int64_t argmax(std::span<const float> scores);

}  // namespace frugal::measure
