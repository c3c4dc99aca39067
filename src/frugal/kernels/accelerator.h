// What a backend with its own device (cuda) tells callers about the hardware present: the
// Record's `gpu` field (measure/record.cpp) names the GPU, driver and library versions
// without code outside kernels/<backend>/ naming the backend.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

namespace frugal::kernels {

// Key -> value ("gpu": "NVIDIA H100 80GB HBM3, compute 9.0", "cudnn": "9.19.0", ...); an
// empty map when the device is absent.
using AcceleratorInfo = std::map<std::string, std::string>;

void register_accelerator_info(std::function<AcceleratorInfo()> provider);
// The non-empty answers of every registered provider (none: no accelerator present).
std::vector<AcceleratorInfo> accelerator_info();

}  // namespace frugal::kernels
