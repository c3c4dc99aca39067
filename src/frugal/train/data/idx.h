// IDX files (the MNIST family's format, http://yann.lecun.com/exdb/mnist/): a 4-byte magic
// 00 00 TYPE NDIMS, NDIMS big-endian uint32 sizes, then the data, big endian, C order.
// TYPE: 08 uint8, 09 int8, 0B int16, 0C int32, 0D float32, 0E float64. Files ending in .gz
// (or any gzip stream) are decompressed while reading.
#pragma once

#include <memory>
#include <string>

#include "frugal/core/tensor.h"
#include "frugal/train/data/dataset.h"

namespace frugal::train {

// The whole file as a tensor of its own dtype and shape (int16 is widened to int32).
// Throws a UserError naming the file: missing, wrong magic, truncated, trailing data.
Tensor read_idx(const std::string& path);

// Images (IDX [N, H, W] or [N, C, H, W]) and labels (IDX [N], integer). uint8 pixels
// are scaled by 1/255 by default, with no normalisation.
std::unique_ptr<TensorDataset> open_idx_dataset(const std::string& images_path,
                                                const std::string& labels_path,
                                                const DataOptions& options = {});

// <datasets_root>/<name>/{train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz], as in the
// Debian package dataset-fashion-mnist. split: "train" or "test". fashion-mnist has 10
// classes (unless options.num_classes says otherwise).
std::unique_ptr<TensorDataset> open_named_idx_dataset(const std::string& name,
                                                      const std::string& split,
                                                      const DataOptions& options = {});

}  // namespace frugal::train
