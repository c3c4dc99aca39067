// ReduceMean on the cpu backend (reduce_kernel.cpp) against ref: ranks 1 to 5, batch 1/3,
// trailing, spatial, leading and all axes, negative axes, keepdims 0/1, the attribute and
// the opset-18 input form, after a Conv (its layout), 1 and 2 threads, poisoned arena.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

TEST(CpuReduceMean, MatchesRefOverAxesAndForms) {
  struct Case {
    Shape x;
    std::vector<int64_t> axes;  // empty: all
  };
  const std::vector<Case> cases = {
      {{1, 1280, 7, 7}, {2, 3}}, {{3, 40, 5, 6}, {-2, -1}}, {{3, 5, 7}, {-1}}, {{2, 384, 768}, {1}},
      {{2, 3, 4, 5, 6}, {1, 3}}, {{3, 4, 5}, {0}},          {{17}, {}},        {{3, 8, 5}, {}},
  };
  int seed = 0;
  for (const Case& c : cases)
    for (int64_t keep : {0, 1})
      for (bool as_input : {false, true}) {
        const Tensor x = uniform_tensor(c.x, ++seed, -2, 3);
        std::map<std::string, ir::Attribute> attrs{{"keepdims", attr(keep)}};
        std::vector<Operand> ops{input("x", x)};
        if (as_input && !c.axes.empty())
          ops.push_back(constant(
              "axes", Tensor::from_vector<int64_t>({static_cast<int64_t>(c.axes.size())}, c.axes)));
        if (!as_input && !c.axes.empty()) attrs["axes"] = attr(c.axes);
        const OneNode t = one_node("ReduceMean", ops, attrs, as_input ? 18 : 13);
        expect_graph_on_cpu(t.graph, t.feeds, 1e-5,
                            "ReduceMean " + shape_str(c.x) + " keepdims " + std::to_string(keep) +
                                (as_input ? " input axes" : " attribute axes"));
      }
}

TEST(CpuReduceMean, AfterConvAndDeclines) {
  ir::Graph g;
  g.opsets[""] = 13;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {2, 16, 7, 7}) x.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(x);
  g.initializers["w"] = random_tensor({64, 16, 1, 1}, 3, 0.2f);
  g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "c"));
  g.nodes.push_back(
      make_node("mean", "ReduceMean", {"c"}, "y",
                {{"axes", attr(std::vector<int64_t>{2, 3})}, {"keepdims", attr(int64_t{0})}}));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  expect_graph_on_cpu(g, {random_tensor({2, 16, 7, 7}, 4)}, 1e-5, "Conv + ReduceMean");

  const std::string why =
      cpu_decline_reason(one_node("ReduceMean", {input("x", random_tensor({2, 3}, 1))},
                                  {{"noop_with_empty_axes", attr(int64_t{1})}}, 18));
  EXPECT_NE(why.find("noop_with_empty_axes"), std::string::npos) << why;
}
