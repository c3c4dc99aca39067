// Arithmetic cost model: energy (pJ) and area per add, multiply and MAC in any format, and
// memory access energy, calibrated on the 45 nm figures of M. Horowitz, "Computing's energy
// problem (and what we can do about it)", ISSCC 2014. The anchors come out exactly; other
// widths follow a fitted law (adders linear, multipliers quadratic in the operand or
// significand width) scaled by the anchors' residual ratios. See docs/cost-model.md.
#pragma once

#include <string>
#include <string_view>
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

// Measured areas: Yosys synthesis of the operators `frugal hw` generates (docs/hw.md), in
// NAND2 equivalents, stored in synthesized_area.inc by bench/hw/size_table.sh. numeric only
// reads the table; the generator lives in hw/.
struct SynthesizedArea {
  const char* format;       // canonical name (to_string)
  const char* op;           // "mul", "add", "fma", "mac"
  const char* accumulator;  // mac only
  double nand2_area;
  int depth;  // gates on the longest path
};
const std::vector<SynthesizedArea>& synthesized_areas();
// The row for `op` in `format`, or nullptr.
const SynthesizedArea* find_synthesized_area(const NumberFormat& format, std::string_view op);
// The measured unit of one multiply in `operands` plus one add into `accumulator`: the "mac"
// row with that accumulator, or the "fma" row when the accumulator is the operand format;
// nullptr when the table has neither.
const SynthesizedArea* find_synthesized_mac(const NumberFormat& operands,
                                            const NumberFormat& accumulator);
// The measured fp32 multiply plus fp32 add (what an fp32 MAC is to the estimate), NAND2
// equivalents; throws UserError when the table lacks them.
double synthesized_fp32_mac_nand2();
// One NAND2_X1 of the NanGate FreePDK45 Open Cell Library, um^2 (the same 45 nm node as
// Horowitz's figures).
constexpr double kNand2Um2 = 0.798;

// The Horowitz-scaled estimate (um^2, 45 nm) of the unit a table row measured: mul, add, fma
// (multiply + add) or mac (multiply + add in the accumulator).
double estimated_area_um2(const SynthesizedArea& row);

enum class CostSource : uint8_t { kHorowitz, kSynthesized };
// "horowitz" | "synthesized"; throws UserError naming --cost.
CostSource parse_cost_source(std::string_view name);
// MAC cost by source. kSynthesized: the measured MAC area (multiply in the format, add in its
// table accumulator) in NanGate 45 nm um^2, relative to the measured fp32 multiply + fp32 add
// (the estimate's fp32 MAC); energy stays Horowitz's estimate. Throws UserError when the table
// has no row for the format.
OpCost mac_cost(const NumberFormat& operands, CostSource source);

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
