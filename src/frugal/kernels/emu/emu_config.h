// The emulator's formats as given to --format: weights (quantized once at compile),
// activations (quantized on every run) and the accumulator of Conv/Gemm/MatMul, plus one
// rounding for all three.
//   w=FMT,a=FMT,acc=FMT[:chunk=K][:compensated][,round=nearest|stochastic:SEED]
// Keys may come in any order; a missing key means fp32 (and nearest rounding).
#pragma once

#include <string>
#include <string_view>

#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::kernels::emu {

struct EmuConfig {
  numeric::NumberFormat weights;
  numeric::NumberFormat activations;
  Accumulator acc;  // acc.rounding == rounding
  numeric::Rounding rounding;

  bool operator==(const EmuConfig&) const = default;
};

// Throws UserError: "--format: <why>; accepted: <grammar>".
EmuConfig parse_emu_config(std::string_view spec);
std::string to_string(const EmuConfig& config);
std::string_view emu_config_grammar();

}  // namespace frugal::kernels::emu
