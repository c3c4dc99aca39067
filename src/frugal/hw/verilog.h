// The generator: synthesizable Verilog-2005 for an operator (accepted by Yosys, Verilator
// and Icarus Verilog). Plain C++ writes one top module that instantiates the operator
// library (rtl_library.cpp) with the format's constants; the output is deterministic.
// --pipeline N places N register levels: after the exact product and after the alignment
// adder where the operator has them (mul, add, fma, mac), the remaining ones at the output.
// Fixed-point formats (int<B>, uint<B>, fixed<I>.<F>, ufixed) in every operand and result get a
// dedicated datapath instead (fixed_point_datapath): plain two's complement products and sums,
// exact, then one rounding shift (where fraction bits are dropped) and one clamp to the
// result's range; no unpacking, normalizing or aligning shifter.
#pragma once

#include <string>
#include <string_view>

#include "frugal/hw/operator.h"

namespace frugal::hw {

// int<B>, uint<B> (scale 1, zero point 0), fixed<I>.<F> or ufixed<I>.<F>.
bool fixed_point_valued(const numeric::NumberFormat& format);
// mul, add, fma, mac (not Kulisch) and dot whose operands and result are fixed-point.
bool fixed_point_datapath(const OperatorSpec& spec);

// The parameterized modules every design uses.
std::string_view rtl_library();

// The complete design: library modules followed by the top module (module_name(spec)).
std::string generate_verilog(const OperatorSpec& spec);

// Writes DIR/<module>.v (creating DIR); returns the path. Throws UserError on I/O failure.
std::string write_verilog(const OperatorSpec& spec, const std::string& dir);

}  // namespace frugal::hw
