// Devices of kind accel (an accelerator of frugal accel, priced by its analytical model): the
// partitioner's price and the simulator's stage time of a segment are its nodes' accel
// estimates plus the modeled host link (the YAML entry is tested in devices_test.cpp).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "frugal/core/error.h"
#include "frugal/ir/onnx_io.h"
#include "frugal/pipeline/accel_device.h"
#include "frugal/pipeline/chain.h"
#include "frugal/pipeline/partition.h"
#include "frugal/pipeline/pipeline_workflow.h"
#include "frugal/zoo/zoo.h"

namespace frugal::pipeline {
namespace {

namespace fs = std::filesystem;

// Two different arrays in two formats, so that a mix-up of devices or formats shows.
const char* kTwoArrays = R"(devices:
  - name: eyeriss
    kind: accel
    arch: eyeriss
    format: w=e4m3,a=e4m3,acc=fp16
    link_bytes_per_s: 100M
    link_latency_s: 0.0002
  - name: edge
    kind: accel
    arch: edge
    format: w=int8,a=int8,acc=fixed24.0
    dataflow: ws
    link_bytes_per_s: 50M
)";

class AccelPipeline : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("frugal_accel_device_" + std::to_string(::getpid()));
    fs::create_directories(dir_);
    model_ = (dir_ / "lenet5.onnx").string();
    devices_ = (dir_ / "arrays.yaml").string();
    ir::save_onnx(zoo::build("lenet5", 0), model_);
    std::ofstream(devices_) << kTwoArrays;
  }
  void TearDown() override { fs::remove_all(dir_); }

  fs::path dir_;
  std::string model_, devices_;
};

// The expected service time of a segment graph on an accel device: the sum of its nodes'
// estimates taken from the whole model (so the segment's own mapping must agree) plus the
// host link for the bytes crossing its ends.
double expected_seconds(const ir::Graph& whole, const ir::Graph& segment, const Device& d,
                        double* joules) {
  const auto costs = accel_node_costs(whole, d.accel, 1);
  std::vector<std::string> nodes;
  for (const auto& n : segment.nodes) nodes.push_back(n.name);
  const accel::NodeEstimate sum = accel_sum(costs, nodes);
  const Chain chain(segment, 4);
  const SegmentStats st = chain.stats(0, chain.size());
  EXPECT_GT(st.bytes_in, 0);
  *joules = sum.joules;
  return d.accel.link_latency_s +
         static_cast<double>(st.bytes_in + st.bytes_out) / d.accel.link_bytes_per_s + sum.seconds;
}

TEST_F(AccelPipeline, ASimulatedStageIsItsNodesEstimatesPlusTheLink) {
  PipelineRequest r;
  r.model = model_;
  r.stages = 2;
  r.devices = devices_;
  r.simulate = true;
  r.inferences = 40;
  const PipelineOutcome o = run_pipeline(r);
  const ir::Graph whole = ir::load_onnx(model_);
  ASSERT_EQ(o.report.stages.size(), 2u);
  double total_joules = 0;
  for (size_t k = 0; k < 2; ++k) {
    const StageReport& s = o.report.stages[k];
    double joules = 0;
    const double want =
        expected_seconds(whole, o.segments.graphs[k], o.devices.devices[k], &joules);
    EXPECT_GT(joules, 0);
    EXPECT_NEAR(s.busy_s / static_cast<double>(s.inferences), want, want * 1e-9) << k;
    ASSERT_TRUE(s.joules_per_inference.has_value());
    EXPECT_NEAR(*s.joules_per_inference, joules, joules * 1e-12);
    EXPECT_TRUE(s.estimate);
    EXPECT_EQ(s.energy_kind, "estimated");
    total_joules += joules;
  }
  const auto& res = o.record["results"];
  EXPECT_TRUE(res["pipeline"]["estimate"].get<bool>());
  EXPECT_EQ(res["energy"]["kind"], "estimated");
  EXPECT_NEAR(res["energy"]["joules_per_inference"].get<double>(), total_joules,
              total_joules * 1e-9);
}

TEST_F(AccelPipeline, ThePartitionerPricesSegmentsTheSameWay) {
  const DeviceSet devices = load_devices(devices_);
  PartitionOptions po;
  po.stages = 2;
  const Partition p = partition(ir::load_onnx(model_), devices, po);
  ASSERT_EQ(p.segments.size(), 2u);
  EXPECT_TRUE(p.estimate);
  const Chain chain = make_chain(ir::load_onnx(model_), po);
  for (size_t k = 0; k < 2; ++k) {
    const Segment& s = p.segments[k];
    double joules = 0;
    const double want =
        expected_seconds(chain.graph(), chain.segment_graph(s.stats.first, s.stats.last),
                         devices.devices[k], &joules);
    EXPECT_NEAR(s.cost.time_s, want, want * 1e-9) << k;
    EXPECT_NEAR(s.cost.energy_j, joules, joules * 1e-12) << k;
    EXPECT_TRUE(s.estimate);
  }
}

}  // namespace
}  // namespace frugal::pipeline
