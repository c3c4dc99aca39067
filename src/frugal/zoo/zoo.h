// The model zoo: standard architectures built in C++ with seeded weights, layer for
// layer as torchvision defines them (lenet5 is the classic LeNet-5 for 28x28 input).
// `frugal zoo NAME -o FILE.onnx` exports one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "frugal/ir/graph.h"

namespace frugal::zoo {

// Accepted model names, in a fixed order.
std::vector<std::string> names();

// Builds the named model with weights drawn from `seed` (same seed, same weights).
// Throws UserError naming the accepted names when `name` is unknown.
ir::Graph build(const std::string& name, uint64_t seed);

}  // namespace frugal::zoo
