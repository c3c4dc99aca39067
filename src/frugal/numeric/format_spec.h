// The formats of one inference given as a string, shared by every consumer that prices or
// runs a format choice (the emulator's --format, the accelerator model's --format), so
// that one choice means the same in accuracy and in energy:
//   w=FMT,a=FMT,acc=FMT[:chunk=K][:compensated][,round=nearest|stochastic:SEED]
// Keys may come in any order; a missing key means fp32 (and nearest rounding).
#pragma once

#include <string>
#include <string_view>

#include "frugal/numeric/expansions.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::numeric {

struct FormatSpec {
  NumberFormat weights;
  NumberFormat activations;
  AccumulatorSpec acc;  // acc.rounding == rounding
  Rounding rounding;

  bool operator==(const FormatSpec&) const = default;
};

// Throws UserError: "--format: '<spec>': <why>; accepted: <grammar>".
FormatSpec parse_format_spec(std::string_view spec);
std::string to_string(const FormatSpec& spec);
std::string_view format_spec_grammar();

}  // namespace frugal::numeric
