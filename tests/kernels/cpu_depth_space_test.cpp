// DepthToSpace (DCR, CRD) and SpaceToDepth on the cpu backend (depth_space_kernel.cpp)
// against ref, bit-exact: blocksizes 1 to 4, batch 1 and 3, odd sizes, opsets 1 and 13, a
// graph input and a convolution's output (one-hot weights keep it exact), 1 and 2 threads,
// poisoned arena.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Case {
  Shape x;
  int64_t block;
};

ir::Graph graph_of(const std::string& op, const Shape& x, int64_t block, const std::string& mode,
                   int64_t opset, bool after_conv) {
  ir::Graph g;
  g.opsets[""] = opset;
  ir::ValueInfo in{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : x) in.shape->push_back(ir::Dim{d, ""});
  g.inputs.push_back(in);
  std::string from = "x";
  if (after_conv) {  // channels copied: output channel o is input channel o % C
    Tensor w(DType::kF32, {x[1] * 2, x[1], 1, 1});
    for (int64_t i = 0; i < w.numel(); ++i)
      w.data<float>()[i] = i % x[1] == (i / x[1]) % x[1] ? 1.0f : 0.0f;
    g.initializers["w"] = std::move(w);
    g.nodes.push_back(make_node("conv", "Conv", {"x", "w"}, "c"));
    from = "c";
  }
  std::map<std::string, ir::Attribute> attrs{{"blocksize", attr(block)}};
  if (!mode.empty()) attrs["mode"] = attr(mode);
  g.nodes.push_back(make_node("op", op, {from}, "y", attrs));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

void expect_exact(const ir::Graph& g, const Tensor& x, const std::string& label) {
  for (int threads : {1, 2}) {
    const CpuAndRef r = run_cpu_and_ref(g, {x}, threads);
    for (const auto& a : r.cpu->assignments()) {
      if (a.op_type == "Copy") continue;
      EXPECT_EQ(a.backend, "cpu") << label << ": " << (a.declined.empty() ? "" : a.declined[0]);
    }
    ASSERT_EQ(r.got.size(), 1u);
    EXPECT_EQ(relative_error(r.got[0], r.want[0]), 0.0) << label << " threads " << threads;
  }
}

}  // namespace

TEST(CpuDepthSpace, DepthToSpaceBothModes) {
  const std::vector<Case> cases = {
      {{1, 4, 3, 5}, 2}, {{3, 18, 5, 7}, 3}, {{2, 32, 4, 4}, 4}, {{1, 3, 2, 3}, 1}};
  for (const Case& c : cases)
    for (const std::string mode : {"DCR", "CRD"})
      for (bool conv : {false, true}) {
        // After the one-hot conv the op sees 2C channels: still a multiple of block^2.
        const Tensor x = uniform_tensor(c.x, 5, -2, 2);
        expect_exact(graph_of("DepthToSpace", c.x, c.block, mode, 13, conv), x,
                     "DepthToSpace " + mode + " " + shape_str(c.x) + " block " +
                         std::to_string(c.block) + (conv ? " after Conv" : ""));
      }
  // Opset 1: DCR, no mode attribute.
  expect_exact(graph_of("DepthToSpace", {2, 8, 3, 3}, 2, "", 1, false),
               uniform_tensor({2, 8, 3, 3}, 6, -1, 1), "DepthToSpace opset 1");
}

TEST(CpuDepthSpace, SpaceToDepth) {
  const std::vector<Case> cases = {
      {{1, 3, 4, 6}, 2}, {{3, 5, 9, 6}, 3}, {{2, 2, 8, 8}, 4}, {{1, 16, 160, 160}, 2}};
  for (const Case& c : cases)
    for (bool conv : {false, true})
      expect_exact(graph_of("SpaceToDepth", c.x, c.block, "", 13, conv),
                   uniform_tensor(c.x, 7, -2, 2),
                   "SpaceToDepth " + shape_str(c.x) + " block " + std::to_string(c.block) +
                       (conv ? " after Conv" : ""));
}
