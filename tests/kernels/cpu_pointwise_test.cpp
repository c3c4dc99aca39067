// frugal's own pointwise convolution on the cpu backend (kernels/cpu/pointwise.h) against
// the reference kernel: 1 to 16 output channels (partial vectors), input channels 1 to 64,
// pixel counts below, at and past a 12-pixel block, batch 1/2, with and without bias, the
// post-ops it fuses, at 1 and 2 threads on a poisoned arena; the cases it leaves to oneDNN
// and the switch that turns it off.
#include <gtest/gtest.h>

#include <cstdlib>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/ops/post_ops.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

const char* const kOwn = "loop:pw_avx512:nhwc";

struct Case {
  int64_t n, cin, cout, h, w;
  bool bias;
  std::vector<std::string> chain;
  int64_t stride = 1, pad = 0, group = 1;
};

OneNode pointwise_node(const Case& c) {
  std::vector<Operand> ops = {
      input("x", random_tensor({c.n, c.cin, c.h, c.w}, 1)),
      constant("w", random_tensor({c.cout, c.cin / c.group, 1, 1}, 2, 0.3f))};
  if (c.bias) ops.push_back(constant("b", random_tensor({c.cout}, 3)));
  std::map<std::string, ir::Attribute> attrs = {
      {"group", attr(c.group)},
      {"strides", attr(std::vector{c.stride, c.stride})},
      {"pads", attr(std::vector{c.pad, c.pad, c.pad, c.pad})}};
  if (!c.chain.empty()) attrs[ops::kPostOpsAttr] = attr(c.chain);
  return one_node("Conv", ops, attrs);
}

std::string label_of(const Case& c) {
  std::string s = "n" + std::to_string(c.n) + " " + std::to_string(c.cin) + "->" +
                  std::to_string(c.cout) + " " + std::to_string(c.h) + "x" + std::to_string(c.w) +
                  (c.bias ? " bias" : "") + " s" + std::to_string(c.stride) + " p" +
                  std::to_string(c.pad) + " g" + std::to_string(c.group);
  for (const auto& e : c.chain) s += " " + e;
  return s;
}

// The node's result on cpu at 1 and 2 threads against ref; the cpu kernel's impl.
std::string check(const Case& c) {
  const OneNode t = pointwise_node(c);
  std::string impl;
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
    EXPECT_LE(relative_error(r.got.at(0), r.want.at(0)), 1e-5)
        << label_of(c) << " threads " << threads;
    impl = r.cpu->assignments().at(0).impl;
  }
  return impl;
}

struct OwnPw {
  explicit OwnPw(const char* v) { setenv("FRUGAL_OWN_PW", v, 1); }
  ~OwnPw() { unsetenv("FRUGAL_OWN_PW"); }
};

const std::vector<std::vector<std::string>> kChains = {{},
                                                       {"relu"},
                                                       {"clip:0:6"},
                                                       {"sigmoid"},
                                                       {"swish"},
                                                       {"hardswish"},
                                                       {"leakyrelu:0.1"},
                                                       {"hardsigmoid:0.2:0.5"},
                                                       {"relu", "linear:0.5:-0.25"}};

}  // namespace

TEST(CpuPointwise, MatchesRefOverShapesAndPostOps) {
  if (!kernels::cpu::dw_isa_available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  size_t i = 0, own = 0;
  for (int64_t n : {1, 2})
    for (int64_t cin : {1, 3, 8, 33, 64})
      for (int64_t cout : {1, 5, 16})
        for (const auto& hw :
             std::vector<std::pair<int64_t, int64_t>>{{1, 1}, {3, 4}, {5, 7}, {16, 13}}) {
          const Case c{n, cin, cout, hw.first, hw.second, i % 3 != 0, kChains[i % kChains.size()]};
          ++i;
          const std::string impl = check(c);
          // oneDNN chooses the layout; where it picks NHWC (all but the narrowest inputs)
          // the own kernel runs.
          own += impl == kOwn;
          if (cin >= 8) {
            EXPECT_EQ(impl, kOwn) << label_of(c);
          }
        }
  EXPECT_GE(own, i / 2);
}

// More than 16 output channels or 64 input channels, strides, padding, groups and a sum
// post-op stay with oneDNN, as does every node under FRUGAL_OWN_PW=0; all still equal ref's
// result.
TEST(CpuPointwise, UncoveredCasesAndSwitchKeepOneDnn) {
  if (!kernels::cpu::dw_isa_available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  for (const Case& c :
       {Case{1, 32, 17, 6, 6, true, {}}, Case{1, 32, 16, 6, 6, true, {}, 2},
        Case{1, 32, 16, 6, 6, true, {}, 1, 1}, Case{1, 32, 16, 6, 6, true, {}, 1, 0, 2}}) {
    const std::string impl = check(c);
    EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << label_of(c) << ": " << impl;
  }
  {
    const OwnPw off("0");
    const std::string impl = check(Case{2, 32, 16, 9, 9, true, {"relu"}});
    EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
  }
  // Conv + Add (the sum post-op after fusion): oneDNN's sum.
  for (int64_t cout : {8, 16}) {
    ir::Graph g;
    g.opsets[""] = 17;
    g.inputs.push_back(
        ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{1, ""}, {32, ""}, {7, ""}, {9, ""}}});
    g.inputs.push_back(ir::ValueInfo{"r", DType::kF32,
                                     std::vector<ir::Dim>{{1, ""}, {cout, ""}, {7, ""}, {9, ""}}});
    g.initializers["w"] = random_tensor({cout, 32, 1, 1}, 4, 0.3f);
    g.nodes.push_back(make_node("pw", "Conv", {"x", "w"}, "a"));
    g.nodes.push_back(make_node("add", "Add", {"a", "r"}, "y"));
    g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
    g.validate_and_sort();
    const std::vector<Tensor> feeds = {random_tensor({1, 32, 7, 9}, 5),
                                       random_tensor({1, cout, 7, 9}, 6)};
    const CpuAndRef r = run_cpu_and_ref(g, feeds, 1);
    EXPECT_LE(relative_error(r.got.at(0), r.want.at(0)), 1e-5);
    for (const auto& a : r.cpu->assignments())
      if (a.op_type.rfind("Conv", 0) == 0 && a.op_type.find("sum") != std::string::npos) {
        EXPECT_EQ(a.impl.find(kOwn), std::string::npos) << a.impl;
      }
  }
}

// Depthwise 3x3 -> pointwise 32 -> 16 (MobileNet-V2's first block): the own kernel reads
// the depthwise output in its layout, no conversion between.
TEST(CpuPointwise, AfterDepthwiseMatchesRef) {
  if (!kernels::cpu::dw_isa_available())
    GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(
      ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{2, ""}, {32, ""}, {14, ""}, {14, ""}}});
  g.initializers["wd"] = random_tensor({32, 1, 3, 3}, 4, 0.3f);
  g.initializers["wp"] = random_tensor({16, 32, 1, 1}, 5, 0.3f);
  g.initializers["bp"] = random_tensor({16}, 6);
  g.nodes.push_back(
      make_node("dw", "Conv", {"x", "wd"}, "a",
                {{"group", attr(int64_t{32})}, {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}));
  g.nodes.push_back(make_node("relu", "Relu", {"a"}, "b"));
  g.nodes.push_back(make_node("pw", "Conv", {"b", "wp", "bp"}, "y"));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  expect_graph_on_cpu(g, {random_tensor({2, 32, 14, 14}, 7)}, 1e-5, "dw -> pw");
  const CpuAndRef r = run_cpu_and_ref(g, {random_tensor({2, 32, 14, 14}, 7)}, 1);
  bool own = false;
  for (const auto& a : r.cpu->assignments()) own |= a.impl == kOwn;
  EXPECT_TRUE(own) << "the pointwise node did not run the own kernel";
}
