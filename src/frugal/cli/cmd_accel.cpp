// frugal accel MODEL --arch PRESET|FILE: energy and time of a model on a modeled accelerator
// (analytical model: src/frugal/accel, docs/accel.md). Parses, calls the library, prints.
#include <cstdio>
#include <memory>
#include <string>

#include "frugal/accel/estimate.h"
#include "frugal/cli/command.h"
#include "frugal/cli/common.h"
#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"

namespace frugal::cli {
namespace {

namespace fa = frugal::accel;

struct AccelArgs {
  std::string model, arch, dataflow, format, objective = "energy", cost = "horowitz";
  int64_t batch = 1, max_evaluations = 30000;
  uint64_t seed = 1;
  double time_limit = 10;
  bool equal_storage = false, mappings = false, tech = false, json = false;
};

std::string fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", digits, v);
  return buf;
}

std::string shape_text(const fa::Dims& b) {
  std::string s;
  for (int d = 0; d < fa::kDims; ++d)
    if (b[d] > 1) s += (s.empty() ? "" : " ") + std::string(fa::dim_name(d)) + std::to_string(b[d]);
  return s;
}

nlohmann::json levels_json(const std::array<double, fa::kLevels>& v, double scale) {
  nlohmann::json j;
  for (int l = 0; l < fa::kLevels; ++l) j[fa::level_name(l)] = v[l] * scale;
  return j;
}

nlohmann::json layer_json(const fa::LayerEstimate& l) {
  const fa::Cost& c = l.map.cost;
  nlohmann::json words;
  for (int x = 0; x < fa::kOperands; ++x) {
    nlohmann::json w;
    for (int lv = fa::kDram; lv <= fa::kRf; ++lv) w[fa::level_name(lv)] = c.words[x][lv];
    words[fa::operand_name(x)] = w;
  }
  nlohmann::json bounds;
  for (int d = 0; d < fa::kDims; ++d) bounds[fa::dim_name(d)] = l.bounds[d];
  return {{"node", l.node},
          {"op", l.op},
          {"dims", bounds},
          {"dataflow", fa::to_string(l.dataflow)},
          {"weight_density", l.weight_density},
          {"macs", c.macs},
          {"utilization", c.utilization},
          {"cycles", c.cycles},
          {"compute_cycles", c.compute_cycles},
          {"seconds", l.seconds},
          {"energy_pj", levels_json(c.energy_pj, 1)},
          {"total_pj", c.total_pj},
          {"accesses_words", words},
          {"mapping", l.map.mapping.str()},
          {"search",
           {{"space", l.map.space},
            {"evaluated", l.map.evaluated},
            {"exhaustive", l.map.exhaustive},
            {"timed_out", l.map.timed_out}}}};
}

void print_json_estimate(const fa::ModelEstimate& m, const AccelArgs& a) {
  nlohmann::json layers = nlohmann::json::array();
  for (const auto& l : m.layers) layers.push_back(layer_json(l));
  print_json({{"estimate", "analytical model"},
              {"model", a.model},
              {"arch", m.arch},
              {"formats", m.formats},
              {"objective", fa::to_string(m.objective)},
              {"batch", m.batch},
              {"layers", layers},
              {"skipped", m.skipped},
              {"totals",
               {{"macs", m.macs},
                {"dense_macs", m.dense_macs},
                {"weight_density", m.weight_density},
                {"cycles", m.cycles},
                {"seconds", m.seconds},
                {"energy_pj", levels_json(m.energy_pj, 1)},
                {"total_pj", m.total_pj},
                {"joules_per_inference", m.total_pj * 1e-12 / double(m.batch)}}}});
}

void print_text(const fa::ModelEstimate& m, const AccelArgs& a) {
  std::printf("%s on %s, formats %s, objective %s, batch %lld: estimated (analytical model)\n",
              a.model.c_str(), m.arch.c_str(), m.formats.c_str(),
              fa::to_string(m.objective).c_str(), static_cast<long long>(m.batch));
  Table t({"layer", "op", "dims", "flow", "MACs", "density", "util", "cycles", "DRAM uJ", "GLB uJ",
           "NoC uJ", "RF uJ", "MAC uJ", "total uJ"});
  for (const auto& l : m.layers) {
    const fa::Cost& c = l.map.cost;
    std::vector<std::string> row = {l.node,
                                    l.op,
                                    shape_text(l.bounds),
                                    fa::to_string(l.dataflow),
                                    si(c.macs),
                                    fixed(l.weight_density, 2),
                                    fixed(100 * c.utilization, 1) + "%",
                                    si(c.cycles)};
    for (int lv = 0; lv < fa::kLevels; ++lv) row.push_back(fixed(c.energy_pj[lv] * 1e-6, 3));
    row.push_back(fixed(c.total_pj * 1e-6, 3));
    t.add(row);
  }
  std::printf("%s\n", t.str().c_str());
  if (a.mappings)
    for (const auto& l : m.layers)
      std::printf("  %s: %s%s\n", l.node.c_str(), l.map.mapping.str().c_str(),
                  l.map.exhaustive ? " (exhaustive)" : " (sampled and refined)");
  for (const auto& s : m.skipped) std::printf("not modeled: %s\n", s.c_str());
  std::printf(
      "total (estimated, analytical model): %s MACs, %s cycles, %.3f ms, %.3f uJ per inference"
      " (DRAM %.1f%%, GLB %.1f%%, NoC %.1f%%, RF %.1f%%, MAC %.1f%%)\n",
      si(m.macs).c_str(), si(m.cycles).c_str(), m.seconds * 1e3,
      m.total_pj * 1e-6 / double(m.batch), 100 * m.energy_pj[0] / m.total_pj,
      100 * m.energy_pj[1] / m.total_pj, 100 * m.energy_pj[2] / m.total_pj,
      100 * m.energy_pj[3] / m.total_pj, 100 * m.energy_pj[4] / m.total_pj);
}

void print_tech(const fa::Architecture& arch, const fa::EstimateOptions& o) {
  Table t({"quantity", "value", "unit", "source"});
  for (const auto& r : fa::technology_table(arch, o.formats, o.cost))
    t.add({r.quantity, fixed(r.value, 4), r.unit, r.source});
  std::printf("%s\n", t.str().c_str());
}

void run_accel(const AccelArgs& a) {
  if (a.batch < 1) throw UserError("--batch: must be at least 1");
  if (a.max_evaluations < 27) throw UserError("--max-evals: must be at least 27");
  if (!(a.time_limit > 0)) throw UserError("--time-limit: must be positive");
  fa::EstimateOptions o;
  if (a.dataflow == "best")
    o.best_dataflow = true;
  else if (!a.dataflow.empty())
    o.dataflow = fa::parse_dataflow(a.dataflow, "--dataflow");
  o.formats = numeric::parse_format_spec(a.format);
  o.cost = numeric::parse_cost_source(a.cost);
  o.mapper.objective = fa::parse_objective(a.objective, "--objective");
  o.mapper.seed = a.seed;
  o.mapper.max_evaluations = a.max_evaluations;
  o.mapper.time_limit_s = a.time_limit;
  o.batch = a.batch;
  o.equal_storage = a.equal_storage;
  const fa::Architecture arch = fa::load_architecture(a.arch);
  fa::price(arch, o.formats, o.cost);
  const ir::Graph g = ir::load_onnx(a.model);
  const fa::ModelEstimate m = fa::estimate_model(g, arch, o);
  if (a.json) return print_json_estimate(m, a);
  if (a.tech) print_tech(arch, o);
  print_text(m, a);
}

void setup(CLI::App& app) {
  auto a = std::make_shared<AccelArgs>();
  auto* sub = app.add_subcommand("accel", "Estimate energy and time on a modeled accelerator");
  std::string presets;
  for (const auto& p : fa::arch_presets()) presets += "  " + p.name + ": " + p.description + "\n";
  sub->footer(
      "Examples:\n  frugal accel resnet18.onnx --arch eyeriss\n"
      "  frugal accel lenet5.onnx --arch tpu --format w=int8,a=int8,acc=fixed24.0 --dataflow best\n"
      "  frugal accel pruned.onnx --arch eie --format w=int4,a=int8,acc=fixed24.0 --json\n"
      "Presets (or a YAML file, docs/accel.md):\n" +
      presets + "All figures are estimates of an analytical model.");
  sub->add_option("model", a->model, "ONNX model file")->required();
  sub->add_option("--arch", a->arch, "preset name or architecture YAML file")->required();
  sub->add_option("--dataflow", a->dataflow,
                  "ws, os, rs, nlr or best (default: the architecture's)");
  sub->add_option("--format", a->format, "w=FMT,a=FMT,acc=FMT as for the emulator (default fp32)");
  sub->add_option("--cost", a->cost,
                  "MAC energy: horowitz (scaled 45 nm figures) or synthesized (frugal hw's "
                  "Yosys areas, energy taken proportional to area)");
  sub->add_option("--objective", a->objective, "what the mapper minimizes: energy, delay or edp");
  sub->add_option("--batch", a->batch, "inputs per inference (default 1)");
  sub->add_option("--seed", a->seed, "seed of the mapper's sampling (default 1)");
  sub->add_option("--max-evals", a->max_evaluations,
                  "mappings evaluated per layer before sampling");
  sub->add_option("--time-limit", a->time_limit,
                  "seconds of search per layer and dataflow (default 10)");
  sub->add_flag("--equal-storage", a->equal_storage,
                "give each dataflow the RF bytes it does not use as buffer (Eyeriss's equal area)");
  sub->add_flag("--mappings", a->mappings, "print each layer's mapping");
  sub->add_flag("--tech", a->tech,
                "print the technology table (energy per access and its sources)");
  sub->add_flag("--json", a->json, "machine-readable output");
  sub->callback([a] { run_accel(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(accel, 66, setup);

}  // namespace frugal::cli
