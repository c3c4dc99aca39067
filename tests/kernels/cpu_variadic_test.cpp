// Sum and Mean of 2 to 4 inputs on the cpu backend (variadic_kernel.cpp) against ref: equal
// shapes, broadcasting inputs in any position (ONNX's multidirectional rule), ranks 1 to 5,
// inputs from convolutions (their channels-last layout) and from the graph, 1 and 2
// threads, poisoned arena. Max and Min stay on ref (NaN).
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

const std::vector<std::string> kOps = {"Sum", "Mean"};
}  // namespace

TEST(CpuVariadic, GraphInputsEqualAndBroadcastShapes) {
  const std::vector<std::vector<Shape>> cases = {
      {{3, 5}, {3, 5}},
      {{2, 3, 4, 5}, {2, 3, 4, 5}, {2, 3, 4, 5}},
      {{4, 1}, {3, 4, 5}, {5}},  // the full-size input is not the first
      {{1, 3, 1, 1}, {2, 3, 7, 7}, {2, 3, 7, 7}, {7}},
      {{17}, {1}},
      {{2, 3, 4, 5, 6}, {1, 3, 1, 1, 6}},
  };
  int seed = 0;
  for (const std::string& op : kOps)
    for (const auto& shapes : cases) {
      std::vector<Operand> ops;
      std::string label = op;
      for (size_t i = 0; i < shapes.size(); ++i) {
        ops.push_back(input("x" + std::to_string(i), uniform_tensor(shapes[i], ++seed, -3, 3)));
        label += " " + shape_str(shapes[i]);
      }
      const OneNode t = one_node(op, ops, {}, 13);
      expect_graph_on_cpu(t.graph, t.feeds, 1e-5, label);
    }
}

TEST(CpuVariadic, AfterConvolutions) {
  for (const std::string& op : kOps)
    for (bool broadcast : {false, true}) {
      ir::Graph g;
      g.opsets[""] = 13;
      ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
      for (int64_t d : {2, 16, 9, 9}) x.shape->push_back(ir::Dim{d, ""});
      g.inputs.push_back(x);
      std::vector<std::string> terms;
      for (int i = 0; i < 3; ++i) {
        const std::string w = "w" + std::to_string(i), c = "c" + std::to_string(i);
        g.initializers[w] = random_tensor({32, 16, 1, 1}, 10 + i, 0.3f);
        g.nodes.push_back(make_node("conv" + std::to_string(i), "Conv", {"x", w}, c));
        terms.push_back(c);
      }
      if (broadcast) {  // a per-channel constant
        g.initializers["bias"] = random_tensor({1, 32, 1, 1}, 20);
        terms.push_back("bias");
      }
      g.nodes.push_back(make_node("op", op, terms, "y"));
      g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
      g.validate_and_sort();
      expect_graph_on_cpu(g, {random_tensor({2, 16, 9, 9}, 4)}, 1e-5,
                          op + " of three convolutions" + (broadcast ? " and a constant" : ""));
    }
}

TEST(CpuVariadic, DeclinesWhenEveryInputBroadcasts) {
  const OneNode t = one_node(
      "Sum", {input("a", random_tensor({3, 1}, 1)), input("b", random_tensor({1, 4}, 2))}, {}, 13);
  const std::string why = cpu_decline_reason(t);
  EXPECT_NE(why.find("broadcasts"), std::string::npos) << why;
}

// Max and Min stay on ref: ONNX propagates NaN from either operand, oneDNN 2.6's binary
// max/min only from the second; a NaN in the first comes out of ref.
TEST(CpuVariadic, MaxAndMinKeepNaNOnRef) {
  for (const std::string op : {"Max", "Min"}) {
    Tensor a = uniform_tensor({64}, 1, -3, 3), b = uniform_tensor({64}, 2, -3, 3);
    a.data<float>()[3] = NAN;
    b.data<float>()[40] = NAN;
    const OneNode t = one_node(op, {input("a", a), input("b", b)}, {}, 13);
    const Ran got = run_on("cpu", t.graph, t.feeds);
    EXPECT_EQ(got.assignments.at(0).backend, "ref") << op;
    EXPECT_TRUE(std::isnan(got.outputs[0].data<float>()[3])) << op;
    EXPECT_TRUE(std::isnan(got.outputs[0].data<float>()[40])) << op;
  }
}
