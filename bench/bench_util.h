// Helpers shared by the C++ benchmarks under bench/ (not part of the library).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frugal/core/rng.h"
#include "frugal/core/tensor.h"

namespace frugal::bench {

// A float32 tensor of seeded N(0, 1) values.
inline Tensor normal_input(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF32, shape);
  Philox rng(seed);
  float* d = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) d[i] = rng.normal(static_cast<uint64_t>(i));
  return t;
}

// The q-quantile of `v` by the nearest rank (v must not be empty).
inline double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v[static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5)];
}

}  // namespace frugal::bench
