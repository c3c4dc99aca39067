#include "frugal/kernels/backend.h"

#include <map>
#include <mutex>

namespace frugal::kernels {
namespace {
std::map<std::string, BackendFactory>& factories() {
  static std::map<std::string, BackendFactory> f;
  return f;
}
}  // namespace

void register_backend(const std::string& name, BackendFactory factory) {
  if (!factories().emplace(name, std::move(factory)).second)
    throw InternalError("backend registered twice: " + name);
}

std::vector<std::string> backend_names() {
  std::vector<std::string> v;
  for (const auto& [n, f] : factories()) v.push_back(n);
  return v;
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendConfig& config) {
  auto it = factories().find(name);
  if (it == factories().end()) {
    std::string known;
    for (const auto& n : backend_names()) known += (known.empty() ? "" : ", ") + n;
    throw UserError("--backend: unknown backend '" + name + "' (available: " + known + ")");
  }
  return it->second(config);
}

}  // namespace frugal::kernels
