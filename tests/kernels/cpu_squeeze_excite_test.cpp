// Squeeze-and-excitation blocks on the cpu backend: the fuse_squeeze_excite pass turns
// GlobalAveragePool -> Conv 1x1 (+ activation) -> Conv 1x1 (+ gate) -> Mul into one
// frugal.SqueezeExcite node, run by kernels/cpu/squeeze_excite_kernel.cpp. Between a
// depthwise Conv and a 1x1 Conv (MobileNetV3's and EfficientNet's place for it) the block
// reads and writes channels-last; alone it reads and writes plain. Against ref on the
// unfused graph, with the arena NaN-poisoned, over channels, squeeze ratios, spatial sizes,
// batch 1/2, 1/2 threads, both gates and several inner activations.
#include <gtest/gtest.h>

#include "frugal/kernels/threads.h"
#include "frugal/passes/fuse_patterns.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Case {
  int64_t batch, c, cr, hw;
  std::string inner;  // "relu", "swish", "hardswish" or "" (none)
  std::string gate;   // "HardSigmoid" or "Sigmoid"
  bool sandwich;      // depthwise Conv before, 1x1 Conv after
  bool biases = true;
};

std::string label(const Case& k) {
  return "batch " + std::to_string(k.batch) + " C " + std::to_string(k.c) + " Cr " +
         std::to_string(k.cr) + " " + std::to_string(k.hw) + "x" + std::to_string(k.hw) +
         " inner '" + k.inner + "' gate " + k.gate + (k.sandwich ? " between convs" : " alone") +
         (k.biases ? "" : " no biases");
}

ir::Graph se_graph(const Case& k) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(ir::ValueInfo{
      "x", DType::kF32, std::vector<ir::Dim>{{k.batch, ""}, {k.c, ""}, {k.hw, ""}, {k.hw, ""}}});
  std::string x = "x";
  if (k.sandwich) {
    g.initializers["dw.w"] = random_tensor({k.c, 1, 3, 3}, 20, 0.4f);
    g.nodes.push_back(
        make_node("dw", "Conv", {"x", "dw.w"}, "d",
                  {{"group", attr(k.c)}, {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}));
    x = "d";
  }
  g.initializers["fc1.w"] = random_tensor({k.cr, k.c, 1, 1}, 21, 0.3f);
  g.initializers["fc1.b"] = random_tensor({k.cr}, 22, 0.5f);
  g.initializers["fc2.w"] = random_tensor({k.c, k.cr, 1, 1}, 23, 0.3f);
  g.initializers["fc2.b"] = random_tensor({k.c}, 24, 0.5f);
  auto bias = [&](const char* b) { return k.biases ? std::string(b) : std::string(); };
  g.nodes.push_back(make_node("pool", "GlobalAveragePool", {x}, "p"));
  g.nodes.push_back(make_node("fc1", "Conv", {"p", "fc1.w", bias("fc1.b")}, "h0"));
  std::string h = "h0";
  if (k.inner == "relu") g.nodes.push_back(make_node("act", "Relu", {"h0"}, h = "h"));
  if (k.inner == "hardswish") g.nodes.push_back(make_node("act", "HardSwish", {"h0"}, h = "h"));
  if (k.inner == "swish") {
    g.nodes.push_back(make_node("sig", "Sigmoid", {"h0"}, "hs"));
    g.nodes.push_back(make_node("act", "Mul", {"h0", "hs"}, h = "h"));
  }
  g.nodes.push_back(make_node("fc2", "Conv", {h, "fc2.w", bias("fc2.b")}, "s0"));
  g.nodes.push_back(make_node("gate", k.gate, {"s0"}, "s"));
  g.nodes.push_back(make_node("mul", "Mul", {x, "s"}, k.sandwich ? "m" : "y"));
  if (k.sandwich) {
    g.initializers["pw.w"] = random_tensor({24, k.c, 1, 1}, 25, 0.3f);
    g.nodes.push_back(make_node("pw", "Conv", {"m", "pw.w"}, "y"));
  }
  g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

// The block on cpu at `threads` threads against ref on the unfused graph.
void expect_matches_ref(const Case& k, int threads) {
  const ir::Graph g = se_graph(k);
  const auto r = run_cpu_and_ref(g, {random_tensor({k.batch, k.c, k.hw, k.hw}, 1)}, threads);
  const runtime::Session& s = *r.cpu;
  const std::string at = label(k) + " threads " + std::to_string(threads);
  EXPECT_LE(relative_error(r.got[0], r.want[0]), 1e-5) << at;
  size_t fused = 0;
  for (const auto& a : s.assignments()) {
    EXPECT_EQ(a.backend, "cpu") << at << ": " << a.node_name << " on " << a.backend;
    fused += a.op_type == "SqueezeExcite" && a.impl == "loop:squeeze_excite";
  }
  EXPECT_EQ(fused, 1u) << at;
  // Between the convolutions both sides of the block stay channels-last.
  if (k.sandwich) {
    EXPECT_EQ(s.native_layout_values(), 2u) << at;
  }
}

}  // namespace

TEST(CpuSqueezeExcite, MatchesRefOverShapesGatesAndThreads) {
  std::vector<Case> cases;
  for (int64_t batch : {1, 2})
    for (const auto& [c, cr] : std::vector<std::pair<int64_t, int64_t>>{
             {16, 8}, {72, 24}, {120, 32}, {480, 120}, {40, 10}})
      for (const char* gate : {"HardSigmoid", "Sigmoid"})
        cases.push_back(
            {batch, c, cr, c >= 480 ? 7 : 14, gate[0] == 'H' ? "relu" : "swish", gate, true});
  cases.push_back({1, 24, 6, 9, "", "Sigmoid", false});
  cases.push_back({2, 33, 5, 5, "hardswish", "HardSigmoid", false, false});
  cases.push_back({1, 17, 4, 6, "swish", "Sigmoid", true, false});
  // Large enough (2 x 1 MiB of X) that the pool and the scaling run on two threads.
  cases.push_back({1, 32, 8, 128, "swish", "Sigmoid", true});
  for (const Case& k : cases)
    for (int threads : {1, 2}) expect_matches_ref(k, threads);
}

// Near misses keep the unfused nodes: the pooled value read by another node too, a gate
// that is not a sigmoid, a 3x3 Conv, and a Session whose first backend quantizes (bf16).
TEST(CpuSqueezeExcite, NearMissesStayUnfused) {
  Case k{1, 16, 4, 5, "relu", "HardSigmoid", false};
  auto fused_count = [](const ir::Graph& g) {
    passes::PassReport r;
    const ir::Graph out = passes::fuse_squeeze_excite(passes::fuse_activations(g, {}, r), {}, r);
    size_t n = 0;
    for (const auto& node : out.nodes) n += node.op_type == "SqueezeExcite";
    return n;
  };
  EXPECT_EQ(fused_count(se_graph(k)), 1u);
  {
    ir::Graph g = se_graph(k);
    g.nodes.push_back(make_node("extra", "Relu", {"p"}, "p2"));
    g.outputs.push_back({"p2", DType::kUndefined, std::nullopt});
    g.validate_and_sort();
    EXPECT_EQ(fused_count(g), 0u) << "pooled value read twice";
  }
  {
    Case t = k;
    t.gate = "Relu";
    EXPECT_EQ(fused_count(se_graph(t)), 0u) << "gate Relu";
  }
  {
    ir::Graph g = se_graph(k);
    g.initializers["fc1.w"] = random_tensor({k.cr, k.c, 3, 3}, 21, 0.3f);
    for (auto& n : g.nodes)
      if (n.name == "fc1") n.attrs["pads"] = attr(std::vector<int64_t>{1, 1, 1, 1});
    EXPECT_EQ(fused_count(g), 0u) << "3x3 Conv";
  }
  runtime::SessionOptions opt;
  opt.backends = {"cpu:bf16", "cpu", "ref"};
  runtime::Session s(se_graph(k), opt);
  for (const auto& a : s.assignments()) EXPECT_NE(a.op_type, "SqueezeExcite");
}
