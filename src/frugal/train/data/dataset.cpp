#include "frugal/train/data/dataset.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "frugal/train/data/idx.h"
#include "frugal/train/data/image_folder.h"
#include "frugal/train/data/npy_dataset.h"

namespace frugal::train {

Batch Dataset::get_batch(std::span<const int64_t> indices) const {
  Batch b;
  get_batch(indices, b.images, b.labels);
  return b;
}

Batch Dataset::get_range(int64_t begin, int64_t count) const {
  if (begin < 0 || count < 0 || begin > size() - count)
    throw InternalError("Dataset::get_range: samples " + std::to_string(begin) + " + " +
                        std::to_string(count) + " outside 0.." + std::to_string(size()));
  std::vector<int64_t> idx(static_cast<size_t>(count));
  for (int64_t i = 0; i < count; ++i) idx[static_cast<size_t>(i)] = begin + i;
  return get_batch(idx);
}

int64_t check_labels(const std::vector<int64_t>& labels, int64_t num_classes,
                     const std::string& origin) {
  if (num_classes < 0) throw UserError(origin + ": number of classes must not be negative");
  int64_t max_label = -1;
  for (size_t i = 0; i < labels.size(); ++i) {
    const int64_t l = labels[i];
    if (l < 0 || (num_classes > 0 && l >= num_classes))
      throw UserError(
          origin + ": label " + std::to_string(l) + " of sample " + std::to_string(i) +
          " is out of range" +
          (num_classes > 0 ? " [0, " + std::to_string(num_classes) + ")" : " (negative)"));
    max_label = std::max(max_label, l);
  }
  return num_classes > 0 ? num_classes : max_label + 1;
}

void check_counts(int64_t inputs, int64_t labels, const std::string& inputs_origin,
                  const std::string& labels_origin) {
  if (inputs != labels)
    throw UserError(labels_origin + ": " + std::to_string(labels) + " labels for " +
                    std::to_string(inputs) + " samples in " + inputs_origin);
}

void check_sample_shape(const Shape& have, const Shape& expected, const std::string& origin) {
  if (!expected.empty() && have != expected)
    throw UserError(origin + ": samples are " + shape_str(have) + " (CxHxW), expected " +
                    shape_str(expected));
}

void preprocess_factors(const Preprocess& p, int64_t channels, bool eight_bit,
                        std::vector<float>& scale, std::vector<float>& shift,
                        const std::string& origin) {
  const double s = p.scale.value_or(eight_bit ? 1.0 / 255.0 : 1.0);
  auto per_channel = [&](const std::vector<float>& v, float fallback, const char* what) {
    if (v.empty()) return std::vector<float>(static_cast<size_t>(channels), fallback);
    if (v.size() == 1) return std::vector<float>(static_cast<size_t>(channels), v[0]);
    if (static_cast<int64_t>(v.size()) != channels)
      throw UserError(origin + ": " + std::to_string(v.size()) + " " + what + " values for " +
                      std::to_string(channels) + " channels");
    return v;
  };
  const auto mean = per_channel(p.mean, 0.0f, "mean");
  const auto stdv = per_channel(p.std, 1.0f, "std");
  scale.resize(static_cast<size_t>(channels));
  shift.resize(static_cast<size_t>(channels));
  for (size_t c = 0; c < scale.size(); ++c) {
    if (!(stdv[c] != 0 && std::isfinite(stdv[c])))
      throw UserError(origin + ": std must be finite and non-zero");
    scale[c] = static_cast<float>(s / stdv[c]);
    shift[c] = -mean[c] / stdv[c];
  }
}

std::string describe_preprocess(const Preprocess& p, bool eight_bit) {
  const double s = p.scale.value_or(eight_bit ? 1.0 / 255.0 : 1.0);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "x*%s", s == 1.0 / 255.0 ? "1/255" : std::to_string(s).c_str());
  std::string out = buf;
  auto list = [](const std::vector<float>& v) {
    std::string r;
    for (float x : v) r += (r.empty() ? "" : ",") + std::to_string(x);
    return r;
  };
  if (!p.mean.empty()) out += ", -mean(" + list(p.mean) + ")";
  if (!p.std.empty()) out += ", /std(" + list(p.std) + ")";
  return out;
}

TensorDataset::TensorDataset(Tensor inputs, std::vector<int64_t> labels, int64_t num_classes,
                             Preprocess preprocess, std::string origin)
    : inputs_(std::move(inputs)),
      labels_(std::move(labels)),
      preprocess_(std::move(preprocess)),
      origin_(std::move(origin)) {
  if (inputs_.rank() != 4) throw InternalError("TensorDataset: inputs must be [N, C, H, W]");
  check_counts(inputs_.dim(0), static_cast<int64_t>(labels_.size()), origin_, origin_);
  num_classes_ = check_labels(labels_, num_classes, origin_);
  preprocess_factors(preprocess_, inputs_.dim(1), inputs_.dtype() == DType::kU8, scale_c_, shift_c_,
                     origin_);
}

Shape TensorDataset::sample_shape() const {
  return {inputs_.dim(1), inputs_.dim(2), inputs_.dim(3)};
}

std::string TensorDataset::describe() const {
  return origin_ + ": " + std::to_string(size()) + " samples of " + shape_str(sample_shape()) +
         ", " + std::to_string(num_classes_) + " classes, " +
         describe_preprocess(preprocess_, inputs_.dtype() == DType::kU8);
}

void TensorDataset::get_batch(std::span<const int64_t> indices, Tensor& images,
                              Tensor& labels) const {
  const int64_t n = static_cast<int64_t>(indices.size());
  const int64_t c = inputs_.dim(1), hw = inputs_.dim(2) * inputs_.dim(3);
  const Shape want = {n, c, inputs_.dim(2), inputs_.dim(3)};
  if (images.dtype() != DType::kF32 || images.shape() != want) images = Tensor(DType::kF32, want);
  if (labels.dtype() != DType::kI64 || labels.shape() != Shape{n})
    labels = Tensor(DType::kI64, {n});
  float* out = images.data<float>();
  int64_t* lab = labels.data<int64_t>();
  const int64_t sample = c * hw;
  visit_dtype(inputs_.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = inputs_.data<T>();
    for (int64_t i = 0; i < n; ++i) {
      const int64_t k = indices[static_cast<size_t>(i)];
      if (k < 0 || k >= size())
        throw InternalError("Dataset::get_batch: sample " + std::to_string(k) + " of " +
                            std::to_string(size()));
      lab[i] = labels_[static_cast<size_t>(k)];
      const T* src = in + k * sample;
      float* dst = out + i * sample;
      for (int64_t ch = 0; ch < c; ++ch) {
        const float a = scale_c_[static_cast<size_t>(ch)], b = shift_c_[static_cast<size_t>(ch)];
        for (int64_t j = 0; j < hw; ++j)
          dst[ch * hw + j] = static_cast<float>(src[ch * hw + j]) * a + b;
      }
    }
  });
}

namespace {

std::pair<std::string, std::string> split_pair(const std::string& s, const std::string& spec) {
  const auto comma = s.find(',');
  if (comma == std::string::npos || comma == 0 || comma + 1 == s.size())
    throw UserError("--data " + spec + ": expected two files separated by a comma");
  return {s.substr(0, comma), s.substr(comma + 1)};
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

std::unique_ptr<Dataset> open_dataset(const std::string& spec, const DataOptions& options) {
  if (spec.rfind("idx:", 0) == 0) {
    const auto [images, labels] = split_pair(spec.substr(4), spec);
    return open_idx_dataset(images, labels, options);
  }
  if (spec.rfind("npy:", 0) == 0) {
    const auto [inputs, labels] = split_pair(spec.substr(4), spec);
    return open_npy_dataset(inputs, labels, options);
  }
  if (spec.rfind("npz:", 0) == 0) return open_npz_dataset(spec.substr(4), options);
  if (spec.rfind("folder:", 0) == 0)
    return std::make_unique<ImageFolderDataset>(spec.substr(7), options);
  std::error_code ec;
  if (ends_with(spec, ".npz") && std::filesystem::is_regular_file(spec, ec))
    return open_npz_dataset(spec, options);
  if (std::filesystem::is_directory(spec, ec))
    return std::make_unique<ImageFolderDataset>(spec, options);
  // A named IDX data set: NAME[:train|:test].
  std::string name = spec, split = "test";
  const auto colon = spec.rfind(':');
  if (colon != std::string::npos) {
    name = spec.substr(0, colon);
    split = spec.substr(colon + 1);
  }
  if (name.empty() || name.find('/') != std::string::npos || (split != "train" && split != "test"))
    throw UserError(
        "--data " + spec +
        ": not a file, directory or named data set (forms: fashion-mnist[:train|:test], "
        "idx:IMAGES,LABELS, npy:INPUTS,LABELS, npz:FILE, folder:DIR)");
  return open_named_idx_dataset(name, split, options);
}

}  // namespace frugal::train
