// When Dropout is a copy of its input: in inference mode (training_mode false or absent),
// and in training mode with ratio 0 (no element dropped, scale 1/(1-0) = 1; swin_t's
// export). Shared by the operator and the pass that removes copies.
#pragma once

#include <string>

#include "frugal/core/tensor.h"

namespace frugal::ops {

// training_mode / ratio: the inputs' constant values, null where the input is omitted
// (training_mode defaults to false, ratio to 0.5). Empty string when Dropout copies its
// input, else why it does not (random dropout).
std::string dropout_not_copy_reason(const Tensor* ratio, const Tensor* training_mode);

}  // namespace frugal::ops
