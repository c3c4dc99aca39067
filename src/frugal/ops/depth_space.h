// DepthToSpace and SpaceToDepth as the transpose of a 6-D view of the input
// (ops/depth_space.cpp): the view and the permutation, shared by the reference kernel and a
// backend's copy.
#pragma once

#include <array>
#include <cstdint>

#include "frugal/ops/op.h"

namespace frugal::ops {

struct DepthSpaceView {
  Shape in6;                    // the input's N x C x H x W seen as six axes
  std::array<int64_t, 6> perm;  // output axis d is in6's axis perm[d]
};

// The view of `node` (DepthToSpace or SpaceToDepth) on an input of shape `x`, whose
// attributes and shape inference has already checked.
DepthSpaceView depth_space_view(const ir::Node& node, const Shape& x);

}  // namespace frugal::ops
