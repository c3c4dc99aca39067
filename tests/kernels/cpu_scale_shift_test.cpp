// BatchNormalization with constant statistics on the cpu backend (kernels/cpu/
// scale_shift_kernel.cpp): one scale-shift pass with its post-ops, plain or written
// channels-last for the Conv that reads it, against ref over shapes and post-op chains.
#include <gtest/gtest.h>

#include "frugal/ops/post_ops.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

std::vector<Operand> batch_norm_operands(const Shape& x, bool constant_stats) {
  const int64_t c = x[1];
  auto param = [&](const std::string& name, Tensor v) {
    return constant_stats ? constant(name, std::move(v)) : input(name, std::move(v));
  };
  return {input("x", random_tensor(x, 1)), param("scale", random_tensor({c}, 2)),
          param("b", random_tensor({c}, 3)), param("mean", random_tensor({c}, 4)),
          param("var", uniform_tensor({c}, 5, 0.1f, 2.0f))};
}

}  // namespace

TEST(CpuScaleShift, MatchesRefOverShapesAndPostOps) {
  const std::vector<Shape> shapes = {{1, 16, 7, 7}, {2, 24, 5, 3},   {3, 5},
                                     {1, 40, 9},    {2, 3, 3, 4, 5}, {1, 70, 1, 1}};
  const std::vector<std::vector<std::string>> chains = {{},
                                                        {"relu"},
                                                        {"clip:0:6"},
                                                        {"clip:1:-1"},
                                                        {"relu", "sigmoid"},
                                                        {"swish"},
                                                        {"hardswish"},
                                                        {"leakyrelu:0.1"},
                                                        {"hardsigmoid:0.2:0.5"},
                                                        {"hardswish", "linear:0.5:-0.25"}};
  for (const Shape& x : shapes) {
    for (const auto& chain : chains) {
      std::map<std::string, ir::Attribute> attrs = {{"epsilon", attr(1e-3f)}};
      if (!chain.empty()) attrs[ops::kPostOpsAttr] = attr(chain);
      const OneNode t = one_node("BatchNormalization", batch_norm_operands(x, true), attrs);
      std::string label = shape_str(x);
      for (const auto& e : chain) label += " " + e;
      expect_matches_ref(t, 1e-5, "cpu", label);
      EXPECT_EQ(run_on("cpu", t.graph, t.feeds).assignments.at(0).impl, "loop:scale_shift")
          << label;
    }
  }
}

TEST(CpuScaleShift, RunTimeStatisticsKeepOnednnAndDeclinePostOps) {
  const Shape x = {2, 8, 4, 4};
  const OneNode plain = one_node("BatchNormalization", batch_norm_operands(x, false));
  expect_matches_ref(plain, 1e-5);
  const OneNode fused = one_node("BatchNormalization", batch_norm_operands(x, false),
                                 {{ops::kPostOpsAttr, attr(std::vector<std::string>{"relu"})}});
  EXPECT_NE(cpu_decline_reason(fused).find("not constant"), std::string::npos)
      << cpu_decline_reason(fused);
}

// BN + Relu -> Conv (1x1 and 3x3), the pre-activation pattern of DenseNet: the Session
// fuses the Relu and lets the scale-shift write the Conv's own layout when they agree;
// results equal ref's on the unfused graph with the arena NaN-poisoned.
TEST(CpuScaleShift, PreActivationIntoConvMatchesRef) {
  for (int64_t c : {16, 24, 64}) {
    for (int64_t k : {1, 3}) {
      for (int64_t batch : {1, 2}) {
        ir::Graph g;
        g.opsets[""] = 17;
        g.inputs.push_back(ir::ValueInfo{
            "x", DType::kF32, std::vector<ir::Dim>{{batch, ""}, {c, ""}, {9, ""}, {11, ""}}});
        for (const auto& [name, seed] :
             std::vector<std::pair<std::string, uint64_t>>{{"scale", 2}, {"b", 3}, {"mean", 4}})
          g.initializers[name] = random_tensor({c}, seed);
        g.initializers["var"] = uniform_tensor({c}, 5, 0.1f, 2.0f);
        g.initializers["w"] = random_tensor({32, c, k, k}, 6, 0.2f);
        g.nodes.push_back(
            make_node("bn", "BatchNormalization", {"x", "scale", "b", "mean", "var"}, "n"));
        g.nodes.push_back(make_node("relu", "Relu", {"n"}, "r"));
        const int64_t pad = k / 2;
        g.nodes.push_back(make_node("conv", "Conv", {"r", "w"}, "y",
                                    {{"pads", attr(std::vector<int64_t>{pad, pad, pad, pad})}}));
        g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
        g.validate_and_sort();
        const Tensor x = random_tensor({batch, c, 9, 11}, 1);
        runtime::SessionOptions ref_opt;
        ref_opt.backends = {"ref"};
        ref_opt.optimize = false;
        const auto want = runtime::Session(g, ref_opt).run({x});
        runtime::SessionOptions opt;
        opt.backends = {"cpu", "ref"};
        opt.poison_arena = true;
        runtime::Session s(g, opt);
        s.run({x});  // twice: the second run reuses an arena the first one filled
        const auto got = s.run({x});
        const std::string label = "c " + std::to_string(c) + " k " + std::to_string(k) + " batch " +
                                  std::to_string(batch);
        EXPECT_LE(relative_error(got[0], want[0]), 1e-5) << label;
        std::string impls;
        for (const auto& a : s.assignments()) impls += a.op_type + "=" + a.impl + " ";
        EXPECT_NE(impls.find("scale_shift"), std::string::npos) << label << ": " << impls;
        EXPECT_EQ(impls.find("Relu="), std::string::npos) << label << ": Relu not fused " << impls;
        // oneDNN's fp32 convolutions read channels-last on AVX-512: the BN writes it.
        if (__builtin_cpu_supports("avx512f")) {
          EXPECT_EQ(s.native_layout_values(), 1u) << label << ": " << impls;
        }
      }
    }
  }
}
