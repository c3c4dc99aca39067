#include "frugal/core/yaml_errors.h"

#include "frugal/core/error.h"

namespace frugal {
namespace {

std::string at_mark(const std::string& origin, const YAML::Mark& m) {
  if (m.line < 0) return origin;
  return origin + ":" + std::to_string(m.line + 1) + ":" + std::to_string(m.column + 1);
}

}  // namespace

std::string yaml_where(const std::string& origin, const YAML::Node& at) {
  return at_mark(origin, at.Mark());
}

void yaml_fail(const std::string& origin, const YAML::Node& at, const std::string& msg) {
  throw UserError(yaml_where(origin, at) + ": " + msg);
}

YAML::Node yaml_load(const std::string& text, const std::string& origin) {
  try {
    return YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw UserError(at_mark(origin, e.mark) + ": YAML syntax error: " + e.msg);
  }
}

}  // namespace frugal
