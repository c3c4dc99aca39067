// Low-rank factorization: the spec grammar; the truncated SVD's Frobenius error equals the
// discarded singular values (Eckart-Young) both for the matrix and for the weights stored
// in the factored graph (Conv, Gemm with transB=0, MatMul); at full rank the factored graph
// computes what the original computes; layers whose factors would not be smaller stay dense.
#include <gtest/gtest.h>

#include <cmath>

#include "compress/small_graph.h"
#include "frugal/compress/lowrank.h"
#include "frugal/compress/pipeline.h"
#include "frugal/compress/prune.h"
#include "frugal/compress/sparsity_report.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/runtime/session.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;
using frugal::compress::testing::random_tensor;
using frugal::compress::testing::run_ref;
using frugal::compress::testing::small_graph;

namespace {

// The weight the two stored factors of a layer multiply back to, as the layer's
// rows x cols matrix (outputs x reduction).
std::vector<double> product_of(const ir::Graph& g, const LayerLowRank& l) {
  const auto find = [&](const std::string& name) -> const ir::Node& {
    for (const auto& n : g.nodes)
      if (n.name == name) return n;
    throw std::runtime_error("no node " + name);
  };
  const Tensor& a = *g.initializer(find(l.nodes.at(0)).inputs[1]);
  const Tensor& b = *g.initializer(find(l.nodes.at(1)).inputs[1]);
  const int64_t r = l.rank;
  std::vector<double> w(static_cast<size_t>(l.rows * l.cols), 0.0);
  for (int64_t o = 0; o < l.rows; ++o)
    for (int64_t c = 0; c < l.cols; ++c)
      for (int64_t i = 0; i < r; ++i)
        w[static_cast<size_t>(o * l.cols + c)] +=
            l.op_type == "MatMul"
                ? double(a.data<float>()[c * r + i]) * b.data<float>()[i * l.rows + o]
                : double(b.data<float>()[o * r + i]) * a.data<float>()[i * l.cols + c];
  return w;
}

}  // namespace

TEST(LowRank, SpecGrammar) {
  EXPECT_EQ(parse_lowrank_spec("0.25").str(), "0.25");
  EXPECT_EQ(parse_lowrank_spec("rank=3").rank, 3);
  EXPECT_EQ(parse_lowrank_spec("energy=0.9").kind, LowRankSpec::Kind::kEnergy);
  for (const char* bad : {"", "0", "1.5", "-0.2", "rank=0", "rank=x", "energy=", "energy=2", "x"})
    EXPECT_THROW(parse_lowrank_spec(bad), UserError) << bad;
  const std::vector<double> s{4, 2, 1, 1};  // energies 16, 4, 1, 1 of 22
  EXPECT_EQ(parse_lowrank_spec("energy=0.7").rank_for(s), 1);
  EXPECT_EQ(parse_lowrank_spec("energy=0.8").rank_for(s), 2);
  EXPECT_EQ(parse_lowrank_spec("energy=1").rank_for(s), 4);
  EXPECT_EQ(parse_lowrank_spec("0.5").rank_for(s), 2);
  EXPECT_EQ(parse_lowrank_spec("0.01").rank_for(s), 1);
  EXPECT_EQ(parse_lowrank_spec("rank=9").rank_for(s), 4);
}

TEST(LowRank, ErrorIsTheDiscardedSingularValues) {
  for (auto [rows, cols] : {std::pair<int64_t, int64_t>{12, 7}, {5, 30}, {16, 16}}) {
    const Tensor m = random_tensor({rows, cols}, static_cast<uint64_t>(rows * cols));
    const std::vector<float> v(m.data<float>(), m.data<float>() + m.numel());
    for (int64_t r = 1; r <= std::min(rows, cols); r += 2) {
      LowRankSpec spec = parse_lowrank_spec("rank=" + std::to_string(r));
      const TruncatedSvd svd = truncated_svd(v, rows, cols, spec);
      ASSERT_EQ(svd.rank, r);
      double err = 0, discarded = 0;
      for (int64_t o = 0; o < rows; ++o)
        for (int64_t c = 0; c < cols; ++c) {
          double p = 0;
          for (int64_t i = 0; i < r; ++i)
            p += double(svd.left[static_cast<size_t>(o * r + i)]) *
                 svd.right[static_cast<size_t>(i * cols + c)];
          err += (p - v[static_cast<size_t>(o * cols + c)]) *
                 (p - v[static_cast<size_t>(o * cols + c)]);
        }
      for (size_t i = static_cast<size_t>(r); i < svd.singular.size(); ++i)
        discarded += svd.singular[i] * svd.singular[i];
      EXPECT_NEAR(err, discarded, 1e-4 * (1 + discarded)) << rows << "x" << cols << " r" << r;
    }
  }
}

TEST(LowRank, StoredFactorsMultiplyBackWithThatError) {
  const ir::Graph g = small_graph();
  LowRankSpec spec = parse_lowrank_spec("rank=2");
  spec.only_if_smaller = false;
  const LowRankResult r = lowrank(g, spec);
  ASSERT_EQ(r.layers.size(), 3u);
  const std::vector<PrunableLayer> layers = prunable_layers(g);
  for (size_t k = 0; k < 3; ++k) {
    const LayerLowRank& l = r.layers[k];
    ASSERT_TRUE(l.factored) << l.name;
    const std::vector<float> w = matrix_of(layers[k], *g.initializer(layers[k].weight));
    const std::vector<double> p = product_of(r.graph, l);
    double err = 0, norm = 0;
    for (size_t i = 0; i < w.size(); ++i) {
      err += (p[i] - w[i]) * (p[i] - w[i]);
      norm += double(w[i]) * w[i];
    }
    EXPECT_NEAR(std::sqrt(err / norm), l.rel_error, 1e-5) << l.name;
    EXPECT_GT(l.rel_error, 0.1) << l.name;  // rank 2 of at least 6 loses something
  }
}

TEST(LowRank, FullRankComputesTheOriginal) {
  const ir::Graph g = small_graph();
  LowRankSpec spec = parse_lowrank_spec("1");
  spec.only_if_smaller = false;
  const LowRankResult r = lowrank(g, spec);
  EXPECT_EQ(r.graph.nodes.size(), g.nodes.size() + 3);
  const Tensor x = random_tensor({2, 3, 8, 8}, 42);
  const Tensor want = run_ref(g, x), got = run_ref(r.graph, x);
  ASSERT_EQ(want.shape(), got.shape());
  for (int64_t i = 0; i < want.numel(); ++i)
    EXPECT_NEAR(got.data<float>()[i], want.data<float>()[i],
                1e-4 * (1 + std::abs(want.data<float>()[i])));
}

TEST(LowRank, LeavesLayersDenseWhenFactorsAreNotSmaller) {
  const ir::Graph g = zoo::build("lenet5", 1);
  const LowRankResult r = lowrank(g, parse_lowrank_spec("energy=0.9"));
  int factored = 0;
  for (const auto& l : r.layers) {
    factored += l.factored;
    if (l.factored) {
      EXPECT_LT(l.params_after, l.params_before) << l.name;
      EXPECT_GE(l.kept_energy, 0.9) << l.name;
    } else {
      EXPECT_GE(l.rank * (l.rows + l.cols), l.params_before) << l.name;
    }
  }
  EXPECT_GT(factored, 0);
  EXPECT_LT(r.params_after, r.params_before);
  EXPECT_LT(r.macs_after, r.macs_before);
  EXPECT_EQ(run_ref(r.graph, random_tensor({1, 1, 28, 28}, 3)).numel(), 10);
  // Excluded layers are not candidates at all.
  LowRankSpec ex = parse_lowrank_spec("energy=0.9");
  ex.exclude = {"first", "last"};
  EXPECT_EQ(lowrank(g, ex).layers.size(), r.layers.size() - 2);
}

TEST(LowRank, InThePipelineBeforePruning) {
  PipelineSpec spec;
  spec.prune = "0.5";
  spec.lowrank = "0.25";
  spec.exclude = "last";
  const Pipeline p = make_pipeline(spec);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0]->name(), "lowrank:0.25");
  EXPECT_EQ(needs_str(p[0]->needs()), "fine-tuning");
  const PipelineState s = run_pipeline(zoo::build("lenet300_100", 1), p, PipelineContext{});
  ASSERT_TRUE(s.lowrank && s.sparsity);
  const nlohmann::json j = to_json(s, PipelineContext{});
  EXPECT_EQ(j["prune"], "0.5 exclude=last");
  EXPECT_LT(j["lowrank"]["params_after"].get<int64_t>(),
            j["lowrank"]["params_before"].get<int64_t>());
  int64_t float_bytes = 0;  // of the original model
  for (const auto& [name, t] : s.original.initializers)
    float_bytes += static_cast<int64_t>(t.nbytes());
  EXPECT_LT(j["encoded"]["raw_bytes"].get<int64_t>(), float_bytes / 2);
}
