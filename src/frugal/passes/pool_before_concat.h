// pool_before_concat (run by passes::optimize, passes.h, just before split_conv_over_concat).
#pragma once

#include "frugal/passes/passes.h"

namespace frugal::passes {

// MaxPool(Concat(x_1, ..., x_k)) along the batch or the channel axis, where the MaxPool is
// the Concat's only reader and has no Indices output, becomes Concat(MaxPool(x_1), ...,
// MaxPool(x_k)): a max-pool works on each (image, channel) plane alone, so this is exact.
// SqueezeNet concatenates two Fire modules' expand convolutions before each MaxPool, the
// one Concat form split_conv_over_concat could not remove: moved after the pool, the Concat
// copies a quarter of the values, and its reader, the next squeeze convolution, lets
// split_conv_over_concat remove it. FRUGAL_NO_POOL_BEFORE_CONCAT=1 turns the pass off (the
// A/B switch). Needs shapes (the Concat's rank).
ir::Graph pool_before_concat(const ir::Graph& graph, const ops::InferOptions& options,
                             PassReport& report);

}  // namespace frugal::passes
