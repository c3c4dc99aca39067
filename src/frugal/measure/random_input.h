// Seeded random tensors to feed a model when no data is given (frugal run --input random,
// profiling a pipeline segment): floats ~ N(0,1), integers in [0, int_limit), bools fair.
#pragma once

#include <cstdint>
#include <string>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"

namespace frugal::measure {

// The bound of random integers when the graph says nothing about an input.
constexpr int64_t kRandomIntLimit = 10;

Tensor random_tensor(DType dtype, const Shape& shape, uint64_t seed,
                     int64_t int_limit = kRandomIntLimit);

// The exclusive bound of random integers for graph input `input` of `g`: when the input is
// read as the indices of a Gather (directly or through Cast, Identity, Reshape, Squeeze,
// Unsqueeze or Flatten), the row count of the smallest table it indexes (the data's size
// along the Gather's axis, where that size is known: an initializer or a declared shape),
// so that random token ids stay inside an embedding table; else 2 when it is converted to a
// floating type (Cast: an attention mask, a flag; a mask of 0..9 would overflow Hugging
// Face's (1 - mask) * float_min to infinity); else kRandomIntLimit.
int64_t random_int_limit(const ir::Graph& g, const std::string& input);

}  // namespace frugal::measure
