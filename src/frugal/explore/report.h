// The sweep report: one self-contained HTML file (inline SVG figures, inline CSS and a
// few lines of JS for sortable tables; nothing fetched), plus CSV and JSON exports.
#pragma once

#include <string>
#include <vector>

#include "frugal/explore/store.h"

namespace frugal::explore {

struct ReportInput {
  std::string title;        // the store's name
  std::vector<PointRow> points;
  std::vector<RecordRow> records;
};

ReportInput load_report_input(const Store& store);

struct ReportOptions {
  std::vector<std::string> profile_keys;  // points whose per-layer times are shown (default: front ones)
  int profile_rows = 15;
};

std::string render_report_html(const ReportInput& input, const ReportOptions& options = {});
// One row per point (failed ones too), columns of docs/report.md.
std::string render_report_csv(const ReportInput& input);
// {"points": [{key, spec, status, ..., record}]}.
std::string render_report_json(const ReportInput& input);

// The Pareto-optimal rows over `metric_names` ("acc,latency") as a plain text table, for
// the terminal; an empty front says why (no record has all the metrics).
std::string render_pareto_text(const std::vector<RecordRow>& rows, const std::string& metric_names);
// "acc,latency" when some record has an accuracy, else "latency,size".
std::string default_pareto_metrics(const std::vector<RecordRow>& rows);

// Writes text to a file; UserError naming it when it cannot (read-only, disk full).
void write_text_file(const std::string& path, const std::string& text);

}  // namespace frugal::explore
