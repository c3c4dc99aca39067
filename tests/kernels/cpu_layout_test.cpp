// Blocked layouts between cpu kernels (kernels/cpu/layout.h): values that flow only between
// cpu kernels stay in oneDNN's layout, and the results still equal ref's on the plain
// graph, with the arena poisoned (NaN) before each run so that a reader of bytes nobody
// wrote (a padded channel block, say) shows.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

// x -> conv a (+relu) -> maxpool -> conv b -> (+ maxpool out) -> relu -> conv c (depthwise)
// -> global average pool. 24 channels: oneDNN pads them to 32 in its 16-blocked layout.
ir::Graph residual_chain(int64_t c, bool expose_middle) {
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{{2, ""}, {3, ""}, {16, ""}, {16, ""}}};
  g.inputs.push_back(x);
  g.initializers["wa"] = random_tensor({c, 3, 3, 3}, 1, 0.3f);
  g.initializers["wb"] = random_tensor({c, c, 3, 3}, 2, 0.1f);
  g.initializers["bb"] = random_tensor({c}, 3);
  g.initializers["wc"] = random_tensor({c, 1, 3, 3}, 4, 0.3f);
  const auto pads = attr(std::vector<int64_t>{1, 1, 1, 1});
  g.nodes.push_back(make_node("a", "Conv", {"x", "wa"}, "a", {{"pads", pads}}));
  g.nodes.push_back(make_node("ra", "Relu", {"a"}, "ra"));
  g.nodes.push_back(make_node("p", "MaxPool", {"ra"}, "p",
                              {{"kernel_shape", attr(std::vector<int64_t>{2, 2})},
                               {"strides", attr(std::vector<int64_t>{2, 2})}}));
  g.nodes.push_back(make_node("b", "Conv", {"p", "wb", "bb"}, "b", {{"pads", pads}}));
  g.nodes.push_back(make_node("sum", "Add", {"b", "p"}, "s"));
  g.nodes.push_back(make_node("rs", "Relu", {"s"}, "rs"));
  g.nodes.push_back(
      make_node("c", "Conv", {"rs", "wc"}, "cc", {{"pads", pads}, {"group", attr(c)}}));
  g.nodes.push_back(make_node("gap", "GlobalAveragePool", {"cc"}, "y"));
  g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
  if (expose_middle) g.outputs.push_back({"rs", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

std::vector<Tensor> run(const ir::Graph& g, const Tensor& x, std::vector<std::string> backends,
                        bool optimize, size_t* native = nullptr) {
  runtime::SessionOptions opt;
  opt.backends = std::move(backends);
  opt.optimize = optimize;
  opt.poison_arena = true;
  runtime::Session s(g, opt);
  if (native) *native = s.native_layout_values();
  s.run({x});  // twice: the second run reuses an arena the first one filled
  return s.run({x});
}

}  // namespace

TEST(CpuLayouts, ChainStaysBlockedAndMatchesRef) {
  const Tensor x = random_tensor({2, 3, 16, 16}, 9);
  for (int64_t c : {24, 32}) {
    for (bool expose : {false, true}) {
      const ir::Graph g = residual_chain(c, expose);
      const auto want = run(g, x, {"ref"}, false);
      size_t native = 0;
      const auto got = run(g, x, {"cpu", "ref"}, true, &native);
      // After fusion: conv a+relu -> pool -> conv b+sum+relu -> depthwise c -> gap. Kept
      // blocked: a->pool, pool->b (conv input and sum operand), c->gap, and b->c unless rs
      // is a graph output.
      EXPECT_GE(native, expose ? 3u : 4u) << "channels " << c;
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < want.size(); ++i)
        EXPECT_LE(relative_error(got[i], want[i]), 1e-4)
            << "channels " << c << " expose " << expose << " output " << i;
    }
  }
}

TEST(CpuLayouts, ValueReadByRefStaysPlain) {
  // The pool's output is also read by a node only ref runs (Erf): it must stay plain.
  ir::Graph g = residual_chain(24, false);
  g.nodes.push_back(make_node("erf", "Erf", {"p"}, "n"));
  g.outputs.push_back({"n", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  const Tensor x = random_tensor({2, 3, 16, 16}, 10);
  const auto want = run(g, x, {"ref"}, false);
  const auto got = run(g, x, {"cpu", "ref"}, true);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_LE(relative_error(got[i], want[i]), 1e-4) << i;
}

// A squeeze-excitation block (EfficientNet, MobileNetV3): x = Conv(..), s = Sigmoid(Conv(
// GlobalAveragePool(x))), y = Conv(x * s). The Mul reads x in the convolution's layout with
// s broadcast over the pixels, and writes that layout for the next convolution.
TEST(CpuLayouts, SqueezeExcitationMulStaysInTheConvLayout) {
  for (int64_t c : {24, 32}) {
    for (int64_t batch : {1, 2}) {
      ir::Graph g;
      g.opsets[""] = 17;
      g.inputs.push_back(
          {"x", DType::kF32, std::vector<ir::Dim>{{batch, ""}, {3, ""}, {12, ""}, {12, ""}}});
      g.initializers["wa"] = random_tensor({c, 3, 3, 3}, 1, 0.3f);
      g.initializers["ws"] = random_tensor({c, c, 1, 1}, 2, 0.3f);
      g.initializers["bs"] = random_tensor({c}, 3);
      g.initializers["wb"] = random_tensor({16, c, 1, 1}, 4, 0.3f);
      const auto pads = attr(std::vector<int64_t>{1, 1, 1, 1});
      g.nodes.push_back(make_node("a", "Conv", {"x", "wa"}, "a", {{"pads", pads}}));
      g.nodes.push_back(make_node("gap", "GlobalAveragePool", {"a"}, "g"));
      g.nodes.push_back(make_node("se", "Conv", {"g", "ws", "bs"}, "se"));
      g.nodes.push_back(make_node("sig", "Sigmoid", {"se"}, "s"));
      g.nodes.push_back(make_node("mul", "Mul", {"a", "s"}, "m"));
      g.nodes.push_back(make_node("b", "Conv", {"m", "wb"}, "y"));
      g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
      g.validate_and_sort();
      const Tensor x = random_tensor({batch, 3, 12, 12}, 5);
      const auto want = run(g, x, {"ref"}, false);
      size_t native = 0;
      const auto got = run(g, x, {"cpu", "ref"}, true, &native);
      // a -> gap, a -> mul, mul -> b at least.
      EXPECT_GE(native, 2u) << "channels " << c << " batch " << batch;
      EXPECT_LE(relative_error(got[0], want[0]), 1e-4) << "channels " << c << " batch " << batch;
    }
  }
}
