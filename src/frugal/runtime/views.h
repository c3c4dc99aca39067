// The plan stage plan_views (runtime/plan.h lists the stages; this one runs after
// negotiate_layouts and plan_concat_in_place, before plan_sum_in_place and
// plan_memory_per_device): steps whose outputs are their input's bytes (kernels/views.h,
// OutputAsView) are elided, their outputs placed in the input's buffer.
#pragma once

#include "frugal/runtime/plan.h"

namespace frugal::runtime {

// A Reshape, Flatten, Squeeze or Unsqueeze of a plain value (or of a layout the new shape
// keeps), a Transpose whose input layout already is the transposed order (ConvNeXt's
// NCHW <-> NHWC permutes around each block's LayerNorm), a Split along an axis with only
// 1s before it, a Gather of one constant index with nothing before its axis: each output becomes a
// view of its input's buffer (Plan::home_slot, as the Concat in place), the step runs nothing, and
// the buffer lives until the last reader of any value in it (plan_memory_per_device). Graph inputs,
// constants and graph outputs (caller buffers), values on another device, values already placed by
// plan_concat_in_place, and dynamic steps are left as they are (copied). A step with
// several outputs is elided only when every output is a view. Notes each choice in the
// step's impl. FRUGAL_NO_VIEWS=1 turns the stage off (the A/B switch).
void plan_views(Plan& plan);

}  // namespace frugal::runtime
