// Resize and Upsample (ops/resize.cpp) as per-axis tap tables: which input indices, with
// which weights, make each output index along each axis. The reference kernel computes
// from them, and so can a backend's kernel, so that the coordinate transformation modes
// live in one place.
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

// The input taps of every output index along one axis: `taps` per output index, each an
// input index (clamped) and a weight; `outside` marks indices that take the
// extrapolation value (tf_crop_and_resize).
struct AxisTaps {
  int taps = 1;
  std::vector<int64_t> index;
  std::vector<double> weight;
  std::vector<bool> outside;
  bool identity = true;  // every output index copies the same input index
};

struct ResizeTaps {
  std::vector<AxisTaps> axes;  // one per input axis
  Shape out;
  bool nearest = false;      // a pure copy (any dtype)
  bool crop = false;         // tf_crop_and_resize: `outside` and `extrapolation` apply
  double extrapolation = 0;  // the value of points outside the input (crop only)
};

// The taps of `node` (Resize or Upsample at `opset`) on an input of shape `in`, its
// inputs as the node lists them (null when omitted; scales, sizes and roi must be given
// where the node uses them). Throws UserError naming the node for bad attributes or
// inputs, UnsupportedError for what ref does not implement.
ResizeTaps resize_taps(const ir::Node& node, int64_t opset, const Shape& in,
                       const std::vector<const Tensor*>& inputs);

}  // namespace frugal::ops
