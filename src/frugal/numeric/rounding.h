// Rounding modes. A rounding picks, for a real x between two neighbouring values lo < hi of
// a format, one of them:
//   nearest-even  the nearer; on a tie the one whose code is even (ties at half the
//                 smallest normal of a format without subnormals go to zero)
//   nearest-away  the nearer; on a tie the larger in magnitude
//   toward-zero   the smaller in magnitude
//   up / down     hi / lo (toward +inf / -inf)
//   stochastic    hi with probability floor(f * 2^R) / 2^R where f = (x - lo) / (hi - lo), and
//                 R random bits per element (R = 32 by default; R < 32 is "stochastic rounding
//                 with limited random bits"). Element i of a call takes its bits from Philox
//                 (seed) at counter (offset + i), so results do not depend on thread count.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::numeric {

enum class RoundingMode : uint8_t {
  kNearestEven,
  kNearestAway,
  kTowardZero,
  kUp,
  kDown,
  kStochastic,
};

struct Rounding {
  RoundingMode mode = RoundingMode::kNearestEven;
  uint64_t seed = 0;     // stochastic only
  int random_bits = 32;  // stochastic only: 1..32

  bool operator==(const Rounding&) const = default;

  static Rounding nearest_even() { return {}; }
  static Rounding stochastic(uint64_t seed, int random_bits = 32) {
    return {RoundingMode::kStochastic, seed, random_bits};
  }
  static Rounding of(RoundingMode m) { return {m, 0, 32}; }
};

// Names: rne | rna | rz | up | down | sr[:seed=N][:bits=R]. Throws UserError on a bad name.
Rounding parse_rounding(std::string_view name);
std::string to_string(const Rounding& rounding);
std::string_view rounding_mode_name(RoundingMode mode);  // "rne", "sr", ...
const std::vector<RoundingMode>& all_rounding_modes();

}  // namespace frugal::numeric
