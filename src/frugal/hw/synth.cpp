// Yosys driver and report parsing (see synth.h).
#include "frugal/hw/synth.h"

#include <chrono>
#include <fstream>
#include <regex>
#include <sstream>

#include "frugal/core/error.h"
#include "frugal/hw/tools.h"
#include "frugal/hw/verilog.h"

namespace frugal::hw {

namespace {

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run_yosys(const std::string& yosys, const std::string& dir, const std::string& script,
               const std::string& what) {
  {
    std::ofstream s(dir + "/" + what + ".ys");
    s << script;
  }
  const std::string log = dir + "/" + what + ".log";
  if (run_logged("cd " + dir + " && " + yosys + " -q -s " + what + ".ys", log) != 0)
    throw UserError("yosys failed (" + what + "): " + last_line(log) + " (log " + log + ")");
}

double weight_of(const std::string& cell) {
  for (const CellWeight& w : cell_weights())
    if (w.cell == cell) return w.nand2;
  throw InternalError("frugal hw size: no area weight for Yosys cell $_" + cell + "_");
}

int longest_path(const std::string& text) {
  std::smatch m;
  static const std::regex re(R"(Longest topological path in \S+ \(length=(\d+)\))");
  return std::regex_search(text, m, re) ? std::stoi(m[1]) : 0;
}

void fill_fpga(SizeResult& r, const std::string& stat) {
  static const std::regex re(R"(^\s+(\w+)\s+(\d+)\s*$)");
  std::istringstream in(stat);
  std::string line;
  bool in_cells = false;
  while (std::getline(in, line)) {
    if (line.find("Number of cells") != std::string::npos) in_cells = true;
    std::smatch m;
    if (!in_cells || !std::regex_match(line, m, re)) continue;
    const std::string cell = m[1];
    const int n = std::stoi(m[2]);
    r.fpga_cells[cell] += n;
    if (cell.rfind("LUT", 0) == 0 || cell == "SB_LUT4") r.luts += n;
    if (cell.rfind("DSP", 0) == 0 || cell == "SB_MAC16") r.dsps += n;
    if (cell.rfind("FD", 0) == 0 || cell.rfind("SB_DFF", 0) == 0) r.ffs += n;
  }
}

}  // namespace

FpgaFamily parse_fpga(const std::string& name) {
  if (name == "none") return FpgaFamily::kNone;
  if (name == "xilinx") return FpgaFamily::kXilinx;
  if (name == "ice40") return FpgaFamily::kIce40;
  throw UserError("--fpga: unknown family '" + name + "' (accepted: none, xilinx, ice40)");
}

const std::vector<CellWeight>& cell_weights() {
  // NanGate FreePDK45 Open Cell Library, X1 drive: NAND2 0.798 um^2, INV 0.532, AND2/OR2
  // 1.064, XOR2/XNOR2 1.596, MUX2 1.862, DFF 4.522 (ratios to NAND2 below). ANDNOT/ORNOT
  // (one inverted input) are counted as AND2/OR2; BUF as INV.
  static const std::vector<CellWeight> w = {
      {"NOT", 0.667, "INV_X1"},     {"BUF", 0.667, "BUF_X1"},   {"NAND", 1.0, "NAND2_X1"},
      {"NOR", 1.0, "NOR2_X1"},      {"AND", 1.333, "AND2_X1"},  {"OR", 1.333, "OR2_X1"},
      {"ANDNOT", 1.333, "AND2_X1"}, {"ORNOT", 1.333, "OR2_X1"}, {"XOR", 2.0, "XOR2_X1"},
      {"XNOR", 2.0, "XNOR2_X1"},    {"MUX", 2.333, "MUX2_X1"},  {"NMUX", 2.333, "MUX2_X1"},
      {"DFF_P", 5.667, "DFF_X1"},
  };
  return w;
}

std::map<std::string, int> parse_stat_cells(const std::string& text) {
  static const std::regex re(R"(^\s+\$_(\w+)_\s+(\d+)\s*$)");
  std::map<std::string, int> cells;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    std::smatch m;
    if (std::regex_match(line, m, re)) cells[m[1]] += std::stoi(m[2]);
  }
  return cells;
}

namespace {

void size_gates(SizeResult& r, const std::string& yosys, const std::string& dir,
                const std::string& top) {
  run_yosys(yosys, dir,
            "read_verilog design.v\nsynth -flatten -top " + top +
                "\ndffunmap\nabc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX\nopt_clean\n"
                "tee -o stat.txt stat\ntee -o ltp.txt ltp -noff\n",
            "gates");
  r.cells = parse_stat_cells(read_text(dir + "/stat.txt"));
  for (const auto& [cell, n] : r.cells) {
    r.total_cells += n;
    r.nand2_area += n * weight_of(cell);
  }
  r.depth = longest_path(read_text(dir + "/ltp.txt"));
}

void size_fpga(SizeResult& r, const std::string& yosys, const std::string& dir,
               const std::string& top) {
  const std::string synth =
      r.fpga == FpgaFamily::kXilinx ? "synth_xilinx -flatten -top " : "synth_ice40 -dsp -top ";
  run_yosys(yosys, dir, "read_verilog design.v\n" + synth + top + "\ntee -o fpga.txt stat\n",
            "fpga");
  fill_fpga(r, read_text(dir + "/fpga.txt"));
}

}  // namespace

SizeResult size(const OperatorSpec& spec, FpgaFamily fpga, bool gate_level) {
  check_expressible(spec);
  if (!gate_level && fpga == FpgaFamily::kNone)
    throw UserError("frugal hw size: skipping the gate pass needs an FPGA family");
  const std::string yosys = require_tool("yosys", "yosys");
  const auto t0 = std::chrono::steady_clock::now();
  ScratchDir dir("frugal-hw-size-");
  const std::string top = module_name(spec);
  {
    std::ofstream v(dir.path() + "/design.v");
    v << generate_verilog(spec);
  }
  SizeResult r;
  r.gate_level = gate_level;
  r.fpga = fpga;
  if (gate_level) size_gates(r, yosys, dir.path(), top);
  if (fpga != FpgaFamily::kNone) size_fpga(r, yosys, dir.path(), top);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

}  // namespace frugal::hw
