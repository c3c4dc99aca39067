#include "frugal/compress/precision_map.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "frugal/core/atomic_file.h"
#include "frugal/core/error.h"

namespace frugal::compress {

PrecisionMap load_precision_map(const std::string& path) {
  std::ifstream f(path);
  if (!f) throw UserError("--precision-map " + path + ": cannot read");
  std::ostringstream text;
  text << f.rdbuf();
  return precision_map_from_json(text.str(), "--precision-map " + path);
}

void save_precision_map(const std::string& path, const PrecisionMap& map) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [node, p] : map) j[node] = precision_name(p);
  write_file_atomically(path, j.dump(2) + "\n");
}

}  // namespace frugal::compress
