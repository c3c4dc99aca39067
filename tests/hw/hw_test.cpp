// frugal hw: generator, reference, Verilator verification (exhaustive on small formats) and
// Yosys sizing. Tests that need a tool skip with the reason when it is not installed.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <string>

#include "frugal/core/error.h"
#include "frugal/hw/reference.h"
#include "frugal/hw/synth.h"
#include "frugal/hw/tools.h"
#include "frugal/hw/verify.h"
#include "frugal/hw/verilog.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format.h"

namespace frugal::hw {
namespace {

namespace fn = frugal::numeric;

OperatorSpec spec(const char* op, const char* format, const char* acc = "",
                  const char* round = "nearest", int pipeline = 0, int length = 4) {
  return make_spec(parse_op(op), format, acc, round, pipeline, length);
}

bool have(const char* tool) {
  try {
    require_tool(tool, tool);
    return true;
  } catch (const UserError&) {
    return false;
  }
}

#define REQUIRE_TOOL(tool) \
  if (!have(tool)) GTEST_SKIP() << tool " not installed (Debian package " tool ")"

TEST(HwGenerator, DeterministicAndNamed) {
  const OperatorSpec s = spec("mac", "e4m3", "fp32");
  const std::string v = generate_verilog(s);
  EXPECT_EQ(v, generate_verilog(s));
  EXPECT_NE(v.find("module frugal_mac_e4m3_fp32 ("), std::string::npos);
  EXPECT_NE(v.find("module fr_round_float"), std::string::npos);
  const OperatorSpec p = spec("mul", "e5m2", "", "nearest", 3);
  // One level after the product, the other two at the output.
  EXPECT_NE(generate_verilog(p).find("p_r_m <= p_m;"), std::string::npos);
  EXPECT_NE(generate_verilog(p).find("fr_pipe #(.W(8), .N(2))"), std::string::npos);
  EXPECT_TRUE(ports(p).clocked);
}

// The generated Verilog-2005 is also accepted by Icarus Verilog (a third parser).
TEST(HwGenerator, IcarusAcceptsTheDesigns) {
  REQUIRE_TOOL("iverilog");
  ScratchDir dir("frugal-hw-test-");
  const OperatorSpec specs[] = {
      spec("mul", "e4m3"),
      spec("add", "fp16", "", "toward-zero"),
      spec("mac", "e5m2", "kulisch", "nearest", 1),
      spec("fma", "fixed8.8", "", "toward-zero", 2),
      spec("dot", "bf16", "fp32", "nearest", 0, 2),
      spec("dot", "int8", "fixed24.0", "nearest", 0, 3),
      spec("from-fp32", "fixed8.8", "", "stochastic:bits=8"),
      spec("to-fp32", "e3m2:sub=off"),
  };
  for (const OperatorSpec& s : specs) {
    const std::string path = write_verilog(s, dir.path());
    const std::string log = dir.path() + "/iverilog.log";
    EXPECT_EQ(run_logged("iverilog -g2005 -o " + dir.path() + "/a.out " + path, log), 0)
        << describe(s) << ": " << last_line(log);
  }
}

TEST(HwGenerator, RefusesWhatItCannotExpress) {
  auto why = [](auto fn_call) -> std::string {
    try {
      fn_call();
    } catch (const UserError& e) {
      return e.what();
    }
    return "";
  };
  EXPECT_NE(why([] { spec("mul", "binary"); }).find("sign logic"), std::string::npos);
  EXPECT_NE(why([] { spec("mul", "int8:scale=0.5"); }).find("scale"), std::string::npos);
  EXPECT_NE(why([] { spec("mul", "mxfp8"); }).find("block"), std::string::npos);
  EXPECT_NE(why([] { spec("mac", "bf16", "kulisch"); }).find("accumulator port needs 540 bits"),
            std::string::npos);
  EXPECT_NE(why([] { spec("mul", "e4m3", "", "stochastic"); }).find("from-fp32 only"),
            std::string::npos);
  EXPECT_NE(why([] { spec("mac", "e4m3", "int16"); }).find("float and fixed"), std::string::npos);
  EXPECT_NE(why([] { spec("mul", "e4m3", "", "up"); }).find("not generated"), std::string::npos);
  EXPECT_NE(why([] { parse_op("div"); }).find("unknown operator 'div'"), std::string::npos);
}

// The reference is numeric's rounding of the exact result: spot values, and a sum whose
// double rounding would be wrong toward zero (1 - 2^-60 must give 1 - 2^-24, not 1).
TEST(HwReference, FollowsNumericRounding) {
  const fn::NumberFormat e4m3 = fn::parse_format("e4m3");
  const OperatorSpec mul = spec("mul", "e4m3");
  const Word one = fn::encode(e4m3, 1.0), three = fn::encode(e4m3, 3.0);
  const Word in1[] = {three, three};
  EXPECT_EQ(reference_output(mul, in1, 0), fn::encode(e4m3, 9.0));
  const Word in2[] = {fn::encode(e4m3, 448.0), fn::encode(e4m3, 2.0)};  // overflow: NaN (fn)
  EXPECT_TRUE(std::isnan(fn::decode(e4m3, static_cast<uint32_t>(reference_output(mul, in2, 0)))));
  const Word in3[] = {one, fn::encode(e4m3, -0.0)};
  EXPECT_EQ(reference_output(mul, in3, 0), 0x80u);

  const OperatorSpec add = spec("add", "fp32", "", "toward-zero");
  const Word a[] = {std::bit_cast<uint32_t>(1.0f), std::bit_cast<uint32_t>(-0x1p-60f)};
  EXPECT_EQ(static_cast<uint32_t>(reference_output(add, a, 0)),
            std::bit_cast<uint32_t>(std::nextafter(1.0f, 0.0f)));
}

TEST(HwReference, KulischMacIsExactAndFlagsSpecials) {
  const OperatorSpec s = spec("mac", "e5m2", "kulisch");
  const KulischGrid g = kulisch_grid(s);
  const fn::NumberFormat e5m2 = fn::parse_format("e5m2");
  const Word tiny = fn::encode(e5m2, std::ldexp(1.0, -16));
  const Word in[] = {tiny, tiny, 5};
  EXPECT_EQ(reference_output(s, in, 0), Word{6});  // 2^-32 is the grid's last bit
  EXPECT_EQ(g.xmin, -32);
  const Word inf_in[] = {fn::encode(e5m2, INFINITY), tiny, 5};
  EXPECT_EQ(reference_output(s, inf_in, 0) >> g.width, Word{1});
}

// bf16 and fp32 dot products sum exactly on grids of 525 and 557 bits: a tiny product between
// two huge ones that cancel survives (a double sum would lose it), and a product far below
// the largest still sets the sticky bit (round to odd) that decides a toward-zero result.
TEST(HwReference, WideDotSumIsExact) {
  const fn::NumberFormat bf16 = fn::parse_format("bf16");
  const OperatorSpec s = spec("dot", "bf16", "fp32", "nearest", 0, 3);
  EXPECT_EQ(kulisch_grid(s).width, 525);
  const Word big = fn::encode(bf16, 0x1p100), tiny = fn::encode(bf16, 0x1p-133);
  const Word one = fn::encode(bf16, 1.0), minus_big = fn::encode(bf16, -0x1p100);
  const Word cancel[] = {big, big, tiny, one, minus_big, big};
  EXPECT_EQ(reference_output(s, cancel, 0), Word{0x10000});  // 2^-133, an fp32 subnormal
  const OperatorSpec z = spec("dot", "fp32", "fp32", "toward-zero", 0, 2);
  const Word one32 = std::bit_cast<uint32_t>(1.0f);
  const Word below[] = {one32, one32, std::bit_cast<uint32_t>(-0x1p-140f), one32};
  EXPECT_EQ(reference_output(z, below, 0), Word{std::bit_cast<uint32_t>(0x1.fffffep-1f)});
}

TEST(HwSynth, ParsesYosysStat) {
  const auto cells = parse_stat_cells(
      "   Number of cells:                 12\n     $_AND_                          3\n"
      "     $_XOR_                          9\n");
  ASSERT_EQ(cells.size(), 2u);
  EXPECT_EQ(cells.at("AND"), 3);
  EXPECT_EQ(cells.at("XOR"), 9);
}

TEST(HwTools, MissingToolNamesThePackage) {
  try {
    require_tool("frugal-no-such-tool", "some-package");
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("install the Debian package some-package"),
              std::string::npos);
  }
}

// Exhaustive proofs that fit the suite's budget (each costs one Verilator build).
void expect_exhaustive(const OperatorSpec& s, uint64_t vectors) {
  const VerifyResult r = verify(s);
  EXPECT_TRUE(r.passed) << r.mismatch;
  EXPECT_TRUE(r.exhaustive);
  EXPECT_EQ(r.vectors, vectors);
}

TEST(HwVerify, MulE4m3Exhaustive) {
  REQUIRE_TOOL("verilator");
  expect_exhaustive(spec("mul", "e4m3"), 65536);
}

TEST(HwVerify, AddE5m2TowardZeroExhaustive) {
  REQUIRE_TOOL("verilator");
  expect_exhaustive(spec("add", "e5m2", "", "toward-zero"), 65536);
}

TEST(HwVerify, FmaE2m1Exhaustive) {
  REQUIRE_TOOL("verilator");
  expect_exhaustive(spec("fma", "e2m1"), 4096);
}

TEST(HwVerify, MacInt4IntoInt8PipelinedExhaustive) {
  REQUIRE_TOOL("verilator");
  expect_exhaustive(spec("mac", "int4", "int8", "nearest", 2), 65536);
}

// Integer and fixed-point formats get plain two's complement arithmetic, a rounding shift and
// a clamp, not the float datapath; signed, unsigned and mixed (uint operands into a signed
// accumulator) all verified.
TEST(HwGenerator, FixedPointFormatsGetTheFixedPointDatapath) {
  EXPECT_TRUE(fixed_point_datapath(spec("add", "int8")));
  EXPECT_TRUE(fixed_point_datapath(spec("mac", "int8", "fixed24.0")));
  EXPECT_TRUE(fixed_point_datapath(spec("dot", "uint4", "int8", "nearest", 0, 2)));
  EXPECT_TRUE(fixed_point_datapath(spec("mul", "fixed8.8")));
  EXPECT_FALSE(fixed_point_datapath(spec("mac", "int8", "kulisch")));
  EXPECT_FALSE(fixed_point_datapath(spec("to-fp32", "int8")));
  EXPECT_FALSE(fixed_point_datapath(spec("mac", "e4m3", "fp32")));
  const std::string v = generate_verilog(spec("add", "int8"));
  const std::string top = v.substr(v.find("module frugal_add_int8"));
  EXPECT_NE(top.find("wire signed [8:0] s = ia + ib;"), std::string::npos) << top;
  EXPECT_EQ(top.find("fr_add"), std::string::npos) << top;
  // A sum narrower than the result is sign-extended (a part-select beyond it would be x).
  const std::string d = generate_verilog(spec("dot", "int4", "int16"));
  EXPECT_NE(d.find("assign y_comb = {{6{s[9]}}, s};"), std::string::npos) << d;
  const std::string m = generate_verilog(spec("mul", "fixed8.8"));
  EXPECT_NE(m.find("p_m_q = (p_m >> 8)"), std::string::npos) << m;  // drops 8 of 16 bits
  EXPECT_EQ(m.substr(m.find("module frugal_mul")).find("fr_round"), std::string::npos) << m;
}

// The rounding shift of the fixed-point datapath in both modes, on the magnitude (mul) and on
// a signed sum that drops fraction bits (fma, mac into fewer fraction bits).
TEST(HwVerify, FixedPointMulFmaMacExhaustive) {
  REQUIRE_TOOL("verilator");
  expect_exhaustive(spec("mul", "fixed4.4", "", "nearest", 2), 65536);
  expect_exhaustive(spec("fma", "fixed2.2", "", "toward-zero"), 4096);
  expect_exhaustive(spec("mac", "fixed3.3", "fixed4.2", "nearest"), 262144);
}

TEST(HwVerify, IntegerMulAddAndUnsignedDotExhaustive) {
  REQUIRE_TOOL("verilator");
  expect_exhaustive(spec("mul", "int8", "", "nearest", 2), 65536);
  expect_exhaustive(spec("add", "int4", "", "toward-zero"), 256);
  expect_exhaustive(spec("dot", "uint4", "int8", "nearest", 3, 2), 65536);
}

TEST(HwVerify, FromFp32StochasticRandomAndEdges) {
  REQUIRE_TOOL("verilator");
  VerifyOptions opt;
  opt.random_vectors = 100'000;
  opt.edge_vectors = 20'000;
  const VerifyResult r = verify(spec("from-fp32", "e4m3", "", "stochastic:bits=6"), opt);
  EXPECT_TRUE(r.passed) << r.mismatch;
  EXPECT_FALSE(r.exhaustive);
  EXPECT_EQ(r.vectors, 120'000u);
}

// The bf16 dot product's 525-bit exact sum against the multi-word reference, a reduced count
// (bench/hw/verify_all.sh runs 10^7 + 10^5 for bf16 and fp32).
TEST(HwVerify, WideDotBf16RandomAndEdges) {
  REQUIRE_TOOL("verilator");
  VerifyOptions opt;
  opt.random_vectors = 20'000;
  opt.edge_vectors = 5'000;
  const VerifyResult r = verify(spec("dot", "bf16", "fp32", "toward-zero", 0, 2), opt);
  EXPECT_TRUE(r.passed) << r.mismatch;
  EXPECT_EQ(r.vectors, 25'000u);
}

// A fault injected into the RTL's output is caught and reported in hex.
TEST(HwVerify, InjectedFaultIsReported) {
  REQUIRE_TOOL("verilator");
  VerifyOptions opt;
  opt.inject_fault_at = 77;
  const VerifyResult r = verify(spec("mul", "e2m1"), opt);
  EXPECT_FALSE(r.passed);
  EXPECT_EQ(r.vectors, 78u);
  EXPECT_NE(r.mismatch.find("at vector 77: a=0xd b=0x4 -> rtl y="), std::string::npos)
      << r.mismatch;
  EXPECT_NE(r.mismatch.find("emulator y=0x"), std::string::npos);
}

TEST(HwSize, SynthesizesToGates) {
  REQUIRE_TOOL("yosys");
  const SizeResult small = size(spec("mul", "e2m1"), FpgaFamily::kNone);
  const SizeResult big = size(spec("mul", "e4m3"), FpgaFamily::kNone);
  EXPECT_GT(small.nand2_area, 10);
  EXPECT_GT(big.nand2_area, small.nand2_area);
  EXPECT_GT(small.depth, 2);
  EXPECT_GT(small.total_cells, 0);
  // The FPGA pass alone (what the fp32 rows of bench/hw/fpga_table.sh use).
  const SizeResult ice40 = size(spec("mul", "e2m1"), FpgaFamily::kIce40, false);
  EXPECT_FALSE(ice40.gate_level);
  EXPECT_EQ(ice40.total_cells, 0);
  EXPECT_GT(ice40.luts, 10);
  EXPECT_THROW(size(spec("mul", "e2m1"), FpgaFamily::kNone, false), UserError);
}

}  // namespace
}  // namespace frugal::hw

namespace frugal::numeric {
namespace {

// The cost model's measured column (bench/hw/size_table.sh -> synthesized_area.inc).
TEST(SynthesizedCost, MeasuredMacAreasBesideTheEstimate) {
  EXPECT_EQ(parse_cost_source("synthesized"), CostSource::kSynthesized);
  EXPECT_THROW(parse_cost_source("guess"), UserError);
  const NumberFormat fp32 = parse_format("fp32"), e4m3 = parse_format("e4m3");
  const SynthesizedArea* mul32 = find_synthesized_area(fp32, "mul");
  const SynthesizedArea* add32 = find_synthesized_area(fp32, "add");
  ASSERT_NE(mul32, nullptr);
  ASSERT_NE(add32, nullptr);
  const OpCost e4 = mac_cost(e4m3, CostSource::kSynthesized);
  EXPECT_GT(e4.relative_area, 0.0);
  EXPECT_LT(e4.relative_area, 1.0);
  const double e4_nand2 = find_synthesized_area(e4m3, "mac")->nand2_area;
  EXPECT_DOUBLE_EQ(e4.area_um2, e4_nand2 * kNand2Um2);
  EXPECT_DOUBLE_EQ(e4.relative_area, e4_nand2 / (mul32->nand2_area + add32->nand2_area));
  EXPECT_EQ(e4.energy_pj, mac_cost(e4m3).energy_pj);  // energy stays the estimate
  for (const auto& row : synthesized_areas()) EXPECT_GT(estimated_area_um2(row), 0) << row.format;
  EXPECT_THROW(mac_cost(parse_format("e3m4"), CostSource::kSynthesized), UserError);
}

}  // namespace
}  // namespace frugal::numeric
