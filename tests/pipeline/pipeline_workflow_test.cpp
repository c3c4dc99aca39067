// frugal pipeline as a library call: a model cut over host cores and measured, the same
// simulated over a modeled board, a segments folder; their Records; bad requests.
#include <gtest/gtest.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/measure/affinity.h"
#include "frugal/measure/record.h"
#include "frugal/pipeline/partition.h"
#include "frugal/pipeline/pipeline_workflow.h"
#include "frugal/pipeline/segments.h"
#include "frugal/zoo/zoo.h"

namespace frugal::pipeline {
namespace {

namespace fs = std::filesystem;

class PipelineWorkflow : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("frugal_pipeline_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "lenet5.onnx").string();
    ir::save_onnx(zoo::build("lenet5", 0), model_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  PipelineRequest request(int stages, const std::string& devices) const {
    PipelineRequest r;
    r.model = model_;
    r.stages = stages;
    r.devices = devices;
    r.duration_s = 0.3;
    r.warmup_s = 0.05;
    r.session.backends = {"cpu", "ref"};
    return r;
  }

  fs::path dir_;
  std::string model_;
};

TEST_F(PipelineWorkflow, TwoStagesOnHostCoresAreMeasuredAndRecorded) {
  if (measure::current_affinity().size() < 2) GTEST_SKIP() << "needs 2 CPUs for host-cores";
  const auto o = run_pipeline(request(2, "host-cores"));
  EXPECT_TRUE(measure::record_problems(o.record).empty()) << o.record.dump(1);
  const auto& what = o.record["what"];
  EXPECT_EQ(what["stages"], 2);
  EXPECT_EQ(what["devices"], "host-cores");
  EXPECT_EQ(what["partition"], "optimal");
  EXPECT_EQ(what["scenario"], "pipeline");
  const auto& res = o.record["results"];
  EXPECT_FALSE(res["pipeline"]["simulated"].get<bool>());
  ASSERT_EQ(res["pipeline"]["stages"].size(), 2u);
  EXPECT_GT(res["throughput"]["queries_per_s"].get<double>(), 0);
  EXPECT_GT(res["latency"]["p50_ms"].get<double>(), 0);
  for (const auto& s : o.report.stages) {
    EXPECT_GT(s.inferences, 0);
    EXPECT_GE(s.utilization, 0);
    EXPECT_LE(s.utilization, 1.05);
    EXPECT_NEAR(s.bubble, 1 - s.utilization, 1e-12);
  }
  EXPECT_GT(o.report.stages[1].bytes_in, 0);  // the activation crossing the cut
}

TEST_F(PipelineWorkflow, AModeledBoardIsSimulatedAndLabelledAnEstimate) {
  auto r = request(4, "edgetpu-x8");
  r.simulate = true;
  r.precision = "int8";
  r.inferences = 100;
  const auto o = run_pipeline(r);
  const auto& res = o.record["results"];
  EXPECT_TRUE(res["pipeline"]["estimate"].get<bool>());
  EXPECT_TRUE(res["throughput"]["estimate"].get<bool>());
  EXPECT_EQ(res["energy"]["kind"], "estimated");
  EXPECT_GT(res["energy"]["joules_per_inference"].get<double>(), 0);
  EXPECT_GT(res["pipeline"]["unloaded_latency_ms"].get<double>(), 0);
  ASSERT_EQ(o.report.stages.size(), 4u);
  for (const auto& s : o.report.stages) {
    EXPECT_TRUE(s.estimate);
    EXPECT_EQ(s.energy_kind, "estimated");
  }
  // With the queues full, the slowest stage sets the predicted throughput.
  double slowest = 0;
  for (const auto& s : o.report.stages)
    slowest = std::max(slowest, s.busy_s / static_cast<double>(s.inferences));
  EXPECT_NEAR(o.report.throughput * slowest, 1.0, 1e-6);
}

TEST_F(PipelineWorkflow, ASegmentsFolderRunsAsWritten) {
  PartitionOptions po;
  po.stages = 2;
  po.precision = "int8";
  write_segments(partition(ir::load_onnx(model_), load_devices("edgetpu-x8"), po),
                 (dir_ / "seg").string());
  auto r = request(0, "edgetpu-x8");
  r.model = (dir_ / "seg").string();
  r.simulate = true;
  r.precision = "int8";
  r.inferences = 50;
  const auto o = run_pipeline(r);
  EXPECT_EQ(o.segments.graphs.size(), 2u);
  EXPECT_EQ(o.record["what"]["partition"], "optimal");
  r.stages = 3;
  EXPECT_THROW(run_pipeline(r), UserError);
}

TEST_F(PipelineWorkflow, BadRequestsAreUserErrors) {
  auto message = [](const PipelineRequest& r) -> std::string {
    try {
      run_pipeline(r);
    } catch (const UserError& e) {
      return e.what();
    }
    return "(no error)";
  };
  auto r = request(3, "edgetpu-usb");
  r.simulate = true;
  EXPECT_NE(message(r).find("--stages 3: edgetpu-usb has only 1 device"), std::string::npos)
      << message(r);
  r = request(1, "edgetpu-x8");
  r.precision = "int8";
  EXPECT_NE(message(r).find("only --simulate runs it"), std::string::npos) << message(r);
  r = request(2, "host-cores");
  r.queue = 0;
  EXPECT_NE(message(r).find("--queue"), std::string::npos);
  r = request(2, "edgetpu-x8");
  r.simulate = true;
  r.precision = "int8";
  r.placement = {0, 9};
  EXPECT_NE(message(r).find("--place: device 9"), std::string::npos) << message(r);
}

TEST_F(PipelineWorkflow, SegmentsSharingADeviceReloadInTheSimulation) {
  auto r = request(2, "edgetpu-usb");
  r.simulate = true;
  r.precision = "int8";
  r.placement = {0, 0};
  r.inferences = 60;
  const auto o = run_pipeline(r);
  double load_ms = 0;
  for (const auto& s : o.report.stages) load_ms += s.load_ms;
  EXPECT_GT(load_ms, 0);
}

}  // namespace
}  // namespace frugal::pipeline
