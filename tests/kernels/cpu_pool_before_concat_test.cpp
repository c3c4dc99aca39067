// pool_before_concat (passes/pool_before_concat.h): a MaxPool after a Concat along the
// batch or the channels moves before it, one MaxPool per part. On the cpu backend after
// the whole pipeline (split_conv_over_concat then removes the Concat before a Conv)
// against ref on the graph as written: batch 1/2/3, 2 and 3 parts of 3-48 channels,
// SqueezeNet's ceil-mode 3x3/2 and a padded window, axis 1, -3 and 0, 1 and 2 threads; the
// pass alone is exact on ref; and the forms it must leave.
#include <gtest/gtest.h>

#include <cstdlib>

#include "frugal/passes/pool_before_concat.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Case {
  int64_t n;
  std::vector<int64_t> parts;  // channels of each Concat input (axis 0: all the first's)
  int64_t axis;
  bool ceil;       // SqueezeNet's 3x3/2 ceil-mode window; else 3x3/1 padded by 1
  bool conv_next;  // a 1x1 Conv reads the MaxPool (else it is the graph's output)
};

std::string label_of(const Case& c) {
  std::string s = "n" + std::to_string(c.n) + " axis " + std::to_string(c.axis) +
                  (c.ceil ? " ceil 3x3/2" : " padded 3x3/1") + (c.conv_next ? " conv" : "") +
                  " parts";
  for (int64_t p : c.parts) s += " " + std::to_string(p);
  return s;
}

constexpr int64_t kIn = 8;

// x -> Conv + Relu per part -> Concat(axis) -> MaxPool [-> 1x1 Conv].
ir::Graph pool_graph(const Case& c, int64_t h, int64_t w) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(ir::ValueInfo{"x", DType::kF32,
                                   std::vector<ir::Dim>{{c.n, ""}, {kIn, ""}, {h, ""}, {w, ""}}});
  std::vector<std::string> parts;
  const bool batch = c.axis == 0;
  for (size_t i = 0; i < c.parts.size(); ++i) {
    const std::string name = "e" + std::to_string(i);
    const int64_t ch = batch ? c.parts[0] : c.parts[i];
    g.initializers[name + ".w"] = random_tensor({ch, kIn, 1, 1}, 20 + i, 0.4f);
    g.nodes.push_back(make_node(name, "Conv", {"x", name + ".w"}, name + ".pre"));
    g.nodes.push_back(make_node(name + ".relu", "Relu", {name + ".pre"}, name));
    parts.push_back(name);
  }
  g.nodes.push_back(make_node("cat", "Concat", parts, "cat", {{"axis", attr(c.axis)}}));
  std::map<std::string, ir::Attribute> window = {
      {"kernel_shape", attr(std::vector<int64_t>{3, 3})},
      {"strides", attr(std::vector<int64_t>{c.ceil ? 2 : 1, c.ceil ? 2 : 1})},
      {"pads", attr(std::vector<int64_t>(4, c.ceil ? 0 : 1))},
      {"ceil_mode", attr(int64_t{c.ceil ? 1 : 0})}};
  g.nodes.push_back(make_node("pool", "MaxPool", {"cat"}, "pool", window));
  int64_t total = c.parts[0];
  for (size_t i = 1; i < c.parts.size() && !batch; ++i) total += c.parts[i];
  if (c.conv_next) {
    g.initializers["next.w"] = random_tensor({16, total, 1, 1}, 9, 0.3f);
    g.nodes.push_back(make_node("next", "Conv", {"pool", "next.w"}, "y"));
  }
  g.outputs.push_back(ir::ValueInfo{c.conv_next ? "y" : "pool", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return g;
}

size_t count_op(const runtime::Session& s, const std::string& op) {
  size_t k = 0;
  for (const auto& a : s.assignments()) k += a.op_type == op;
  return k;
}

ir::Graph rewritten(const ir::Graph& g, passes::PassReport& report) {
  ops::InferOptions opt;
  return passes::pool_before_concat(g, opt, report);
}

}  // namespace

TEST(CpuPoolBeforeConcat, MatchesRefAndLeavesNoConcatBeforeAConv) {
  size_t i = 0;
  for (int64_t n : {1, 2, 3})
    for (const auto& parts : std::vector<std::vector<int64_t>>{{16, 16}, {24, 3, 48}, {17, 32}})
      for (int64_t axis : {1, -3, 0}) {
        const Case c{n, parts, axis, i % 2 == 0, i % 3 != 1};
        const int threads = 1 + static_cast<int>((i + i / 3) % 2);
        const int64_t h = i % 2 ? 13 : 10, w = i % 3 ? 11 : 9;
        ++i;
        const std::string label = label_of(c);
        const auto r =
            run_cpu_and_ref(pool_graph(c, h, w), {random_tensor({n, kIn, h, w}, i)}, threads);
        EXPECT_LE(relative_error(r.got[0], r.want[0]), 1e-5) << label << " threads " << threads;
        EXPECT_EQ(count_op(*r.cpu, "MaxPool"), parts.size()) << label;
        // Before a Conv the channel Concat goes too (split_conv_over_concat); else it stays,
        // after the pools.
        const bool concat_goes = c.conv_next && axis != 0;
        EXPECT_EQ(count_op(*r.cpu, "Concat"), concat_goes ? 0u : 1u) << label;
      }
}

// The pass alone on ref: a max-pool works plane by plane, so the result is the same bits.
TEST(PoolBeforeConcat, IsExactOnRef) {
  const Case c{2, {24, 3, 48}, 1, true, false};
  const ir::Graph g = pool_graph(c, 13, 13);
  passes::PassReport report;
  const ir::Graph out = rewritten(g, report);
  EXPECT_EQ(report.changes, 1);
  const std::vector<Tensor> feeds = {random_tensor({2, kIn, 13, 13}, 5)};
  EXPECT_EQ(
      relative_error(run_on("ref", out, feeds).outputs[0], run_on("ref", g, feeds).outputs[0]),
      0.0);
}

// A Concat along a spatial axis, one with another reader or that is a graph output, a
// MaxPool with an Indices output, and the switch: unchanged.
TEST(PoolBeforeConcat, LeavesTheFormsItCannotMove) {
  auto edit = [&](const std::string& what) {
    ir::Graph g = pool_graph(Case{1, {16, 16}, 1, true, what != "spatial"}, 9, 9);
    for (auto& n : g.nodes) {
      if (what == "spatial" && n.op_type == "Concat") n.attrs["axis"] = attr(int64_t{2});
      if (what == "indices" && n.op_type == "MaxPool") n.outputs.push_back("idx");
    }
    if (what == "reader") g.nodes.push_back(make_node("again", "Relu", {"cat"}, "again"));
    if (what == "reader") g.outputs.push_back(ir::ValueInfo{"again", DType::kUndefined, {}});
    if (what == "output") g.outputs.push_back(ir::ValueInfo{"cat", DType::kUndefined, {}});
    if (what == "indices") g.outputs.push_back(ir::ValueInfo{"idx", DType::kUndefined, {}});
    g.validate_and_sort();
    return g;
  };
  for (const std::string what : {"spatial", "reader", "output", "indices", "off"}) {
    if (what == "off") setenv("FRUGAL_NO_POOL_BEFORE_CONCAT", "1", 1);
    const ir::Graph g = edit(what);
    passes::PassReport report;
    const ir::Graph out = rewritten(g, report);
    unsetenv("FRUGAL_NO_POOL_BEFORE_CONCAT");
    EXPECT_EQ(report.changes, 0) << what;
    EXPECT_EQ(out.nodes.size(), g.nodes.size()) << what;
  }
}
