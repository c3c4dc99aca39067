// Arithmetic cost model (see cost_model.h and docs/cost-model.md).
#include "frugal/numeric/cost_model.h"

#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"
#include "frugal/numeric/format.h"

namespace frugal::numeric {
namespace {

enum Unit { kIntAdd, kIntMul, kFpAdd, kFpMul };
const char* const kUnitNames[] = {"int add", "int mul", "fp add", "fp mul"};
const int kPower[] = {1, 2, 1, 2};  // adders linear, multipliers quadratic in width

// Horowitz, ISSCC 2014, 45 nm, 0.9 V: energy per operation (pJ) and area (um^2). A function
// so that callers during static initialization see it built.
const std::vector<CostAnchor>& anchors() {
  static const std::vector<CostAnchor> table = {
      {"int add", 8, 0.03, 36},  {"int add", 16, 0.05, 67},  {"int add", 32, 0.1, 137},
      {"int mul", 8, 0.2, 282},  {"int mul", 32, 3.1, 3495}, {"fp add", 11, 0.4, 1360},
      {"fp add", 24, 0.9, 4184},  // fp16, fp32 (significand bits)
      {"fp mul", 11, 1.1, 1640}, {"fp mul", 24, 3.7, 7700},
  };
  return table;
}

// Least squares through the origin for y = k * w^power.
double fit_coefficient(Unit u, bool area) {
  double num = 0, den = 0;
  for (const auto& a : anchors()) {
    if (a.unit != kUnitNames[u]) continue;
    const double x = std::pow(a.width, kPower[u]);
    num += x * (area ? a.area_um2 : a.energy_pj);
    den += x * x;
  }
  return num / den;
}

// The fitted law times the anchors' ratio (anchor / fit), interpolated linearly in log2 of
// the width between anchors and held constant beyond them: exact at every anchor.
double model(Unit u, double width, bool area) {
  const double k = fit_coefficient(u, area);
  auto fit = [&](double w) { return k * std::pow(w, kPower[u]); };
  std::vector<std::pair<double, double>> ratios;  // (log2 width, anchor / fit)
  for (const auto& a : anchors())
    if (a.unit == kUnitNames[u])
      ratios.emplace_back(std::log2(a.width), (area ? a.area_um2 : a.energy_pj) / fit(a.width));
  const double x = std::log2(std::max(1.0, width));
  double r;
  if (x <= ratios.front().first) {
    r = ratios.front().second;
  } else if (x >= ratios.back().first) {
    r = ratios.back().second;
  } else {
    size_t i = 1;
    while (ratios[i].first < x) ++i;
    const auto [x0, r0] = ratios[i - 1];
    const auto [x1, r1] = ratios[i];
    r = r0 + (r1 - r0) * (x - x0) / (x1 - x0);
  }
  return fit(std::max(1.0, width)) * r;
}

double fp32_mac_area() {
  return model(kFpMul, 24, true) + model(kFpAdd, 24, true);
}

OpCost unit_cost(Unit u, double width) {
  OpCost c;
  c.energy_pj = model(u, width, false);
  c.area_um2 = model(u, width, true);
  c.relative_area = c.area_um2 / fp32_mac_area();
  return c;
}

// Integer-like formats cost as integers of their code width; floats by significand bits.
bool is_float(const NumberFormat& f) {
  return f.kind == FormatKind::kFloat;
}
double width_of(const NumberFormat& f) {
  const NumberFormat e = f.element();
  return is_float(e) ? e.mantissa_bits + 1 : code_bits(e);
}

OpCost sum(OpCost a, const OpCost& b, double b_share = 1.0) {
  a.energy_pj += b.energy_pj * b_share;
  a.area_um2 += b.area_um2 * b_share;
  a.relative_area += b.relative_area * b_share;
  return a;
}

}  // namespace

OpCost int_add_cost(int bits) {
  return unit_cost(kIntAdd, bits);
}
OpCost int_mul_cost(int bits) {
  return unit_cost(kIntMul, bits);
}
OpCost fp_add_cost(int significand_bits) {
  return unit_cost(kFpAdd, significand_bits);
}
OpCost fp_mul_cost(int significand_bits) {
  return unit_cost(kFpMul, significand_bits);
}

OpCost add_cost(const NumberFormat& f) {
  validate(f);
  return unit_cost(is_float(f) ? kFpAdd : kIntAdd, width_of(f));
}

OpCost mul_cost(const NumberFormat& f) {
  validate(f);
  return unit_cost(is_float(f) ? kFpMul : kIntMul, width_of(f));
}

namespace {
OpCost with_block_share(OpCost c, const NumberFormat& operands) {
  // One 8-bit exponent add per block of products (the shared scales multiply).
  if (operands.block != 0) c = sum(c, unit_cost(kIntAdd, 8), 1.0 / operands.block);
  return c;
}
}  // namespace

OpCost mac_cost(const NumberFormat& operands, const NumberFormat& accumulator) {
  return with_block_share(sum(mul_cost(operands), add_cost(accumulator)), operands);
}

OpCost mac_cost(const NumberFormat& operands) {
  const OpCost acc =
      is_float(operands.element()) ? add_cost(operands.element()) : unit_cost(kIntAdd, 32);
  return with_block_share(sum(mul_cost(operands), acc), operands);
}

const std::vector<SynthesizedArea>& synthesized_areas() {
  static const std::vector<SynthesizedArea> rows = {
#include "frugal/numeric/synthesized_area.inc"
  };
  return rows;
}

const SynthesizedArea* find_synthesized_area(const NumberFormat& f, std::string_view op) {
  const std::string name = to_string(f);
  for (const auto& r : synthesized_areas())
    if (name == r.format && op == r.op) return &r;
  return nullptr;
}

const SynthesizedArea* find_synthesized_mac(const NumberFormat& operands,
                                            const NumberFormat& accumulator) {
  if (operands == accumulator) return find_synthesized_area(operands, "fma");
  const std::string name = to_string(operands), acc = to_string(accumulator);
  for (const auto& r : synthesized_areas())
    if (name == r.format && std::string_view(r.op) == "mac" && acc == r.accumulator) return &r;
  return nullptr;
}

double synthesized_fp32_mac_nand2() {
  const SynthesizedArea* mul32 = find_synthesized_area(float_format(8, 23), "mul");
  const SynthesizedArea* add32 = find_synthesized_area(float_format(8, 23), "add");
  if (!mul32 || !add32)
    throw UserError(
        "--cost synthesized: the measured table has no fp32 mul and add "
        "(run bench/hw/size_table.sh)");
  return mul32->nand2_area + add32->nand2_area;
}

double estimated_area_um2(const SynthesizedArea& row) {
  const NumberFormat f = parse_format(row.format);
  const std::string_view op = row.op;
  if (op == "mul") return mul_cost(f).area_um2;
  if (op == "add") return add_cost(f).area_um2;
  if (op == "fma") return mul_cost(f).area_um2 + add_cost(f).area_um2;
  return mac_cost(f, parse_format(row.accumulator)).area_um2;
}

CostSource parse_cost_source(std::string_view name) {
  if (name == "horowitz") return CostSource::kHorowitz;
  if (name == "synthesized") return CostSource::kSynthesized;
  throw UserError("--cost: unknown source '" + std::string(name) +
                  "' (accepted: horowitz, synthesized)");
}

OpCost mac_cost(const NumberFormat& operands, CostSource source) {
  OpCost c = mac_cost(operands);
  if (source == CostSource::kHorowitz) return c;
  // Normalized like the estimate: an fp32 MAC is one fp32 multiply plus one fp32 add.
  const SynthesizedArea* row = find_synthesized_area(operands, "mac");
  if (!row)
    throw UserError("--cost synthesized: no measured MAC area for " + to_string(operands) +
                    " (measured: the formats of bench/hw/size_table.sh)");
  c.area_um2 = row->nand2_area * kNand2Um2;
  c.relative_area = row->nand2_area / synthesized_fp32_mac_nand2();
  return c;
}

double sram_access_pj(double capacity_bytes) {
  if (!(capacity_bytes > 0)) throw UserError("sram_access_pj: capacity must be positive");
  // (log2 bytes, pJ per 64-bit word): 8 KB, 32 KB, 1 MB.
  const double pts[3][2] = {{13, 10}, {15, 20}, {20, 100}};
  const double x = std::log2(capacity_bytes);
  int i = x <= pts[1][0] ? 0 : 1;  // segment
  const double slope = std::log2(pts[i + 1][1] / pts[i][1]) / (pts[i + 1][0] - pts[i][0]);
  return pts[i][1] * std::exp2(slope * (x - pts[i][0]));
}

double dram_access_pj() {
  return 1300.0;
}

const std::vector<CostAnchor>& horowitz_anchors() {
  return anchors();
}

const std::vector<CostFit>& cost_fits() {
  static const std::vector<CostFit> fits = [] {
    std::vector<CostFit> v;
    for (Unit u : {kIntAdd, kIntMul, kFpAdd, kFpMul})
      v.push_back({kUnitNames[u], kPower[u] == 1 ? "k*w" : "k*w^2", fit_coefficient(u, false),
                   fit_coefficient(u, true)});
    return v;
  }();
  return fits;
}

}  // namespace frugal::numeric
