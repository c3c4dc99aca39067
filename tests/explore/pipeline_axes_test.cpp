// Pipeline points in sweeps: the stages/devices/partition axes, their keys (older keys
// unchanged), the child command, the Record's pipeline fields in the store and the
// report's figures against K.
#include <gtest/gtest.h>

#include <algorithm>

#include "frugal/core/error.h"
#include "frugal/explore/report.h"
#include "frugal/explore/spec.h"
#include "frugal/explore/store.h"
#include "frugal/explore/sweep.h"

using frugal::UserError;
using namespace frugal::explore;

namespace {

SweepSpec parse(const std::string& yaml) {
  return parse_sweep_spec(yaml, "s.yaml", "/base");
}

std::string error_of(const std::string& yaml) {
  try {
    parse(yaml);
  } catch (const UserError& e) {
    return e.what();
  }
  return "(no error)";
}

size_t count_of(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

bool has(const std::vector<std::string>& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

}  // namespace

TEST(PipelineAxes, StagesDevicesAndPartitionCombineWithTheTransformAxis) {
  auto s = parse(R"(
models: [mobilenet_v2]
transforms: [none, {name: p50, steps: ["prune --sparsity 0.5"]}]
backends: ["cpu,ref"]
precisions: [int8]
devices: edgetpu-x8
stages: [1, 2, 4, 8]
partition: [params, optimal]
)");
  ASSERT_EQ(s.points.size(), 2u * 4u * 2u);
  EXPECT_EQ(s.points[0].key(),
            "mobilenet_v2|none|cpu,ref|int8|-|t1|b1|single-stream|k1|edgetpu-x8|params");
  EXPECT_EQ(s.points.back().key(),
            "mobilenet_v2|p50|cpu,ref|int8|-|t1|b1|single-stream|k8|edgetpu-x8|optimal");
  EXPECT_EQ(s.points.back().to_json()["stages"], 8);
  EXPECT_EQ(s.points.back().to_json()["partition"], "optimal");
}

TEST(PipelineAxes, PointsWithoutDevicesKeepTheirOlderKeys) {
  auto s = parse("models: [lenet5]\n");
  ASSERT_EQ(s.points.size(), 1u);
  EXPECT_FALSE(s.points[0].pipelined());
  EXPECT_EQ(s.points[0].key(), "lenet5|none|cpu,ref|fp32|-|t1|b1|single-stream");
  EXPECT_FALSE(s.points[0].to_json().contains("stages"));
}

TEST(PipelineAxes, DevicesFilesAreRelativeToTheSpecAndRulesMatchTheNewAxes) {
  auto s = parse(R"(
models: [resnet18]
devices: [host-cores, boards/two.yaml]
stages: [1, 2]
exclude:
  - {devices: host-cores, stages: 1}
)");
  std::set<std::string> devices;
  for (const auto& p : s.points) devices.insert(p.devices + "/k" + std::to_string(p.stages));
  EXPECT_EQ(devices, (std::set<std::string>{"host-cores/k2", "/base/boards/two.yaml/k1",
                                            "/base/boards/two.yaml/k2"}));
}

TEST(PipelineAxes, StagesWithoutDevicesIsAnError) {
  EXPECT_NE(error_of("models: [lenet5]\nstages: [1, 2]\n").find("stages: 2 stages need devices"),
            std::string::npos)
      << error_of("models: [lenet5]\nstages: [1, 2]\n");
  EXPECT_NE(error_of("models: [lenet5]\nstages: [0]\n").find("stages: must be at least 1"),
            std::string::npos);
}

TEST(PipelineAxes, APipelinePointRunsFrugalPipelineSimulatedOnModeledDevices) {
  auto s = parse(R"(
models: [mobilenet_v2]
devices: [edgetpu-x8, host-cores]
stages: 2
partition: params
duration: 1
)");
  ASSERT_EQ(s.points.size(), 2u);
  const auto tpu = bench_argv(s.points[0], "frugal", "m.onnx");
  EXPECT_EQ(tpu[1], "pipeline");
  EXPECT_TRUE(has(tpu, "--simulate"));
  EXPECT_TRUE(has(tpu, "edgetpu-x8"));
  EXPECT_TRUE(has(tpu, "params"));
  const auto host = bench_argv(s.points[1], "frugal", "m.onnx");
  EXPECT_FALSE(has(host, "--simulate"));
  EXPECT_TRUE(has(host, "--duration"));
}

namespace {

RecordRow pipeline_row(const std::string& key, int stages, double throughput, bool estimate) {
  nlohmann::json spec{{"key", key},
                      {"model", {{"label", "mobilenet_v2"}}},
                      {"transform", {{"label", "none"}}},
                      {"backend", "cpu,ref"},
                      {"precision", "int8"},
                      {"format", ""},
                      {"threads", 1},
                      {"batch", 1},
                      {"scenario", "single-stream"},
                      {"stages", stages},
                      {"devices", "edgetpu-x8"},
                      {"partition", "params"}};
  nlohmann::json record{
      {"what", {{"stages", stages}, {"devices", "edgetpu-x8"}, {"partition", "params"}}},
      {"results",
       {{"latency", {{"p50_ms", 1000.0 / throughput}}},
        {"throughput", {{"samples_per_s", throughput}, {"estimate", estimate}}},
        {"energy",
         {{"kind", "estimated"}, {"source", "model"}, {"joules_per_inference", 0.01 * stages}}}}},
      {"where", {{"cpu_model", "test"}, {"time", "x"}}}};
  return summarize_record(key, record, spec);
}

}  // namespace

TEST(PipelineAxes, StoreRowsCarryThePipelineFieldsAndOlderRecordsDefault) {
  const RecordRow r = pipeline_row("k", 4, 200, true);
  EXPECT_EQ(r.stages, 4);
  EXPECT_EQ(r.devices, "edgetpu-x8");
  EXPECT_EQ(r.partition, "params");
  EXPECT_TRUE(r.estimate);
  const RecordRow old =
      summarize_record("o", {{"what", {{"model", "m"}}}, {"results", nlohmann::json::object()}},
                       nlohmann::json::object());
  EXPECT_EQ(old.stages, 1);
  EXPECT_TRUE(old.devices.empty());
  EXPECT_FALSE(old.estimate);
}

TEST(PipelineAxes, TheReportDrawsThroughputLatencyAndEnergyAgainstKAsEstimates) {
  ReportInput in;
  in.title = "p.sqlite";
  for (int k : {1, 2, 4, 8}) {
    in.records.push_back(pipeline_row("k" + std::to_string(k), k, 100.0 * k, true));
    PointRow p;
    p.key = in.records.back().key;
    p.spec = in.records.back().spec;
    p.status = "ok";
    in.points.push_back(p);
  }
  const std::string html = render_report_html(in, {});
  for (const char* id : {"plot-stages-throughput", "plot-stages-latency", "plot-stages-energy"})
    EXPECT_NE(html.find(id), std::string::npos) << id;
  EXPECT_EQ(count_of(html, "vs stages (hollow: estimate)<"), 3u);  // the three titles
  EXPECT_GE(count_of(html, "fill=\"white\""), 12u);                // 4 hollow points in each figure
  EXPECT_NE(html.find("pipeline K=8 on edgetpu-x8 (params)"), std::string::npos);
}
