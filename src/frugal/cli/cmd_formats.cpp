// frugal formats [NAME...] [--round V...]: the number formats frugal emulates, their
// properties and cost per MAC; with --round, a pocket calculator that rounds values under
// every rounding mode and shows the bit patterns.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/core/error.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/quantize.h"

namespace frugal::cli {
namespace {

namespace fn = frugal::numeric;

struct FormatsArgs {
  std::vector<std::string> names;
  std::vector<std::string> values;
  uint64_t seed = 0;
  std::string cost = "horowitz";
  bool json = false;
};

std::string num(double v) {
  if (std::isnan(v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

// A rounded value: NaN and infinities spelled out.
std::string value_text(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return num(v);
}

nlohmann::json json_num(double v) {
  if (std::isnan(v)) return nullptr;
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  return v;
}

// The code of `v` as fields ("0 1000 110" for e4m3), or "" when it has none.
std::string bit_string(const fn::NumberFormat& f, double v, uint32_t& code) {
  try {
    code = fn::encode(f, v);
  } catch (const UserError&) {
    return "";
  }
  const fn::NumberFormat e = f.element();
  const int w = fn::code_bits(e);
  std::string s;
  for (int i = w - 1; i >= 0; --i) {
    s += ((code >> i) & 1) ? '1' : '0';
    if (e.kind == fn::FormatKind::kFloat && (i == w - 1 || (i == e.mantissa_bits && i > 0)))
      s += ' ';
  }
  return s;
}

std::string hex_code(uint32_t code, int bits) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*x", (bits + 3) / 4, code);
  return buf;
}

nlohmann::json info_json(const fn::NumberFormat& f, const std::string& description) {
  const fn::FormatInfo i = fn::describe(f);
  const fn::OpCost mac = fn::mac_cost(f);
  return {{"name", i.name},
          {"layout", i.layout},
          {"bits", i.bits},
          {"bits_per_value", i.bits_per_value},
          {"max", json_num(i.max_finite)},
          {"min", json_num(i.min_finite)},
          {"min_normal", json_num(i.min_normal)},
          {"min_subnormal", json_num(i.min_subnormal)},
          {"epsilon", json_num(i.epsilon)},
          {"finite_values", i.finite_values},
          {"has_inf", i.has_inf},
          {"has_nan", i.has_nan},
          {"mac_energy_pj", mac.energy_pj},
          {"mac_relative_area", mac.relative_area},
          {"description", description}};
}

// MAC area relative to fp32 from the chosen source ("-" without a measured row).
std::string mac_area_text(const fn::NumberFormat& f, fn::CostSource source) {
  char area[32];
  try {
    std::snprintf(area, sizeof area, "%.3f", fn::mac_cost(f, source).relative_area);
  } catch (const UserError&) {
    return "-";
  }
  return area;
}

// The measured table beside the Horowitz-scaled estimate (docs/cost-model.md).
void print_synthesized_comparison() {
  Table t({"format", "op", "estimate um^2", "synthesized um^2", "synthesized / estimate", "depth"});
  for (const auto& r : fn::synthesized_areas()) {
    const double est = fn::estimated_area_um2(r);
    const double syn = r.nand2_area * fn::kNand2Um2;
    char e[32], m[32], q[32];
    std::snprintf(e, sizeof e, "%.0f", est);
    std::snprintf(m, sizeof m, "%.0f", syn);
    std::snprintf(q, sizeof q, "%.2f", syn / est);
    const std::string op =
        std::string(r.op) + (*r.accumulator ? std::string(" +") + r.accumulator : "");
    t.add({r.format, op, e, m, q, std::to_string(r.depth)});
  }
  std::printf(
      "\n%s\nestimate: Horowitz-scaled 45 nm model (second-hand areas); synthesized: yosys + abc\n"
      "generic gates weighted as NanGate 45 nm cells (bench/hw/size_table.sh, docs/hw.md).\n",
      t.str().c_str());
}

void list_formats(const std::vector<std::pair<fn::NumberFormat, std::string>>& formats, bool json,
                  fn::CostSource source) {
  if (json) {
    nlohmann::json j = nlohmann::json::array();
    for (const auto& [f, d] : formats) {
      j.push_back(info_json(f, d));
      if (source == fn::CostSource::kSynthesized) {
        const fn::SynthesizedArea* r = fn::find_synthesized_area(f, "mac");
        j.back()["mac_synthesized_nand2"] = r ? nlohmann::json(r->nand2_area) : nullptr;
        if (r) j.back()["mac_relative_area"] = fn::mac_cost(f, source).relative_area;
      }
    }
    print_json({{"formats", j},
                {"cost_model",
                 "45 nm, Horowitz ISSCC 2014 (estimated); MAC = multiply + add in the "
                 "format (int32 add for integer formats); areas second-hand (Horowitz's "
                 "table as reproduced by Dally, NIPS 2015 tutorial): compare ratios only"}});
    return;
  }
  Table t({"format", "bits", "layout", "max", "min normal", "min subnormal", "epsilon",
           "finite values", "MAC pJ", "MAC area"});
  for (const auto& [f, d] : formats) {
    const fn::FormatInfo i = fn::describe(f);
    const fn::OpCost mac = fn::mac_cost(f);
    char bits[32], pj[32], area[32];
    std::snprintf(bits, sizeof bits, i.bits_per_value == i.bits ? "%.0f" : "%.2f",
                  i.bits_per_value);
    std::snprintf(pj, sizeof pj, "%.3f", mac.energy_pj);
    std::snprintf(area, sizeof area, "%.3f", mac.relative_area);
    t.add({i.name, bits, i.layout, num(i.max_finite), num(i.min_normal), num(i.min_subnormal),
           num(i.epsilon), with_commas(static_cast<int64_t>(i.finite_values)), pj,
           source == fn::CostSource::kSynthesized ? mac_area_text(f, source) : area});
  }
  std::printf("%s\n", t.str().c_str());
  std::printf(
      "MAC pJ: energy of one multiply and one add in the format (integer formats: int32 add), and\n"
      "MAC area relative to an fp32 MAC; 45 nm estimates calibrated on Horowitz, ISSCC 2014\n"
      "(areas second-hand, as reproduced by Dally, NIPS 2015 tutorial: compare ratios only).\n"
      "Block formats show the element; their range includes the shared scale 2^-127..2^127.\n");
  if (source == fn::CostSource::kSynthesized) {
    std::printf(
        "--cost synthesized: MAC area column from Yosys synthesis of frugal hw's operators\n"
        "(relative to the synthesized fp32 multiply + add; '-' where not measured).\n");
    print_synthesized_comparison();
  }
}

double parse_value(const std::string& text) {
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (text.empty() || end != text.c_str() + text.size())
    throw UserError("--round: '" + text + "' is not a number");
  return v;
}

void round_values(const fn::NumberFormat& f, const std::vector<std::string>& texts, uint64_t seed,
                  bool json, nlohmann::json& out) {
  const fn::NumberFormat e = f.element();
  const int bits = fn::code_bits(e);
  nlohmann::json jf = {{"format", fn::to_string(f)},
                       {"layout", fn::describe(f).layout},
                       {"values", nlohmann::json::array()}};
  if (!json) {
    std::printf("%s (%s)%s\n", fn::to_string(f).c_str(), fn::describe(f).layout.c_str(),
                f.block ? ": element rounding, shared scale 1" : "");
  }
  for (const std::string& text : texts) {
    const double v = parse_value(text);
    nlohmann::json jv = {
        {"input", text}, {"value", json_num(v)}, {"modes", nlohmann::json::array()}};
    Table t({"mode", "value", "bits", "hex", "error", "note"});
    for (fn::RoundingMode m : fn::all_rounding_modes()) {
      const fn::Rounding r{m, seed, 32};
      const double q = fn::round_value(v, e, r);
      uint32_t code = 0;
      const std::string b = bit_string(e, q, code);
      const double err = q - v;
      std::string note;
      double p_up = std::nan("");
      if (m == fn::RoundingMode::kStochastic) {
        const double lo = fn::round_value(v, e, fn::Rounding::of(fn::RoundingMode::kDown));
        const double hi = fn::round_value(v, e, fn::Rounding::of(fn::RoundingMode::kUp));
        if (std::isfinite(lo) && std::isfinite(hi) && hi > lo) {
          p_up = (v - lo) / (hi - lo);
          note = "P(" + num(hi) + ") = " + num(p_up) + ", seed " + std::to_string(seed);
        }
      }
      nlohmann::json jm = {{"mode", std::string(fn::rounding_mode_name(m))},
                           {"value", json_num(q)},
                           {"error", json_num(err)}};
      if (!b.empty()) {
        jm["bits"] = b;
        jm["code"] = code;
      }
      if (!std::isnan(p_up)) jm["p_up"] = p_up;
      jv["modes"].push_back(jm);
      t.add({std::string(fn::rounding_mode_name(m)), value_text(q), b.empty() ? "(no code)" : b,
             b.empty() ? "-" : hex_code(code, bits), std::isfinite(err) ? num(err) : "-", note});
    }
    jf["values"].push_back(jv);
    if (!json) std::printf("\n%s = %s\n%s\n", text.c_str(), value_text(v).c_str(), t.str().c_str());
  }
  out.push_back(jf);
}

void run_formats(const FormatsArgs& a) {
  const fn::CostSource source = fn::parse_cost_source(a.cost);
  std::vector<std::pair<fn::NumberFormat, std::string>> formats;
  if (a.names.empty()) {
    if (!a.values.empty())
      throw UserError("--round: name a format first, e.g. frugal formats e4m3 --round 0.3");
    for (const auto& p : fn::format_presets()) formats.emplace_back(p.format, p.description);
  } else {
    for (const auto& n : a.names) formats.emplace_back(fn::parse_format(n), "");
  }
  if (a.values.empty()) {
    list_formats(formats, a.json, source);
    return;
  }
  for (const auto& v : a.values) parse_value(v);  // report a bad value before any output
  nlohmann::json out = nlohmann::json::array();
  for (const auto& [f, d] : formats) round_values(f, a.values, a.seed, a.json, out);
  if (a.json) print_json({{"rounding", out}});
}

void setup(CLI::App& app) {
  auto a = std::make_shared<FormatsArgs>();
  auto* sub = app.add_subcommand("formats", "List number formats, or round values in one");
  sub->footer(
      std::string("Examples:\n  frugal formats\n  frugal formats e4m3 --round 0.3 1e6 -1e-3\n"
                  "  frugal formats e5m2 fixed4.4 int8:scale=0.1 --json\n"
                  "Format names (") +
      std::string(fn::format_grammar()) + ")");
  sub->add_option("name", a->names, "format names (default: every preset)");
  sub->add_option("--round", a->values, "values to round under every rounding mode")
      ->expected(1, -1);
  sub->add_option("--seed", a->seed, "seed of the stochastic rounding shown (default 0)");
  sub->add_option("--cost", a->cost,
                  "MAC area source: horowitz (scaled estimate, default) or synthesized "
                  "(frugal hw, Yosys)");
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a] { run_formats(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(formats, 80, setup);

}  // namespace frugal::cli
