#include "frugal/kernels/backend.h"

#include <algorithm>
#include <map>

namespace frugal::kernels {
namespace {

struct Registered {
  BackendFactory factory;
  BackendTraits traits;
};

std::map<std::string, Registered>& registry() {
  static std::map<std::string, Registered> r;
  return r;
}

const Registered& find(const std::string& name) {
  auto it = registry().find(name);
  if (it == registry().end()) {
    std::string known = "auto";
    for (const auto& n : backend_names()) known += ", " + n;
    throw UserError("--backend: unknown backend '" + name + "' (available: " + known + ")");
  }
  return it->second;
}

}  // namespace

void register_backend(const std::string& name, BackendFactory factory, BackendTraits traits) {
  if (name == "auto" ||
      !registry().emplace(name, Registered{std::move(factory), std::move(traits)}).second)
    throw InternalError("backend registered twice: " + name);
}

std::vector<std::string> backend_names() {
  std::vector<std::string> v;
  for (const auto& [n, r] : registry()) v.push_back(n);
  return v;
}

std::unique_ptr<Backend> make_backend(const std::string& name, const BackendConfig& config) {
  return find(name).factory(config);
}

const BackendTraits& backend_traits(const std::string& name) {
  return find(name).traits;
}

std::vector<std::string> auto_backends() {
  std::vector<std::pair<int, std::string>> ranked;
  for (const auto& [n, r] : registry())
    if (r.traits.auto_rank >= 0 && (!r.traits.available || r.traits.available()))
      ranked.emplace_back(r.traits.auto_rank, n);
  std::sort(ranked.begin(), ranked.end());
  std::vector<std::string> v;
  for (const auto& [rank, n] : ranked) v.push_back(n);
  return v;
}

std::vector<std::string> resolve_backends(const std::vector<std::string>& list) {
  if (std::find(list.begin(), list.end(), "auto") == list.end()) return list;
  std::vector<std::string> v;
  auto add = [&](const std::string& b) {
    if (std::find(v.begin(), v.end(), b) == v.end()) v.push_back(b);
  };
  for (const auto& b : list)
    if (b == "auto")
      for (const auto& a : auto_backends()) add(a);
    else
      add(b);
  return v;
}

std::optional<std::vector<std::string>> with_precision(const std::vector<std::string>& list,
                                                       const std::string& precision) {
  std::vector<std::string> v;
  auto add = [&](const std::string& b) {
    if (std::find(v.begin(), v.end(), b) == v.end()) v.push_back(b);
  };
  bool found = false;
  for (const auto& listed : resolve_backends(list)) {
    const BackendTraits& t = backend_traits(listed);
    const std::string b = t.base.empty() ? listed : t.base;
    const auto& variants = backend_traits(b).variants;
    const auto it = variants.find(precision);
    if (precision == "fp32" || it == variants.end()) {
      add(b);
      continue;
    }
    found = true;
    add(it->second);
    if (backend_traits(it->second).partial) add(b);
  }
  if (!found && precision != "fp32") return std::nullopt;
  return v;
}

// Those of them that can run on this machine when any can (messages suggest them: a GPU
// backend is named on a machine without a GPU only when nothing else has the precision).
std::string backends_with_precision(const std::string& precision) {
  std::string all, here;
  for (const auto& [n, r] : registry()) {
    if (!r.traits.variants.count(precision)) continue;
    all += (all.empty() ? "" : ",") + n;
    if (!r.traits.available || r.traits.available()) here += (here.empty() ? "" : ",") + n;
  }
  return here.empty() ? all : here;
}

void check_backend_config(const BackendConfig& config) {
  for (const auto& [n, r] : registry())
    if (r.traits.check_config) r.traits.check_config(config);
}

}  // namespace frugal::kernels
