// Arithmetic cost model: energy (pJ) and area per add, multiply and MAC in any format, and
// memory access energy, calibrated on the 45 nm figures of M. Horowitz, "Computing's energy
// problem (and what we can do about it)", ISSCC 2014. The anchors come out exactly; other
// widths follow a fitted law (adders linear, multipliers quadratic in the operand or
// significand width) scaled by the anchors' residual ratios. See docs/cost-model.md.
#pragma once

#include <string>
#include <vector>

#include "frugal/numeric/format.h"

namespace frugal::numeric {

struct OpCost {
  double energy_pj = 0;
  double area_um2 = 0;
  double relative_area = 0;  // area / area of an fp32 MAC (fp32 multiply + fp32 add)
};

// Units by width: integer adders/multipliers of `bits`, float ones of `significand_bits`
// (mantissa bits + 1).
OpCost int_add_cost(int bits);
OpCost int_mul_cost(int bits);
OpCost fp_add_cost(int significand_bits);
OpCost fp_mul_cost(int significand_bits);

// Integer-like formats (int, fixed, binary, ternary, MX int) cost as integers of their code
// width, floats by their significand width.
OpCost add_cost(const NumberFormat& format);
OpCost mul_cost(const NumberFormat& format);
// One multiply in `operands` and one add in `accumulator`; block formats add their share
// of one 8-bit exponent add per block.
OpCost mac_cost(const NumberFormat& operands, const NumberFormat& accumulator);
// With the accumulator frugal assumes when none is given: a 32-bit integer adder for
// integer-like formats (the usual int8 x int8 -> int32 MAC), the operand format for floats.
OpCost mac_cost(const NumberFormat& operands);

// Energy of reading one 64-bit word from an SRAM of that capacity (8 KB: 10 pJ, 32 KB:
// 20 pJ, 1 MB: 100 pJ; power law between and beyond) and from DRAM (1.3 nJ, the low end of
// Horowitz's 1.3-2.6 nJ).
double sram_access_pj(double capacity_bytes);
double dram_access_pj();

// The published figures the model reproduces, and the fit behind each unit.
struct CostAnchor {
  std::string unit;  // "int add", "int mul", "fp add", "fp mul"
  int width;         // operand bits (int) or significand bits (fp: 11 for fp16, 24 for fp32)
  double energy_pj;
  double area_um2;
};
const std::vector<CostAnchor>& horowitz_anchors();

struct CostFit {
  std::string unit;
  std::string law;            // "a*w", "c*w^2"
  double energy_coefficient;  // least-squares fit over the anchors
  double area_coefficient;
};
const std::vector<CostFit>& cost_fits();

}  // namespace frugal::numeric
