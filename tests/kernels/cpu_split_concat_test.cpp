// split_conv_over_concat (passes.h) on SqueezeNet-like Fire modules, run on the cpu
// backend against the reference kernels on the unoptimized graph: batch 1/2/3, squeeze and
// expand widths (16/24/48 channels, partial 16-channel vectors), two and three Concat
// inputs, a 1x1 or a padded 3x3 convolution after the Concat, with or without bias, 1 and
// 2 threads; and the cases the pass leaves alone.
#include <gtest/gtest.h>

#include <cstdlib>

#include "frugal/kernels/threads.h"
#include "frugal/passes/passes.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct Fire {
  int64_t n, cin, squeeze, expand;
  int parts;       // Concat inputs: 2 (1x1 and 3x3 expands) or 3 (one more 1x1)
  int64_t next_k;  // kernel of the convolution after the Concat: 1 or 3
  bool next_bias;
  bool concat_to_pool;  // the Concat is also read by a MaxPool (the pass must not apply)
};

std::string label_of(const Fire& f) {
  return "n" + std::to_string(f.n) + " cin" + std::to_string(f.cin) + " s" +
         std::to_string(f.squeeze) + " e" + std::to_string(f.expand) + " parts" +
         std::to_string(f.parts) + " next k" + std::to_string(f.next_k) +
         (f.next_bias ? " bias" : "") + (f.concat_to_pool ? " +pool" : "");
}

ir::Graph fire_graph(const Fire& f, int64_t h, int64_t w) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back(ir::ValueInfo{"x", DType::kF32,
                                   std::vector<ir::Dim>{{f.n, ""}, {f.cin, ""}, {h, ""}, {w, ""}}});
  uint64_t seed = 10;
  auto conv = [&](const std::string& name, const std::string& in, int64_t cin, int64_t cout,
                  int64_t k, bool bias, bool relu) {
    g.initializers[name + ".w"] = random_tensor({cout, cin, k, k}, seed++, 0.3f);
    std::vector<std::string> ins = {in, name + ".w"};
    if (bias) {
      g.initializers[name + ".b"] = random_tensor({cout}, seed++, 0.1f);
      ins.push_back(name + ".b");
    }
    const int64_t p = k / 2;
    g.nodes.push_back(make_node(name, "Conv", ins, relu ? name + ".pre" : name,
                                {{"kernel_shape", attr(std::vector<int64_t>{k, k})},
                                 {"pads", attr(std::vector<int64_t>{p, p, p, p})}}));
    if (relu) g.nodes.push_back(make_node(name + ".relu", "Relu", {name + ".pre"}, name));
  };
  conv("sq", "x", f.cin, f.squeeze, 1, true, true);
  conv("e1", "sq", f.squeeze, f.expand, 1, true, true);
  conv("e3", "sq", f.squeeze, f.expand, 3, true, true);
  std::vector<std::string> parts = {"e1", "e3"};
  if (f.parts == 3) {
    conv("e5", "sq", f.squeeze, 16, 1, true, true);
    parts.push_back("e5");
  }
  const int64_t cat_c = 2 * f.expand + (f.parts == 3 ? 16 : 0);
  g.nodes.push_back(make_node("cat", "Concat", parts, "cat", {{"axis", attr(int64_t{1})}}));
  conv("next", "cat", cat_c, 8, f.next_k, f.next_bias, true);
  g.outputs.push_back(ir::ValueInfo{"next", DType::kUndefined, std::nullopt});
  if (f.concat_to_pool) {
    g.nodes.push_back(make_node("pool", "MaxPool", {"cat"}, "pool",
                                {{"kernel_shape", attr(std::vector<int64_t>{2, 2})},
                                 {"strides", attr(std::vector<int64_t>{2, 2})}}));
    g.outputs.push_back(ir::ValueInfo{"pool", DType::kUndefined, std::nullopt});
  }
  g.validate_and_sort();
  return g;
}

size_t count_op(const std::vector<runtime::NodeAssignment>& as, const std::string& op) {
  size_t k = 0;
  for (const auto& a : as) k += a.op_type == op;
  return k;
}

// The graph on cpu (optimized, every node on `threads` threads) against ref on the graph
// as written; returns the cpu Session's assignments.
std::vector<runtime::NodeAssignment> expect_fire_matches_ref(const ir::Graph& g, const Tensor& x,
                                                             int threads,
                                                             const std::string& label) {
  const auto r = run_cpu_and_ref(g, {x}, threads);
  for (size_t i = 0; i < r.want.size(); ++i)
    EXPECT_LE(relative_error(r.got[i], r.want[i]), 1e-5)
        << label << " threads " << threads << " output " << i;
  for (const auto& a : r.cpu->assignments())
    EXPECT_EQ(a.backend, "cpu") << label << ": " << a.node_name << " " << a.impl;
  return r.cpu->assignments();
}

}  // namespace

TEST(CpuSplitConcat, FireModulesMatchRefWithoutTheConcat) {
  size_t i = 0;
  for (int64_t n : {1, 2, 3})
    for (int64_t squeeze : {16, 24})
      for (int64_t expand : {16, 24, 48})
        for (int parts : {2, 3}) {
          const Fire f{n, 32, squeeze, expand, parts, i % 3 == 2 ? 3 : 1, i % 2 == 0, false};
          const int threads = 1 + static_cast<int>(i % 2);
          const int64_t h = i % 2 ? 9 : 12, w = i % 3 ? 11 : 8;
          ++i;
          const std::string label = label_of(f);
          const auto as = expect_fire_matches_ref(fire_graph(f, h, w),
                                                  random_tensor({n, 32, h, w}, 3), threads, label);
          EXPECT_EQ(count_op(as, "Concat"), 0u) << label;
          // One convolution per part, the later ones each adding the former (the Adds fused).
          EXPECT_EQ(count_op(as, "Conv"), static_cast<size_t>(3 + (parts == 3) + parts)) << label;
          EXPECT_EQ(count_op(as, "Add"), 0u) << label;
        }
}

TEST(CpuSplitConcat, AConcatWithAnotherReaderStays) {
  const Fire f{2, 32, 16, 24, 2, 1, true, true};
  const auto as = expect_fire_matches_ref(fire_graph(f, 10, 10), random_tensor({2, 32, 10, 10}, 4),
                                          1, label_of(f));
  EXPECT_EQ(count_op(as, "Concat"), 1u);
}

TEST(CpuSplitConcat, SwitchOffKeepsTheConcat) {
  setenv("FRUGAL_NO_SPLIT_CONV_CONCAT", "1", 1);
  const Fire f{1, 32, 16, 24, 2, 1, true, false};
  const auto as = expect_fire_matches_ref(fire_graph(f, 10, 10), random_tensor({1, 32, 10, 10}, 5),
                                          1, label_of(f));
  unsetenv("FRUGAL_NO_SPLIT_CONV_CONCAT");
  EXPECT_EQ(count_op(as, "Concat"), 1u);
}

// The pass alone: a grouped Conv after the Concat, or a Concat that is a graph output,
// stays as it is.
TEST(SplitConvOverConcat, LeavesGroupedConvAndGraphOutputs) {
  for (bool grouped : {true, false}) {
    const Fire f{1, 32, 16, 16, 2, 1, true, false};
    ir::Graph g = fire_graph(f, 8, 8);
    if (grouped) {
      for (auto& n : g.nodes)
        if (n.name == "next") n.attrs["group"] = attr(int64_t{2});
      g.initializers["next.w"] = random_tensor({8, 16, 1, 1}, 9, 0.3f);
    } else {
      g.outputs.push_back(ir::ValueInfo{"cat", DType::kUndefined, std::nullopt});
    }
    ops::InferOptions opt;
    passes::PassReport report;
    const ir::Graph out = passes::split_conv_over_concat(g, opt, report);
    EXPECT_EQ(report.changes, 0) << (grouped ? "grouped" : "graph output");
    EXPECT_EQ(out.nodes.size(), g.nodes.size());
  }
}
