#include "frugal/measure/eval.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "frugal/measure/clock.h"

namespace frugal::measure {
namespace {

std::vector<double> log_softmax(std::span<const float> x) {
  double m = -INFINITY;
  for (float v : x) m = std::max(m, static_cast<double>(v));
  double sum = 0;
  for (float v : x) sum += std::exp(static_cast<double>(v) - m);
  const double log_sum = std::log(sum);
  std::vector<double> out(x.size());
  for (size_t i = 0; i < x.size(); ++i) out[i] = static_cast<double>(x[i]) - m - log_sum;
  return out;
}

// KL(softmax(ref) || softmax(model)) from log-probabilities, so that a probability too
// small for a double does not turn the divergence infinite.
double kl_from_logits(std::span<const float> ref, std::span<const float> model) {
  const auto lp = log_softmax(ref), lq = log_softmax(model);
  double kl = 0;
  for (size_t i = 0; i < lp.size(); ++i) {
    const double p = std::exp(lp[i]);
    if (p > 0) kl += p * (lp[i] - lq[i]);
  }
  return std::max(0.0, kl);
}

// Classes per sample of an output [B, K] or [B, K, 1, ..., 1]; 0 when it is not one.
int64_t output_classes(const Shape& s) {
  if (s.size() < 2) return 0;
  for (size_t i = 2; i < s.size(); ++i)
    if (s[i] != 1) return 0;
  return s[1];
}

}  // namespace

std::vector<double> softmax(std::span<const float> logits) {
  auto l = log_softmax(logits);
  for (double& v : l) v = std::exp(v);
  return l;
}

double kl_divergence(std::span<const double> p, std::span<const double> q) {
  double kl = 0;
  for (size_t i = 0; i < p.size() && i < q.size(); ++i)
    if (p[i] > 0) kl += p[i] * std::log(p[i] / q[i]);
  return kl;
}

int64_t rank_of(std::span<const float> scores, int64_t cls) {
  const float v = scores[static_cast<size_t>(cls)];
  int64_t rank = 0;
  for (size_t j = 0; j < scores.size(); ++j) {
    const int64_t jj = static_cast<int64_t>(j);
    if (scores[j] > v || (scores[j] == v && jj < cls)) ++rank;
  }
  return rank;
}

int64_t argmax(std::span<const float> scores) {
  int64_t best = 0;
  for (size_t j = 1; j < scores.size(); ++j)
    if (scores[j] > scores[static_cast<size_t>(best)]) best = static_cast<int64_t>(j);
  return best;
}

void check_eval_compatible(const runtime::Session& model, const std::string& model_origin,
                           const train::Dataset& data, const std::string& data_origin) {
  if (model.inputs().size() != 1)
    throw UserError(model_origin + ": has " + std::to_string(model.inputs().size()) +
                    " inputs; eval feeds one image input");
  if (model.outputs().empty()) throw UserError(model_origin + ": has no output");
  const auto& in = model.inputs()[0];
  if (in.dtype != DType::kF32)
    throw UserError(model_origin + ": input '" + in.name + "' is " +
                    std::string(dtype_name(in.dtype)) + "; eval feeds float32 images");
  const Shape sample = data.sample_shape();
  if (in.shape.size() != 4)
    throw UserError(model_origin + ": input '" + in.name + "' is " + shape_str(in.shape) +
                    "; eval feeds images NxCxHxW");
  const Shape want{in.shape[1], in.shape[2], in.shape[3]};
  if (sample != want) {
    const std::string what = sample.size() == 3 && sample[0] != want[0] ? "channels" : "size";
    throw UserError(data_origin + ": images are " + shape_str(sample) + " (CxHxW), the model " +
                    model_origin + " expects " + shape_str(want) + " (" + what + " differ)");
  }
  const auto& out = model.outputs()[0];
  const int64_t k = output_classes(out.shape);
  if (k <= 0)
    throw UserError(model_origin + ": output '" + out.name + "' is " + shape_str(out.shape) +
                    "; eval needs class scores NxK");
  if (data.num_classes() > k)
    throw UserError(data_origin + ": has " + std::to_string(data.num_classes()) +
                    " classes, the model " + model_origin + " scores only " + std::to_string(k));
}

namespace {

// Whether each of the `n` samples of `batch` (n rows along its first dimension) holds only
// finite values.
std::vector<bool> finite_rows(const Tensor& batch, int64_t n) {
  std::vector<bool> finite(static_cast<size_t>(n), true);
  if (batch.dtype() != DType::kF32 || n == 0) return finite;
  const int64_t per = batch.numel() / n;
  const float* d = batch.data<float>();
  for (int64_t i = 0; i < n; ++i)
    finite[static_cast<size_t>(i)] =
        std::all_of(d + i * per, d + (i + 1) * per, [](float v) { return std::isfinite(v); });
  return finite;
}

}  // namespace

EvalResult evaluate(runtime::Session& model, const std::string& model_origin,
                    const train::Dataset& data, const std::string& data_origin,
                    const EvalOptions& options, runtime::Session* reference,
                    const std::string& reference_name) {
  check_eval_compatible(model, model_origin, data, data_origin);
  if (options.limit < 0) throw UserError("--limit: must be 0 (all) or more");
  if (data.size() == 0)
    throw UserError(data_origin + ": holds no samples (an accuracy over none would mean nothing)");
  if (reference) {
    check_eval_compatible(*reference, reference_name, data, data_origin);
    if (reference->inputs()[0].shape != model.inputs()[0].shape ||
        output_classes(reference->outputs()[0].shape) != output_classes(model.outputs()[0].shape))
      throw UserError(reference_name + ": inputs or outputs differ in shape from " + model_origin +
                      " (compare models of the same interface and batch)");
  }
  EvalResult r;
  r.batch = model.inputs()[0].shape[0];
  r.classes = output_classes(model.outputs()[0].shape);
  r.data = data.describe();
  const int64_t total = options.limit > 0 ? std::min(options.limit, data.size()) : data.size();
  const size_t k = static_cast<size_t>(r.classes);
  const int64_t top_n = std::min<int64_t>(5, r.classes);
  r.confusion.assign(k, std::vector<int64_t>(k, 0));
  r.per_class.resize(k);
  for (size_t c = 0; c < k; ++c) r.per_class[c].cls = static_cast<int64_t>(c);
  int64_t agree = 0;
  double kl_sum = 0;

  Tensor images(DType::kF32, model.inputs()[0].shape);  // padded last batch stays zero
  Tensor part_images, part_labels;
  const Stopwatch watch;
  for (int64_t begin = 0; begin < total; begin += r.batch) {
    const int64_t n = std::min(r.batch, total - begin);
    std::vector<int64_t> idx(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) idx[static_cast<size_t>(i)] = begin + i;
    data.get_batch(idx, part_images, part_labels);
    std::memcpy(images.raw(), part_images.raw(), part_images.nbytes());
    const std::vector<bool> finite_input = finite_rows(part_images, n);
    const Tensor logits = model.run({images})[0].cast(DType::kF32);
    Tensor ref_logits;
    if (reference) ref_logits = reference->run({images})[0].cast(DType::kF32);
    const int64_t* labels = part_labels.data<int64_t>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t label = labels[i];
      if (label < 0 || label >= r.classes)
        throw UserError(data_origin + ": label " + std::to_string(label) + " of sample " +
                        std::to_string(begin + i) + " is out of range for the " +
                        std::to_string(r.classes) + " classes of " + model_origin);
      const std::span<const float> row(logits.data<float>() + i * r.classes, k);
      r.per_class[static_cast<size_t>(label)].samples++;
      if (!finite_input[static_cast<size_t>(i)] ||
          !std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); })) {
        // Comparisons with NaN are false, so ranking such a row would call it top-1; and a
        // backend may turn a NaN input finite (oneDNN's ReLU and max pooling drop NaN:
        // docs/robustness.md), so the input row is checked as well as the scores.
        r.nonfinite++;
        continue;
      }
      const int64_t pred = argmax(row);
      const int64_t rank = rank_of(row, label);
      r.top1_correct += rank == 0;
      r.top5_correct += rank < top_n;
      r.confusion[static_cast<size_t>(label)][static_cast<size_t>(pred)]++;
      r.per_class[static_cast<size_t>(label)].correct += rank == 0;
      if (reference) {
        const std::span<const float> ref_row(ref_logits.data<float>() + i * r.classes, k);
        agree += argmax(ref_row) == pred;
        kl_sum += kl_from_logits(ref_row, row);
      }
    }
    r.samples += n;
    if (options.progress) options.progress(r.samples, total);
  }
  r.seconds = watch.elapsed_s();
  r.samples_per_s = r.seconds > 0 ? static_cast<double>(r.samples) / r.seconds : 0;
  if (r.samples > 0) {
    r.top1 = static_cast<double>(r.top1_correct) / static_cast<double>(r.samples);
    r.top5 = static_cast<double>(r.top5_correct) / static_cast<double>(r.samples);
  }
  if (reference) {
    ReferenceAgreement a;
    a.model = reference_name;
    if (r.samples > 0) {
      a.top1_agreement = static_cast<double>(agree) / static_cast<double>(r.samples);
      a.mean_kl = kl_sum / static_cast<double>(r.samples);
    }
    r.reference = a;
  }
  return r;
}

}  // namespace frugal::measure
