// Rounding names both ways.
#include "frugal/numeric/rounding.h"

#include <charconv>

#include "frugal/core/error.h"

namespace frugal::numeric {
namespace {

constexpr std::string_view kRoundingGrammar =
    "accepted: rne|rna|rz|up|down|sr[:seed=N][:bits=R] (R 1..32)";

[[noreturn]] void bad_rounding(std::string_view name, std::string_view why) {
  throw UserError("bad rounding '" + std::string(name) + "': " + std::string(why) + "; " +
                  std::string(kRoundingGrammar));
}

bool parse_u64(std::string_view s, uint64_t& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

std::string_view rounding_mode_name(RoundingMode mode) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return "rne";
    case RoundingMode::kNearestAway:
      return "rna";
    case RoundingMode::kTowardZero:
      return "rz";
    case RoundingMode::kUp:
      return "up";
    case RoundingMode::kDown:
      return "down";
    case RoundingMode::kStochastic:
      return "sr";
  }
  return "?";
}

const std::vector<RoundingMode>& all_rounding_modes() {
  static const std::vector<RoundingMode> modes = {
      RoundingMode::kNearestEven, RoundingMode::kNearestAway, RoundingMode::kTowardZero,
      RoundingMode::kUp,          RoundingMode::kDown,        RoundingMode::kStochastic};
  return modes;
}

Rounding parse_rounding(std::string_view name) {
  size_t colon = name.find(':');
  std::string_view base = name.substr(0, colon);
  Rounding r;
  bool found = false;
  for (RoundingMode m : all_rounding_modes()) {
    if (rounding_mode_name(m) == base) {
      r.mode = m;
      found = true;
    }
  }
  if (!found) bad_rounding(name, "unknown mode '" + std::string(base) + "'");
  while (colon != std::string_view::npos) {
    size_t next = name.find(':', colon + 1);
    std::string_view opt =
        name.substr(colon + 1, next == std::string_view::npos ? next : next - colon - 1);
    colon = next;
    if (r.mode != RoundingMode::kStochastic) bad_rounding(name, "options apply to sr only");
    size_t eq = opt.find('=');
    std::string_view key = opt.substr(0, eq);
    std::string_view val = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
    uint64_t v = 0;
    if (key == "seed") {
      if (!parse_u64(val, v)) bad_rounding(name, "seed must be a non-negative integer");
      r.seed = v;
    } else if (key == "bits") {
      if (!parse_u64(val, v) || v < 1 || v > 32) bad_rounding(name, "bits must be 1..32");
      r.random_bits = static_cast<int>(v);
    } else {
      bad_rounding(name, "unknown option '" + std::string(key) + "'");
    }
  }
  return r;
}

std::string to_string(const Rounding& r) {
  std::string s(rounding_mode_name(r.mode));
  if (r.mode == RoundingMode::kStochastic) {
    if (r.seed != 0) s += ":seed=" + std::to_string(r.seed);
    if (r.random_bits != 32) s += ":bits=" + std::to_string(r.random_bits);
  }
  return s;
}

}  // namespace frugal::numeric
