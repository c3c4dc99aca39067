// Sliding-window geometry (kernel, strides, dilations, pads, auto_pad) shared by Conv,
// ConvTranspose and the pooling operators. Resolved from a node's attributes both in
// shape inference and in the reference kernels, so the two can never disagree.
#pragma once

#include <cstdint>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::ops {

struct WindowGeometry {
  // One entry per spatial dimension. For ConvTranspose, `in` is the input (the small side)
  // and `out` the output; pad_begin/pad_end crop the full transposed result and may be
  // negative when an explicit output_shape asks for more than the full result.
  std::vector<int64_t> in, kernel, strides, dilations, pad_begin, pad_end, out;

  size_t rank() const { return in.size(); }
  int64_t in_numel() const;
  int64_t out_numel() const;
  int64_t kernel_numel() const;
  // Extent covered by one dilated kernel along dimension d.
  int64_t effective_kernel(size_t d) const { return (kernel[d] - 1) * dilations[d] + 1; }
};

// Conv and pooling: output size from the input, kernel and pads (or auto_pad).
// `ceil_mode` rounds the output size up (pooling); a window that would start in the end
// padding is then dropped.
// Throws UserError naming the node for bad attributes or a kernel larger than the input.
WindowGeometry sliding_window(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                              const std::vector<int64_t>& kernel, bool ceil_mode);

// ConvTranspose: output size from output_shape, or from pads/auto_pad and output_padding.
WindowGeometry transposed_window(const ir::Node& node, const std::vector<int64_t>& in_spatial,
                                 const std::vector<int64_t>& kernel);

// The same geometry over exactly three spatial dimensions (leading dimensions of size 1,
// kernel 1, stride 1), so that 1-D, 2-D and 3-D windows share one loop nest. Throws
// UnsupportedError naming the node for more than three spatial dimensions.
WindowGeometry as_3d(const ir::Node& node, const WindowGeometry& g);

}  // namespace frugal::ops
