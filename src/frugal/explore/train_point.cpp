#include "frugal/explore/train_point.h"

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/measure/record.h"
#include "frugal/measure/sha256.h"
#include "frugal/measure/sysinfo.h"
#include "frugal/numeric/cost_model.h"
#include "frugal/train/precision.h"

namespace frugal::explore {

std::vector<std::string> train_argv(const Point& p, const std::string& exe,
                                    const std::string& model_path, const std::string& out) {
  const TrainSettings& t = *p.train;
  std::vector<std::string> argv{exe, "train", model_path, "--data", p.model.data, "--json"};
  if (p.model.limit > 0) argv.insert(argv.end(), {"--limit", std::to_string(p.model.limit)});
  argv.insert(argv.end(),
              {"--epochs", std::to_string(t.epochs), "--batch", std::to_string(p.batch),
               "--threads", std::to_string(p.threads), "--seed", std::to_string(t.seed)});
  if (!t.optimizer.empty()) argv.insert(argv.end(), {"--optimizer", t.optimizer});
  if (!t.lr.empty()) argv.insert(argv.end(), {"--lr", t.lr});
  if (!t.momentum.empty()) argv.insert(argv.end(), {"--momentum", t.momentum});
  if (!t.weight_decay.empty()) argv.insert(argv.end(), {"--weight-decay", t.weight_decay});
  if (!p.format.empty()) argv.insert(argv.end(), {"--format", p.format});
  argv.insert(argv.end(), {"--rounding", t.rounding_spec});
  argv.insert(argv.end(), t.args.begin(), t.args.end());
  argv.insert(argv.end(), {"-o", out, "--checkpoint", out + ".ckpt"});
  return argv;
}

namespace {

using numeric::NumberFormat;

NumberFormat format_of(const train::PrecisionPolicy& policy, train::TensorClass c) {
  return policy.of(c).format.value_or(NumberFormat{});
}

// The multiplier of one GEMM must take the costlier of its two operand formats.
const NumberFormat& gemm_multiplier(const NumberFormat& x, const NumberFormat& y,
                                    const NumberFormat& acc) {
  return numeric::mac_cost(x, acc).energy_pj >= numeric::mac_cost(y, acc).energy_pj ? x : y;
}

numeric::OpCost gemm_mac(const NumberFormat& x, const NumberFormat& y, const NumberFormat& acc) {
  return numeric::mac_cost(gemm_multiplier(x, y, acc), acc);
}

// The area Yosys measured for frugal hw's MAC of each GEMM (docs/hw.md), the largest of the
// three (one unit serving all), in NanGate 45 nm um^2; null where the table lacks one.
nlohmann::json synthesized_unit_um2(const std::vector<const NumberFormat*>& multipliers,
                                    const NumberFormat& acc) {
  double nand2 = 0;
  for (const NumberFormat* m : multipliers) {
    const numeric::SynthesizedArea* row = numeric::find_synthesized_mac(*m, acc);
    if (!row) return nullptr;
    nand2 = std::max(nand2, row->nand2_area);
  }
  return nand2 * numeric::kNand2Um2;
}

nlohmann::json cost_json(const numeric::OpCost& c) {
  return {{"energy_pj", c.energy_pj}, {"area_um2", c.area_um2}, {"relative_area", c.relative_area}};
}

}  // namespace

nlohmann::json training_mac_cost(const std::string& policy_text) {
  using train::TensorClass;
  const auto policy = train::PrecisionPolicy::parse(policy_text, "", 0);
  const NumberFormat w = format_of(policy, TensorClass::kWeight),
                     a = format_of(policy, TensorClass::kActivation),
                     e = format_of(policy, TensorClass::kError);
  const NumberFormat acc = policy.accumulator() ? policy.accumulator()->format : NumberFormat{};
  const numeric::OpCost forward = gemm_mac(w, a, acc), data = gemm_mac(e, w, acc),
                        grad = gemm_mac(e, a, acc);
  numeric::OpCost unit;
  unit.energy_pj = (forward.energy_pj + data.energy_pj + grad.energy_pj) / 3;
  for (const auto* c : {&forward, &data, &grad}) {
    unit.area_um2 = std::max(unit.area_um2, c->area_um2);
    unit.relative_area = std::max(unit.relative_area, c->relative_area);
  }
  nlohmann::json j = cost_json(unit);
  j["kind"] = "estimated";
  j["source"] = "Horowitz ISSCC 2014, 45 nm (docs/cost-model.md)";
  j["forward"] = cost_json(forward);
  j["backward_data"] = cost_json(data);
  j["weight_gradient"] = cost_json(grad);
  j["accumulator"] = numeric::to_string(acc);
  j["synthesized_area_um2"] = synthesized_unit_um2(
      {&gemm_multiplier(w, a, acc), &gemm_multiplier(e, w, acc), &gemm_multiplier(e, a, acc)}, acc);
  j["synthesized_source"] =
      "Yosys synthesis of frugal hw's operators, NanGate 45 nm cell areas (docs/hw.md)";
  return j;
}

nlohmann::json train_record(const Point& p, const nlohmann::json& summary,
                            const std::string& model_path, double wall_s, std::time_t started) {
  if (!summary.is_object() || !summary.contains("epochs") || !summary["epochs"].is_array() ||
      summary["epochs"].empty())
    throw UserError("train --json printed no epochs");
  const nlohmann::json& last = summary["epochs"].back();
  measure::RecordWhat what;
  what.model = p.model.zoo.empty() ? p.model.file : p.model.zoo;
  what.model_digest = measure::sha256_file(model_path);
  what.backends = {"train"};
  what.precision = p.precision;
  const auto policy = train::PrecisionPolicy::parse(p.format, p.train->rounding_spec, 0);
  what.formats = {{"policy", p.format.empty() ? "fp32" : p.format},
                  {"rounding", p.train->rounding_spec},
                  {"describe", policy.describe()}};
  what.threads = static_cast<int>(p.threads);
  what.batch = p.batch;
  what.scenario = "train";
  what.data = p.model.data;

  nlohmann::json results{{"latency", nullptr},
                         {"throughput", nullptr},
                         {"memory", nullptr},
                         {"energy", nullptr},
                         {"accuracy", nullptr}};
  if (last.contains("test_accuracy"))
    results["accuracy"] = {{"top1", last["test_accuracy"]}, {"split", "test"}};
  results["training"] = {{"final_loss", last.value("train_loss", 0.0)},
                         {"train_accuracy", last.value("train_accuracy", 0.0)},
                         {"epochs", summary["epochs"]},
                         {"wall_s", wall_s},
                         {"schedule", p.train->schedule(p.model.limit)},
                         {"mac_cost", training_mac_cost(p.format)}};
  return measure::make_record(what, results,
                              measure::record_where(measure::describe_system(), started));
}

}  // namespace frugal::explore
