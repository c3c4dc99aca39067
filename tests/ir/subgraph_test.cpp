// Reader lookup and subgraph extraction (ir/subgraph.h).
#include "frugal/ir/subgraph.h"

#include <gtest/gtest.h>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/ops/infer.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;

namespace {

ir::ValueInfo vi(const std::string& name) {
  ir::ValueInfo v;
  v.name = name;
  v.dtype = DType::kF32;
  v.shape = std::vector<ir::Dim>{{1, ""}, {4, ""}};
  return v;
}

ir::Node node(const std::string& name, const std::string& op, std::vector<std::string> in,
              std::vector<std::string> out) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  return n;
}

// x -> relu -> a; a -> neg -> b; mul(a, a) -> m; add(b, m) -> y; outputs y and a; w is an
// initializer read by add2(y, w) -> z, an output too.
ir::Graph diamond() {
  ir::Graph g;
  g.name = "diamond";
  g.opsets[""] = 17;
  g.inputs = {vi("x")};
  Tensor w(DType::kF32, {1, 4});
  for (int i = 0; i < 4; ++i) w.data<float>()[i] = 0.5f * static_cast<float>(i);
  g.initializers["w"] = w;
  Tensor unused(DType::kF32, {1});
  unused.data<float>()[0] = 1;
  g.initializers["unused"] = unused;
  g.nodes = {node("relu", "Relu", {"x"}, {"a"}), node("neg", "Neg", {"a"}, {"b"}),
             node("mul", "Mul", {"a", "a"}, {"m"}), node("add", "Add", {"b", "m"}, {"y"}),
             node("add2", "Add", {"y", "w"}, {"z"})};
  g.outputs = {vi("z"), vi("a")};
  g.validate_and_sort();
  return g;
}

}  // namespace

TEST(Readers, SlotsAndGraphOutputs) {
  const ir::Graph g = diamond();
  ir::ReaderIndex r(g);
  ASSERT_EQ(r.slots("a").size(), 3u);  // neg, and mul twice
  EXPECT_EQ(r.slots("a")[1].node, 2u);
  EXPECT_EQ(r.slots("a")[2].slot, 1u);
  EXPECT_TRUE(r.is_graph_output("a"));
  EXPECT_FALSE(r.is_graph_output("m"));
  EXPECT_TRUE(r.slots("z").empty());
  EXPECT_TRUE(r.slots("nosuch").empty());
}

TEST(Readers, SoleReaderRules) {
  using ir::DoubleRead, ir::GraphOutputs;
  const ir::Graph g = diamond();
  // m: one reader (add), not an output.
  EXPECT_EQ(ir::sole_reader(g, "m", GraphOutputs::kCount, DoubleRead::kTwoReaders), 3);
  // y: one reader (add2), not an output.
  EXPECT_EQ(ir::sole_reader(g, "y", GraphOutputs::kCount, DoubleRead::kTwoReaders), 4);
  // a has three slots in two nodes, and is a graph output.
  EXPECT_EQ(ir::sole_reader(g, "a", GraphOutputs::kIgnored, DoubleRead::kOneReader), -1);
  ir::Graph h = g;
  h.nodes.erase(h.nodes.begin() + 1);  // drop neg: only mul reads a, in two slots
  h.nodes[1].inputs = {"a", "a"};
  h.nodes[2].inputs = {"m", "m"};
  EXPECT_EQ(ir::sole_reader(h, "a", GraphOutputs::kIgnored, DoubleRead::kOneReader), 1);
  EXPECT_EQ(ir::sole_reader(h, "a", GraphOutputs::kIgnored, DoubleRead::kTwoReaders), -1);
  EXPECT_EQ(ir::sole_reader(h, "a", GraphOutputs::kCount, DoubleRead::kOneReader), -1);
  EXPECT_EQ(ir::sole_reader(h, "z", GraphOutputs::kIgnored, DoubleRead::kOneReader), -1);
}

TEST(Extract, KeepsWhatTheOutputsNeed) {
  const ir::Graph g = diamond();
  ir::Graph s = ir::extract(g, {"a"}, {"y"});
  ASSERT_EQ(s.nodes.size(), 3u);  // neg, mul, add
  ASSERT_EQ(s.inputs.size(), 1u);
  EXPECT_EQ(s.inputs[0].name, "a");
  EXPECT_TRUE(s.initializers.empty());  // w is read only after y
  ir::Graph t = ir::extract(g, {"y"}, {"z"});
  ASSERT_EQ(t.nodes.size(), 1u);
  EXPECT_EQ(t.initializers.count("w"), 1u);
  EXPECT_EQ(t.initializers.count("unused"), 0u);
}

TEST(Extract, RefusesIncompleteCuts) {
  const ir::Graph g = diamond();
  try {
    ir::extract(g, {"b"}, {"y"});  // m still needs a, which needs x
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("'x'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("relu"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ir::extract(g, {"x"}, {"nosuch"}), UserError);
  EXPECT_THROW(ir::extract(g, {"nosuch"}, {"y"}), UserError);
  EXPECT_THROW(ir::extract(g, {"x", "m"}, {"b"}), UserError);  // m is not read
  EXPECT_THROW(ir::extract(g, {"x"}, {}), UserError);
}

// Cutting lenet5 in two and running the halves one after the other gives the whole
// model's output bit for bit.
TEST(Extract, HalvesChainBitExact) {
  ir::Graph g = zoo::build("lenet5", 3);
  // The cut value becomes the tail's input: it needs its dtype and shape.
  for (const auto& [name, info] : ops::infer_graph(g).values) {
    if (!info.shape || g.initializer(name) || g.find_input(name)) continue;
    ir::ValueInfo v{name, info.dtype, std::vector<ir::Dim>{}};
    for (int64_t d : *info.shape) v.shape->push_back({d, ""});
    g.value_info[name] = v;
  }
  const size_t mid = g.nodes.size() / 2;
  const std::string cut = g.nodes[mid].outputs[0];
  ir::Graph head = ir::extract(g, {g.inputs[0].name}, {cut});
  ir::Graph tail = ir::extract(g, {cut}, {g.outputs[0].name});
  EXPECT_EQ(head.nodes.size() + tail.nodes.size(), g.nodes.size());
  Tensor x(DType::kF32, {1, 1, 28, 28});
  Philox rng(5);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
  runtime::Session whole(g, {});
  runtime::Session first(head, {});
  runtime::Session second(tail, {});
  const Tensor want = whole.run({x})[0];
  const Tensor got = second.run(first.run({x}))[0];
  EXPECT_TRUE(got.equals(want));
}
