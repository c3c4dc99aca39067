// An accelerator described for the analytical model: a PE array with per-PE register files,
// a global buffer, a network on chip and DRAM. Read from YAML (docs/accel.md lists the keys)
// or taken from a preset (eyeriss, tpu, edge, eie). Sizes are bytes, so that a narrower
// number format fits more words in the same memory.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::accel {

enum class Dataflow { kWeightStationary, kOutputStationary, kRowStationary, kNoLocalReuse };
constexpr std::array<Dataflow, 4> kDataflows = {Dataflow::kWeightStationary,
                                                Dataflow::kOutputStationary,
                                                Dataflow::kRowStationary, Dataflow::kNoLocalReuse};
// "ws", "os", "rs", "nlr"; throws UserError naming `option` for anything else.
Dataflow parse_dataflow(std::string_view name, const std::string& option);
std::string to_string(Dataflow dataflow);

// The three operands of a convolution or matrix product.
enum Operand { kWeights = 0, kInputs = 1, kPsums = 2 };
constexpr int kOperands = 3;
std::string operand_name(int operand);  // "weights", "inputs", "psums"

// How the PEs treat zero weights: gating saves the MAC and the reads it would cause
// (Eyeriss); skipping also saves the cycle and keeps weights compressed everywhere (EIE).
enum class SparseMode { kNone, kGate, kSkip };
enum class SparseStorage { kDense, kCsr, kBitmap };

// Access energies relative to one reference MAC per 16-bit word (Eyeriss's normalized
// costs); `scale_by_capacity` scales the RF and GLB figures with Horowitz's SRAM law.
struct EnergyRatios {
  double rf = 1, noc = 2, glb = 6, dram = 200;
  bool scale_by_capacity = true;
};

struct Architecture {
  std::string name;
  std::string origin;  // preset name or file path
  int pe_rows = 12, pe_cols = 14;
  // Register file bytes per PE for each operand (0: the operand bypasses the RF).
  std::array<double, kOperands> rf_bytes = {448, 24, 48};
  double glb_bytes = 108 * 1024;
  std::array<bool, kOperands> glb_holds = {true, true, true};
  int glb_banks = 27;
  int glb_bank_bits = 64;
  bool noc_multicast = true;   // one buffer read reaches every PE that needs the word
  bool noc_forwarding = true;  // PE-to-PE links: operands pass along, psums accumulate
  double dram_gbps = 4;        // GB/s
  double clock_mhz = 200;
  Dataflow dataflow = Dataflow::kRowStationary;  // the array's native dataflow
  SparseMode sparse = SparseMode::kGate;
  SparseStorage storage = SparseStorage::kDense;
  int index_bits = 4;  // CSR relative-index width (runs longer than 2^b - 1 insert a zero)
  EnergyRatios energy;

  int pes() const { return pe_rows * pe_cols; }
  double rf_total_bytes() const { return rf_bytes[0] + rf_bytes[1] + rf_bytes[2]; }
};

// Names of the presets, and each one's one-line description.
struct ArchPreset {
  std::string name;
  std::string description;
};
const std::vector<ArchPreset>& arch_presets();
// A preset name or a YAML file path. Errors: "FILE:LINE:COL: why" for YAML, or an
// unknown preset listing the presets.
Architecture load_architecture(const std::string& preset_or_path);
// YAML text (origin names it in errors).
Architecture parse_architecture(const std::string& yaml_text, const std::string& origin);

// Which operands a dataflow keeps in the PEs' register files (weight stationary: weights;
// output stationary: psums; row stationary: all three; no local reuse: none).
bool keeps_in_rf(Dataflow dataflow, int operand);

// Eyeriss's equal-area comparison (ISCA 2016, Sec. VI-A): the same total storage, with the
// RF bytes a dataflow does not use moved into the global buffer.
Architecture with_equal_storage(const Architecture& arch, Dataflow dataflow);

}  // namespace frugal::accel
