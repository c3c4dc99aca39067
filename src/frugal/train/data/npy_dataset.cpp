#include "frugal/train/data/npy_dataset.h"

#include "frugal/core/npy.h"

namespace frugal::train {

std::unique_ptr<TensorDataset> make_array_dataset(Tensor inputs, const Tensor& labels,
                                                  const std::string& inputs_origin,
                                                  const std::string& labels_origin,
                                                  const DataOptions& options) {
  if (inputs.rank() < 2 || inputs.rank() > 4)
    throw UserError(inputs_origin + ": inputs must be [N, C, H, W], [N, H, W] or [N, F], not " +
                    shape_str(inputs.shape()));
  const bool label_column = labels.rank() == 2 && labels.dim(1) == 1;
  if ((labels.rank() != 1 && !label_column) || !dtype_is_integer(labels.dtype()))
    throw UserError(labels_origin + ": labels must be one integer per sample, not " +
                    shape_str(labels.shape()) + " " + std::string(dtype_name(labels.dtype())));
  check_counts(inputs.dim(0), labels.dim(0), inputs_origin, labels_origin);
  if (inputs.rank() == 2) inputs = inputs.reshaped({inputs.dim(0), inputs.dim(1), 1, 1});
  if (inputs.rank() == 3)
    inputs = inputs.reshaped({inputs.dim(0), 1, inputs.dim(1), inputs.dim(2)});
  if (inputs.dtype() == DType::kBool) inputs = inputs.cast(DType::kF32);  // 0 or 1, scale 1
  check_sample_shape({inputs.dim(1), inputs.dim(2), inputs.dim(3)}, options.expected_sample_shape,
                     inputs_origin);
  const std::vector<int64_t> values = labels.to_int64();
  check_labels(values, options.num_classes, labels_origin);
  return std::make_unique<TensorDataset>(std::move(inputs), values, options.num_classes,
                                         options.preprocess, inputs_origin);
}

std::unique_ptr<TensorDataset> open_npy_dataset(const std::string& inputs_path,
                                                const std::string& labels_path,
                                                const DataOptions& options) {
  return make_array_dataset(read_npy(inputs_path), read_npy(labels_path), inputs_path, labels_path,
                            options);
}

std::unique_ptr<TensorDataset> open_npz_dataset(const std::string& path,
                                                const DataOptions& options) {
  auto arrays = read_npz(path);
  auto find = [&](const std::string& key) -> Tensor& {
    auto it = arrays.find(key);
    if (it == arrays.end()) {
      std::string names;
      for (const auto& [k, v] : arrays) names += (names.empty() ? "" : ", ") + k;
      throw UserError(path + ": no array named '" + key +
                      "' (the archive holds: " + (names.empty() ? "nothing" : names) + ")");
    }
    return it->second;
  };
  Tensor& inputs = find(options.inputs_key);
  const Tensor& labels = find(options.labels_key);
  return make_array_dataset(inputs, labels, path + ":" + options.inputs_key,
                            path + ":" + options.labels_key, options);
}

}  // namespace frugal::train
