// An image-folder dataset: ROOT/<class>/<image>, a class per sub-folder (classes sorted by
// name get labels 0, 1, ...), PNG (libpng) and JPEG (libjpeg-turbo) decoded when a batch is
// fetched. Each image: decode to RGB or grey, resize the shorter side (bilinear), centre
// crop, then x * scale (default 1/255) and (x - mean[c]) / std[c].
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/train/data/dataset.h"

namespace frugal::train {

// 8-bit interleaved pixels, rows top to bottom: [height][width][channels].
struct Image {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<uint8_t> pixels;
};
// Float image of the same layout, used between the resize and crop steps.
struct ImageF {
  int64_t width = 0, height = 0, channels = 0;
  std::vector<float> pixels;
};

// Decodes a PNG or JPEG file (by its signature, not its name) to `channels` (1 or 3).
// Throws UserError naming the file: missing, not an image, corrupt, too large.
Image decode_image(const std::string& path, int channels);

// Bilinear resampling with pixel centres aligned (a source coordinate is
// (x + 0.5) * in / out - 0.5, clamped to the image), no antialiasing.
ImageF resize_bilinear(const ImageF& in, int64_t out_h, int64_t out_w);
// Resizes so that the shorter side is `shorter`, the longer one scaled and truncated.
ImageF resize_shorter_side(const ImageF& in, int64_t shorter);
// The centre crop_h x crop_w window (top-left at floor((h - crop_h) / 2), ...).
// Throws UserError naming `origin` when the image is smaller than the crop.
ImageF center_crop(const ImageF& in, int64_t crop_h, int64_t crop_w, const std::string& origin);
ImageF to_float(const Image& in);

class ImageFolderDataset final : public Dataset {
 public:
  // Lists classes and files and decodes the first image to fix the sample shape (when
  // neither resize nor crop fixes it). Throws UserError naming the folder or file.
  ImageFolderDataset(const std::string& root, const DataOptions& options = {});
  int64_t size() const override { return static_cast<int64_t>(files_.size()); }
  Shape sample_shape() const override { return {channels_, out_h_, out_w_}; }
  int64_t num_classes() const override { return static_cast<int64_t>(classes_.size()); }
  std::string describe() const override;
  void get_batch(std::span<const int64_t> indices, Tensor& images, Tensor& labels) const override;
  using Dataset::get_batch;
  const std::vector<std::string>& class_names() const { return classes_; }
  const std::string& file(int64_t i) const { return files_.at(static_cast<size_t>(i)); }
  int64_t label(int64_t i) const { return labels_.at(static_cast<size_t>(i)); }

 private:
  // Decoded, resized, cropped and normalised sample i into dst [C, H, W].
  void load(int64_t i, float* dst) const;

  std::string root_;
  DataOptions options_;
  std::vector<std::string> classes_;
  std::vector<std::string> files_;
  std::vector<int64_t> labels_;
  int64_t skipped_files_ = 0;
  int64_t channels_ = 3, out_h_ = 0, out_w_ = 0;
  std::vector<float> scale_c_, shift_c_;
};

}  // namespace frugal::train
