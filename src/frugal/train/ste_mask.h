// The straight-through estimator's stop: an error with the positions a forward clipped set
// to zero (QAT's out-of-range inputs, train/qat.h; binary activations with |x| > 1,
// train/binarize_train.h).
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/core/tensor.h"

namespace frugal::train {

// `error` with the elements where blocked[i] != 0 zeroed, in a new tensor (the error may be
// shared with another value's); unchanged when the sizes differ (no mask for this forward).
inline void zero_blocked(Tensor& error, const std::vector<uint8_t>& blocked) {
  if (static_cast<int64_t>(blocked.size()) != error.numel()) return;
  Tensor g = error.clone();
  float* d = g.data<float>();
  for (size_t i = 0; i < blocked.size(); ++i)
    if (blocked[i]) d[i] = 0.0f;
  error = g;
}

}  // namespace frugal::train
