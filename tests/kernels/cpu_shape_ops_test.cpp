// The cpu backend's data-movement kernels (Concat, Transpose, Split) against ref over a
// matrix of ranks, axes and sizes, and in chains of convolutions where they keep the
// convolutions' layout (layout.h). These kernels only copy: results must be bit-identical.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

Tensor i64_tensor(const std::vector<int64_t>& v) {
  Tensor t(DType::kI64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

std::string dims_str(const Shape& s) {
  return shape_str(s);
}

}  // namespace

TEST(CpuShapeOps, TransposeByHand) {
  // [[0 1 2] [3 4 5]] transposed: [[0 3] [1 4] [2 5]].
  Tensor x(DType::kF32, {2, 3});
  for (int i = 0; i < 6; ++i) x.data<float>()[i] = static_cast<float>(i);
  const OneNode t = one_node("Transpose", {input("x", x)});
  const Ran got = run_on("cpu", t.graph, t.feeds);
  EXPECT_EQ(got.assignments.at(0).backend, "cpu");
  ASSERT_EQ(got.outputs[0].shape(), (Shape{3, 2}));
  const float want[] = {0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(got.outputs[0].data<float>()[i], want[i]) << i;
}

TEST(CpuShapeOps, TransposeMatrix) {
  struct Case {
    Shape shape;
    std::vector<int64_t> perm;  // empty: the default (reversed axes)
  };
  const std::vector<Case> cases = {
      {{7}, {0}},
      {{5, 9}, {}},
      {{3, 4, 5}, {0, 2, 1}},
      {{3, 4, 5}, {2, 0, 1}},
      {{2, 3, 7, 5}, {0, 2, 3, 1}},
      {{2, 3, 7, 5}, {0, 3, 1, 2}},
      {{2, 3, 7, 5}, {3, 2, 1, 0}},
      {{1, 2, 58, 7, 7}, {0, 2, 1, 3, 4}},  // shufflenet's channel shuffle
      {{3, 2, 5, 4, 3}, {4, 1, 3, 0, 2}},
      {{2, 1, 3, 1, 2, 3}, {5, 4, 3, 2, 1, 0}},
  };
  uint64_t seed = 100;
  for (const auto& c : cases) {
    std::map<std::string, ir::Attribute> attrs;
    if (!c.perm.empty()) attrs["perm"] = attr(c.perm);
    const OneNode t = one_node("Transpose", {input("x", random_tensor(c.shape, ++seed))}, attrs);
    expect_matches_ref(t, 0.0, "cpu", "transpose " + dims_str(c.shape));
  }
}

TEST(CpuShapeOps, ConcatMatrix) {
  uint64_t seed = 200;
  const std::vector<Shape> bases = {{6}, {3, 5}, {2, 3, 4}, {2, 5, 3, 4}, {1, 3, 2, 3, 2}};
  for (const Shape& base : bases) {
    const int64_t rank = static_cast<int64_t>(base.size());
    for (int64_t axis = -rank; axis < rank; ++axis) {
      const size_t a = static_cast<size_t>(axis < 0 ? axis + rank : axis);
      for (size_t count : {1u, 2u, 3u}) {
        std::vector<Operand> ops;
        for (size_t i = 0; i < count; ++i) {
          Shape s = base;
          s[a] = base[a] + static_cast<int64_t>(i);  // unequal sizes along the axis
          ops.push_back(input("x" + std::to_string(i), random_tensor(s, ++seed)));
        }
        const OneNode t = one_node("Concat", ops, {{"axis", attr(axis)}});
        expect_matches_ref(t, 0.0, "cpu",
                           "concat " + dims_str(base) + " axis " + std::to_string(axis) + " x" +
                               std::to_string(count));
      }
    }
  }
}

TEST(CpuShapeOps, ConcatOfOneValueTwice) {
  const Tensor x = random_tensor({2, 3, 4}, 250);
  const OneNode t = one_node("Concat", {input("x", x)}, {{"axis", attr(int64_t{1})}});
  // Both inputs name the same graph input.
  OneNode twice = t;
  twice.graph.nodes[0].inputs = {"x", "x"};
  expect_matches_ref(twice, 0.0, "cpu", "concat x, x");
}

TEST(CpuShapeOps, SplitMatrix) {
  uint64_t seed = 300;
  struct Case {
    Shape shape;
    int64_t axis;
    std::vector<int64_t> sizes;
  };
  const std::vector<Case> cases = {
      {{10}, 0, {3, 7}},         {{4, 9}, 1, {2, 3, 4}},       {{4, 9}, -2, {1, 3}},
      {{2, 6, 3, 5}, 1, {3, 3}}, {{2, 7, 3, 5}, 1, {1, 4, 2}}, {{2, 6, 3, 5}, 3, {2, 3}},
      {{2, 6, 3, 5}, 0, {1, 1}}, {{1, 4, 2, 3, 3}, 2, {1, 1}},
  };
  for (const auto& c : cases) {
    const std::string label = "split " + dims_str(c.shape) + " axis " + std::to_string(c.axis);
    const Tensor x = random_tensor(c.shape, ++seed);
    // Sizes as an input (opset 13) and as an attribute (opset 11).
    const OneNode t13 = one_node("Split", {input("x", x), constant("split", i64_tensor(c.sizes))},
                                 {{"axis", attr(c.axis)}}, 13, c.sizes.size());
    expect_matches_ref(t13, 0.0, "cpu", label + " opset 13");
    const OneNode t11 =
        one_node("Split", {input("x", x)}, {{"axis", attr(c.axis)}, {"split", attr(c.sizes)}}, 11,
                 c.sizes.size());
    expect_matches_ref(t11, 0.0, "cpu", label + " opset 11");
  }
}

TEST(CpuShapeOps, ReshapeAndFlattenMatrix) {
  uint64_t seed = 350;
  struct Case {
    Shape shape;
    std::vector<int64_t> to;  // Reshape's shape input (0 copies, -1 infers)
  };
  const std::vector<Case> cases = {
      {{24}, {2, 3, 4}},
      {{2, 3, 4}, {-1}},
      {{2, 3, 4}, {0, -1}},
      {{2, 6, 5, 5}, {2, 2, 3, 5, 5}},
      {{2, 2, 3, 5, 5}, {2, 6, 5, 5}},
      {{1, 7, 1, 1}, {1, 7}},
  };
  for (const auto& c : cases) {
    const OneNode t = one_node("Reshape", {input("x", random_tensor(c.shape, ++seed)),
                                           constant("shape", i64_tensor(c.to))});
    expect_matches_ref(t, 0.0, "cpu", "reshape " + dims_str(c.shape));
  }
  const Shape x = {2, 3, 4, 5};
  for (int64_t axis = -4; axis <= 4; ++axis) {
    const OneNode t =
        one_node("Flatten", {input("x", random_tensor(x, ++seed))}, {{"axis", attr(axis)}});
    expect_matches_ref(t, 0.0, "cpu", "flatten axis " + std::to_string(axis));
  }
}

namespace {

ir::Node make(const std::string& name, const std::string& op, std::vector<std::string> in,
              std::vector<std::string> out, std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = name;
  n.op_type = op;
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

// Fire-module and shuffle-unit shapes: two convolutions of x concatenated, a convolution
// of that, split in halves, each half convolved (one half also negated by ref, so that its
// Concat mixes a blocked and a plain input), concatenated again and channel-shuffled by
// Transpose between Reshapes, then convolved again. `c` channels per half.
ir::Graph fire_and_shuffle(int64_t c, bool expose_shuffle) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back({"x", DType::kF32, std::vector<ir::Dim>{{2, ""}, {8, ""}, {9, ""}, {9, ""}}});
  g.initializers["w1"] = random_tensor({c, 8, 1, 1}, 1, 0.3f);
  g.initializers["w3"] = random_tensor({c, 8, 3, 3}, 2, 0.1f);
  g.initializers["wm"] = random_tensor({2 * c, 2 * c, 1, 1}, 3, 0.2f);
  g.initializers["wl"] = random_tensor({c, c, 3, 3}, 4, 0.1f);
  g.initializers["split"] = i64_tensor({c, c});
  g.initializers["shape5"] = i64_tensor({2, 2, c, 9, 9});
  g.initializers["shape4"] = i64_tensor({2, 2 * c, 9, 9});
  const auto pads = attr(std::vector<int64_t>{1, 1, 1, 1});
  g.nodes.push_back(make("e1", "Conv", {"x", "w1"}, {"e1"}));
  g.nodes.push_back(make("e3", "Conv", {"x", "w3"}, {"e3"}, {{"pads", pads}}));
  g.nodes.push_back(make("r1", "Relu", {"e1"}, {"r1"}));
  g.nodes.push_back(make("r3", "Relu", {"e3"}, {"r3"}));
  g.nodes.push_back(make("cat1", "Concat", {"r1", "r3"}, {"c1"}, {{"axis", attr(int64_t{1})}}));
  g.nodes.push_back(make("m", "Conv", {"c1", "wm"}, {"m"}));
  g.nodes.push_back(
      make("split", "Split", {"m", "split"}, {"lo", "hi"}, {{"axis", attr(int64_t{1})}}));
  g.nodes.push_back(make("l", "Conv", {"lo", "wl"}, {"l"}, {{"pads", pads}}));
  g.nodes.push_back(make("neg", "Neg", {"hi"}, {"nh"}));
  g.nodes.push_back(make("cat2", "Concat", {"l", "nh"}, {"c2"}, {{"axis", attr(int64_t{1})}}));
  g.nodes.push_back(make("grouped", "Reshape", {"c2", "shape5"}, {"g5"}));
  g.nodes.push_back(make("shuffle", "Transpose", {"g5"}, {"t5"},
                         {{"perm", attr(std::vector<int64_t>{0, 2, 1, 3, 4})}}));
  g.nodes.push_back(make("flat", "Reshape", {"t5", "shape4"}, {"s4"}));
  g.nodes.push_back(make("last", "Conv", {"s4", "wm"}, {"y"}));
  g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
  // The shuffled tensor also seen by the user: it must come out plain.
  if (expose_shuffle) g.outputs.push_back({"t5", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

std::vector<Tensor> run(const ir::Graph& g, const Tensor& x, std::vector<std::string> backends,
                        size_t* native = nullptr,
                        std::vector<runtime::NodeAssignment>* a = nullptr) {
  runtime::SessionOptions opt;
  opt.backends = std::move(backends);
  opt.poison_arena = true;  // a read of bytes nobody wrote shows as NaN
  runtime::Session s(g, opt);
  if (native) *native = s.native_layout_values();
  if (a) *a = s.assignments();
  s.run({x});
  return s.run({x});
}

}  // namespace

TEST(CpuShapeOps, ChainsKeepBlockedLayoutsAndMatchRef) {
  const Tensor x = random_tensor({2, 8, 9, 9}, 400);
  for (int64_t c : {12, 16, 24}) {
    for (bool expose : {false, true}) {
      const ir::Graph g = fire_and_shuffle(c, expose);
      const auto want = run(g, x, {"ref"});
      size_t native = 0;
      std::vector<runtime::NodeAssignment> assigned;
      const auto got = run(g, x, {"cpu", "ref"}, &native, &assigned);
      for (const auto& n : assigned) {
        const std::string& name = n.node_name;
        if (name == "cat1" || name == "cat2" || name == "split" || name == "shuffle" ||
            name == "grouped" || name == "flat") {
          EXPECT_EQ(n.backend, "cpu") << name << " channels " << c;
        }
      }
      // Whatever layouts the convolutions pick, at least the values between the two first
      // convolutions and cat1 stay in them (both are written by cpu kernels only). Where
      // oneDNN picks nhwc (its avx512 convolutions, as on the reference machine) every value
      // that no ref kernel or user sees stays in it: r1, r3, c1, m, lo, hi, l, nh, c2, g5,
      // t5, s4 (Neg runs on cpu too).
      EXPECT_GE(native, 2u) << "channels " << c;
      bool nhwc_convs = false;
      for (const auto& n : assigned)
        if (n.node_name == "e3") nhwc_convs = n.impl.find("brgconv") != std::string::npos;
      if (nhwc_convs) {
        EXPECT_EQ(native, expose ? 11u : 12u) << "channels " << c;
      }
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_LE(relative_error(got[i], want[i]), 1e-5)
            << "channels " << c << " expose " << expose << " output " << i;
    }
  }
}
