// frugal report DB: the report of a results store (HTML, CSV, JSON) and its Pareto front.
#include <cstdio>

#include "frugal/cli/command.h"
#include "frugal/core/error.h"
#include "frugal/explore/report.h"
#include "frugal/explore/store.h"

namespace frugal::cli {
namespace {

struct ReportArgs {
  std::string db;
  std::string html, csv, json;
  std::string pareto;
  std::vector<std::string> profile_keys;
};

void run_report(const ReportArgs& a) {
  explore::Store store = explore::Store::open(a.db, explore::Store::Mode::read_only);
  explore::ReportInput in = explore::load_report_input(store);
  size_t failed = 0;
  for (const auto& p : in.points) failed += p.status != "ok";
  std::printf("%s: %zu points, %zu ok, %zu failed\n", a.db.c_str(), in.points.size(), in.points.size() - failed,
              failed);
  if (!a.html.empty()) {
    explore::ReportOptions ro;
    ro.profile_keys = a.profile_keys;
    explore::write_text_file(a.html, explore::render_report_html(in, ro));
    std::printf("report  %s\n", a.html.c_str());
  }
  if (!a.csv.empty()) {
    explore::write_text_file(a.csv, explore::render_report_csv(in));
    std::printf("csv     %s\n", a.csv.c_str());
  }
  if (!a.json.empty()) {
    explore::write_text_file(a.json, explore::render_report_json(in));
    std::printf("json    %s\n", a.json.c_str());
  }
  std::string metrics = a.pareto.empty() ? explore::default_pareto_metrics(in.records) : a.pareto;
  std::printf("%s", explore::render_pareto_text(in.records, metrics).c_str());
}

void setup(CLI::App& app) {
  auto a = std::make_shared<ReportArgs>();
  auto* sub = app.add_subcommand("report", "Report a sweep's results: HTML with plots, CSV, JSON, Pareto front");
  sub->footer(
      "Metrics for --pareto: acc (max), latency (min), energy (min), size (min), throughput (max), "
      "memory (min). See docs/report.md.\n"
      "Examples:\n"
      "  frugal report study.sqlite -o report.html\n"
      "  frugal report study.sqlite --pareto acc,latency\n"
      "  frugal report study.sqlite --pareto acc,energy,size --csv points.csv --json points.json");
  sub->add_option("db", a->db, "results store written by frugal sweep")->required();
  sub->add_option("-o,--output", a->html, "write the HTML report here");
  sub->add_option("--csv", a->csv, "write one CSV row per point here");
  sub->add_option("--json", a->json, "write every point and its Record here (JSON)");
  sub->add_option("--pareto", a->pareto, "print the Pareto front over these metrics (default acc,latency)");
  sub->add_option("--profile", a->profile_keys, "point keys whose per-layer times the report shows");
  sub->callback([a] { run_report(*a); });
}

}  // namespace

FRUGAL_REGISTER_COMMAND(report, 64, setup);

}  // namespace frugal::cli
