// Helpers shared by operator definitions: strides, broadcasting, axis lists.
#pragma once

#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

// Row-major strides (in elements).
std::vector<int64_t> strides_of(const Shape& shape);

// ONNX multidirectional (numpy) broadcasting of any number of shapes; fails via ctx.
Shape broadcast_shapes(const InferContext& ctx, const std::vector<Shape>& shapes);

// For each input shape, the strides to use when iterating over `out` (0 on broadcast dims).
std::vector<int64_t> broadcast_strides(const Shape& in, const Shape& out);

// Calls f(out_index, offsets) for every element of `out`, where offsets[k] is the flat
// element offset into input k broadcast to `out`. Iterates in row-major order.
template <typename F>
void for_each_broadcast(const Shape& out, const std::vector<Shape>& ins, F&& f) {
  const size_t r = out.size(), k = ins.size();
  int64_t n = shape_numel(out);
  if (n == 0) return;
  std::vector<std::vector<int64_t>> st(k);
  for (size_t j = 0; j < k; ++j) st[j] = broadcast_strides(ins[j], out);
  std::vector<int64_t> idx(r, 0), off(k, 0);
  for (int64_t i = 0; i < n; ++i) {
    f(i, off.data());
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      for (size_t j = 0; j < k; ++j) off[j] += st[j][d];
      if (idx[d] < out[d]) break;
      for (size_t j = 0; j < k; ++j) off[j] -= st[j][d] * out[d];
      idx[d] = 0;
    }
  }
}

// Axes from the "axes" attribute (older opsets) or from input `input_index` (newer
// opsets), normalised to [0, rank). Returns nullopt when neither is given.
std::optional<std::vector<int64_t>> axes_attr_or_input(const InferContext& ctx,
                                                       size_t input_index, int64_t rank);
std::optional<std::vector<int64_t>> axes_attr_or_input(const KernelContext& ctx,
                                                       size_t input_index, int64_t rank);

}  // namespace frugal::ops
