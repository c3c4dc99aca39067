// Channel pruning with graph surgery. The equivalence check: zero every parameter that
// produces a channel the plan removes (its filters and bias in each source and depthwise
// Conv, its BatchNormalization scale and shift), so that the channel is exactly zero
// everywhere; the pruned model must then compute what that zeroed model computes.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "frugal/compress/sparsity_report.h"
#include "frugal/compress/structured.h"
#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;

namespace {

Tensor random_input(const Shape& shape, uint64_t seed) {
  Tensor t(DType::kF32, shape);
  Philox rng(seed, 2);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
  return t;
}

Tensor run_ref(const ir::Graph& g, const Tensor& x) {
  runtime::SessionOptions opt;
  opt.optimize = false;
  opt.poison_arena = true;
  runtime::Session s(g, opt);
  return s.run({x}).at(0);
}

void zero_rows(ir::Graph& g, const std::string& name, const std::vector<int64_t>& removed) {
  Tensor t = g.initializers.at(name).clone();
  const int64_t per = t.numel() / t.dim(0);
  for (int64_t c : removed)
    for (int64_t j = 0; j < per; ++j) t.data<float>()[c * per + j] = 0.0f;
  g.initializers[name] = t;
}

// The zeroed model described above.
ir::Graph zero_removed_channels(const ir::Graph& g, const ChannelPlan& plan) {
  ir::Graph z = g;
  for (const ChannelGroup& grp : plan.groups) {
    if (!grp.blocked.empty()) continue;
    std::vector<int64_t> removed;
    const std::set<int64_t> keep(grp.keep.begin(), grp.keep.end());
    for (int64_t c = 0; c < grp.channels; ++c)
      if (!keep.count(c)) removed.push_back(c);
    for (const ChannelMember& m : grp.members) {
      const ir::Node& n = g.nodes[static_cast<size_t>(m.node)];
      if (m.role == ChannelMember::Role::kSource || m.role == ChannelMember::Role::kDepthwise) {
        zero_rows(z, n.inputs[1], removed);
        if (n.has_input(2)) zero_rows(z, n.inputs[2], removed);
      } else if (m.role == ChannelMember::Role::kBatchNorm) {
        zero_rows(z, n.inputs[1], removed);
        zero_rows(z, n.inputs[2], removed);
      }
    }
  }
  return z;
}

double max_rel_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double worst = 0, scale = 1e-6;
  for (int64_t i = 0; i < a.numel(); ++i)
    scale = std::max(scale, std::fabs(static_cast<double>(b.data<float>()[i])));
  for (int64_t i = 0; i < a.numel(); ++i)
    worst =
        std::max(worst, std::fabs(static_cast<double>(a.data<float>()[i]) - b.data<float>()[i]));
  return worst / scale;
}

int64_t float_params(const ir::Graph& g) {
  int64_t n = 0;
  for (const auto& [k, t] : g.initializers) n += t.numel();
  return n;
}

struct Case {
  std::string model;
  Shape input;
};

}  // namespace

TEST(ChannelPruning, PrunedEqualsZeroedOriginalOnZooModels) {
  const std::vector<Case> cases{{"lenet5", {1, 1, 28, 28}},
                                {"resnet8_fmnist", {1, 1, 28, 28}},
                                {"mobilenet_fmnist", {1, 1, 28, 28}},
                                {"resnet18", {1, 3, 32, 32}}};
  for (const Case& c : cases)
    for (const std::string crit : {"l1", "l2", "bn"}) {
      if (c.model == "resnet18" && crit != "l1") continue;  // keep the test fast
      ir::Graph g = zoo::build(c.model, 11);
      g.inputs.at(0).shape = std::vector<ir::Dim>{};
      for (int64_t d : c.input) g.inputs[0].shape->push_back({d, ""});
      const PruneSpec spec = PruneSpec::parse("channels:0.5:" + crit);
      const ChannelPlan plan = plan_channel_pruning(g, spec);
      int pruned_groups = 0;
      for (const auto& grp : plan.groups) {
        EXPECT_FALSE(grp.sources.empty());
        if (grp.blocked.empty()) {
          ++pruned_groups;
          EXPECT_EQ(static_cast<int64_t>(grp.keep.size()),
                    grp.channels - std::llround(0.5 * static_cast<double>(grp.channels)));
        }
      }
      EXPECT_GT(pruned_groups, 0) << c.model;
      const ir::Graph zeroed = zero_removed_channels(g, plan);
      const ir::Graph pruned = apply_channel_plan(zeroed, plan);
      EXPECT_LT(float_params(pruned), float_params(g)) << c.model;
      const Tensor x = random_input(c.input, 5);
      const Tensor want = run_ref(zeroed, x);
      const Tensor got = run_ref(pruned, x);
      EXPECT_LT(max_rel_diff(got, want), 1e-5) << c.model << " " << crit;
      // And the zeroed channels are exactly the ones an l1 plan removes from the zeroed model.
      if (crit == "l1") {
        const ChannelPlan again = plan_channel_pruning(zeroed, spec);
        ASSERT_EQ(again.groups.size(), plan.groups.size());
        for (size_t i = 0; i < plan.groups.size(); ++i)
          EXPECT_EQ(again.groups[i].keep, plan.groups[i].keep);
      }
      // Without zeroing, the output changes (the test can fail).
      EXPECT_GT(max_rel_diff(run_ref(apply_channel_plan(g, plan), x), run_ref(g, x)), 1e-4)
          << c.model;
    }
}

TEST(ChannelPruning, ResidualAddsShareOneChannelSet) {
  const ir::Graph g = zoo::build("resnet8_fmnist", 12);
  const ChannelPlan plan = plan_channel_pruning(g, PruneSpec::parse("channels:0.5"));
  bool found = false;
  for (const auto& grp : plan.groups) {
    const std::set<std::string> s(grp.sources.begin(), grp.sources.end());
    if (s.count("stem.conv")) {
      found = true;
      EXPECT_TRUE(s.count("layer1.2.conv"));  // identity shortcut: stem + layer1's 2nd conv
      EXPECT_EQ(grp.sources.size(), 2u);
      EXPECT_TRUE(grp.blocked.empty()) << grp.blocked;
    }
    if (s.count("layer2.2.conv")) {
      EXPECT_TRUE(s.count("layer2.downsample.conv"));
    }
  }
  EXPECT_TRUE(found);
  const ir::Graph p = apply_channel_plan(g, plan);
  EXPECT_EQ(p.initializer("stem.conv.weight")->dim(0), 8);
  EXPECT_EQ(p.initializer("layer1.2.conv.weight")->dim(0), 8);
  EXPECT_EQ(p.initializer("layer1.1.conv.weight")->shape(), (Shape{8, 8, 3, 3}));
  EXPECT_EQ(p.initializer("fc.weight")->shape(), (Shape{10, 32}));
  // The report sees the smaller layers.
  const SparsityReport r = sparsity_report(g, p);
  EXPECT_LT(r.macs_after, r.macs_before / 3);
}

TEST(ChannelPruning, DepthwiseFollowsProducer) {
  const ir::Graph g = zoo::build("mobilenet_fmnist", 13);
  const ir::Graph p = prune_channels(g, PruneSpec::parse("channels:0.5")).graph;
  const int64_t expand = p.initializer("block1.expand.conv.weight")->dim(0);
  EXPECT_EQ(expand, 16);
  EXPECT_EQ(p.initializer("block1.dw.conv.weight")->shape(), (Shape{16, 1, 3, 3}));
  for (const auto& n : p.nodes)
    if (n.name == "block1.dw.conv") {
      EXPECT_EQ(n.attr_int("group"), 16);
    }
  EXPECT_EQ(p.initializer("block1.project.conv.weight")->dim(1), 16);
}

TEST(ChannelPruning, ExcludedSourceKeepsItsGroup) {
  const ir::Graph g = zoo::build("resnet8_fmnist", 14);
  PruneSpec s = PruneSpec::parse("channels:0.5");
  s.add_excludes("layer1.2.conv");
  const PruneOutcome o = prune_channels(g, s);
  EXPECT_EQ(o.graph.initializer("stem.conv.weight")->dim(0), 16);  // same group as layer1.2
  EXPECT_EQ(o.graph.initializer("layer1.1.conv.weight")->dim(0), 8);
  bool noted = false;
  for (const auto& n : o.notes) noted = noted || n.find("excluded") != std::string::npos;
  EXPECT_TRUE(noted);
}

TEST(ChannelPruning, RefusesToRemoveEveryChannel) {
  const ir::Graph g = zoo::build("lenet5", 15);
  try {
    prune_channels(g, PruneSpec::parse("channels:0.95"));  // conv1: round(0.95 * 6) = 6
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("every one of the 6 output channels of conv1"),
              std::string::npos)
        << e.what();
  }
}

TEST(ChannelPruning, ConcatIsRefusedWithTheReason) {
  ir::Graph g;
  g.opsets[""] = 17;
  g.inputs.push_back({"x", DType::kF32, std::vector<ir::Dim>{{1, ""}, {3, ""}, {8, ""}, {8, ""}}});
  g.initializers["w"] = random_input({4, 3, 3, 3}, 1);
  auto node = [&](const std::string& name, const std::string& op, std::vector<std::string> in,
                  std::string out) {
    ir::Node n;
    n.name = name;
    n.op_type = op;
    n.inputs = std::move(in);
    n.outputs = {std::move(out)};
    g.nodes.push_back(n);
    return &g.nodes.back();
  };
  node("conv", "Conv", {"x", "w"}, "a");
  node("cat", "Concat", {"a", "a"}, "y")->attrs["axis"] = ir::Attribute{int64_t{1}};
  g.outputs.push_back({"y", DType::kUndefined, std::nullopt});
  const ir::Graph copy = g;
  try {
    prune_channels(g, PruneSpec::parse("channels:0.5"));
    ADD_FAILURE();
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("node 'cat' (Concat)"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(g.initializers.at("w").equals(copy.initializers.at("w")));
  // A graph output carrying the channels is refused the same way.
  g.nodes.pop_back();
  g.outputs[0].name = "a";
  EXPECT_THROW(prune_channels(g, PruneSpec::parse("channels:0.5")), UserError);
}
