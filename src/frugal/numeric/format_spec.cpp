// Format strings of one inference (see format_spec.h).
#include "frugal/numeric/format_spec.h"

#include <charconv>

#include "frugal/core/error.h"

namespace frugal::numeric {
namespace {

constexpr std::string_view kGrammar =
    "accepted: w=FMT,a=FMT,acc=FMT[:chunk=K][:compensated][,round=nearest|stochastic:SEED] "
    "with K >= 1 and FMT a number format (see `frugal formats`), e.g. "
    "w=e4m3,a=e4m3,acc=fp16:chunk=32";

[[noreturn]] void bad(std::string_view spec, const std::string& why) {
  throw UserError("--format: '" + std::string(spec) + "': " + why + "; " + std::string(kGrammar));
}

// The reason of a nested parse error without its own grammar sentence.
std::string reason(const UserError& e) {
  std::string s = e.what();
  const size_t cut = s.find("; accepted:");
  return cut == std::string::npos ? s : s.substr(0, cut);
}

NumberFormat element_format(std::string_view spec, std::string_view key, std::string_view value) {
  try {
    NumberFormat f = parse_format(value);
    validate(f);
    return f;
  } catch (const UserError& e) {
    bad(spec, std::string(key) + ": " + reason(e));
  }
}

}  // namespace

std::string_view format_spec_grammar() {
  return kGrammar;
}

FormatSpec parse_format_spec(std::string_view spec) {
  FormatSpec c;
  bool seen_w = false, seen_a = false, seen_acc = false, seen_round = false;
  size_t start = 0;
  while (start <= spec.size()) {
    size_t end = spec.find(',', start);
    if (end == std::string_view::npos) end = spec.size();
    const std::string_view item = spec.substr(start, end - start);
    start = end + 1;
    if (item.empty()) {
      if (spec.empty()) break;
      bad(spec, "empty item");
    }
    const size_t eq = item.find('=');
    if (eq == std::string_view::npos) bad(spec, "'" + std::string(item) + "' is not KEY=VALUE");
    const std::string_view key = item.substr(0, eq), value = item.substr(eq + 1);
    auto once = [&](bool& seen) {
      if (seen) bad(spec, "'" + std::string(key) + "' given twice");
      seen = true;
    };
    if (key == "w") {
      once(seen_w);
      c.weights = element_format(spec, key, value);
    } else if (key == "a") {
      once(seen_a);
      c.activations = element_format(spec, key, value);
    } else if (key == "acc") {
      once(seen_acc);
      try {
        c.acc = parse_accumulator(value);
      } catch (const UserError& e) {
        bad(spec, "acc: " + reason(e));
      }
    } else if (key == "round") {
      once(seen_round);
      if (value == "nearest") {
        c.rounding = Rounding::nearest_even();
      } else if (value.substr(0, 11) == "stochastic:") {
        const std::string_view v = value.substr(11);
        uint64_t seed = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seed);
        if (v.empty() || ec != std::errc() || p != v.data() + v.size())
          bad(spec, "round: seed '" + std::string(v) + "' is not a non-negative integer");
        c.rounding = Rounding::stochastic(seed);
      } else {
        bad(spec, "round: '" + std::string(value) + "' is not nearest or stochastic:SEED");
      }
    } else {
      bad(spec, "unknown key '" + std::string(key) + "' (keys: w, a, acc, round)");
    }
  }
  c.acc.rounding = c.rounding;
  if (c.acc.compensated && c.rounding.mode != RoundingMode::kNearestEven)
    bad(spec, "compensated accumulation needs round=nearest");
  return c;
}

std::string to_string(const FormatSpec& c) {
  std::string s =
      "w=" + to_string(c.weights) + ",a=" + to_string(c.activations) + ",acc=" + to_string(c.acc);
  if (c.rounding.mode == RoundingMode::kStochastic)
    s += ",round=stochastic:" + std::to_string(c.rounding.seed);
  return s;
}

}  // namespace frugal::numeric
