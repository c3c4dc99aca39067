// PipelineRunner on real Sessions: two hand-cut segments with a residual value crossing
// the cut give the whole graph's results in order; bad chains and queue 0 are refused.
#include <gtest/gtest.h>

#include <thread>

#include "frugal/core/error.h"
#include "frugal/measure/affinity.h"
#include "frugal/pipeline/runner.h"

namespace frugal::pipeline {
namespace {

ir::ValueInfo vi(const std::string& name) {
  ir::ValueInfo v{name, DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {1, 8}) v.shape->push_back(ir::Dim{d, ""});
  return v;
}

ir::Node node(std::string name, std::string op, std::vector<std::string> in, std::string out) {
  ir::Node n;
  n.name = std::move(name);
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = {std::move(out)};
  return n;
}

ir::Graph graph(std::vector<std::string> inputs, std::vector<ir::Node> nodes, std::string output) {
  ir::Graph g;
  g.opsets[""] = 13;
  for (const auto& i : inputs) g.inputs.push_back(vi(i));
  g.outputs.push_back(vi(output));
  g.nodes = std::move(nodes);
  g.validate_and_sort();
  return g;
}

// y = relu(x) * x + x, cut after relu: segment 1 reads x, which crosses the cut.
std::vector<SegmentRun> two_segments() {
  SegmentRun a{"segment 0", graph({"x"}, {node("relu", "Relu", {"x"}, "r")}, "r"), {}, {}};
  SegmentRun b{
      "segment 1",
      graph({"r", "x"}, {node("mul", "Mul", {"r", "x"}, "m"), node("add", "Add", {"m", "x"}, "y")},
            "y"),
      {},
      {}};
  return {std::move(a), std::move(b)};
}

Tensor input(int i) {
  Tensor t(DType::kF32, {1, 8});
  for (int j = 0; j < 8; ++j) t.data<float>()[j] = static_cast<float>(i - 4 + j) * 0.5f;
  return t;
}

float expected(float x) {
  return std::max(x, 0.0f) * x + x;
}

TEST(PipelineRunner, ResultsInOrderForEveryQueueSize) {
  for (size_t queue = 1; queue <= 4; ++queue) {
    PipelineRunner p(two_segments(), {"x"}, {"y"}, queue, "test");
    p.wait_ready();
    const int n = 60;
    std::thread producer([&] {
      for (int i = 0; i < n; ++i) p.push({input(i)});
      p.close();
    });
    int popped = 0;
    while (auto out = p.pop()) {
      const Tensor x = input(popped);
      for (int j = 0; j < 8; ++j)
        ASSERT_EQ((*out)[0].data<float>()[j], expected(x.data<float>()[j])) << popped;
      ++popped;
    }
    producer.join();
    p.finish();
    EXPECT_EQ(popped, n);
    EXPECT_EQ(p.latencies_s().size(), static_cast<size_t>(n));
    EXPECT_EQ(p.traffic()[1].bytes_in, 2 * 8 * 4);  // r and x
    for (const auto& s : p.stats()) EXPECT_EQ(s.items, n);
  }
}

TEST(PipelineRunner, WorkersArePinnedWhereAsked) {
  auto segs = two_segments();
  const int cpu = measure::current_affinity().front();
  for (auto& s : segs) s.cpus = {cpu};
  PipelineRunner p(std::move(segs), {"x"}, {"y"}, 1, "test");
  p.wait_ready();
  p.push({input(0)});
  ASSERT_TRUE(p.pop());
  p.close();
  EXPECT_FALSE(p.pop());
  p.finish();
}

TEST(PipelineRunner, SegmentsThatDoNotChainAreRefused) {
  auto segs = two_segments();
  std::swap(segs[0], segs[1]);  // segment 1 first: 'r' is read before anything writes it
  try {
    PipelineRunner p(std::move(segs), {"x"}, {"y"}, 2, "cut/manifest.json");
    FAIL() << "accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("cut/manifest.json: segments do not chain"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("'r'"), std::string::npos) << e.what();
  }
  EXPECT_THROW(PipelineRunner(two_segments(), {"x"}, {"nope"}, 2, "m"), UserError);
  EXPECT_THROW(PipelineRunner(two_segments(), {"x"}, {"y"}, 0, "m"), UserError);
}

TEST(PipelineRunner, AFailingSegmentSurfacesItsError) {
  auto segs = two_segments();
  segs[1].options.backends = {"nosuch"};
  PipelineRunner p(std::move(segs), {"x"}, {"y"}, 2, "m");
  EXPECT_THROW(p.wait_ready(), UserError);
  EXPECT_THROW(p.push({input(0)}), UserError);
}

TEST(CheckChain, NamesTheSegmentAndTheValue) {
  std::vector<SegmentPorts> s{{"segment 0", {"x"}, {"a"}}, {"segment 1", {"b"}, {"y"}}};
  try {
    check_chain(s, {"x"}, {"y"}, "dir/manifest.json");
    FAIL();
  } catch (const UserError& e) {
    EXPECT_STREQ(e.what(),
                 "dir/manifest.json: segments do not chain: segment 1 reads 'b', which no model "
                 "input and no earlier segment provides");
  }
  const auto live = values_live_after({{"s0", {"x"}, {"a"}}, {"s1", {"a", "x"}, {"y"}}}, {"y"});
  EXPECT_EQ(live[0], (std::vector<std::string>{"a", "x", "y"}));
  EXPECT_EQ(live[1], (std::vector<std::string>{"y"}));
}

}  // namespace
}  // namespace frugal::pipeline
