// Technology table (see energy.h, docs/accel.md).
#include "frugal/accel/energy.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/numeric/cost_model.h"

namespace frugal::accel {
namespace {

namespace fn = frugal::numeric;

// Eyeriss's normalized costs are per 16-bit word relative to a 16-bit fixed-point MAC; the
// buffers they were measured on: a 0.5 KB RF per PE and a 108 KB global buffer.
constexpr double kRefWordBits = 16;
constexpr double kRefRfBytes = 512;
constexpr double kRefGlbBytes = 108 * 1024;

double reference_mac_pj() {
  return fn::mac_cost(fn::int_format(16)).energy_pj;
}

double capacity_scale(const Architecture& a, double bytes, double ref_bytes) {
  if (!a.energy.scale_by_capacity || !(bytes > 0)) return 1.0;
  return fn::sram_access_pj(bytes) / fn::sram_access_pj(ref_bytes);
}

void check_accumulator(const fn::NumberFormat& acc) {
  const bool holds_sums =
      acc.block == 0 && acc.kind != fn::FormatKind::kBinary && acc.kind != fn::FormatKind::kTernary;
  if (!holds_sums)
    throw UserError("--format: the accelerator model cannot price acc=" + fn::to_string(acc) +
                    ": an accumulator must hold sums (a float, fixed or int format without a "
                    "shared block scale)");
}

// The wider multiplier of the two operand formats does the product.
const fn::NumberFormat& multiplier_format(const fn::FormatSpec& f) {
  return fn::mul_cost(f.weights).energy_pj >= fn::mul_cost(f.activations).energy_pj ? f.weights
                                                                                    : f.activations;
}

double synthesized_mac_pj(const fn::NumberFormat& mul, const fn::NumberFormat& acc) {
  const fn::SynthesizedArea* row = fn::find_synthesized_mac(mul, acc);
  if (!row)
    throw UserError("--cost synthesized: no synthesized MAC " + fn::to_string(mul) + " x " +
                    fn::to_string(mul) + " + " + fn::to_string(acc) +
                    " in the measured table (bench/hw/size_table.sh: each format's fma, and "
                    "its mac into the table's accumulator)");
  const fn::NumberFormat fp32 = fn::float_format(8, 23);
  return fn::mac_cost(fp32, fp32).energy_pj * row->nand2_area / fn::synthesized_fp32_mac_nand2();
}

}  // namespace

std::string level_name(int level) {
  static const char* const names[] = {"DRAM", "GLB", "NoC", "RF", "MAC"};
  return names[level];
}

Prices price(const Architecture& a, const fn::FormatSpec& f, fn::CostSource cost) {
  check_accumulator(f.acc.format);
  Prices p;
  const fn::NumberFormat& mul = multiplier_format(f);
  p.mac_pj = cost == fn::CostSource::kSynthesized ? synthesized_mac_pj(mul, f.acc.format)
                                                  : fn::mac_cost(mul, f.acc.format).energy_pj;
  p.bits = {fn::describe(f.weights).bits_per_value, fn::describe(f.activations).bits_per_value,
            fn::describe(f.acc.format).bits_per_value};
  p.output_bits = p.bits[kInputs];
  const double per_bit = reference_mac_pj() / kRefWordBits;
  p.pj_per_bit[kDram] = a.energy.dram * per_bit;
  p.pj_per_bit[kGlb] = a.energy.glb * per_bit * capacity_scale(a, a.glb_bytes, kRefGlbBytes);
  p.pj_per_bit[kNoc] = a.energy.noc * per_bit;
  p.pj_per_bit[kRf] = a.energy.rf * per_bit * capacity_scale(a, a.rf_total_bytes(), kRefRfBytes);
  return p;
}

std::vector<TechRow> technology_table(const Architecture& a, const fn::FormatSpec& f,
                                      fn::CostSource cost) {
  const Prices p = price(a, f, cost);
  const std::string mac_source =
      cost == fn::CostSource::kSynthesized
          ? "Yosys-synthesized area of frugal hw's operator over the synthesized fp32 mul + add "
            "(docs/hw.md) x Horowitz's fp32 MAC energy: energy taken proportional to area"
          : "Horowitz ISSCC 2014 anchors, fitted width law (numeric/cost_model.h)";
  const std::string eyeriss = "Eyeriss ISCA 2016 (normalized cost per 16-bit access, 1 = one MAC)";
  const std::string scaled = " x Horowitz ISSCC 2014 SRAM law (numeric::sram_access_pj)";
  return {
      {"reference MAC (int16 x int16 + int32)", reference_mac_pj(), "pJ",
       "Horowitz ISSCC 2014, 45 nm (numeric/cost_model.h)"},
      {"MAC " + fn::to_string(f.weights) + " x " + fn::to_string(f.activations) + " + " +
           fn::to_string(f.acc.format),
       p.mac_pj, "pJ", mac_source},
      {"RF access", p.pj_per_bit[kRf], "pJ/bit",
       eyeriss + ": " + std::to_string(a.energy.rf).substr(0, 4) + "x" +
           (a.energy.scale_by_capacity ? scaled + " from 0.5 KB" : "")},
      {"NoC / PE-to-PE transfer", p.pj_per_bit[kNoc], "pJ/bit",
       eyeriss + ": " + std::to_string(a.energy.noc).substr(0, 4) + "x"},
      {"global buffer access", p.pj_per_bit[kGlb], "pJ/bit",
       eyeriss + ": " + std::to_string(a.energy.glb).substr(0, 4) + "x" +
           (a.energy.scale_by_capacity ? scaled + " from 108 KB" : "")},
      {"DRAM access", p.pj_per_bit[kDram], "pJ/bit",
       eyeriss + ": " + std::to_string(a.energy.dram).substr(0, 5) +
           "x (Horowitz: 1.3-2.6 nJ per 64 bits)"},
  };
}

}  // namespace frugal::accel
