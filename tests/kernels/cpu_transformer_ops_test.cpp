// The cpu kernels transformers need (LayerNormalization, Gelu, Sub, Div, Squeeze,
// Unsqueeze) against ref over a matrix of shapes, axes and operand forms.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

constexpr double kTol = 1e-4;

// The normalizations' matrix: ranks 2 to 4 (`shapes`) x every axis x three Scale forms
// (0: the normalized shape; 1: a broadcast 1 first; 2: the last dimension only); `run`
// gets the input shape, the axis, the Scale's shape and a running case index (a seed).
template <typename Run>
void for_each_norm_case(const std::vector<Shape>& shapes, const Run& run) {
  int index = 0;
  for (const Shape& x : shapes)
    for (int64_t axis = -1; axis >= -static_cast<int64_t>(x.size()); --axis) {
      const Shape normalized(x.end() + axis, x.end());
      for (int form = 0; form < 3; ++form) {
        Shape scale = normalized;
        if (form == 1) scale[0] = 1;
        if (form == 2) scale = {normalized.back()};
        run(x, axis, scale, ++index);
      }
    }
}

}  // namespace

// Rank 2 to 4 x every axis x Scale (full, broadcast with 1s, leading-1 free) x B present
// or omitted x epsilon; values offset so that the mean matters.
TEST(CpuLayerNorm, MatchesRefOverShapesAndAxes) {
  for_each_norm_case({{4, 33}, {2, 7, 768}, {1, 5, 6, 17}, {3, 197, 64}},
                     [](const Shape& x, int64_t axis, const Shape& scale, int index) {
                       std::vector<Operand> ops{input("x", uniform_tensor(x, index, 2.0f, 5.0f)),
                                                constant("s", random_tensor(scale, index + 1))};
                       if (index % 2) ops.push_back(constant("b", random_tensor(scale, index + 2)));
                       const float eps = index % 3 ? 1e-5f : 1e-2f;
                       const std::string label = "x " + shape_str(x) + " axis " +
                                                 std::to_string(axis) + " scale " +
                                                 shape_str(scale) + (index % 2 ? " bias" : "");
                       expect_matches_ref(one_node("LayerNormalization", ops,
                                                   {{"axis", attr(axis)}, {"epsilon", attr(eps)}}),
                                          kTol, "cpu", label);
                     });
}

TEST(CpuLayerNorm, DeclinesWhatItDoesNotRun) {
  const Tensor x = random_tensor({2, 8}, 1);
  EXPECT_NE(cpu_decline_reason(
                one_node("LayerNormalization", {input("x", x), input("s", random_tensor({8}, 2))})),
            "");
  const std::string reason = cpu_decline_reason(one_node(
      "LayerNormalization", {input("x", x), constant("s", random_tensor({8}, 2))}, {}, 17, 3));
  EXPECT_NE(reason.find("Mean and InvStdDev"), std::string::npos) << reason;
}

TEST(CpuGelu, MatchesRefBothForms) {
  int index = 0;
  for (const Shape& x : std::vector<Shape>{{7}, {2, 197, 3072}, {1, 16, 5, 5}})
    for (const char* form : {"none", "tanh"}) {
      ++index;
      expect_matches_ref(one_node("Gelu", {input("x", random_tensor(x, index, 3.0f))},
                                  {{"approximate", attr(std::string(form))}}, 20),
                         kTol, "cpu", shape_str(x) + " " + form);
    }
}

// Sub and Div (not commutative: only the second operand may broadcast) over shapes.
TEST(CpuSubDiv, MatchesRefWithBroadcasts) {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {{{2, 197, 768}, {2, 197, 768}},
                        {{2, 197, 768}, {2, 197, 1}},
                        {{1, 8, 5, 5}, {1, 8, 1, 1}},
                        {{3, 7}, {7}},
                        {{4, 6}, {}}};
  int index = 0;
  for (const Case& c : cases)
    for (const char* op : {"Sub", "Div"}) {
      ++index;
      // Divisors kept away from 0.
      const Tensor b = std::string(op) == "Div" ? uniform_tensor(c.b, index, 0.5f, 2.0f)
                                                : random_tensor(c.b, index);
      expect_matches_ref(one_node(op, {input("a", random_tensor(c.a, index + 50)), input("b", b)}),
                         kTol, "cpu",
                         std::string(op) + " " + shape_str(c.a) + " by " + shape_str(c.b));
    }
  const std::string reason = cpu_decline_reason(one_node(
      "Div", {input("a", random_tensor({1, 4}, 1)), input("b", uniform_tensor({3, 4}, 2, 1, 2))}));
  EXPECT_NE(reason.find("first operand"), std::string::npos) << reason;
  const std::string both = cpu_decline_reason(one_node(
      "Sub", {input("a", random_tensor({1, 4}, 1)), input("b", random_tensor({3, 1}, 2))}));
  EXPECT_NE(both.find("both operands"), std::string::npos) << both;
}

// Sub with its first operand broadcast (BERT's `1 - mask`, YOLOv8's `anchors - lt` at batch
// > 1) runs on cpu as the swapped Sub negated by a post-op: bit for bit what ref gives, 1 and
// 2 threads, a NaN-poisoned arena, the full-size operand from a Conv's layout or plain.
TEST(CpuSubDiv, SubWithABroadcastFirstOperandIsExact) {
  struct Case {
    Shape a, b;
  };
  const Case cases[] = {{{}, {2, 1, 1, 128}},
                        {{1, 2, 37}, {3, 2, 37}},
                        {{4}, {3, 5, 4}},
                        {{1, 8, 1, 1}, {2, 8, 5, 5}}};
  int index = 0;
  for (const Case& c : cases)
    for (int threads : {1, 2}) {
      const OneNode t = one_node("Sub", {input("a", random_tensor(c.a, ++index)),
                                         input("b", random_tensor(c.b, index + 40))});
      const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
      const std::string label =
          shape_str(c.a) + " - " + shape_str(c.b) + " threads " + std::to_string(threads);
      EXPECT_EQ(r.cpu->assignments().at(0).backend, "cpu") << label;
      EXPECT_EQ(r.cpu->assignments().at(0).impl.find("ref"), std::string::npos)
          << label << ": " << r.cpu->assignments().at(0).impl;
      EXPECT_TRUE(r.got.at(0).equals(r.want.at(0))) << label;
    }
  // After a Conv: the full-size operand arrives in the convolution's layout.
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {2, 16, 9, 9}) x.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(x);
  g.initializers["w"] = random_tensor({32, 16, 3, 3}, 3, 0.1f);
  g.initializers["c"] = random_tensor({1, 32, 1, 1}, 4);
  g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "y",
                              {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}));
  g.nodes.push_back(make_node("sub", "Sub", {"c", "y"}, "z"));
  g.outputs.push_back(ir::ValueInfo{"z", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(g, {uniform_tensor({2, 16, 9, 9}, 5, -1, 1)}, threads);
    for (const auto& a : r.cpu->assignments()) EXPECT_EQ(a.backend, "cpu") << a.node_name;
    EXPECT_LE(relative_error(r.got.at(0), r.want.at(0)), kTol) << "after Conv, threads " << threads;
  }
}

TEST(CpuSqueeze, MatchesRef) {
  const Tensor x = random_tensor({1, 12, 1, 64}, 3);
  expect_matches_ref(
      one_node("Squeeze",
               {input("x", x), constant("axes", Tensor::from_vector<int64_t>({1}, {2}))}),
      kTol, "cpu", "squeeze axis 2");
  expect_matches_ref(one_node("Squeeze", {input("x", x)}), kTol, "cpu", "squeeze all");
  expect_matches_ref(
      one_node("Unsqueeze",
               {input("x", x), constant("axes", Tensor::from_vector<int64_t>({2}, {0, -1}))}),
      kTol, "cpu", "unsqueeze 0, -1");
}

// RMSNormalization (the loop of rms_norm_kernel.cpp) against ref: rank 2 to 4 x every axis
// x Scale forms x 1 and 2 threads, a NaN-poisoned arena; rows from 1 to 197 of sizes
// around the 16-lane step (15, 16, 17, 33) and large (768).
TEST(CpuRmsNorm, MatchesRefOverShapesAxesAndThreads) {
  for_each_norm_case(
      {{4, 33}, {2, 7, 768}, {1, 5, 6, 17}, {3, 197, 16}, {1, 15}},
      [](const Shape& x, int64_t axis, const Shape& scale, int index) {
        const OneNode t =
            one_node("RMSNormalization",
                     {input("x", uniform_tensor(x, index, -3.0f, 5.0f)),
                      constant("s", random_tensor(scale, index + 1))},
                     {{"axis", attr(axis)}, {"epsilon", attr(index % 3 ? 1e-6f : 1e-2f)}}, 23);
        for (int threads : {1, 2}) {
          const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
          const std::string label = "x " + shape_str(x) + " axis " + std::to_string(axis) +
                                    " scale " + shape_str(scale) + " threads " +
                                    std::to_string(threads);
          EXPECT_EQ(r.cpu->assignments().at(0).impl, "loop:rms_norm") << label;
          EXPECT_LE(relative_error(r.got.at(0), r.want.at(0)), kTol) << label;
        }
      });
}

// A Scale fed at run time stays on ref, with the reason.
TEST(CpuRmsNorm, DeclinesRunTimeScale) {
  const OneNode t = one_node(
      "RMSNormalization",
      {input("x", uniform_tensor({2, 8}, 1, -1, 1)), input("s", random_tensor({8}, 2))}, {}, 23);
  const Ran r = run_on("cpu", t.graph, t.feeds);
  EXPECT_EQ(r.assignments.at(0).backend, "ref");
  ASSERT_FALSE(r.assignments.at(0).declined.empty());
  EXPECT_NE(r.assignments.at(0).declined[0].find("Scale"), std::string::npos);
}
