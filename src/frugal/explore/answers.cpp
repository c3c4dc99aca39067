#include "frugal/explore/answers.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <set>

#include "frugal/core/error.h"
#include "frugal/explore/svg_plot.h"
#include "frugal/kernels/backend.h"

namespace frugal::explore {
namespace {

using Rows = std::vector<const RecordRow*>;

std::string text(const nlohmann::json& j, const char* pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  if (!j.contains(p) || j.at(p).is_null()) return "";
  const auto& v = j.at(p);
  return v.is_string() ? v.get<std::string>() : v.dump();
}

std::string num(std::optional<double> v, const char* format = "%.3g") {
  if (!v || !std::isfinite(*v)) return "-";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

std::string percent(std::optional<double> top1) {
  return top1 ? num(*top1 * 100, "%.2f") + " %" : "no accuracy";
}

std::string ratio(std::optional<double> a, std::optional<double> b) {
  if (!a || !b || *b <= 0) return "";
  return " (" + num(*a / *b, "%.2g") + "×)";
}

std::string model_of(const RecordRow& r) {
  return text(r.spec, "/model/label");
}
std::string transform_of(const RecordRow& r) {
  return text(r.spec, "/transform/label");
}
// The backend that runs first in the point's preference list ("cpu,ref" -> "cpu").
std::string device_of(const RecordRow& r) {
  std::string b = text(r.spec, "/backend");
  return b.substr(0, b.find(','));
}
// Where a row ran, by its first backend's traits: a GPU (a backend `auto` ranks before the
// CPU's, on a machine whose Record names a GPU) or the host CPU (the CPU backend and those
// after it). Emulators and backends this build does not know are neither.
enum class Where { kHost, kGpu, kOther };
Where where_of(const RecordRow& r) {
  try {
    const int cpu = kernels::backend_traits("cpu").auto_rank;
    const int rank = kernels::backend_traits(device_of(r)).auto_rank;
    const auto gpu = nlohmann::json::json_pointer("/where/gpu");
    if (rank >= 0 && rank < cpu)
      return r.record.contains(gpu) && !r.record.at(gpu).is_null() ? Where::kGpu : Where::kOther;
    return rank >= cpu ? Where::kHost : Where::kOther;
  } catch (const UserError&) {
    return Where::kOther;
  }
}
int64_t batch_of(const RecordRow& r) {
  return r.spec.value("batch", int64_t{1});
}
bool is_training(const RecordRow& r) {
  return r.spec.contains("train");
}
bool has_accuracy_data(const RecordRow& r) {
  return !text(r.spec, "/model/data").empty();
}
// A training point's format (as the spec wrote it) and its accumulator when not fp32.
std::string train_format(const RecordRow& r) {
  std::string f = text(r.spec, "/format");
  std::string acc = text(r.spec, "/train/accumulator");
  return (f.empty() ? "fp32" : f) + (acc.empty() || acc == "fp32" ? "" : " acc " + acc);
}
// The cost model's figure per training MAC in the point's Record (an estimate).
std::optional<double> mac_figure(const RecordRow& r, const char* field) {
  auto p = nlohmann::json::json_pointer(std::string("/results/training/mac_cost/") + field);
  if (!r.record.contains(p) || !r.record.at(p).is_number()) return std::nullopt;
  return r.record.at(p).get<double>();
}

std::string configuration(const RecordRow& r) {
  std::string c = transform_of(r) + ", " + device_of(r) + " " + text(r.spec, "/precision");
  if (!text(r.spec, "/format").empty()) c += " " + text(r.spec, "/format");
  c += ", " + text(r.spec, "/threads") + " thread" + (text(r.spec, "/threads") == "1" ? "" : "s");
  if (batch_of(r) > 1) c += ", batch " + std::to_string(batch_of(r));
  return c;
}

// How the row's figures were obtained: simulated pipelines and modeled energy are estimates.
std::string basis(const RecordRow& r) {
  if (r.estimate) return "estimated (simulated)";
  if (r.energy_kind == "estimated") return "measured; energy estimated";
  return "measured";
}

std::string accuracy_cell(const RecordRow& r) {
  if (r.top1) return percent(r.top1);
  return has_accuracy_data(r) ? "-" : "random weights: no accuracy";
}

// The fastest row at batch 1 among those within the tolerance of the best top-1 (all rows
// when none has an accuracy); nullptr when none has a latency.
const RecordRow* best_of(const Rows& rows) {
  std::optional<double> best_top1;
  for (const auto* r : rows)
    if (r->top1) best_top1 = std::max(best_top1.value_or(0), *r->top1);
  const RecordRow* best = nullptr;
  for (const auto* r : rows) {
    if (!r->latency_p50_ms || batch_of(*r) != 1) continue;
    if (best_top1 && (!r->top1 || *r->top1 < *best_top1 - kAnswerAccuracyTolerance)) continue;
    if (!best || *r->latency_p50_ms < *best->latency_p50_ms) best = r;
  }
  return best;
}

// Single-device inference rows (no pipelines, no training points), grouped by model.
std::map<std::string, Rows> by_model(const std::vector<RecordRow>& rows) {
  std::map<std::string, Rows> m;
  for (const auto& r : rows)
    if (!is_training(r) && r.devices.empty()) m[model_of(r)].push_back(&r);
  return m;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string s;
  for (const auto& p : parts) s += (s.empty() ? "" : sep) + p;
  return s;
}

Answer gpu_answer(const std::vector<RecordRow>& rows) {
  Answer a{.id = "gpu",
           .question = "Is a GPU still needed once the network is pruned and quantized?",
           .sentence = {},
           .header = {"model", "device", "best configuration", "top-1", "p50 ms", "samples/s",
                      "J/inference", "figures"},
           .rows = {}};
  size_t models = 0, gpu_models = 0;
  std::vector<std::string> cpu_wins, gpu_wins;
  for (const auto& [model, group] : by_model(rows)) {
    Rows cpu, gpu;
    for (const auto* r : group) {
      if (where_of(*r) == Where::kHost) cpu.push_back(r);
      if (where_of(*r) == Where::kGpu) gpu.push_back(r);
    }
    const RecordRow* c = best_of(cpu);
    const RecordRow* g = best_of(gpu);
    if (!c && !g) continue;
    ++models;
    for (const auto* r : {c, g})
      if (r)
        a.rows.push_back({model, device_of(*r), configuration(*r), accuracy_cell(*r),
                          num(r->latency_p50_ms), num(r->samples_per_s),
                          num(r->joules_per_inference), basis(*r)});
    if (!g || !c) continue;
    ++gpu_models;
    (*c->latency_p50_ms <= *g->latency_p50_ms ? cpu_wins : gpu_wins).push_back(model);
  }
  if (models == 0) {
    a.sentence = "No CPU or GPU row with a latency was measured: no answer from these rows.";
  } else if (gpu_models == 0) {
    a.sentence =
        "No GPU on this machine (no GPU row was measured): the table gives each model's best "
        "CPU configuration, the fastest at batch 1 within 1 top-1 point of the model's best.";
  } else {
    a.sentence =
        "At batch 1, within 1 top-1 point of each model's best, the best CPU "
        "configuration is as fast as or faster than the best GPU one for " +
        std::to_string(cpu_wins.size()) + " of " + std::to_string(gpu_models) + " models" +
        (cpu_wins.empty() ? "" : " (" + join(cpu_wins, ", ") + ")") +
        (gpu_wins.empty() ? "" : "; the GPU is faster for " + join(gpu_wins, ", ")) + ".";
  }
  return a;
}

// Same engine, threads and batch: the uncompressed row a compressed one is held against.
std::string engine_key(const RecordRow& r) {
  return device_of(r) + "|" + text(r.spec, "/threads") + "|" + std::to_string(batch_of(r));
}

Answer compression_answer(const std::vector<RecordRow>& rows) {
  Answer a{.id = "compression",
           .question = "What does each compression cost and buy?",
           .sentence = {},
           .header = {"model", "compression", "configuration", "top-1 (change)",
                      "size bytes (× uncompressed)", "p50 ms (×)", "J/inference (×)", "figures"},
           .rows = {}};
  std::vector<std::string> picks;
  size_t compared = 0;
  for (const auto& [model, group] : by_model(rows)) {
    // The uncompressed model in fp32, per engine.
    std::map<std::string, const RecordRow*> base;
    for (const auto* r : group)
      if (transform_of(*r) == "none" && text(r->spec, "/precision") == "fp32" &&
          batch_of(*r) == 1 && r->latency_p50_ms)
        base[engine_key(*r)] = r;
    // Per compression, its fastest row that has an uncompressed row on the same engine.
    std::map<std::string, std::pair<const RecordRow*, const RecordRow*>> chosen;
    for (const auto* r : group) {
      if (transform_of(*r) == "none" || !r->latency_p50_ms || batch_of(*r) != 1) continue;
      auto b = base.find(engine_key(*r));
      if (b == base.end()) continue;
      auto& c = chosen[transform_of(*r)];
      if (!c.first || *r->latency_p50_ms < *c.first->latency_p50_ms) c = {r, b->second};
    }
    const RecordRow* smallest = nullptr;
    const RecordRow* smallest_base = nullptr;
    for (const auto& [name, pair] : chosen) {
      const auto& [r, b] = pair;
      ++compared;
      std::string acc = accuracy_cell(*r);
      if (r->top1 && b->top1) acc += " (" + num((*r->top1 - *b->top1) * 100, "%+.2f") + " pts)";
      a.rows.push_back(
          {model, name, configuration(*r), acc,
           num(r->model_bytes, "%.0f") + ratio(r->model_bytes, b->model_bytes),
           num(r->latency_p50_ms) + ratio(r->latency_p50_ms, b->latency_p50_ms),
           num(r->joules_per_inference) + ratio(r->joules_per_inference, b->joules_per_inference),
           basis(*r)});
      bool kept = !r->top1 || !b->top1 || *r->top1 >= *b->top1 - kAnswerAccuracyTolerance;
      if (kept && r->model_bytes && (!smallest || *r->model_bytes < *smallest->model_bytes)) {
        smallest = r;
        smallest_base = b;
      }
    }
    if (smallest && smallest->top1)
      picks.push_back(
          model + " " + transform_of(*smallest) + " (" +
          num(*smallest_base->model_bytes / *smallest->model_bytes, "%.2g") + "× smaller, " +
          num((*smallest->top1 - smallest_base->top1.value_or(*smallest->top1)) * 100, "%+.2f") +
          " top-1 points, latency ×" +
          num(*smallest->latency_p50_ms / *smallest_base->latency_p50_ms, "%.2g") + ")");
  }
  if (compared == 0)
    a.sentence =
        "No compressed model was measured beside its uncompressed fp32 form on the same "
        "engine: no answer from these rows.";
  else if (picks.empty())
    a.sentence =
        "No measured model has an accuracy, so the table gives what each compression "
        "does to size, latency and energy only (ratios against the uncompressed fp32 "
        "model on the same engine).";
  else
    a.sentence = "Within 1 top-1 point of the uncompressed model, the smallest encoding is " +
                 join(picks, "; ") +
                 "; the table gives every compression against the uncompressed fp32 model on the "
                 "same engine.";
  return a;
}

Answer pipeline_answer(const std::vector<RecordRow>& rows) {
  Answer a{.id = "pipeline",
           .question = "How many devices should a model be pipelined over?",
           .sentence = {},
           .header = {"model", "devices", "K", "samples/s", "J/inference", "figures"},
           .rows = {}};
  // A line per model, compression, devices, partition and engine, its points by K.
  std::map<std::string, std::map<int64_t, const RecordRow*>> lines;
  for (const auto& r : rows)
    if (!r.devices.empty() && !is_training(r) && r.samples_per_s)
      lines[model_of(r) + "|" + transform_of(r) + "|" + r.devices + "|" + r.partition + "|" +
            text(r.spec, "/precision")][r.stages] = &r;
  std::vector<std::string> findings;
  for (const auto& [line, by_k] : lines) {
    const RecordRow* fastest = nullptr;
    const RecordRow* thriftiest = nullptr;
    for (const auto& [k, r] : by_k) {
      a.rows.push_back({model_of(*r) + (transform_of(*r) == "none" ? "" : " " + transform_of(*r)),
                        r->devices + " (" + r->partition + ", " + text(r->spec, "/precision") + ")",
                        std::to_string(k), num(r->samples_per_s), num(r->joules_per_inference),
                        basis(*r)});
      if (!fastest || *r->samples_per_s > *fastest->samples_per_s) fastest = r;
      if (r->joules_per_inference &&
          (!thriftiest || *r->joules_per_inference < *thriftiest->joules_per_inference))
        thriftiest = r;
    }
    if (by_k.size() < 2) continue;
    // Each figure says how it was obtained: measured pipelines often carry modeled energy.
    std::string speed = fastest->estimate ? "estimated" : "measured";
    std::string energy =
        thriftiest && (thriftiest->estimate || thriftiest->energy_kind == "estimated") ? "estimated"
                                                                                       : "measured";
    std::string f = model_of(*fastest) + " on " + fastest->devices +
                    ": K=" + std::to_string(fastest->stages) + " for throughput";
    if (thriftiest && energy != speed) f += " (" + speed + ")";
    if (thriftiest) f += ", K=" + std::to_string(thriftiest->stages) + " for energy";
    findings.push_back(f + " (" + (thriftiest ? energy : speed) + ")");
  }
  if (lines.empty())
    a.sentence = "No pipeline point was measured: no answer from these rows.";
  else if (findings.empty())
    a.sentence = "Each pipeline was measured at one K only: no comparison across K.";
  else
    a.sentence = "The best number of stages is " + join(findings, "; ") + ".";
  return a;
}

Answer training_answer(const std::vector<RecordRow>& rows) {
  Answer a{.id = "training",
           .question = "Which number format trains this network, and what does a MAC cost in it?",
           .sentence = {},
           .header = {"model", "training format", "rounding", "top-1", "pJ/MAC", "area vs fp32 MAC",
                      "figures"},
           .rows = {}};
  struct Row {
    const RecordRow* r;
    std::optional<double> pj, area;
  };
  std::vector<Row> points;
  for (const auto& r : rows)
    if (is_training(r))
      points.push_back({&r, mac_figure(r, "energy_pj"), mac_figure(r, "relative_area")});
  std::sort(points.begin(), points.end(), [](const Row& x, const Row& y) {
    return x.r->top1.value_or(-1) > y.r->top1.value_or(-1);
  });
  for (const auto& p : points) {
    a.rows.push_back({model_of(*p.r), train_format(*p.r),
                      text(p.r->spec, "/train/rounding").empty()
                          ? "nearest"
                          : text(p.r->spec, "/train/rounding"),
                      percent(p.r->top1), num(p.pj), num(p.area, "%.2f"),
                      "top-1 measured; pJ/MAC and area estimated (cost model)"});
  }
  if (points.empty() || !points.front().r->top1) {
    a.sentence =
        "No training point in this store (sweep `train:` entries, docs/sweep.md): no "
        "answer from these rows.";
    return a;
  }
  const Row& best = points.front();
  const Row* cheapest = nullptr;
  for (const auto& p : points)
    if (p.pj && p.r->top1 && *p.r->top1 >= *best.r->top1 - kAnswerAccuracyTolerance &&
        (!cheapest || *p.pj < *cheapest->pj))
      cheapest = &p;
  if (!cheapest) {
    a.sentence = "The best top-1 is " + percent(best.r->top1) +
                 "; no training format near it has a cost-model figure.";
    return a;
  }
  a.sentence = "The best top-1 is " + percent(best.r->top1) + " (" + train_format(*best.r) +
               "); within 1 point of it the cheapest MAC is " + train_format(*cheapest->r) +
               " at " + num(cheapest->pj) + " pJ (estimate, cost model).";
  return a;
}

}  // namespace

std::vector<Answer> study_answers(const std::vector<RecordRow>& rows) {
  return {gpu_answer(rows), compression_answer(rows), pipeline_answer(rows), training_answer(rows)};
}

std::string render_answers_html(const std::vector<Answer>& answers) {
  std::string h =
      "<section id=\"answers\"><h2>Answers</h2>\n<p>From the measured rows of this store only; "
      "the last column of each table says which figures were measured and which estimated.</p>\n";
  for (const auto& a : answers) {
    h += "<div class=\"answer\" id=\"answer-" + a.id + "\"><h3>" + html_escape(a.question) +
         "</h3>\n<p class=\"sentence\">" + html_escape(a.sentence) + "</p>\n";
    if (!a.rows.empty()) {
      h += "<table class=\"answer-table\"><thead><tr>";
      for (const auto& c : a.header) h += "<th class=\"t\">" + html_escape(c) + "</th>";
      h += "</tr></thead><tbody>\n";
      for (const auto& row : a.rows) {
        h += "<tr>";
        for (size_t c = 0; c < row.size(); ++c) {
          bool est = c + 1 == row.size() && row[c].find("estimated") != std::string::npos;
          h += std::string("<td class=\"t") +
               (c + 1 == row.size() ? est ? " estimated" : " measured" : "") + "\">" +
               html_escape(row[c]) + "</td>";
        }
        h += "</tr>\n";
      }
      h += "</tbody></table>\n";
    }
    h += "</div>\n";
  }
  return h + "</section>\n";
}

std::string render_answers_text(const std::vector<Answer>& answers) {
  std::string out;
  for (const auto& a : answers) {
    out += a.question + "\n  " + a.sentence + "\n";
    std::vector<std::vector<std::string>> table{a.header};
    table.insert(table.end(), a.rows.begin(), a.rows.end());
    std::vector<size_t> width(a.header.size(), 0);
    if (!a.rows.empty())
      for (const auto& r : table)
        for (size_t c = 0; c < r.size() && c < width.size(); ++c)
          width[c] = std::max(width[c], r[c].size());
    for (size_t i = 0; !a.rows.empty() && i < table.size(); ++i) {
      std::string line = "   ";
      for (size_t c = 0; c < table[i].size() && c < width.size(); ++c)
        line += " " + table[i][c] + std::string(width[c] - table[i][c].size(), ' ');
      while (!line.empty() && line.back() == ' ') line.pop_back();
      out += line + "\n";
    }
    out += "\n";
  }
  return out;
}

}  // namespace frugal::explore
