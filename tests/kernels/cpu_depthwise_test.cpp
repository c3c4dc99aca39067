// frugal's own depthwise convolution on the cpu backend (kernels/cpu/depthwise.h) against
// the reference kernel: channels 16/24/40 (a partial 16-channel block), kernels 3/5/7,
// strides 1/2, symmetric and asymmetric pads, batch 1/2, every post-op it fuses; and
// between two 1x1 convolutions, where it reads and writes their layout.
#include <gtest/gtest.h>

#include <cstdlib>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/ops/post_ops.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

const char* const kOwn = "loop:dw_avx512:nhwc:";

struct Case {
  int64_t n, c, h, w, k, stride;
  std::vector<int64_t> pads;
  std::vector<std::string> chain;
};

OneNode depthwise_node(const Case& c, bool bias) {
  std::vector<Operand> ops = {input("x", random_tensor({c.n, c.c, c.h, c.w}, 1)),
                              constant("w", random_tensor({c.c, 1, c.k, c.k}, 2, 0.3f))};
  if (bias) ops.push_back(constant("b", random_tensor({c.c}, 3)));
  std::map<std::string, ir::Attribute> attrs = {{"group", attr(c.c)},
                                                {"kernel_shape", attr(std::vector{c.k, c.k})},
                                                {"strides", attr(std::vector{c.stride, c.stride})},
                                                {"pads", attr(c.pads)}};
  if (!c.chain.empty()) attrs[ops::kPostOpsAttr] = attr(c.chain);
  return one_node("Conv", ops, attrs);
}

std::string label_of(const Case& c) {
  std::string s = "n" + std::to_string(c.n) + " c" + std::to_string(c.c) + " " +
                  std::to_string(c.h) + "x" + std::to_string(c.w) + " k" + std::to_string(c.k) +
                  " s" + std::to_string(c.stride) + " pads";
  for (int64_t p : c.pads) s += " " + std::to_string(p);
  for (const auto& e : c.chain) s += " " + e;
  return s;
}

const std::vector<std::vector<std::string>> kChains = {{},
                                                       {"relu"},
                                                       {"clip:0:6"},
                                                       {"clip:1:-1"},
                                                       {"sigmoid"},
                                                       {"swish"},
                                                       {"hardswish"},
                                                       {"leakyrelu:0.1"},
                                                       {"hardsigmoid:0.2:0.5"},
                                                       {"relu", "sigmoid"},
                                                       {"hardswish", "linear:0.5:-0.25"}};

bool skip_without_avx512() {
  return !kernels::cpu::dw_isa_available();
}

// FRUGAL_OWN_DW set for one scope ("auto" picks by timing: not for asserting which kernel
// runs; "padded" and "direct" force one of the own kernel's two variants).
struct OwnDw {
  explicit OwnDw(const char* mode) { setenv("FRUGAL_OWN_DW", mode, 1); }
  ~OwnDw() { unsetenv("FRUGAL_OWN_DW"); }
};

}  // namespace

TEST(CpuDepthwise, MatchesRefOverShapesAndPostOps) {
  if (skip_without_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  for (const char* variant : {"padded", "direct"}) {
    const OwnDw on(variant);
    size_t i = 0;
    for (int64_t n : {1, 2})
      for (int64_t c : {16, 24, 40})
        for (int64_t k : {3, 5, 7})
          for (int64_t s : {1, 2})
            for (bool asym : {false, true}) {
              const int64_t p = k / 2;
              Case cs{
                  n,
                  c,
                  i % 2 ? 6 : 9,
                  i % 2 ? 21 : 11,
                  k,
                  s,
                  asym ? std::vector<int64_t>{p, 0, 0, p + 1} : std::vector<int64_t>{p, p, p, p},
                  kChains[i % kChains.size()]};
              ++i;
              const OneNode t = depthwise_node(cs, i % 3 != 0);
              const std::string label = label_of(cs) + " " + variant;
              expect_matches_ref(t, 1e-5, "cpu", label);
              const std::string impl = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
              EXPECT_EQ(impl, kOwn + std::string(variant)) << label;
            }
  }
}

TEST(CpuDepthwise, EveryPostOpOnOneShape) {
  if (skip_without_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  for (const auto& chain : kChains) {
    const Case cs{1, 40, 12, 19, 3, 1, {1, 1, 1, 1}, chain};
    for (const char* variant : {"padded", "direct"}) {
      const OwnDw on(variant);
      expect_matches_ref(depthwise_node(cs, true), 1e-5, "cpu", label_of(cs) + " " + variant);
    }
  }
}

TEST(CpuDepthwise, SwitchAutoAndUncoveredCases) {
  if (skip_without_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  const Case cs{1, 24, 9, 9, 3, 1, {1, 1, 1, 1}, {"relu"}};
  const OneNode t = depthwise_node(cs, true);
  for (const char* off : {"off", ""}) {  // "": the default
    const OwnDw mode(off);
    const std::string impl = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
    EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
    EXPECT_EQ(impl.find("measured"), std::string::npos) << impl;
  }
  // auto: any of the three, the plan saying the three measured times; the result equals
  // ref's.
  const OwnDw automatic("auto");
  const std::string impl = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
  EXPECT_NE(impl.find("measured: own padded "), std::string::npos) << impl;
  EXPECT_NE(impl.find(" ms, own direct "), std::string::npos) << impl;
  EXPECT_NE(impl.find(" ms, oneDNN "), std::string::npos) << impl;
  expect_matches_ref(t, 1e-5);
  // Stride 3 is not a case of the own kernel: oneDNN runs it, with no measurement.
  const OwnDw on("on");  // replaces "auto" for the rest of the test
  const OneNode s3 = depthwise_node({1, 24, 9, 9, 3, 3, {1, 1, 1, 1}, {}}, true);
  expect_matches_ref(s3, 1e-5);
  const std::string impl3 = run_on("cpu", s3.graph, s3.feeds).assignments.at(0).impl;
  EXPECT_EQ(impl3.rfind("onednn:", 0), 0u) << impl3;
  EXPECT_EQ(impl3.find("measured"), std::string::npos) << impl3;
}

// 1x1 Conv -> depthwise 3x3 (hardswish) -> 1x1 Conv: the depthwise kernel keeps the
// layout the convolutions around it use, and the chain still equals ref's.
TEST(CpuDepthwise, BetweenPointwiseConvolutionsMatchesRef) {
  if (skip_without_avx512()) GTEST_SKIP() << "no AVX-512 on this CPU: the own kernel is not used";
  const OwnDw on("on");
  for (int64_t n : {1, 2}) {
    const int64_t c = 40, h = 10, w = 13;
    ir::Graph g;
    g.opsets[""] = 17;
    g.inputs.push_back(
        ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{n, ""}, {16, ""}, {h, ""}, {w, ""}}});
    g.initializers["w1"] = random_tensor({c, 16, 1, 1}, 4, 0.3f);
    g.initializers["wd"] = random_tensor({c, 1, 3, 3}, 5, 0.3f);
    g.initializers["bd"] = random_tensor({c}, 6);
    g.initializers["w2"] = random_tensor({8, c, 1, 1}, 7, 0.3f);
    g.nodes.push_back(make_node("pw1", "Conv", {"x", "w1"}, "a"));
    g.nodes.push_back(
        make_node("dw", "Conv", {"a", "wd", "bd"}, "b",
                  {{"group", attr(c)},
                   {"kernel_shape", attr(std::vector<int64_t>{3, 3})},
                   {"strides", attr(std::vector<int64_t>{2, 2})},
                   {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})},
                   {ops::kPostOpsAttr, attr(std::vector<std::string>{"hardswish"})}}));
    g.nodes.push_back(make_node("pw2", "Conv", {"b", "w2"}, "y"));
    g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
    g.validate_and_sort();
    const std::vector<Tensor> feeds = {random_tensor({n, 16, h, w}, 8)};
    const Ran ref = run_on("ref", g, feeds);
    const Ran got = run_on("cpu", g, feeds);
    EXPECT_LE(relative_error(got.outputs[0], ref.outputs[0]), 1e-5) << "batch " << n;
    bool own = false;
    for (const auto& a : got.assignments) own |= a.impl.rfind(kOwn, 0) == 0;
    EXPECT_TRUE(own) << "the depthwise node did not run the own kernel";
  }
}
