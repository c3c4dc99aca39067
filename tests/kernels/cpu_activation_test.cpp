// The unary activations and PRelu moved from ref to the cpu backend (activation_kernels.cpp)
// against ref: shapes of rank 1 to 5 and batch 1/3, attributes and their defaults, 1 and 2
// threads, a NaN-poisoned arena, a blocked-layout producer, non-finite inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

constexpr double kTol = 2e-5;

struct UnaryCase {
  std::string op;
  std::map<std::string, ir::Attribute> attrs;
  float lo, hi;  // input range (not negative for Sqrt)
  int64_t opset = 18;
};

std::vector<UnaryCase> unary_cases() {
  return {
      {"Tanh", {}, -6, 6},
      {"LeakyRelu", {}, -6, 6},
      {"LeakyRelu", {{"alpha", attr(0.2f)}}, -6, 6},
      {"Elu", {}, -6, 6},
      {"Elu", {{"alpha", attr(0.5f)}}, -6, 6},
      {"Selu", {}, -6, 6},
      {"Selu", {{"alpha", attr(1.5f)}, {"gamma", attr(0.75f)}}, -6, 6},
      {"Softplus", {}, -30, 30},
      {"Mish", {}, -10, 10},
      {"Exp", {}, -20, 20},
      {"Sqrt", {}, 0, 100},
      {"Abs", {}, -6, 6},
      {"Neg", {}, -6, 6},
      {"Reciprocal", {}, -6, 6},
  };
}

std::string label_of(const UnaryCase& c) {
  std::string l = c.op;
  for (const auto& [k, v] : c.attrs) l += " " + k + "=" + std::to_string(std::get<float>(v.value));
  return l;
}

// NaN where ref has NaN, the same infinities, finite values within 1e-4 of max |ref|.
bool agrees_nonfinite(const Tensor& got, const Tensor& want, std::string& why) {
  double scale = 1;
  for (int64_t i = 0; i < want.numel(); ++i)
    if (std::isfinite(want.at_double(i))) scale = std::max(scale, std::fabs(want.at_double(i)));
  for (int64_t i = 0; i < want.numel(); ++i) {
    const double g = got.at_double(i), w = want.at_double(i);
    const bool same = std::isnan(w)                    ? std::isnan(g)
                      : std::isinf(w) || std::isinf(g) ? g == w
                                                       : std::fabs(g - w) <= 1e-4 * scale;
    if (!same) {
      why = "element " + std::to_string(i) + ": cpu " + std::to_string(g) + ", ref " +
            std::to_string(w);
      return false;
    }
  }
  return true;
}

}  // namespace

TEST(CpuActivation, UnaryOpsMatchRefOverShapesAttributesAndThreads) {
  const std::vector<Shape> shapes = {{7}, {3, 33}, {1, 4, 6, 6}, {3, 17, 5, 7}, {3, 2, 3, 4, 5}};
  int seed = 0;
  for (const UnaryCase& c : unary_cases())
    for (const Shape& s : shapes)
      for (int threads : {1, 2}) {
        const OneNode t =
            one_node(c.op, {input("x", uniform_tensor(s, ++seed, c.lo, c.hi))}, c.attrs, c.opset);
        expect_graph_on_cpu_at(t.graph, t.feeds, threads, kTol, label_of(c) + " " + shape_str(s));
      }
}

// After a Conv, the activation reads the Conv's blocked output layout (its producer's).
TEST(CpuActivation, AfterConvInItsLayout) {
  for (const UnaryCase& c : unary_cases()) {
    // Sqrt: a Conv's output is of either sign; Reciprocal: 1/x of outputs near 0 magnifies
    // the Conv's own rounding differences far beyond the tolerance.
    if (c.op == "Sqrt" || c.op == "Reciprocal") continue;
    ir::Graph g;
    g.opsets[""] = c.opset;
    ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
    for (int64_t d : {2, 16, 9, 9}) x.shape->push_back(ir::Dim{d, ""});
    g.inputs.push_back(x);
    g.initializers["w"] = random_tensor({32, 16, 3, 3}, 3, 0.1f);
    g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "c",
                                {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}));
    g.nodes.push_back(make_node("act", c.op, {"c"}, "y", c.attrs));
    g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
    g.validate_and_sort();
    for (int threads : {1, 2})
      expect_graph_on_cpu_at(g, {uniform_tensor({2, 16, 9, 9}, 5, -1, 1)}, threads, kTol,
                             label_of(c) + " after Conv");
  }
}

// NaN and +-Inf inputs (and Sqrt of negatives and zero): cpu gives what ref gives,
// except that oneDNN's Exp makes NaN +Inf (docs/robustness.md); the test pins that too.
TEST(CpuActivation, NonFiniteInputsAgreeWithRef) {
  Tensor x = uniform_tensor({4, 40}, 9, -5, 5);
  float* d = x.data<float>();
  const float special[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 100.0f, -100.0f, -1.0f};
  for (int64_t i = 0; i < 8; ++i) d[i * 17] = special[i];
  for (const UnaryCase& c : unary_cases()) {
    const OneNode t = one_node(c.op, {input("x", x)}, c.attrs, c.opset);
    const Ran ref = run_on("ref", t.graph, t.feeds);
    const Ran got = run_on("cpu", t.graph, t.feeds);
    ASSERT_EQ(got.assignments.at(0).backend, "cpu") << label_of(c);
    Tensor want = ref.outputs.at(0);
    if (c.op == "Exp")
      for (int64_t i = 0; i < want.numel(); ++i)
        if (std::isnan(want.data<float>()[i])) want.data<float>()[i] = INFINITY;
    std::string why;
    EXPECT_TRUE(agrees_nonfinite(got.outputs.at(0), want, why)) << label_of(c) << ": " << why;
  }
}

// Slope shapes ONNX exports use: per channel ([C,1,1], [1,C,1,1]), one value, the last
// axis, the full shape; constant (weights) or fed at run time.
TEST(CpuPRelu, MatchesRefOverSlopeShapes) {
  struct Case {
    Shape x, slope;
  };
  const std::vector<Case> cases = {
      {{1, 8, 5, 5}, {8, 1, 1}},
      {{3, 8, 5, 5}, {1, 8, 1, 1}},
      {{3, 8, 5, 5}, {1}},
      {{2, 8, 5, 5}, {5}},
      {{2, 8, 5, 5}, {8, 5, 5}},
      {{3, 33}, {33}},
      {{2, 6, 4, 3, 3}, {6, 1, 1, 1}},
      {{7}, {7}},
  };
  int seed = 100;
  for (const Case& c : cases)
    for (bool constant_slope : {true, false})
      for (int threads : {1, 2}) {
        const Tensor slope = uniform_tensor(c.slope, ++seed, 0.0f, 0.5f);
        const OneNode t =
            one_node("PRelu", {input("x", uniform_tensor(c.x, ++seed, -3, 3)),
                               constant_slope ? constant("s", slope) : input("s", slope)});
        expect_graph_on_cpu_at(t.graph, t.feeds, threads, kTol,
                               "PRelu x " + shape_str(c.x) + " slope " + shape_str(c.slope) +
                                   (constant_slope ? " constant" : " input"));
      }
}

TEST(CpuPRelu, AfterConvAndDeclinesOpset6) {
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {1, 16, 12, 12}) x.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(x);
  g.initializers["w"] = random_tensor({32, 16, 3, 3}, 3, 0.1f);
  g.initializers["s"] = uniform_tensor({32, 1, 1}, 4, 0.0f, 0.5f);
  g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "c"));
  g.nodes.push_back(make_node("act", "PRelu", {"c", "s"}, "y"));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  for (int threads : {1, 2})
    expect_graph_on_cpu_at(g, {uniform_tensor({1, 16, 12, 12}, 5, -1, 1)}, threads, kTol,
                           "Conv+PRelu");

  const std::string why = cpu_decline_reason(one_node(
      "PRelu", {input("x", random_tensor({1, 4, 3, 3}, 1)), constant("s", random_tensor({4}, 2))},
      {}, 6));
  EXPECT_NE(why.find("opset 6"), std::string::npos) << why;
}

// Pow by a one-element constant exponent (float or int64, shape [] or [1]) on oneDNN's pow:
// the exponents real graphs use (x^2 in RMSNorm, x^3 in GELU's tanh form, square roots,
// reciprocals) over bases of both signs, 1 and 2 threads, after a Conv in its layout;
// NaN and infinities as ref gives them.
TEST(CpuPow, ConstantExponentsMatchRef) {
  Tensor special = uniform_tensor({3, 40}, 9, -5, 5);
  const float odd[] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e10f, -1e-10f, -1.0f};
  for (int64_t i = 0; i < 8; ++i) special.data<float>()[i * 13] = odd[i];
  int seed = 0;
  for (double e : {2.0, 3.0, 0.25, -1.0, 1.5, 0.0, 1.0, -2.0, 4.0, -0.5}) {
    // A fractional exponent of a negative base is NaN on both: the matrix keeps both signs.
    for (const Shape& s : {Shape{7}, Shape{3, 17, 5, 7}, Shape{2, 3, 4, 5, 6}})
      for (int threads : {1, 2})
        for (bool as_int : {false, true}) {
          if (as_int && e != std::floor(e)) continue;
          const Tensor exponent = as_int ? Tensor::from_vector<int64_t>({1}, {int64_t(e)})
                                         : Tensor::from_vector<float>({}, {float(e)});
          const OneNode t = one_node(
              "Pow", {input("x", uniform_tensor(s, ++seed, -3, 3)), constant("e", exponent)}, {},
              18);
          const CpuAndRef r = run_cpu_and_ref(t.graph, t.feeds, threads);
          const std::string label = "x^" + std::to_string(e) + (as_int ? " (int64)" : "") + " " +
                                    shape_str(s) + " threads " + std::to_string(threads);
          ASSERT_EQ(r.cpu->assignments().at(0).backend, "cpu") << label;
          std::string why;
          EXPECT_TRUE(agrees_nonfinite(r.got.at(0), r.want.at(0), why)) << label << ": " << why;
        }
    const OneNode t = one_node(
        "Pow", {input("x", special), constant("e", Tensor::from_vector<float>({}, {float(e)}))}, {},
        18);
    const Ran ref = run_on("ref", t.graph, t.feeds), got = run_on("cpu", t.graph, t.feeds);
    ASSERT_EQ(got.assignments.at(0).backend, "cpu");
    std::string why;
    EXPECT_TRUE(agrees_nonfinite(got.outputs.at(0), ref.outputs.at(0), why))
        << "x^" << e << " of NaN/Inf/0: " << why;
  }
}

// An exponent tensor, one fed at run time, or 0.5 (oneDNN's sqrt makes -inf NaN) stays on
// ref with the reason.
TEST(CpuPow, TensorExponentsStayOnRef) {
  const OneNode per_element = one_node(
      "Pow", {input("x", uniform_tensor({2, 5}, 1, 0, 2)), constant("e", random_tensor({5}, 2))},
      {}, 18);
  const Ran a = run_on("cpu", per_element.graph, per_element.feeds);
  EXPECT_EQ(a.assignments.at(0).backend, "ref");
  const OneNode fed = one_node("Pow",
                               {input("x", uniform_tensor({2, 5}, 1, 0, 2)),
                                input("e", Tensor::from_vector<float>({}, {2}))},
                               {}, 18);
  const Ran b = run_on("cpu", fed.graph, fed.feeds);
  EXPECT_EQ(b.assignments.at(0).backend, "ref");
  ASSERT_FALSE(b.assignments.at(0).declined.empty());
  EXPECT_NE(b.assignments.at(0).declined[0].find("exponent"), std::string::npos)
      << b.assignments.at(0).declined[0];
  const OneNode half = one_node("Pow",
                                {input("x", uniform_tensor({2, 5}, 1, 0, 2)),
                                 constant("e", Tensor::from_vector<float>({}, {0.5f}))},
                                {}, 18);
  EXPECT_EQ(run_on("cpu", half.graph, half.feeds).assignments.at(0).backend, "ref");
}
