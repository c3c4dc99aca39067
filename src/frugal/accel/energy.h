// The technology table of the accelerator model: energy per MAC from the arithmetic cost
// model (numeric/cost_model.h, Horowitz ISSCC 2014, 45 nm) and energy per bit moved at each
// memory level from Eyeriss's normalized costs (ISCA 2016: RF 1x, PE-to-PE 2x, global buffer
// 6x, DRAM 200x the energy of a 16-bit MAC), with the RF and buffer figures scaled by
// capacity along Horowitz's SRAM law. Every access is priced per bit, so every number
// format has a price: its code width (bits_per_value) times the level's energy per bit.
#pragma once

#include <array>
#include <string>
#include <vector>

#include "frugal/accel/arch.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format_spec.h"

namespace frugal::accel {

// The levels an estimate reports, from the farthest to the MAC.
enum Level { kDram = 0, kGlb = 1, kNoc = 2, kRf = 3, kMac = 4 };
constexpr int kLevels = 5;
std::string level_name(int level);  // "DRAM", "GLB", "NoC", "RF", "MAC"

struct Prices {
  double mac_pj = 0;                         // one multiply in w x a and one add in acc
  std::array<double, kOperands> bits{};      // weights (w), inputs (a), psums (acc)
  double output_bits = 0;                    // final outputs written back (a)
  std::array<double, kLevels> pj_per_bit{};  // kDram..kRf (kMac unused)
};

// Throws UserError "--format: ..." for a format the model cannot price (an accumulator
// that cannot hold a sum: binary, ternary or a block format).
// `cost` kSynthesized prices the MAC from the area Yosys measured for frugal hw's operator
// (multiply in the wider operand format, add into acc: numeric::find_synthesized_mac) as
// that area's share of the measured fp32 multiply + add, times Horowitz's fp32 MAC energy:
// energy taken proportional to area (a proxy). UserError "--cost synthesized: ..." when
// the table has no such operator.
Prices price(const Architecture& arch, const numeric::FormatSpec& formats,
             numeric::CostSource cost = numeric::CostSource::kHorowitz);

// The table behind `price`, one row per figure, each with its source.
struct TechRow {
  std::string quantity;
  double value;
  std::string unit;
  std::string source;
};
std::vector<TechRow> technology_table(const Architecture& arch, const numeric::FormatSpec& formats,
                                      numeric::CostSource cost = numeric::CostSource::kHorowitz);

}  // namespace frugal::accel
