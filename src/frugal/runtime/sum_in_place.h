// The plan stage plan_sum_in_place (runtime/plan.h lists the stages; this one runs after
// negotiate_layouts and plan_concat_in_place, before plan_memory_per_device): an output placed in
// the buffer of an input that its kernel only adds to the result (kernels/negotiation.h,
// OutputOverInput).
#pragma once

#include "frugal/runtime/plan.h"

namespace frugal::runtime {

// A residual network's `conv + shortcut` fused into the convolution (oneDNN's sum post-op)
// copies the shortcut into the output before accumulating; where the shortcut dies at
// that step, the output takes the shortcut's buffer and the copy moves nothing
// (resnet50: one copy of up to 3 MB per bottleneck block). Notes the choice in the step's
// impl. FRUGAL_NO_SUM_IN_PLACE=1 turns the stage off (the A/B switch).
void plan_sum_in_place(Plan& plan);

}  // namespace frugal::runtime
