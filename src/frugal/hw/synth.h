// `frugal hw size`: Yosys synthesis of a generated operator. ASIC estimate: `synth -flatten`
// then `abc -g` onto simple gates, cell counts, area in NAND2 equivalents with the weights
// of cell_weights() (ratios of the NanGate FreePDK45 Open Cell Library X1 cell areas to its
// NAND2_X1), and logic depth (`ltp -noff`, cells on the longest path; a delay proxy). FPGA:
// `synth_xilinx` (LUT6, DSP48E1) or `synth_ice40 -dsp` (LUT4, SB_MAC16) cell counts.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "frugal/hw/operator.h"

namespace frugal::hw {

enum class FpgaFamily : uint8_t { kNone, kXilinx, kIce40 };
FpgaFamily parse_fpga(const std::string& name);  // none | xilinx | ice40; throws UserError

struct CellWeight {
  std::string cell;  // Yosys internal gate name without $_ _ (AND, NAND, ..., DFF_P)
  double nand2;      // area in NAND2 equivalents
  std::string library_cell;
};
const std::vector<CellWeight>& cell_weights();

struct SizeResult {
  bool gate_level = true;            // the generic-gate pass ran (cells .. depth are set)
  std::map<std::string, int> cells;  // gate -> count
  int total_cells = 0;
  double nand2_area = 0;  // NAND2 equivalents
  int depth = 0;          // cells on the longest combinational path
  FpgaFamily fpga = FpgaFamily::kNone;
  std::map<std::string, int> fpga_cells;  // e.g. LUT6 -> n, DSP48E1 -> n
  int luts = 0, dsps = 0, ffs = 0;
  double seconds = 0;
};

// Generic gates (and the FPGA family's cells unless kNone). gate_level = false skips the
// gate pass, whose ABC mapping takes most of an hour for the fp32 FMA and MAC, where only
// the FPGA counts are wanted. Throws UserError when yosys is missing or fails (quoting its
// last line).
SizeResult size(const OperatorSpec& spec, FpgaFamily fpga, bool gate_level = true);

// Parses the cell table of Yosys' `stat` output (exposed for tests).
std::map<std::string, int> parse_stat_cells(const std::string& text);

}  // namespace frugal::hw
