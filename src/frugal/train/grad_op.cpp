#include "frugal/train/grad_op.h"

#include <map>

namespace frugal::train {
namespace {
std::map<std::string, GradOpFactory>& registry() {
  static std::map<std::string, GradOpFactory> r;
  return r;
}
}  // namespace

void register_grad_op(const std::string& op_type, GradOpFactory factory) {
  registry()[op_type] = std::move(factory);
}

const GradOpFactory* find_grad_op(const std::string& op_type) {
  auto it = registry().find(op_type);
  return it == registry().end() ? nullptr : &it->second;
}

std::vector<std::string> grad_op_types() {
  std::vector<std::string> out;
  for (const auto& [k, v] : registry()) out.push_back(k);
  return out;
}

}  // namespace frugal::train
