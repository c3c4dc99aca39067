// Datasets for training and evaluation: samples of shape [C, H, W] with integer class
// labels, fetched in batches as a float tensor [N, C, H, W] and int64 labels [N].
// Loaders: IDX (MNIST family, .gz read directly; idx.h), NPY/NPZ (npy_dataset.h) and
// image folders (image_folder.h). open_dataset() turns a --data spec into one of them.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"

namespace frugal::train {

struct Batch {
  Tensor images;  // f32 [N, C, H, W]
  Tensor labels;  // i64 [N]
};

// Pixel preprocessing, applied in this order: x * scale, then (x - mean[c]) / std[c].
struct Preprocess {
  std::optional<double> scale;  // unset: 1/255 for 8-bit pixels, 1 otherwise
  std::vector<float> mean;      // per channel (or one value for all); empty: 0
  std::vector<float> std;       // per channel (or one value for all); empty: 1
};

struct DataOptions {
  Preprocess preprocess;
  // Labels must lie in [0, num_classes); 0 infers max label + 1.
  int64_t num_classes = 0;
  // [C, H, W] the consumer (a model's input) needs; empty accepts any. A dataset whose
  // samples have another shape is refused when opened, naming the file.
  Shape expected_sample_shape;
  // Image folders: shorter side resized to `resize` (bilinear), then a centre crop of
  // crop_h x crop_w; 0 leaves that step out. channels: 3 (RGB) or 1 (grey).
  int64_t resize = 0;
  int64_t crop_h = 0, crop_w = 0;
  int channels = 3;
  // NPZ: the arrays holding inputs and labels.
  std::string inputs_key = "x";
  std::string labels_key = "y";
  // Where named data sets (fashion-mnist) are looked up.
  std::string datasets_root = "/usr/share/datasets";
};

class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Shape sample_shape() const = 0;  // [C, H, W]
  virtual int64_t num_classes() const = 0;
  // One line: where the data comes from and how it is preprocessed.
  virtual std::string describe() const = 0;
  // Fills images [N, C, H, W] f32 and labels [N] i64 for the given sample indices. The
  // tensors are reallocated when their shape or dtype differs. Indices out of range throw.
  virtual void get_batch(std::span<const int64_t> indices, Tensor& images,
                         Tensor& labels) const = 0;

  Batch get_batch(std::span<const int64_t> indices) const;
  Batch get_range(int64_t begin, int64_t count) const;  // samples begin .. begin+count-1
};

// Samples held in memory: inputs [N, C, H, W] of any numeric dtype, labels in [0, classes).
class TensorDataset final : public Dataset {
 public:
  // `origin` names the source in messages. uint8 inputs default to a scale of 1/255.
  TensorDataset(Tensor inputs, std::vector<int64_t> labels, int64_t num_classes,
                Preprocess preprocess, std::string origin);
  int64_t size() const override { return static_cast<int64_t>(labels_.size()); }
  Shape sample_shape() const override;
  int64_t num_classes() const override { return num_classes_; }
  std::string describe() const override;
  void get_batch(std::span<const int64_t> indices, Tensor& images, Tensor& labels) const override;
  using Dataset::get_batch;
  const std::vector<int64_t>& labels() const { return labels_; }

 private:
  Tensor inputs_;
  std::vector<int64_t> labels_;
  int64_t num_classes_;
  Preprocess preprocess_;
  std::string origin_;
  std::vector<float> scale_c_, shift_c_;  // x * scale_c + shift_c per channel
};

// Checks shared by the loaders; each throws a one-line UserError naming `origin`.
// Labels against num_classes (0: inferred); returns the class count.
int64_t check_labels(const std::vector<int64_t>& labels, int64_t num_classes,
                     const std::string& origin);
void check_counts(int64_t inputs, int64_t labels, const std::string& inputs_origin,
                  const std::string& labels_origin);
void check_sample_shape(const Shape& have, const Shape& expected, const std::string& origin);
// Per-channel factors a, b so that preprocessing is x * a[c] + b[c].
void preprocess_factors(const Preprocess& p, int64_t channels, bool eight_bit,
                        std::vector<float>& scale, std::vector<float>& shift,
                        const std::string& origin);
std::string describe_preprocess(const Preprocess& p, bool eight_bit);

// A --data spec:
//   fashion-mnist[:train|:test]      <datasets_root>/fashion-mnist, IDX .gz (default test)
//   idx:IMAGES,LABELS                 IDX files, .gz or not
//   npy:INPUTS.npy,LABELS.npy
//   npz:FILE.npz                      arrays inputs_key / labels_key (default x, y)
//   folder:DIR                        image folder, a class per sub-folder
//   PATH                              .npz file or a directory (image folder)
std::unique_ptr<Dataset> open_dataset(const std::string& spec, const DataOptions& options = {});

}  // namespace frugal::train
