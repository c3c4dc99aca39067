#include <gtest/gtest.h>

#include "frugal/explore/report.h"
#include "frugal/explore/svg_plot.h"

using namespace frugal::explore;

namespace {

RecordRow rec(const std::string& key, const std::string& backend, int threads, double top1,
              double p50, double joules, double bytes) {
  nlohmann::json spec{{"key", key},
                      {"model", {{"label", "cnn"}, {"data", "fashion-mnist:test"}}},
                      {"transform", {{"label", "none"}}},
                      {"backend", backend},
                      {"precision", "fp32"},
                      {"format", ""},
                      {"threads", threads},
                      {"batch", 1},
                      {"scenario", "single-stream"}};
  nlohmann::json record{
      {"results",
       {{"latency", {{"p50_ms", p50}, {"count", 64}}},
        {"energy", {{"kind", "estimated"}, {"source", "model"}, {"joules_per_inference", joules}}},
        {"memory", {{"weight_bytes", bytes}}},
        {"accuracy", {{"top1", top1}}},
        {"profile", nlohmann::json::array({{{"node", "conv<1>"},
                                            {"op_type", "Conv"},
                                            {"kernel", "cpu"},
                                            {"time_s", 0.002},
                                            {"percent", 80.0},
                                            {"gflops_per_s", 3.5}}})}}},
      {"where", {{"cpu_model", "Test CPU"}, {"time", "x"}}}};
  return summarize_record(key, record, spec);
}

ReportInput sample() {
  ReportInput in;
  in.title = "t.sqlite";
  // Front over (acc, latency, energy, size): a (most accurate), b (fastest); c is dominated by a.
  in.records = {rec("a", "cpu", 1, 0.90, 2.0, 0.01, 1000),
                rec("b", "cpu", 2, 0.80, 1.0, 0.01, 1000),
                rec("c", "ref", 1, 0.85, 9.0, 0.02, 1000)};
  for (const auto& r : in.records) {
    PointRow p;
    p.key = r.key;
    p.spec = r.spec;
    p.status = "ok";
    in.points.push_back(p);
  }
  PointRow bad;
  bad.key = "d";
  bad.spec = {{"model", {{"label", "x<y>"}}}, {"backend", "emu"}};
  bad.status = "failed";
  bad.stage = "bench";
  bad.exit_code = 1;
  bad.error = "exit 1: <boom> & more";
  bad.stderr_tail = "trace <here>";
  in.points.push_back(bad);
  return in;
}

size_t count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

}  // namespace

TEST(Svg, AxisTicks) {
  EXPECT_EQ(axis_ticks(0, 1, false), (std::vector<double>{0, 0.2, 0.4, 0.6, 0.8, 1.0}));
  EXPECT_EQ(axis_ticks(3, 47, false), (std::vector<double>{10, 20, 30, 40}));
  EXPECT_EQ(axis_ticks(0.3, 40, true), (std::vector<double>{0.5, 1, 2, 5, 10, 20}));
  EXPECT_EQ(axis_ticks(0.01, 1e5, true),
            (std::vector<double>{0.01, 0.1, 1, 10, 100, 1000, 10000, 100000}));
  EXPECT_TRUE(axis_ticks(0, 10, true).empty());  // log of 0
  EXPECT_EQ(format_tick(0.5), "0.5");
  EXPECT_EQ(format_tick(250000), "2e+05");
  EXPECT_EQ(html_escape("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
}

TEST(Svg, PointsAndFrontAreDrawn) {
  Plot p;
  p.id = "p";
  p.title = "t";
  p.series = {{"s1", {{1, 1, "one", true, false}, {2, 3, "two", false, true}}, false}};
  p.front = {{1, 1}};
  std::string svg = render_svg(p);
  EXPECT_EQ(count(svg, "<circle class=\"pt"), 2u);
  EXPECT_EQ(count(svg, "onfront"), 1u);
  EXPECT_EQ(count(svg, "class=\"front\""), 1u);
  EXPECT_NE(svg.find("<title>two</title>"), std::string::npos);
  Plot empty;
  EXPECT_NE(render_svg(empty).find("no data for this figure"), std::string::npos);
}

TEST(Report, HtmlHasPlotsTablesFrontAndLabels) {
  ReportInput in = sample();
  std::string html = render_report_html(in);
  for (const char* id :
       {"plot-acc-latency", "plot-acc-energy", "plot-acc-size", "plot-threads", "plot-batch",
        "table-pareto", "table-all", "table-failed", "table-env", "report-status"})
    EXPECT_NE(html.find(std::string("id=\"") + id + "\""), std::string::npos) << id;
  // Self-contained: nothing fetched.
  EXPECT_EQ(html.find("http://"), html.find("http://www.w3.org/2000/svg"));
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script src"), std::string::npos);
  // The front table holds a and b (not c): each row's key columns start with the model.
  size_t t0 = html.find("id=\"table-pareto\""), t1 = html.find("</table>", t0);
  std::string front = html.substr(t0, t1 - t0);
  EXPECT_EQ(count(front, "<tr>"), 2u + 1u);  // header + 2 rows
  EXPECT_NE(front.find(">0.9<"), std::string::npos);
  EXPECT_NE(front.find(">0.8<"), std::string::npos);
  EXPECT_EQ(front.find(">0.85<"), std::string::npos);
  // Labels: measured latency and accuracy, estimated energy with its source.
  EXPECT_NE(html.find("measured: wall-clock p50"), std::string::npos);
  EXPECT_NE(html.find("measured: top-1 on fashion-mnist:test"), std::string::npos);
  EXPECT_NE(html.find("estimated (model)"), std::string::npos);
  // Failed points are escaped; the profile of a front point is shown.
  EXPECT_NE(html.find("exit 1: &lt;boom&gt; &amp; more"), std::string::npos);
  EXPECT_NE(html.find("trace &lt;here&gt;"), std::string::npos);
  EXPECT_NE(html.find("conv&lt;1&gt;"), std::string::npos);
  EXPECT_NE(html.find("Test CPU"), std::string::npos);
  // The threads plot has one line: cnn cpu fp32 at threads 1 and 2 (the ref point is alone).
  size_t p0 = html.find("id=\"plot-threads\""), p1 = html.find("</svg>", p0);
  EXPECT_EQ(count(html.substr(p0, p1 - p0), "<circle class=\"pt"), 2u);
}

// A training point's accuracy is on the test split of its data set: the caption says so once
// instead of listing the set a second time beside the inference points' split.
TEST(Report, AccuracyCaptionTellsTrainingPointsApart) {
  ReportInput in = sample();
  nlohmann::json spec = in.records[0].spec;
  spec["model"]["data"] = "fashion-mnist";
  spec["train"] = {{"accumulator", "fp32"}};
  in.records.push_back(summarize_record("t", {{"results", {{"accuracy", {{"top1", 0.7}}}}}}, spec));
  std::string html = render_report_html(in);
  EXPECT_NE(html.find("measured: top-1 on fashion-mnist:test (frugal eval); training points: top-1 "
                      "on the test split of fashion-mnist after training (frugal train)"),
            std::string::npos);
  EXPECT_EQ(html.find("fashion-mnist, fashion-mnist:test"), std::string::npos);
}

TEST(Report, CsvAndJsonHaveEveryPoint) {
  ReportInput in = sample();
  std::string csv = render_report_csv(in);
  EXPECT_EQ(count(csv, "\n"), 5u);  // header + 4 points
  EXPECT_NE(csv.find("\na,cnn,none,cpu,fp32,,1,1,single-stream,ok,0.9,2,"), std::string::npos)
      << csv;
  EXPECT_NE(csv.find(",failed,"), std::string::npos);
  auto j = nlohmann::json::parse(render_report_json(in));
  ASSERT_EQ(j["points"].size(), 4u);
  EXPECT_TRUE(j["points"][3]["record"].is_null());
  EXPECT_DOUBLE_EQ(j["points"][0]["record"]["results"]["accuracy"]["top1"].get<double>(), 0.9);
}

TEST(Report, ParetoText) {
  ReportInput in = sample();
  std::string t = render_pareto_text(in.records, "acc,latency");
  EXPECT_EQ(t,
            "Pareto front over acc,latency (2 of 3 records):\n"
            "model  transform  backend  precision  format  threads  batch  top-1 accuracy  latency "
            "p50 (ms)\n"
            "cnn    none       cpu      fp32       -             1      1             0.9          "
            "       2\n"
            "cnn    none       cpu      fp32       -             2      1             0.8          "
            "       1\n");
  EXPECT_EQ(default_pareto_metrics(in.records), "acc,latency");
  EXPECT_EQ(default_pareto_metrics({}), "latency,size");
}
