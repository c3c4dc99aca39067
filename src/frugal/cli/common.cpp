#include "frugal/cli/common.h"

#include <cmath>
#include <cstdio>
#include <filesystem>

#include "frugal/ir/onnx_io.h"
#include "frugal/zoo/zoo.h"

namespace frugal::cli {

ir::Graph load_model(const std::string& what, uint64_t seed, const std::string& command) {
  if (std::filesystem::exists(what) || what.find('/') != std::string::npos ||
      (what.size() > 5 && what.substr(what.size() - 5) == ".onnx"))
    return ir::load_onnx(what);
  try {
    return zoo::build(what, seed);
  } catch (const UserError& e) {
    throw UserError(command + ": '" + what + "' is neither a file nor a zoo model: " + e.what());
  }
}

std::string with_commas(int64_t v) {
  std::string s = std::to_string(v < 0 ? -v : v), out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i && (s.size() - i) % 3 == 0) out += ',';
    out += s[i];
  }
  return v < 0 ? "-" + out : out;
}

std::string si(double v, int digits) {
  const char* units[] = {"", " K", " M", " G", " T", " P"};
  int u = 0;
  while (std::fabs(v) >= 1000 && u < 5) {
    v /= 1000;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*g%s", digits, v, units[u]);
  return buf;
}

std::string Table::str() const {
  std::vector<size_t> w(header_.size(), 0);
  auto widen = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < r.size() && i < w.size(); ++i) w[i] = std::max(w[i], r[i].size());
  };
  widen(header_);
  for (const auto& r : rows_) widen(r);
  auto numeric = [](const std::string& s) {
    return !s.empty() && (std::isdigit(static_cast<unsigned char>(s[0])) || s[0] == '-') &&
           s.find_first_not_of("0123456789,.-+eE %KMGTP") == std::string::npos;
  };
  std::string out;
  auto line = [&](const std::vector<std::string>& r) {
    for (size_t i = 0; i < w.size(); ++i) {
      std::string c = i < r.size() ? r[i] : "";
      std::string pad(w[i] - c.size(), ' ');
      out += (i ? "  " : "") + (numeric(c) ? pad + c : c + (i + 1 < w.size() ? pad : ""));
    }
    out += '\n';
  };
  line(header_);
  size_t total = 0;
  for (size_t x : w) total += x + 2;
  out += std::string(total > 2 ? total - 2 : 0, '-') + '\n';
  for (const auto& r : rows_) line(r);
  return out;
}

void print_json(const nlohmann::json& j) {
  std::printf("%s\n", j.dump(2).c_str());
}

}  // namespace frugal::cli
