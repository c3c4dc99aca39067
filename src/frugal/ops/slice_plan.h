// Slice's window per axis, from its attributes (opset < 10) or inputs: shared by the
// reference kernel and the backends' own Slice kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

struct AxisWindow {
  int64_t start = 0;
  int64_t step = 1;
  int64_t length = 0;
};

// Per input axis, the window to copy. The tensors are inputs 1..4 for opset 10+ (null when
// omitted); before opset 10 the starts/ends/axes attributes are used and steps are 1.
// Throws UserError naming the node for invalid ones.
std::vector<AxisWindow> plan_slice(const ir::Node& node, int64_t opset, const Shape& in,
                                   const Tensor* starts_t, const Tensor* ends_t,
                                   const Tensor* axes_t, const Tensor* steps_t);

}  // namespace frugal::ops
