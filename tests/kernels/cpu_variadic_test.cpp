// Sum and Mean of 2 to 4 inputs on the cpu backend (variadic_kernel.cpp) against ref: equal
// shapes, broadcasting inputs in any position (ONNX's multidirectional rule), ranks 1 to 5,
// inputs from convolutions (their channels-last layout) and from the graph, 1 and 2
// threads, poisoned arena. Max and Min of inputs of one shape (own loop, NaN from any input).
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

// Max and Min of inputs of one shape: an own loop, bit-exact, NaN from any input (ONNX's
// rule; oneDNN 2.6's binary max/min drop a NaN in the first operand). A broadcasting input
// leaves them on ref.
TEST(CpuVariadic, MaxAndMinPropagateNaNAndDeclineBroadcast) {
  for (const std::string op : {"Max", "Min"}) {
    for (const Shape& s : {Shape{64}, Shape{3, 40, 7, 7}})
      for (int inputs : {2, 3}) {
        std::vector<Operand> ops;
        std::vector<Tensor> values;
        for (int i = 0; i < inputs; ++i) {
          Tensor t = uniform_tensor(s, 30 + i, -3, 3);
          t.data<float>()[3 + 20 * i] = NAN;  // in the first input too
          ops.push_back(input("x" + std::to_string(i), t));
        }
        const OneNode t = one_node(op, ops, {}, 13);
        for (int threads : {1, 2}) {
          const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
          const std::string label = op + " " + shape_str(s) + " x" + std::to_string(inputs) +
                                    " threads " + std::to_string(threads);
          EXPECT_EQ(r.cpu->assignments().at(0).backend, "cpu") << label;
          for (int i = 0; i < inputs; ++i)
            EXPECT_TRUE(std::isnan(r.got[0].data<float>()[3 + 20 * i])) << label << " input " << i;
          EXPECT_TRUE(r.got[0].equals(r.want[0])) << label;  // NaNs at the same places
        }
      }
    const OneNode b = one_node(
        op, {input("a", random_tensor({3, 4}, 1)), input("b", random_tensor({4}, 2))}, {}, 13);
    EXPECT_NE(cpu_decline_reason(b).find("broadcasting"), std::string::npos) << op;
  }
}
