// Views. A data-movement kernel (Reshape, Transpose, Split) whose output, in the layouts
// the Session agreed with the kernels around it (negotiation.h), holds exactly the bytes
// of one of its inputs from some offset on moves nothing: a Reshape of a plain tensor, a
// Transpose whose source layout already is the transposed order (a convolution writing
// NCHW as nhwc, then perm (0,2,3,1) to plain NHWC), a Split along an axis with only 1s
// before it, a Gather of one constant index with nothing before its axis. The kernel says so; the
// Session then places the output in that input's buffer and skips the step (runtime/views.h). Asked
// after the negotiation, since the answer depends on the adopted layouts. The interface names no
// backend.
#pragma once

#include <cstddef>
#include <optional>

namespace frugal::kernels {

struct InputBytes {
  size_t input = 0;   // the kernel's input index
  size_t offset = 0;  // where the output's bytes begin in that input's buffer
};

class OutputAsView {
 public:
  virtual ~OutputAsView() = default;
  // Output `index` would be written as the bytes of an input from an offset on, nothing
  // else being computed for it; nullopt otherwise.
  virtual std::optional<InputBytes> output_view(size_t index) const = 0;
};

}  // namespace frugal::kernels
