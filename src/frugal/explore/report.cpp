#include "frugal/explore/report.h"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>

#include "frugal/core/error.h"
#include "frugal/explore/answers.h"
#include "frugal/explore/pareto.h"
#include "frugal/explore/svg_plot.h"

namespace frugal::explore {
namespace {

std::string fmt(const std::optional<double>& v, const char* format = "%.4g") {
  if (!v) return "";
  char buf[64];
  std::snprintf(buf, sizeof buf, format, *v);
  return buf;
}

std::string str(const nlohmann::json& j, const char* pointer) {
  auto p = nlohmann::json::json_pointer(pointer);
  if (!j.contains(p)) return "";
  const auto& v = j.at(p);
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "";
  return v.dump();
}

// What a point is, for legends: everything but the model.
std::string family(const RecordRow& r) {
  std::string f = str(r.spec, "/backend") + " " + str(r.spec, "/precision");
  if (!str(r.spec, "/format").empty()) f += " " + str(r.spec, "/format");
  return f;
}

std::string tooltip(const RecordRow& r) {
  return r.key + "\nacc " + fmt(r.top1) + ", p50 " + fmt(r.latency_p50_ms) + " ms, " +
         fmt(r.joules_per_inference) + " J/inf, " + fmt(r.model_bytes, "%.0f") + " B";
}

struct FrontFigure {
  std::string id, x_metric, caption;
};

std::string energy_method(const std::vector<RecordRow>& rows) {
  std::set<std::string> kinds;
  for (const auto& r : rows)
    if (r.joules_per_inference)
      kinds.insert((r.energy_kind.empty() ? "unlabelled" : r.energy_kind) + " (" +
                   (r.energy_source.empty() ? "?" : r.energy_source) + ")");
  std::string s;
  for (const auto& k : kinds) s += (s.empty() ? "" : ", ") + k;
  return s.empty() ? "no energy figures in these records (run bench with --power)" : s;
}

std::string size_method(const std::vector<RecordRow>& rows) {
  bool encoded = false, weights = false, file = false;
  for (const auto& r : rows) {
    if (r.record.contains(nlohmann::json::json_pointer("/results/memory/encoded_bytes")) &&
        r.record.at(nlohmann::json::json_pointer("/results/memory/encoded_bytes")).is_number())
      encoded = true;
    else if (r.record.contains(nlohmann::json::json_pointer("/results/memory/weight_bytes")) &&
             r.record.at(nlohmann::json::json_pointer("/results/memory/weight_bytes")).is_number())
      weights = true;
    else if (r.model_bytes)
      file = true;
  }
  std::string s;
  if (encoded)
    s = "computed: encoded size, the weights as frugal compress would store them (sparse relative "
        "indices, "
        "codebooks, Huffman streams, int8/int4 values; bench results.memory.encoded_bytes)";
  if (weights)
    s += std::string(s.empty() ? "" : "; ") +
         "computed: bytes of the weights and constants as the session holds them, float32 as "
         "loaded, where the Record has no encoded size (bench results.memory.weight_bytes)";
  if (file)
    s += std::string(s.empty() ? "" : "; ") +
         "measured: ONNX file size where the Record has no weight bytes";
  return s.empty() ? "no size figures" : s;
}

std::string front_plot(const std::vector<RecordRow>& rows, const std::string& id,
                       const std::string& title, const Metric& x, const Metric& y, bool log_x,
                       bool hollow_estimates) {
  std::vector<size_t> front = pareto_rows(rows, {y, x});
  std::set<size_t> on(front.begin(), front.end());
  Plot plot;
  plot.id = id;
  plot.title = title;
  plot.x_label = x.label;
  plot.y_label = y.label;
  plot.log_x = log_x;
  std::map<std::string, size_t> series_of;
  for (size_t i = 0; i < rows.size(); ++i) {
    auto xv = x.value(rows[i]), yv = y.value(rows[i]);
    if (!xv || !yv) continue;
    std::string name = family(rows[i]);
    if (!series_of.count(name)) {
      series_of[name] = plot.series.size();
      plot.series.push_back({name, {}, false});
    }
    plot.series[series_of[name]].points.push_back(
        {*xv, *yv, tooltip(rows[i]), on.count(i) > 0,
         hollow_estimates && rows[i].energy_kind == "estimated"});
  }
  for (size_t i : front) plot.front.push_back({*x.value(rows[i]), *y.value(rows[i])});
  return render_svg(plot);
}

// Latency against one integer axis, a line per configuration that varies only along it.
std::string axis_plot(const std::vector<RecordRow>& rows, const std::string& axis,
                      const std::string& id) {
  std::map<std::string, PlotSeries> lines;
  for (const auto& r : rows) {
    if (!r.latency_p50_ms) continue;
    nlohmann::json rest = r.spec;
    for (const char* k : {"key", "settings", "model_path", "model_file_bytes"}) rest.erase(k);
    double x = rest.value(axis, 0.0);
    rest.erase(axis);
    std::string name = str(r.spec, "/model/label") + " " + family(r);
    std::string group = rest.dump();
    auto& s = lines[group];
    s.name = name;
    s.connect = true;
    s.points.push_back({x, *r.latency_p50_ms, tooltip(r), false, false});
  }
  Plot plot;
  plot.id = id;
  plot.title = "latency p50 vs " + axis;
  plot.x_label = axis;
  plot.y_label = "latency p50 (ms)";
  for (auto& [g, s] : lines) {
    std::set<double> xs;
    for (const auto& p : s.points) xs.insert(p.x);
    if (xs.size() >= 2) plot.series.push_back(s);
  }
  return render_svg(plot);
}

// A figure of pipeline points against K: a line per model, transform, partition method,
// devices and engine; predicted (simulated) points hollow, with "(estimate)" in the legend.
std::string stages_plot(const std::vector<RecordRow>& rows, const std::string& id,
                        const std::string& title, const std::string& y_label,
                        std::optional<double> (*value)(const RecordRow&)) {
  std::map<std::string, PlotSeries> lines;
  for (const auto& r : rows) {
    auto y = value(r);
    if (r.devices.empty() || !y) continue;
    const std::string transform = str(r.spec, "/transform/label");
    std::string group = str(r.spec, "/model/label") + " " + transform + " " + r.partition + " on " +
                        r.devices + ", " + family(r) + (r.estimate ? " (estimate)" : "");
    auto& s = lines[group];
    // Legends are short: model, transform unless none, method; the tooltip has the rest.
    s.name = str(r.spec, "/model/label") + (transform == "none" ? "" : " " + transform) + " " +
             r.partition;
    s.connect = true;
    s.points.push_back({static_cast<double>(r.stages), *y,
                        tooltip(r) + (r.estimate ? "\nestimate (simulated)" : ""), false,
                        r.estimate});
  }
  Plot plot;
  plot.id = id;
  plot.title = title + " (hollow: estimate)";
  plot.x_label = "pipeline stages K";
  plot.y_label = y_label;
  for (auto& [name, s] : lines) plot.series.push_back(s);
  return render_svg(plot);
}

const char* kStyle = R"css(
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}
figure{display:inline-block;margin:8px;vertical-align:top}figcaption{font-size:.85em;max-width:560px;color:#444}
.method{font-weight:bold}.measured{color:#1a6e1a}.estimated{color:#a05a00}
svg.plot text{font-size:11px}svg.plot .title{font-size:13px;font-weight:bold}
svg .frame{fill:none;stroke:#888}svg .grid{stroke:#eee}svg .front{fill:none;stroke:#000;stroke-dasharray:4 3;stroke-width:1.2}
table{border-collapse:collapse;font-size:.85em;margin:8px 0}th,td{border:1px solid #ddd;padding:3px 6px;text-align:right}
th{background:#f3f3f3;cursor:pointer;user-select:none}td.t,th.t{text-align:left}tr.front td{background:#fff7d6}
pre{background:#f6f6f6;padding:8px;font-size:.8em;white-space:pre-wrap}
.answer{margin:0 0 1.2em 0}.answer h3{font-size:1em;margin:.8em 0 .2em}.answer .sentence{margin:.2em 0}
td.measured{color:#1a6e1a}td.estimated{color:#a05a00}
)css";

const char* kScript = R"js(
(function(){
  var status=document.getElementById('report-status');
  try{
    function cell(tr,i){var c=tr.children[i];return c?c.textContent:'';}
    document.querySelectorAll('table.sortable').forEach(function(table){
      table.querySelectorAll('th').forEach(function(th,i){
        th.addEventListener('click',function(){
          var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
          var asc=th.getAttribute('data-dir')!=='asc';
          table.querySelectorAll('th').forEach(function(h){h.removeAttribute('data-dir');});
          th.setAttribute('data-dir',asc?'asc':'desc');
          rows.sort(function(a,b){
            var x=cell(a,i),y=cell(b,i),nx=parseFloat(x),ny=parseFloat(y);
            var r=(!isNaN(nx)&&!isNaN(ny))?nx-ny:(x===''?1:y===''?-1:x.localeCompare(y));
            return asc?r:-r;});
          rows.forEach(function(r){body.appendChild(r);});
        });
      });
    });
    var plots=document.querySelectorAll('svg.plot').length;
    var answers=document.querySelectorAll('#answers .answer').length;
    status.textContent='report-ok plots='+plots+' answers='+answers;
    status.setAttribute('data-ok','1');
  }catch(e){status.textContent='report-error '+e;status.setAttribute('data-ok','0');}
})();
)js";

std::string table_html(const std::vector<std::string>& header,
                       const std::vector<std::vector<std::string>>& rows,
                       const std::vector<bool>& text_cols, const std::vector<bool>& highlight,
                       const std::string& id) {
  std::string h = "<table class=\"sortable\" id=\"" + id + "\"><thead><tr>";
  for (size_t c = 0; c < header.size(); ++c)
    h += std::string("<th") + (text_cols[c] ? " class=\"t\"" : "") + ">" + html_escape(header[c]) +
         "</th>";
  h += "</tr></thead><tbody>\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    h +=
        std::string("<tr") + (r < highlight.size() && highlight[r] ? " class=\"front\"" : "") + ">";
    for (size_t c = 0; c < rows[r].size(); ++c)
      h += std::string("<td") + (text_cols[c] ? " class=\"t\"" : "") + ">" +
           html_escape(rows[r][c]) + "</td>";
    h += "</tr>\n";
  }
  return h + "</tbody></table>\n";
}

std::vector<std::string> config_cells(const nlohmann::json& spec) {
  // A pipeline point's scenario says how it was cut and where it ran.
  std::string scenario = str(spec, "/scenario");
  if (!str(spec, "/devices").empty())
    scenario = "pipeline K=" + str(spec, "/stages") + " on " + str(spec, "/devices") + " (" +
               str(spec, "/partition") + ")";
  return {str(spec, "/model/label"), str(spec, "/transform/label"),
          str(spec, "/backend"),     str(spec, "/precision"),
          str(spec, "/format"),      str(spec, "/threads"),
          str(spec, "/batch"),       scenario};
}
const std::vector<std::string> kConfigHeader = {"model",  "transform", "backend", "precision",
                                                "format", "threads",   "batch",   "scenario"};

}  // namespace

ReportInput load_report_input(const Store& store) {
  ReportInput in;
  in.title = std::filesystem::path(store.path()).filename().string();
  in.points = store.points();
  in.records = store.records();
  return in;
}

std::string render_report_html(const ReportInput& in, const ReportOptions& options) {
  const auto& rows = in.records;
  const auto& all = metrics();
  auto metric = [&](const std::string& name) {
    return *std::find_if(all.begin(), all.end(), [&](const Metric& m) { return m.name == name; });
  };
  size_t failed = 0;
  for (const auto& p : in.points) failed += p.status != "ok";
  // Inference points are scored by frugal eval on their data spec; training points by
  // frugal train on the test split of theirs (one set each, so none is listed twice).
  std::set<std::string> data_sets, train_sets, scenarios;
  int64_t queries = 0;
  for (const auto& r : rows) {
    if (!str(r.spec, "/model/data").empty())
      (r.spec.contains("train") ? train_sets : data_sets).insert(str(r.spec, "/model/data"));
    scenarios.insert(str(r.spec, "/scenario"));
    auto c = r.record.contains(nlohmann::json::json_pointer("/results/latency/count"))
                 ? r.record.at(nlohmann::json::json_pointer("/results/latency/count"))
                 : nlohmann::json();
    if (c.is_number()) queries = std::max<int64_t>(queries, c.get<int64_t>());
  }
  auto listed = [](const std::set<std::string>& sets) {
    std::string s;
    for (const auto& d : sets) s += (s.empty() ? "" : ", ") + d;
    return s;
  };
  std::string acc_method;
  if (!data_sets.empty()) acc_method = "top-1 on " + listed(data_sets) + " (frugal eval)";
  if (!train_sets.empty())
    acc_method += (acc_method.empty() ? "" : "; training points: ") +
                  std::string("top-1 on the test split of ") + listed(train_sets) +
                  " after training (frugal train)";
  acc_method = acc_method.empty() ? "no accuracy measured (no data set in the spec)"
                                  : "measured: " + acc_method;
  std::string lat_method =
      "measured: wall-clock p50 per query (frugal bench, MLPerf-style load; up to " +
      std::to_string(queries) + " timed queries a point)";

  std::string h =
      "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>frugal report: " +
      html_escape(in.title) + "</title><style>" + kStyle + "</style></head><body>\n";
  h += "<h1>frugal report: " + html_escape(in.title) + "</h1>\n<p>" +
       std::to_string(in.points.size()) + " points: " + std::to_string(in.points.size() - failed) +
       " ok, " + std::to_string(failed) +
       " failed. Hover a point for its configuration; click a column to sort.</p>\n";
  h += "<div id=\"report-status\" data-ok=\"\">script not run</div>\n";
  h += render_answers_html(study_answers(rows));

  h += "<h2 id=\"fronts\">Pareto fronts</h2>\n<p>Outlined points are Pareto-optimal for the two "
       "figures "
       "of the plot (dashed line); hollow points carry estimated energy.</p>\n";
  auto figure = [&](const std::string& svg, const std::string& caption) {
    h += "<figure>" + svg + "<figcaption>" + caption + "</figcaption></figure>\n";
  };
  auto label = [](const std::string& method) {
    bool est = method.find("estimated") != std::string::npos;
    bool meas = method.find("measured") != std::string::npos;
    std::string cls = est && !meas ? "estimated" : meas && !est ? "measured" : "method";
    return "<span class=\"method " + cls + "\">" + html_escape(method) + "</span>";
  };
  figure(front_plot(rows, "plot-acc-latency", "accuracy vs latency", metric("latency"),
                    metric("acc"), true, false),
         "y " + label(acc_method) + "; x " + label(lat_method));
  figure(front_plot(rows, "plot-acc-energy", "accuracy vs energy per inference", metric("energy"),
                    metric("acc"), true, true),
         "y " + label(acc_method) + "; x energy per inference: " + label(energy_method(rows)));
  figure(front_plot(rows, "plot-acc-size", "accuracy vs model size", metric("size"), metric("acc"),
                    true, false),
         "y " + label(acc_method) + "; x " + label(size_method(rows)));
  if (data_sets.empty())
    figure(front_plot(rows, "plot-throughput-latency", "throughput vs latency", metric("latency"),
                      metric("throughput"), true, false),
           "both " + label(lat_method));

  h += "<h2 id=\"scaling\">Latency vs threads and batch</h2>\n";
  figure(axis_plot(rows, "threads", "plot-threads"),
         label(lat_method) + "; a line per configuration measured at two or more thread counts");
  figure(axis_plot(rows, "batch", "plot-batch"),
         label(lat_method) +
             "; per query of BATCH samples; a line per configuration measured at two or more batch "
             "sizes");

  if (std::any_of(rows.begin(), rows.end(),
                  [](const RecordRow& r) { return !r.devices.empty(); })) {
    h += "<h2 id=\"pipelines\">Pipelines: throughput, latency and energy against K</h2>\n<p>Points "
         "of "
         "<code>frugal pipeline</code> (sweep axes stages, devices, partition). Hollow points and "
         "legends marked (estimate) are predicted by the simulator over modeled devices, not "
         "measured. Latency is push to pop with the queues full (queueing included).</p>\n";
    figure(stages_plot(rows, "plot-stages-throughput", "throughput vs stages", "samples/s",
                       [](const RecordRow& r) { return r.samples_per_s; }),
           "a line per model, transform, partition method, devices and engine");
    figure(stages_plot(rows, "plot-stages-latency", "latency p50 vs stages", "latency p50 (ms)",
                       [](const RecordRow& r) { return r.latency_p50_ms; }),
           "push to pop, queueing included");
    figure(
        stages_plot(rows, "plot-stages-energy", "energy per inference vs stages", "J per inference",
                    [](const RecordRow& r) { return r.joules_per_inference; }),
        "energy per inference: " + label(energy_method(rows)));
  }

  // Front over accuracy, latency, energy and size together (those with all four), else
  // latency-only.
  std::vector<Metric> front_metrics;
  for (const char* m : {"acc", "latency", "energy", "size"}) {
    bool any = std::any_of(rows.begin(), rows.end(),
                           [&](const RecordRow& r) { return metric(m).value(r).has_value(); });
    if (any) front_metrics.push_back(metric(m));
  }
  std::vector<size_t> front =
      front_metrics.size() >= 2 ? pareto_rows(rows, front_metrics) : std::vector<size_t>{};
  std::set<size_t> on_front(front.begin(), front.end());

  std::vector<std::string> header = kConfigHeader;
  for (const char* c : {"top-1", "p50 ms", "p90 ms", "samples/s", "J/inference", "energy kind",
                        "size bytes", "peak RSS bytes", "Pareto"})
    header.push_back(c);
  std::vector<bool> text_cols(header.size(), false);
  for (size_t c = 0; c < kConfigHeader.size(); ++c) text_cols[c] = c != 5 && c != 6;
  text_cols[13] = text_cols[16] = true;
  auto record_cells = [&](size_t i) {
    const auto& r = rows[i];
    auto cells = config_cells(r.spec);
    for (const auto& v :
         {fmt(r.top1), fmt(r.latency_p50_ms), fmt(r.latency_p90_ms), fmt(r.samples_per_s),
          fmt(r.joules_per_inference), r.energy_kind, fmt(r.model_bytes, "%.0f"),
          fmt(r.peak_rss, "%.0f"), std::string(on_front.count(i) ? "yes" : "")})
      cells.push_back(v);
    return cells;
  };
  std::string front_names;
  for (const auto& m : front_metrics) front_names += (front_names.empty() ? "" : ", ") + m.label;
  h += "<h2 id=\"pareto\">Pareto-optimal configurations</h2>\n<p>Non-dominated over " +
       html_escape(front_names) + " (every point without all of them is left out).</p>\n";
  std::vector<std::vector<std::string>> front_rows;
  for (size_t i : front) front_rows.push_back(record_cells(i));
  h += table_html(header, front_rows, text_cols, {}, "table-pareto");

  h += "<h2 id=\"all\">All measured configurations</h2>\n";
  std::vector<std::vector<std::string>> all_rows;
  std::vector<bool> hl;
  for (size_t i = 0; i < rows.size(); ++i) {
    all_rows.push_back(record_cells(i));
    hl.push_back(on_front.count(i) > 0);
  }
  h += table_html(header, all_rows, text_cols, hl, "table-all");

  h += "<h2 id=\"failed\">Failed points</h2>\n";
  std::vector<std::vector<std::string>> failed_rows;
  std::string tails;
  for (const auto& p : in.points) {
    if (p.status == "ok") continue;
    auto cells = config_cells(p.spec);
    std::string end = p.timed_out        ? "timed out"
                      : p.signal         ? "signal " + std::to_string(p.signal)
                      : p.exit_code >= 0 ? "exit " + std::to_string(p.exit_code)
                                         : "-";  // failed before any child ran
    cells.insert(cells.end(), {p.stage, end, p.error});
    failed_rows.push_back(cells);
    if (!p.stderr_tail.empty())
      tails += "<details><summary>" + html_escape(p.key) + "</summary><pre>" +
               html_escape(p.stderr_tail) + "</pre></details>\n";
  }
  auto fh = kConfigHeader;
  fh.insert(fh.end(), {"stage", "end", "reason"});
  std::vector<bool> ft(fh.size(), true);
  ft[5] = ft[6] = false;
  h += failed_rows.empty() ? "<p>None.</p>\n"
                           : table_html(fh, failed_rows, ft, {}, "table-failed") + tails;

  h += "<h2 id=\"profile\">Per-layer time</h2>\n";
  std::vector<std::string> keys = options.profile_keys;
  for (const auto& key : keys)
    if (std::none_of(rows.begin(), rows.end(), [&](const RecordRow& r) { return r.key == key; }))
      throw UserError("--profile: no measured point '" + key + "' in this store (" +
                      std::to_string(rows.size()) +
                      " measured points; `frugal report DB --csv F` lists their keys)");
  if (keys.empty())
    for (size_t i : front)
      if (keys.size() < 3) keys.push_back(rows[i].key);
  bool any_profile = false;
  for (const auto& key : keys) {
    auto it =
        std::find_if(rows.begin(), rows.end(), [&](const RecordRow& r) { return r.key == key; });
    if (it == rows.end()) continue;
    auto p = nlohmann::json::json_pointer("/results/profile");
    if (!it->record.contains(p) || !it->record.at(p).is_array()) continue;
    any_profile = true;
    std::vector<std::vector<std::string>> prof;
    for (const auto& n : it->record.at(p)) {
      if (static_cast<int>(prof.size()) >= options.profile_rows) break;
      prof.push_back({n.value("node", ""), n.value("op_type", ""), n.value("kernel", ""),
                      fmt(n.value("time_s", 0.0) * 1e3), fmt(n.value("percent", 0.0), "%.1f"),
                      fmt(n.value("gflops_per_s", 0.0), "%.3g")});
    }
    h += "<h3>" + html_escape(key) + "</h3><p>" +
         label(
             "measured: per-node wall clock summed over the timed "
             "queries (bench --profile)") +
         "</p>\n";
    h += table_html({"node", "op", "kernel", "ms", "%", "GFLOP/s"}, prof,
                    {true, true, true, false, false, false}, {},
                    "table-profile-" + std::to_string(&key - keys.data()));
  }
  if (!any_profile)
    h += "<p>No per-layer profile in the chosen records (add <code>bench_args: --profile</code> to "
         "the spec).</p>\n";

  h += "<h2 id=\"environment\">Environment</h2>\n";
  std::map<std::string, nlohmann::json> machines;
  for (const auto& r : rows)
    if (r.record.contains("where")) {
      nlohmann::json w = r.record["where"];
      w.erase("time");
      machines[w.dump()] = w;
    }
  if (machines.empty()) h += "<p>No records.</p>\n";
  for (const auto& [k, w] : machines) {
    std::vector<std::vector<std::string>> env;
    for (const auto& [field, v] : w.items())
      env.push_back({field, v.is_string() ? v.get<std::string>() : v.dump()});
    h += table_html({"field", "value"}, env, {true, true}, {}, "table-env");
  }
  h += std::string("<script>") + kScript + "</script>\n</body></html>\n";
  return h;
}

std::string render_report_csv(const ReportInput& in) {
  auto q = [](const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string o = "\"";
    for (char c : s) o += c == '"' ? std::string("\"\"") : std::string(1, c);
    return o + "\"";
  };
  std::string csv =
      "key,model,transform,backend,precision,format,threads,batch,scenario,status,top1,latency_p50_"
      "ms,"
      "latency_p90_ms,samples_per_s,joules_per_inference,energy_kind,model_bytes,peak_rss,stage,"
      "error\n";
  std::map<std::string, const RecordRow*> by_key;
  for (const auto& r : in.records) by_key[r.key] = &r;
  for (const auto& p : in.points) {
    std::vector<std::string> cells{p.key};
    for (auto& c : config_cells(p.spec)) cells.push_back(c);
    cells.push_back(p.status);
    const RecordRow* r = by_key.count(p.key) ? by_key[p.key] : nullptr;
    auto v = [&](std::optional<double> RecordRow::*f, const char* format = "%.6g") {
      return r ? fmt(r->*f, format) : std::string();
    };
    for (const auto& c :
         {v(&RecordRow::top1), v(&RecordRow::latency_p50_ms), v(&RecordRow::latency_p90_ms),
          v(&RecordRow::samples_per_s), v(&RecordRow::joules_per_inference),
          r ? r->energy_kind : std::string(), v(&RecordRow::model_bytes, "%.0f"),
          v(&RecordRow::peak_rss, "%.0f"), p.stage, p.error})
      cells.push_back(c);
    std::string line;
    for (size_t i = 0; i < cells.size(); ++i) line += (i ? "," : "") + q(cells[i]);
    csv += line + "\n";
  }
  return csv;
}

std::string render_report_json(const ReportInput& in) {
  std::map<std::string, const RecordRow*> by_key;
  for (const auto& r : in.records) by_key[r.key] = &r;
  nlohmann::json out;
  out["points"] = nlohmann::json::array();
  for (const auto& p : in.points) {
    nlohmann::json j{{"key", p.key},
                     {"spec", p.spec},
                     {"status", p.status},
                     {"stage", p.stage},
                     {"exit_code", p.exit_code},
                     {"signal", p.signal},
                     {"timed_out", p.timed_out},
                     {"error", p.error},
                     {"started", p.started},
                     {"finished", p.finished},
                     {"wall_s", p.wall_s}};
    j["record"] = by_key.count(p.key) ? by_key[p.key]->record : nlohmann::json(nullptr);
    out["points"].push_back(j);
  }
  return out.dump(1) + "\n";
}

std::string default_pareto_metrics(const std::vector<RecordRow>& rows) {
  bool acc =
      std::any_of(rows.begin(), rows.end(), [](const RecordRow& r) { return r.top1.has_value(); });
  return acc ? "acc,latency" : "latency,size";
}

std::string render_pareto_text(const std::vector<RecordRow>& rows,
                               const std::string& metric_names) {
  std::vector<Metric> chosen = parse_metrics(metric_names);
  std::vector<size_t> front = pareto_rows(rows, chosen);
  if (front.empty())
    return "Pareto front over " + metric_names + ": no record has all of these figures\n";
  std::vector<std::string> header{"model",  "transform", "backend", "precision",
                                  "format", "threads",   "batch"};
  for (const auto& m : chosen) header.push_back(m.label);
  std::vector<std::vector<std::string>> table{header};
  for (size_t i : front) {
    auto cells = config_cells(rows[i].spec);
    cells.pop_back();  // scenario: in the key, rarely varied
    for (auto& c : cells)
      if (c.empty()) c = "-";
    for (const auto& m : chosen) cells.push_back(fmt(m.value(rows[i]), "%.4g"));
    table.push_back(cells);
  }
  std::vector<size_t> width(header.size(), 0);
  for (const auto& r : table)
    for (size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  std::string out = "Pareto front over " + metric_names + " (" + std::to_string(front.size()) +
                    " of " + std::to_string(rows.size()) + " records):\n";
  for (size_t r = 0; r < table.size(); ++r) {
    std::string line;
    for (size_t c = 0; c < table[r].size(); ++c) {
      std::string pad(width[c] - table[r][c].size(), ' ');
      line += (c ? "  " : "") + (c < 7 && c != 5 && c != 6 ? table[r][c] + pad : pad + table[r][c]);
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void write_text_file(const std::string& path, const std::string& text) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw UserError(path + ": cannot write: " + std::strerror(errno));
  size_t n = std::fwrite(text.data(), 1, text.size(), f);
  int err = n == text.size() ? 0 : errno;
  if (std::fclose(f) != 0 && err == 0) err = errno;
  if (n != text.size() || err != 0) {
    std::remove(path.c_str());
    throw UserError(path + ": cannot write: " + std::strerror(err ? err : EIO) +
                    (err == ENOSPC ? " (disk full)" : ""));
  }
}

}  // namespace frugal::explore
