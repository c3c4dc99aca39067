// The residual sum in place (runtime/sum_in_place.h): a convolution with a fused residual
// Add writes its output over the shortcut's buffer where the shortcut dies there, and
// its copy of the shortcut moves nothing. Outputs match ref and are bit for bit those of
// the plan without the stage (FRUGAL_NO_SUM_IN_PLACE=1); where the shortcut is read
// later, is a graph input, or is also the convolution's input, nothing is shared. Also
// ResNeXt's other layout question: a grouped convolution between 1x1 ones keeps their nhwc.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>

#include "cpu_testing.h"

namespace frugal {
namespace {

using cpu_testing::attr;
using cpu_testing::make_node;
using cpu_testing::random_tensor;
using cpu_testing::relative_error;

ir::ValueInfo value(const std::string& name, const Shape& dims) {
  ir::ValueInfo v{name, DType::kF32, std::vector<ir::Dim>{}};
  for (auto d : dims) v.shape->push_back(ir::Dim{d, ""});
  return v;
}

// x -> a = Relu(Conv(x)) -> residual blocks r_i = Relu(Conv(Relu(Conv(prev))) + prev),
// `blocks` of them (ResNet's basic block), then y = Conv(r_last); `tail_reads` adds
// y = y + a (a read after the first block's Add).
ir::Graph residual_chain(int64_t c, int64_t hw, int blocks, bool tail_reads) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(value("x", {1, c, hw, hw}));
  const std::map<std::string, ir::Attribute> same{{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}};
  uint64_t seed = 10;
  auto conv = [&](const std::string& name, const std::string& in) {
    g.initializers[name + ".w"] = random_tensor({c, c, 3, 3}, seed++, 0.2f);
    g.nodes.push_back(make_node(name, "Conv", {in, name + ".w"}, name + ".y", same));
    return name + ".y";
  };
  g.nodes.push_back(make_node("stem_relu", "Relu", {conv("stem", "x")}, "a"));
  std::string prev = "a";
  for (int i = 0; i < blocks; ++i) {
    const std::string p = "b" + std::to_string(i);
    g.nodes.push_back(make_node(p + ".relu1", "Relu", {conv(p + ".conv1", prev)}, p + ".t"));
    const std::string y = conv(p + ".conv2", p + ".t");
    g.nodes.push_back(make_node(p + ".add", "Add", {y, prev}, p + ".sum"));
    g.nodes.push_back(make_node(p + ".relu", "Relu", {p + ".sum"}, p + ".out"));
    prev = p + ".out";
  }
  std::string out = conv("head", prev);  // the last block's output is not the graph's
  if (tail_reads) {
    g.nodes.push_back(make_node("tail", "Add", {out, "a"}, "tail.y"));
    out = "tail.y";
  }
  g.outputs.push_back(value(out, {1, c, hw, hw}));
  g.validate_and_sort();
  return g;
}

struct Ran {
  std::vector<Tensor> outputs;
  size_t shared = 0;               // steps whose output took an input's buffer
  std::vector<std::string> steps;  // their node names
  size_t arena = 0;
};

Ran run(const ir::Graph& g, const Tensor& x, const std::string& backend, bool stage) {
  if (stage)
    unsetenv("FRUGAL_NO_SUM_IN_PLACE");
  else
    setenv("FRUGAL_NO_SUM_IN_PLACE", "1", 1);
  runtime::SessionOptions o;
  o.backends = {backend, "ref"};
  if (backend == "ref") o.backends = {"ref"};
  o.poison_arena = true;  // an output that missed its buffer would leave NaN
  runtime::Session s(g, o);
  unsetenv("FRUGAL_NO_SUM_IN_PLACE");
  Ran r;
  r.outputs = s.run({x});
  r.arena = s.arena_bytes();
  for (auto& t : r.outputs) t = t.clone();
  for (const auto& a : s.assignments())
    if (a.impl.find("[output over input") != std::string::npos) r.steps.push_back(a.node_name);
  r.shared = r.steps.size();
  return r;
}

TEST(CpuSumInPlace, ResidualChainSharesTheShortcutBufferAndMatches) {
  for (int64_t c : {16, 24}) {
    for (int blocks : {1, 3}) {
      const ir::Graph g = residual_chain(c, 9, blocks, false);
      const Tensor x = random_tensor({1, c, 9, 9}, 3);
      const Ran ref = run(g, x, "ref", true);
      const Ran on = run(g, x, "cpu", true), off = run(g, x, "cpu", false);
      EXPECT_EQ(on.shared, static_cast<size_t>(blocks)) << c << " channels, " << blocks;
      EXPECT_EQ(off.shared, 0u);
      EXPECT_LE(on.arena, off.arena);
      EXPECT_LE(relative_error(on.outputs[0], ref.outputs[0]), 1e-5);
      ASSERT_EQ(on.outputs[0].nbytes(), off.outputs[0].nbytes());
      EXPECT_EQ(std::memcmp(on.outputs[0].raw(), off.outputs[0].raw(), on.outputs[0].nbytes()), 0);
    }
  }
}

TEST(CpuSumInPlace, NotWhereTheShortcutIsReadLater) {
  // Block 0's shortcut `a` is read again by the tail Add: block 0 keeps its copy.
  const ir::Graph g = residual_chain(16, 7, 2, true);
  const Tensor x = random_tensor({1, 16, 7, 7}, 5);
  const Ran ref = run(g, x, "ref", true);
  const Ran on = run(g, x, "cpu", true);
  // Block 1's shortcut dies at its Add; block 0's shortcut `a` does not.
  ASSERT_EQ(on.shared, 1u);
  EXPECT_EQ(on.steps[0], "b1.conv2");
  EXPECT_LE(relative_error(on.outputs[0], ref.outputs[0]), 1e-5);
}

TEST(CpuSumInPlace, NotWhereTheShortcutIsAGraphInputOrTheConvInput) {
  // Relu(Conv(x) + x): x is a graph input (not in the arena), and also the conv's input.
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(value("x", {1, 16, 6, 6}));
  g.initializers["w"] = random_tensor({16, 16, 3, 3}, 7, 0.2f);
  g.nodes = {make_node("conv", "Conv", {"x", "w"}, "c",
                       {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}),
             make_node("add", "Add", {"c", "x"}, "s"), make_node("relu", "Relu", {"s"}, "r"),
             // r is an arena value read by the conv and as its own shortcut.
             make_node("conv2", "Conv", {"r", "w"}, "c2",
                       {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}),
             make_node("add2", "Add", {"c2", "r"}, "y")};
  g.outputs.push_back(value("y", {1, 16, 6, 6}));
  g.validate_and_sort();
  const Tensor x = random_tensor({1, 16, 6, 6}, 9);
  const Ran ref = run(g, x, "ref", true);
  const Ran on = run(g, x, "cpu", true);
  EXPECT_EQ(on.shared, 0u);
  EXPECT_LE(relative_error(on.outputs[0], ref.outputs[0]), 1e-5);
}

}  // namespace
}  // namespace frugal

namespace frugal {
namespace {

// ResNeXt's 1x1 -> grouped 3x3 (4 channels per group) -> 1x1: the grouped convolution
// takes the 1x1 convolutions' nhwc (kernels/cpu/conv_kernels.cpp, grouped_in_nhwc), so
// both values between them stay in that layout with no reorder, and the result matches ref.
TEST(CpuGroupedConv, KeepsItsNeighboursLayout) {
  for (int64_t stride : {1, 2}) {
    ir::Graph g;
    g.opsets[""] = 17;
    g.inputs.push_back(value("x", {1, 32, 10, 10}));
    g.initializers["w1"] = random_tensor({64, 32, 1, 1}, 1, 0.2f);
    g.initializers["w2"] = random_tensor({64, 4, 3, 3}, 2, 0.2f);
    g.initializers["w3"] = random_tensor({32, 64, 1, 1}, 3, 0.2f);
    g.nodes = {make_node("c1", "Conv", {"x", "w1"}, "a"),
               make_node("c2", "Conv", {"a", "w2"}, "b",
                         {{"group", attr(int64_t{16})},
                          {"strides", attr(std::vector<int64_t>{stride, stride})},
                          {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}),
               make_node("c3", "Conv", {"b", "w3"}, "y")};
    g.outputs.push_back(value("y", {1, 32, stride == 1 ? 10 : 5, stride == 1 ? 10 : 5}));
    g.validate_and_sort();
    const Tensor x = random_tensor({1, 32, 10, 10}, 4);
    const auto ref = cpu_testing::run_on("ref", g, {x});
    runtime::SessionOptions o;
    o.backends = {"cpu", "ref"};
    runtime::Session s(g, o);
    const std::vector<Tensor> got = s.run({x});
    EXPECT_EQ(s.native_layout_values(), 2u) << "stride " << stride;
    EXPECT_LE(relative_error(got[0], ref.outputs[0]), 1e-5) << "stride " << stride;
  }
}

}  // namespace
}  // namespace frugal
