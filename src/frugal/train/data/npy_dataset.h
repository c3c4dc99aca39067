// Datasets from NumPy arrays: inputs [N, C, H, W], [N, H, W] (one channel) or [N, F]
// (F channels of 1x1) of float32/float64/int/uint8/bool, and integer labels [N] (or
// [N, 1]). uint8 inputs are scaled by 1/255 by default, others by 1; no normalisation.
#pragma once

#include <memory>
#include <string>

#include "frugal/core/tensor.h"
#include "frugal/train/data/dataset.h"

namespace frugal::train {

std::unique_ptr<TensorDataset> open_npy_dataset(const std::string& inputs_path,
                                                const std::string& labels_path,
                                                const DataOptions& options = {});
// Arrays options.inputs_key and options.labels_key of an .npz archive.
std::unique_ptr<TensorDataset> open_npz_dataset(const std::string& path,
                                                const DataOptions& options = {});

// The checks and reshaping both share; origins name the arrays in messages.
std::unique_ptr<TensorDataset> make_array_dataset(Tensor inputs, const Tensor& labels,
                                                  const std::string& inputs_origin,
                                                  const std::string& labels_origin,
                                                  const DataOptions& options);

}  // namespace frugal::train
