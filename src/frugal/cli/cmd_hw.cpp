// frugal hw gen|verify|size OP --format F: arithmetic operators as synthesizable Verilog,
// proven bit-exact against the emulator by Verilator simulation, sized by Yosys synthesis.
#include <cstdio>
#include <memory>
#include <string>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/core/error.h"
#include "frugal/hw/synth.h"
#include "frugal/hw/verify.h"
#include "frugal/hw/verilog.h"
#include "frugal/numeric/cost_model.h"

namespace frugal::cli {
namespace {

struct HwArgs {
  std::string op;
  std::string format;
  std::string acc;
  std::string round = "nearest";
  int pipeline = 0;
  int length = 4;
  std::string out_dir;
  uint64_t random = 10'000'000;
  uint64_t edge = 100'000;
  uint64_t seed = 1;
  int64_t inject_fault = -1;
  std::string fpga = "xilinx";
  bool fpga_only = false;
  bool json = false;
};

hw::OperatorSpec spec_of(const HwArgs& a) {
  return hw::make_spec(hw::parse_op(a.op), a.format, a.acc, a.round, a.pipeline, a.length);
}

void run_gen(const HwArgs& a) {
  const hw::OperatorSpec s = spec_of(a);
  if (a.out_dir.empty()) {
    std::fputs(hw::generate_verilog(s).c_str(), stdout);
    return;
  }
  const std::string path = hw::write_verilog(s, a.out_dir);
  if (a.json)
    print_json({{"operator", hw::describe(s)}, {"module", hw::module_name(s)}, {"file", path}});
  else
    std::printf("%s: module %s in %s\n", hw::describe(s).c_str(), hw::module_name(s).c_str(),
                path.c_str());
}

void run_verify(const HwArgs& a) {
  const hw::OperatorSpec s = spec_of(a);
  hw::VerifyOptions opt;
  opt.random_vectors = a.random;
  opt.edge_vectors = a.edge;
  opt.seed = a.seed;
  opt.inject_fault_at = a.inject_fault;
  const hw::VerifyResult r = hw::verify(s, opt);
  if (!r.passed) throw UserError(r.mismatch);
  if (a.json) {
    print_json({{"operator", hw::describe(s)},
                {"passed", true},
                {"exhaustive", r.exhaustive},
                {"vectors", r.vectors},
                {"random", r.random},
                {"edge", r.edge},
                {"compile_seconds", r.compile_seconds},
                {"simulate_seconds", r.simulate_seconds}});
    return;
  }
  std::printf("%s: %s vectors %s, bit-exact with the emulator\n", hw::describe(s).c_str(),
              with_commas(static_cast<int64_t>(r.vectors)).c_str(),
              r.exhaustive ? "(exhaustive)"
                           : ("(" + with_commas(static_cast<int64_t>(r.random)) + " random, " +
                              with_commas(static_cast<int64_t>(r.edge)) + " edge cases)")
                                 .c_str());
  std::printf("verilator build %.1f s, simulation and comparison %.1f s\n", r.compile_seconds,
              r.simulate_seconds);
}

void run_size(const HwArgs& a) {
  const hw::OperatorSpec s = spec_of(a);
  const hw::FpgaFamily fpga = hw::parse_fpga(a.fpga);
  if (a.fpga_only && fpga == hw::FpgaFamily::kNone)
    throw UserError("--fpga-only: needs --fpga xilinx or ice40");
  const hw::SizeResult r = hw::size(s, fpga, !a.fpga_only);
  if (a.json) {
    nlohmann::json j = {{"operator", hw::describe(s)},
                        {"format", numeric::to_string(s.format)},
                        {"op", std::string(hw::op_name(s.op))},
                        {"seconds", r.seconds}};
    if (r.gate_level) {
      j["cells"] = r.cells;
      j["total_cells"] = r.total_cells;
      j["nand2_area"] = r.nand2_area;
      j["area_um2_nangate45"] = r.nand2_area * numeric::kNand2Um2;
      j["depth"] = r.depth;
    }
    if (r.fpga != hw::FpgaFamily::kNone)
      j["fpga"] = {{"family", a.fpga},
                   {"cells", r.fpga_cells},
                   {"luts", r.luts},
                   {"dsps", r.dsps},
                   {"ffs", r.ffs}};
    print_json(j);
    return;
  }
  if (!r.gate_level) {
    std::printf("%s\n%s: %d LUTs, %d DSPs, %d flip-flops\n", hw::describe(s).c_str(),
                a.fpga.c_str(), r.luts, r.dsps, r.ffs);
    return;
  }
  std::printf("%s (yosys synth + abc, generic gates)\n", hw::describe(s).c_str());
  Table t({"cell", "count", "NAND2 eq."});
  for (const auto& w : hw::cell_weights()) {
    auto it = r.cells.find(w.cell);
    if (it == r.cells.end()) continue;
    char area[32];
    std::snprintf(area, sizeof area, "%.1f", it->second * w.nand2);
    t.add({w.cell, std::to_string(it->second), area});
  }
  std::printf("%s", t.str().c_str());
  std::printf("area %.1f NAND2 equivalents (%.0f um^2 at NanGate 45 nm), %d cells, depth %d\n",
              r.nand2_area, r.nand2_area * numeric::kNand2Um2, r.total_cells, r.depth);
  if (r.fpga != hw::FpgaFamily::kNone)
    std::printf("%s: %d LUTs, %d DSPs, %d flip-flops\n", a.fpga.c_str(), r.luts, r.dsps, r.ffs);
}

void add_common(CLI::App* sub, const std::shared_ptr<HwArgs>& a) {
  sub->add_option("op", a->op, std::string("operator: ") + std::string(hw::op_grammar()))
      ->required();
  sub->add_option("--format", a->format, "operand format (e4m3, fp16, int8, fixed8.8, ...)")
      ->required();
  sub->add_option("--acc", a->acc, "mac/dot accumulator format, or kulisch (exact, mac)");
  sub->add_option("--round", a->round,
                  "nearest | toward-zero | stochastic[:bits=R] (from-fp32), or rne/rz/sr");
  sub->add_option("--pipeline", a->pipeline, "register stages at the output (default 0)");
  sub->add_option("--length", a->length, "dot: number of products (default 4)");
  sub->add_flag("--json", a->json, "machine-readable output");
}

void setup(CLI::App& app) {
  auto* hw_cmd = app.add_subcommand(
      "hw", "Arithmetic operators as Verilog: generate, verify against the emulator, size");
  hw_cmd->require_subcommand(1);
  hw_cmd->footer(
      "Examples:\n  frugal hw gen mul --format e4m3 -o rtl/\n"
      "  frugal hw verify fma --format e4m3\n"
      "  frugal hw verify mac --format e4m3 --acc fp32\n"
      "  frugal hw verify from-fp32 --format e5m2 --round stochastic:bits=8\n"
      "  frugal hw size mul --format bf16 --fpga ice40\n"
      "See docs/hw.md.");
  auto a = std::make_shared<HwArgs>();

  auto* gen = hw_cmd->add_subcommand("gen", "Write the operator's Verilog");
  add_common(gen, a);
  gen->add_option("-o,--out", a->out_dir, "output directory (default: print to stdout)");
  gen->callback([a] { run_gen(*a); });

  auto* ver = hw_cmd->add_subcommand(
      "verify", "Simulate the operator with Verilator against the emulator (exit 1 on mismatch)");
  add_common(ver, a);
  ver->add_option("--random", a->random, "random vectors when not exhaustive (default 1e7)");
  ver->add_option("--edge", a->edge, "edge-case vectors when not exhaustive (default 1e5)");
  ver->add_option("--seed", a->seed, "seed of the random vectors (default 1)");
  ver->add_option("--inject-fault", a->inject_fault,
                  "flip bit 0 of the RTL output at this vector (to see the checker fail)");
  ver->callback([a] { run_verify(*a); });

  auto* sz = hw_cmd->add_subcommand("size", "Synthesize the operator with Yosys");
  add_common(sz, a);
  sz->add_option("--fpga", a->fpga, "none | xilinx (LUT6, DSP48E1) | ice40 (default xilinx)");
  sz->add_flag("--fpga-only", a->fpga_only,
               "skip the generic-gate pass (most of an hour for the fp32 FMA and MAC)");
  sz->callback([a] { run_size(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(hw, 95, setup);

}  // namespace frugal::cli
