// Gather on the GPU (cuda_kernels.cu's gather kernel): the index arithmetic, written once for
// the device kernel and the host code and tests. C++17, no CUDA or frugal header.
#pragma once

#include <cstdint>

#include "frugal/kernels/cuda/host_device.h"

namespace frugal::kernels::cuda {

// x viewed as [outer, axis_dim, inner], y as [outer, n_index, inner] (n_index: the number of
// indices, whatever their shape).
struct GatherShape {
  int64_t outer = 1, n_index = 1, inner = 1, axis_dim = 1;
  FRUGAL_HOST_DEVICE int64_t size() const { return outer * n_index * inner; }
};

// An ONNX index (negative counts from the end) as a position along the axis, or -1 when it
// lies outside [-dim, dim).
FRUGAL_HOST_DEVICE inline int64_t normalized_index(int64_t v, int64_t dim) {
  if (v < -dim || v >= dim) return -1;
  return v < 0 ? v + dim : v;
}

// Which index (its position in the flattened indices) element i of y reads.
FRUGAL_HOST_DEVICE inline int64_t gather_index_slot(const GatherShape& s, int64_t i) {
  return (i / s.inner) % s.n_index;
}

// x's element read by element i of y, `at` being that element's normalized index.
FRUGAL_HOST_DEVICE inline int64_t gather_source(const GatherShape& s, int64_t i, int64_t at) {
  const int64_t r = i % s.inner, o = i / (s.inner * s.n_index);
  return (o * s.axis_dim + at) * s.inner + r;
}

// An out-of-range run-time index found on the GPU: the first kernel to find one stores its
// site (> 0, registered per node at plan time: CudaDevice::index_fault_site) and the index;
// the host reads it after the stream's work is done. Zero: no fault.
struct IndexFault {
  int64_t site = 0;
  int64_t index = 0;
};

}  // namespace frugal::kernels::cuda
