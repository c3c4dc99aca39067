// InstanceNormalization on the cpu backend (instance_norm_kernel.cpp) against ref: ranks 3
// to 5, batch 1 and 3, planes shorter and longer than the loop's 16 lanes, epsilon, scale
// and bias constant or fed at run time, a large mean (the two-pass variance), after a
// convolution, 1 and 2 threads, poisoned arena.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {}  // namespace

TEST(CpuInstanceNorm, MatchesRefOverShapesAndForms) {
  const std::vector<Shape> shapes = {{1, 3, 5, 7}, {3, 16, 8, 8}, {2, 4, 3, 4, 5},
                                     {2, 5, 17},   {1, 2, 1, 1},  {1, 8, 64, 64}};
  int seed = 0;
  for (const Shape& s : shapes)
    for (bool as_inputs : {false, true})
      for (float offset : {0.0f, 100.0f}) {
        const Tensor x = uniform_tensor(s, ++seed, offset - 2, offset + 3);
        const Tensor scale = uniform_tensor({s[1]}, ++seed, 0.5f, 2.0f);
        const Tensor bias = uniform_tensor({s[1]}, ++seed, -1, 1);
        const auto operand = as_inputs ? input : constant;
        const OneNode t = one_node("InstanceNormalization",
                                   {input("x", x), operand("scale", scale), operand("B", bias)},
                                   {{"epsilon", attr(1e-3f)}}, 6);
        expect_graph_on_cpu(t.graph, t.feeds, 1e-5,
                            shape_str(s) + (as_inputs ? " scale/B inputs" : " constant scale/B") +
                                " offset " + std::to_string(offset));
      }
}

TEST(CpuInstanceNorm, AfterConv) {
  ir::Graph g;
  g.opsets[""] = 13;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {2, 16, 12, 12}) x.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(x);
  g.initializers["w"] = random_tensor({32, 16, 3, 3}, 3, 0.2f);
  g.initializers["scale"] = uniform_tensor({32}, 4, 0.5f, 2.0f);
  g.initializers["B"] = uniform_tensor({32}, 5, -1, 1);
  g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "c"));
  g.nodes.push_back(make_node("norm", "InstanceNormalization", {"c", "scale", "B"}, "y"));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  expect_graph_on_cpu(g, {random_tensor({2, 16, 12, 12}, 6)}, 1e-5, "Conv + InstanceNormalization");
}
