// Gemm of one row by constant transposed weights (kernels/cpu/gemv_kernel.cpp): against
// ref over sizes, bias forms and post-op chains, at 1 and 2 threads; the cases it does not
// cover keep oneDNN.
#include <gtest/gtest.h>

#include "frugal/kernels/threads.h"
#include "frugal/ops/post_ops.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

TEST(CpuGemv, MatchesRefOverSizesBiasesAndPostOps) {
  const std::vector<std::pair<int64_t, int64_t>> sizes = {{1, 1},    {7, 3},      {16, 16},
                                                          {100, 33}, {960, 1280}, {1280, 1000}};
  const std::vector<std::vector<std::string>> chains = {{},           {"relu"},  {"hardswish"},
                                                        {"clip:0:6"}, {"swish"}, {"gelu"}};
  for (int threads : {1, 2}) {
    kernels::set_threads(threads);
    for (const auto& [k, n] : sizes)
      for (int bias = 0; bias < 3; ++bias)
        for (const auto& chain : chains) {
          std::vector<Operand> ops = {input("x", random_tensor({1, k}, 1)),
                                      constant("w", random_tensor({n, k}, 2, 0.1f))};
          if (bias == 1) ops.push_back(constant("c", random_tensor({n}, 3)));
          if (bias == 2) ops.push_back(constant("c", random_tensor({1, n}, 3)));
          std::map<std::string, ir::Attribute> attrs = {{"transB", attr(int64_t{1})}};
          if (!chain.empty()) attrs[ops::kPostOpsAttr] = attr(chain);
          const OneNode t = one_node("Gemm", ops, attrs);
          std::string label = "K " + std::to_string(k) + " N " + std::to_string(n) + " bias " +
                              std::to_string(bias) + " threads " + std::to_string(threads);
          for (const auto& e : chain) label += " " + e;
          expect_matches_ref(t, 1e-5, "cpu", label);
          const std::string impl = run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
          // GELU is not among the loop's post-ops: oneDNN keeps that node.
          EXPECT_EQ(impl == "loop:gemv", chain != std::vector<std::string>{"gelu"}) << label;
        }
  }
  kernels::set_threads(1);
}

TEST(CpuGemv, OtherGemmsKeepOnednn) {
  auto impl = [](std::vector<Operand> ops, std::map<std::string, ir::Attribute> attrs) {
    const OneNode t = one_node("Gemm", ops, attrs);
    expect_matches_ref(t, 1e-5);
    return run_on("cpu", t.graph, t.feeds).assignments.at(0).impl;
  };
  const auto trans = attr(int64_t{1});
  // Two rows, weights not transposed, run-time weights, alpha, a one-element C.
  EXPECT_NE(impl({input("x", random_tensor({2, 8}, 1)), constant("w", random_tensor({4, 8}, 2))},
                 {{"transB", trans}}),
            "loop:gemv");
  EXPECT_NE(
      impl({input("x", random_tensor({1, 8}, 1)), constant("w", random_tensor({8, 4}, 2))}, {}),
      "loop:gemv");
  EXPECT_NE(impl({input("x", random_tensor({1, 8}, 1)), input("w", random_tensor({4, 8}, 2))},
                 {{"transB", trans}}),
            "loop:gemv");
  EXPECT_NE(impl({input("x", random_tensor({1, 8}, 1)), constant("w", random_tensor({4, 8}, 2))},
                 {{"transB", trans}, {"alpha", attr(0.5f)}}),
            "loop:gemv");
  EXPECT_NE(impl({input("x", random_tensor({1, 8}, 1)), constant("w", random_tensor({4, 8}, 2)),
                  constant("c", random_tensor({1}, 3))},
                 {{"transB", trans}}),
            "loop:gemv");
}
