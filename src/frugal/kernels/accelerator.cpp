#include "frugal/kernels/accelerator.h"

namespace frugal::kernels {
namespace {

std::vector<std::function<AcceleratorInfo()>>& providers() {
  static std::vector<std::function<AcceleratorInfo()>> p;
  return p;
}

}  // namespace

void register_accelerator_info(std::function<AcceleratorInfo()> provider) {
  providers().push_back(std::move(provider));
}

std::vector<AcceleratorInfo> accelerator_info() {
  std::vector<AcceleratorInfo> v;
  for (const auto& p : providers())
    if (AcceleratorInfo info = p(); !info.empty()) v.push_back(std::move(info));
  return v;
}

}  // namespace frugal::kernels
