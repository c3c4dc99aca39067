// Small string helpers shared by the parsers of option and spec strings.
#pragma once

#include <string>
#include <vector>

namespace frugal {

// "a,b,,c" split at ',' -> {"a", "b", "", "c"}; "" -> {""} (empty parts kept, so that a
// parser can name them).
inline std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts(1);
  for (char c : s) {
    if (c == sep) {
      parts.emplace_back();
    } else {
      parts.back() += c;
    }
  }
  return parts;
}

}  // namespace frugal
