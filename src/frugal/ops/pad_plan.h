// Pad's geometry per axis, from its attributes (opset < 11) or inputs: shared by the
// reference kernel and the backends' own Pad kernels.
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

enum class PadMode { kConstant, kReflect, kEdge, kWrap };

struct PadPlan {
  PadMode mode = PadMode::kConstant;
  std::vector<int64_t> begin, end;  // per input axis (negative: cropped)
  Shape out;
};

// Inputs (opset 11+): pads (1), axes (3, opset 18); null when omitted or before opset 11.
// Throws UserError naming the node for invalid ones.
PadPlan plan_pad(const ir::Node& node, int64_t opset, const Shape& in, const Tensor* pads_t,
                 const Tensor* axes_t);

// Index of the input element that output index i (in input coordinates, i.e. already
// shifted by the begin pad) takes along an axis of size n; -1 for the constant fill.
int64_t source_index(PadMode mode, int64_t i, int64_t n);

}  // namespace frugal::ops
