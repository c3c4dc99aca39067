// k-means weight sharing: the spec grammar and its errors, 1-D k-means against a brute-force
// assignment, the three initializations, zeros kept, layers with
// few values kept exactly, a named layer with more centroids than weights refused, and the
// Gather export computing the same outputs as the shared float weights.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "frugal/compress/cluster.h"
#include "frugal/compress/prune.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;

TEST(ClusterSpec, Grammar) {
  const ClusterSpec a = parse_cluster_spec("5");
  EXPECT_EQ(a.bits_for("x", "Conv"), 5);
  const ClusterSpec b = parse_cluster_spec("conv=8,fc=5,fc3=2:init=density");
  EXPECT_EQ(b.bits_for("conv1", "Conv"), 8);
  EXPECT_EQ(b.bits_for("fc1", "Gemm"), 5);
  EXPECT_EQ(b.bits_for("fc3", "Gemm"), 2);
  EXPECT_EQ(b.init, ClusterInit::kDensity);
  EXPECT_EQ(parse_cluster_spec(b.str()).str(), b.str());
  for (const char* bad : {"0", "9", "conv=12", "x", "", "5:init=kmeans++", "5:seed=1", "=4", "5,6"})
    EXPECT_THROW(parse_cluster_spec(bad), UserError) << bad;
}

TEST(KMeans1D, NearestCentroidAndMeans) {
  std::vector<float> v;
  const Philox r(4);
  for (int i = 0; i < 3000; ++i)
    v.push_back(r.normal(static_cast<uint64_t>(i)) * 0.1f + (i % 3) * 2.0f);
  for (ClusterInit init : {ClusterInit::kLinear, ClusterInit::kDensity, ClusterInit::kRandom}) {
    const KMeans1D km = kmeans_1d(v, 3, init, 50, 7);
    ASSERT_EQ(km.centroids.size(), 3u);
    for (int c = 0; c < 3; ++c)
      EXPECT_NEAR(km.centroids[static_cast<size_t>(c)], 2.0 * c, 0.05) << cluster_init_name(init);
    for (size_t i = 0; i < v.size(); ++i) {
      float best = INFINITY;
      for (float c : km.centroids) best = std::min(best, std::fabs(v[i] - c));
      EXPECT_FLOAT_EQ(std::fabs(v[i] - km.centroids[km.index[i]]), best);
    }
  }
}

TEST(Cluster, ZerosStayZeroAndLayersShareAtMostTwoToTheBitsValues) {
  const ir::Graph g = zoo::build("lenet5", 1);
  PruneSpec ps = PruneSpec::parse("0.8", "--prune");
  ps.add_excludes("first");
  const ir::Graph pruned = prune(g, ps).graph;
  const ClusterResult r = cluster(pruned, parse_cluster_spec("conv=4,fc=3"));
  ASSERT_EQ(r.layers.size(), 5u);
  for (const auto& l : r.layers) {
    const Tensor& before = pruned.initializers.at(l.weight);
    const Tensor& after = r.graph.initializers.at(l.weight);
    std::set<float> distinct;
    for (int64_t i = 0; i < after.numel(); ++i) {
      EXPECT_EQ(before.data<float>()[i] == 0.0f, after.data<float>()[i] == 0.0f)
          << l.name << " " << i;
      distinct.insert(after.data<float>()[i]);
    }
    EXPECT_LE(distinct.size(), size_t{1} << l.bits) << l.name;
    EXPECT_EQ(l.zero_fixed, l.name != "conv1");
  }
  EXPECT_TRUE(g.initializers.at("fc1.weight")
                  .equals(zoo::build("lenet5", 1).initializers.at("fc1.weight")));
}

TEST(Cluster, LayersWithFewValuesAreKeptExactlyWithFewerBits) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const ir::Graph pruned = prune(g, PruneSpec::parse("0.95", "--prune")).graph;
  // Pruned to 5%, conv1 keeps 8 of its 150 weights: fewer than 255 centroids.
  const ClusterResult r = cluster(pruned, parse_cluster_spec("8"));
  int exact = 0;
  for (const auto& l : r.layers) {
    const Tensor& before = pruned.initializers.at(l.weight);
    const std::vector<float> values = distinct_values(before);
    if (!l.exact) {
      EXPECT_TRUE(values.empty() || values.size() > 256u) << l.name;
      continue;
    }
    ++exact;
    EXPECT_TRUE(r.graph.initializers.at(l.weight).equals(before)) << l.name << " not lossless";
    EXPECT_EQ(l.codebook.size(), values.size()) << l.name;
    EXPECT_EQ(l.codebook.front(), 0.0f) << "the fixed zero comes first";
    EXPECT_LT(size_t{1} << (l.bits - 1), l.codebook.size()) << l.name << ": bits not minimal";
    EXPECT_GE(size_t{1} << l.bits, l.codebook.size()) << l.name;
    EXPECT_LT(l.bits, 8) << l.name;
  }
  EXPECT_GE(exact, 1);
  ASSERT_FALSE(r.notes.empty());
  EXPECT_NE(r.notes[0].find("kept exactly"), std::string::npos) << r.notes[0];
  // The Gather export of an exact codebook computes the same weights.
  const ir::Graph gathered = export_gather(r);
  for (const auto& l : r.layers)
    EXPECT_EQ(gathered.initializers.at(l.weight + "_shared_index").numel(),
              r.graph.initializers.at(l.weight).numel());
}

TEST(Cluster, ANamedLayerWithFewerWeightsThanCentroidsIsRefused) {
  const ir::Graph g = zoo::build("lenet5", 1);
  try {
    cluster(g, parse_cluster_spec("conv1=8"));  // conv1 has 150 weights
    FAIL() << "no error";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'conv1' has 150 weights, fewer than the 256"),
              std::string::npos)
        << e.what();
  }
  EXPECT_NO_THROW(cluster(g, parse_cluster_spec("conv1=7")));
  EXPECT_THROW(cluster(g, parse_cluster_spec("nosuch=3")), UserError);
}

TEST(Cluster, GatherExportComputesTheSameOutputs) {
  const ir::Graph g = zoo::build("lenet5", 2);
  const ClusterResult r = cluster(prune(g, PruneSpec::parse("0.5", "--prune")).graph,
                                  parse_cluster_spec("conv=5,fc=4"));
  const ir::Graph gathered = export_gather(r);
  for (const auto& l : r.layers) {
    EXPECT_EQ(gathered.initializers.count(l.weight), 0u);
    EXPECT_EQ(gathered.initializers.at(l.weight + "_shared_index").dtype(), DType::kU8);
  }
  runtime::SessionOptions o;
  o.backends = {"ref"};
  runtime::Session a(r.graph, o), b(gathered, o);
  Tensor x(DType::kF32, a.inputs()[0].shape);
  const Philox rng(5);
  for (int64_t i = 0; i < x.numel(); ++i) x.data<float>()[i] = rng.normal(static_cast<uint64_t>(i));
  const auto ya = a.run({x}), yb = b.run({x});
  ASSERT_EQ(ya.size(), 1u);
  EXPECT_TRUE(ya[0].equals(yb[0]));
}
