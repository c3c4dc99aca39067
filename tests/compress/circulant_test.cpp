// Block-circulant projection (compress/circulant.h): a block-circulant matrix projects onto
// itself, the projection is the nearest such matrix, the converted graph computes what its
// dense export computes, and bad block sizes are refused naming the option and layer.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/compress/circulant.h"
#include "frugal/compress/pipeline.h"
#include "frugal/core/error.h"
#include "frugal/ops/block_circulant.h"
#include "small_graph.h"

namespace frugal::compress {
namespace {

using testing::random_tensor;

double distance(const std::vector<float>& a, const std::vector<float>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += (double(a[i]) - b[i]) * (double(a[i]) - b[i]);
  return std::sqrt(s);
}

std::vector<float> dense_of(const std::vector<float>& blocks, int64_t rows, int64_t cols,
                            int64_t b) {
  ir::Node n;
  n.attrs["in_features"] = ir::Attribute{cols};
  n.attrs["out_features"] = ir::Attribute{rows};
  const int64_t p = (rows + b - 1) / b, q = (cols + b - 1) / b;
  return ops::circulant_dense(blocks.data(), ops::circulant_blocks({p, q, b}, n));
}

TEST(Circulant, SpecGrammarAndBadBlockSizes) {
  const CirculantSpec s = parse_circulant_spec("32:pad:dense:fft=own");
  EXPECT_EQ(s.block, 32);
  EXPECT_TRUE(s.pad && s.dense);
  EXPECT_EQ(s.fft, "own");
  EXPECT_EQ(s.str(), "32:pad:dense:fft=own");
  auto fails = [](const std::string& text, const std::string& why) {
    try {
      parse_circulant_spec(text);
      ADD_FAILURE() << text << " accepted";
    } catch (const UserError& e) {
      EXPECT_NE(std::string(e.what()).find(why), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("--circulant '" + text + "'", 0), 0u) << e.what();
    }
  };
  fails("12", "not a power of two");
  fails("2", "out of range (4 to 256)");
  fails("512", "out of range (4 to 256)");
  fails("x", "not a whole number");
  fails("8:wide", "unknown option 'wide'");
}

TEST(Circulant, ProjectionOfACirculantMatrixIsItself) {
  for (int64_t b : {4, 16}) {
    const int64_t rows = 3 * b, cols = 2 * b;
    const Tensor blocks = random_tensor({3, 2, b}, 9);
    const std::vector<float> w(blocks.data<float>(), blocks.data<float>() + blocks.numel());
    const std::vector<float> dense = dense_of(w, rows, cols, b);
    EXPECT_LT(distance(project_circulant(dense, rows, cols, b), w), 1e-5);
  }
}

// The mean of each diagonal is the least-squares fit: any other block-circulant matrix is
// further from the dense one (padded layers included).
TEST(Circulant, ProjectionIsTheNearestBlockCirculantMatrix) {
  const int64_t rows = 10, cols = 13, b = 4;
  const Tensor m = random_tensor({rows, cols}, 4);
  const std::vector<float> dense(m.data<float>(), m.data<float>() + m.numel());
  const std::vector<float> proj = project_circulant(dense, rows, cols, b);
  const double best = distance(dense_of(proj, rows, cols, b), dense);
  for (uint64_t seed = 0; seed < 5; ++seed) {
    std::vector<float> other = proj;
    const Tensor noise = random_tensor({static_cast<int64_t>(other.size())}, 100 + seed);
    for (size_t i = 0; i < other.size(); ++i) other[i] += 0.01f * noise.data<float>()[i];
    EXPECT_GT(distance(dense_of(other, rows, cols, b), dense), best);
  }
}

// small_graph: the Gemm (80 -> 10, alpha, beta, transB=0) and the MatMul (10 -> 6) become
// frugal.BlockCirculant padded to blocks of 4; the strided 3x3 Conv stays dense.
TEST(Circulant, ConvertedGraphComputesItsDenseExport) {
  const ir::Graph g = testing::small_graph();
  CirculantSpec spec = parse_circulant_spec("4:pad");
  const CirculantResult r = circulant(g, spec);
  ASSERT_EQ(r.layers.size(), 2u);
  EXPECT_EQ(r.layers[0].params_before, 800);
  EXPECT_EQ(r.layers[0].params_after, 3 * 20 * 4);
  EXPECT_EQ(r.notes.size(), 1u);  // the Conv
  int circulant_nodes = 0;
  for (const auto& n : r.graph.nodes) circulant_nodes += n.op_type == ops::kBlockCirculant;
  EXPECT_EQ(circulant_nodes, 2);
  spec.dense = true;
  const CirculantResult d = circulant(g, spec);
  for (const auto& n : d.graph.nodes) EXPECT_NE(n.op_type, ops::kBlockCirculant);
  const Tensor x = random_tensor({2, 3, 8, 8}, 11);
  const Tensor a = testing::run_ref(r.graph, x), b = testing::run_ref(d.graph, x);
  for (int64_t i = 0; i < a.numel(); ++i)
    EXPECT_NEAR(a.data<float>()[i], b.data<float>()[i],
                1e-3f * (1 + std::fabs(b.data<float>()[i])));
  // The projection changed the model: the output differs from the original's.
  const Tensor o = testing::run_ref(g, x);
  double diff = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    diff += std::fabs(a.data<float>()[i] - o.data<float>()[i]);
  EXPECT_GT(diff, 1e-3);
}

TEST(Circulant, BlockThatDoesNotDivideTheLayerIsRefusedWithoutPad) {
  try {
    circulant(testing::small_graph(), parse_circulant_spec("4"));
    ADD_FAILURE() << "accepted";
  } catch (const UserError& e) {
    EXPECT_NE(std::string(e.what()).find("layer 'fc' (10 outputs x 80 inputs) is not a multiple"),
              std::string::npos)
        << e.what();
  }
}

TEST(Circulant, InThePipelineAndNotWithLowRank) {
  PipelineSpec spec;
  spec.circulant = "4:pad";
  spec.exclude = "mm";
  const Pipeline p = make_pipeline(spec);
  ASSERT_EQ(p.size(), 1u);
  EXPECT_EQ(p[0]->name(), "circulant:4:pad");
  const PipelineState st = run_pipeline(testing::small_graph(), p, {});
  ASSERT_TRUE(st.circulant);
  EXPECT_EQ(st.circulant->layers.size(), 1u);
  spec.lowrank = "0.5";
  EXPECT_THROW(make_pipeline(spec), UserError);
}

}  // namespace
}  // namespace frugal::compress
