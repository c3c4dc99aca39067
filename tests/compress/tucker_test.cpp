// Tucker-2 convolution decomposition (compress/tucker.h, --lowrank ...:conv=tucker): at full
// ranks the 1x1 / KxK / 1x1 chain computes what the convolution computes over a matrix of
// shapes and attributes; truncated, the chain computes the convolution with the
// reconstructed kernel, whose error follows the HOSVD bounds, falls with the ranks and
// does not grow under HOOI; the spec grammar, the 1x1 and grouped cases, the metadata.
#include <gtest/gtest.h>

#include <cmath>

#include "compress/small_graph.h"
#include "frugal/compress/lowrank.h"
#include "frugal/compress/prune.h"
#include "frugal/compress/tucker.h"
#include "frugal/core/error.h"
#include "frugal/zoo/zoo.h"

using namespace frugal;
using namespace frugal::compress;
using frugal::compress::testing::make_node;
using frugal::compress::testing::random_tensor;
using frugal::compress::testing::run_ref;

namespace {

struct ConvCase {
  int64_t out, in, kh, kw, stride, pad, dilation, size;
  bool bias;
};

const ConvCase kCases[] = {
    {6, 4, 3, 3, 1, 1, 1, 7, true},  {5, 8, 3, 3, 2, 1, 1, 9, false},
    {8, 3, 1, 3, 1, 0, 1, 6, true},  {4, 6, 5, 2, 2, 2, 1, 10, true},
    {7, 5, 3, 3, 1, 2, 2, 8, false}, {3, 9, 2, 2, 1, 0, 1, 5, true},
};

using A = ir::Attribute;

ir::Graph conv_graph(const ConvCase& c) {
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo x{"x", DType::kF32, std::vector<ir::Dim>{}};
  for (int64_t d : {int64_t{2}, c.in, c.size, c.size + 1}) x.shape->push_back({d, ""});
  g.inputs.push_back(x);
  g.initializers["w"] = random_tensor({c.out, c.in, c.kh, c.kw}, static_cast<uint64_t>(c.out));
  std::vector<std::string> in = {"x", "w"};
  if (c.bias) {
    g.initializers["b"] = random_tensor({c.out}, 9);
    in.push_back("b");
  }
  g.nodes.push_back(make_node("conv", "Conv", in, "y",
                              {{"kernel_shape", A{std::vector<int64_t>{c.kh, c.kw}}},
                               {"strides", A{std::vector<int64_t>{c.stride, c.stride}}},
                               {"pads", A{std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad}}},
                               {"dilations", A{std::vector<int64_t>{c.dilation, c.dilation}}}}));
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  return g;
}

void expect_near(const Tensor& got, const Tensor& want, double tol, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  for (int64_t i = 0; i < want.numel(); ++i)
    ASSERT_NEAR(got.data<float>()[i], want.data<float>()[i],
                tol * (1 + std::abs(want.data<float>()[i])))
        << what << " at " << i;
}

LowRankSpec tucker_spec(const std::string& text) {
  LowRankSpec s = parse_lowrank_spec(text);
  s.only_if_smaller = false;
  return s;
}

std::vector<float> floats(const Tensor& t) {
  return {t.data<float>(), t.data<float>() + t.numel()};
}

}  // namespace

TEST(Tucker, SpecGrammar) {
  const LowRankSpec s = parse_lowrank_spec("0.5:conv=tucker:hooi=3");
  EXPECT_EQ(s.conv, LowRankSpec::Conv::kTucker);
  EXPECT_EQ(s.hooi, 3);
  EXPECT_EQ(s.str(), "0.5:conv=tucker:hooi=3");
  EXPECT_EQ(parse_lowrank_spec("energy=0.9:conv=tucker").str(), "energy=0.9:conv=tucker");
  EXPECT_EQ(parse_lowrank_spec("rank=4:conv=svd").conv, LowRankSpec::Conv::kSvd);
  EXPECT_EQ(parse_lowrank_spec("0.5").str(), "0.5");
  for (const char* bad : {"0.5:", "0.5:conv=cp", "0.5:conv=tucker:hooi=", "0.5:conv=tucker:hooi=x",
                          "0.5:conv=tucker:hooi=101", "0.5:hooi=2", "conv=tucker", "2:conv=tucker"})
    EXPECT_THROW(parse_lowrank_spec(bad), UserError) << bad;
}

TEST(Tucker, FullRankComputesTheOriginal) {
  for (const ConvCase& c : kCases)
    for (const char* spec : {"1:conv=tucker", "1:conv=tucker:hooi=2"}) {
      const ir::Graph g = conv_graph(c);
      const LowRankResult r = lowrank(g, tucker_spec(spec));
      ASSERT_EQ(r.layers.size(), 1u);
      const bool kxk = c.kh * c.kw > 1;
      EXPECT_EQ(r.layers[0].method, kxk ? "tucker2" : "svd");
      EXPECT_EQ(r.graph.nodes.size(), kxk ? 3u : 2u);
      EXPECT_LT(r.layers[0].rel_error, 1e-6);
      const Tensor x = random_tensor({2, c.in, c.size, c.size + 1}, 5);
      expect_near(run_ref(r.graph, x), run_ref(g, x), 1e-4,
                  std::string(spec) + " O" + std::to_string(c.out) + " C" + std::to_string(c.in));
    }
}

// Truncated, the graph computes the convolution whose kernel is the reconstruction, and
// the reported error is that kernel's.
TEST(Tucker, TruncatedChainIsTheReconstructedKernel) {
  const ConvCase c = kCases[1];  // stride 2, no bias
  const ir::Graph g = conv_graph(c);
  const LowRankSpec spec = tucker_spec("rank=3:conv=tucker:hooi=2");
  const LowRankResult r = lowrank(g, spec);
  ASSERT_TRUE(r.layers[0].factored);
  EXPECT_EQ(r.layers[0].rank, 3);
  EXPECT_EQ(r.layers[0].rank_in, 3);
  const Tucker2 t = tucker2(floats(*g.initializer("w")), g.initializer("w")->shape(), spec);
  const std::vector<double> w = reconstruct(t);
  ir::Graph approx = g;
  approx.initializers["w"] =
      Tensor::from_vector(g.initializer("w")->shape(), std::vector<float>(w.begin(), w.end()));
  const Tensor x = random_tensor({2, c.in, c.size, c.size + 1}, 6);
  expect_near(run_ref(r.graph, x), run_ref(approx, x), 1e-4, "rank 3");
  const std::vector<float> orig = floats(*g.initializer("w"));
  double err = 0, norm = 0;
  for (size_t i = 0; i < orig.size(); ++i) {
    err += (w[i] - orig[i]) * (w[i] - orig[i]);
    norm += double(orig[i]) * orig[i];
  }
  EXPECT_NEAR(std::sqrt(err / norm), r.layers[0].rel_error, 1e-6);
  EXPECT_GT(r.layers[0].rel_error, 0.1);
}

// HOSVD: max over modes of the discarded energy <= error^2 <= their sum (De Lathauwer, De
// Moor and Vandewalle, SIAM J. Matrix Anal. Appl. 2000, property 10); nested subspaces, so
// the error does not grow with the ranks; HOOI never makes it worse than the HOSVD start.
TEST(Tucker, ErrorBoundsAndMonotone) {
  const Tensor w = random_tensor({12, 10, 3, 3}, 11);
  const double norm2 = [&] {
    double s = 0;
    for (float v : floats(w)) s += double(v) * v;
    return s;
  }();
  double previous = 2;
  for (int64_t r = 1; r <= 12; ++r) {
    const Tucker2 t = tucker2(floats(w), w.shape(),
                              tucker_spec("rank=" + std::to_string(r) + ":conv=tucker:hooi=3"));
    const auto discarded = [&](const std::vector<double>& s, int64_t rank) {
      double d = 0;
      for (size_t i = static_cast<size_t>(rank); i < s.size(); ++i) d += s[i] * s[i];
      return d;
    };
    const double d_out = discarded(t.singular_out, t.rank_out);
    const double d_in = discarded(t.singular_in, t.rank_in);
    const double e2 = t.hosvd_rel_error * t.hosvd_rel_error * norm2;
    EXPECT_GE(e2, std::max(d_out, d_in) * (1 - 1e-9) - 1e-9) << "rank " << r;
    EXPECT_LE(e2, (d_out + d_in) * (1 + 1e-9) + 1e-9) << "rank " << r;
    EXPECT_LE(t.hosvd_rel_error, previous + 1e-12) << "rank " << r;
    EXPECT_LE(t.rel_error, t.hosvd_rel_error + 1e-12) << "rank " << r;
    previous = t.hosvd_rel_error;
  }
  EXPECT_LT(previous, 1e-6);  // rank 12: full in both modes
}

// On resnet8_fmnist: KxK convs by Tucker-2 (also strided), 1x1 convs and the Gemm by SVD;
// weights and MACs from the chain's shapes; metadata records both ranks.
TEST(Tucker, ResNetLayersAndMetadata) {
  const ir::Graph g = zoo::build("resnet8_fmnist", 1);
  const LowRankResult r = lowrank(g, parse_lowrank_spec("0.5:conv=tucker"));
  int tucker = 0;
  for (const auto& l : r.layers) {
    const bool kxk = l.op_type == "Conv" && l.shape.size() == 4 && l.shape[2] * l.shape[3] > 1;
    EXPECT_EQ(l.method, kxk ? "tucker2" : "svd") << l.name;
    if (!kxk || !l.factored) continue;
    ++tucker;
    const int64_t o = l.shape[0], c = l.shape[1], p = l.shape[2] * l.shape[3];
    // Each mode's ratio of its unfolding's rank.
    EXPECT_EQ(l.rank, std::max<int64_t>(1, std::llround(0.5 * double(std::min(o, c * p)))))
        << l.name;
    EXPECT_EQ(l.rank_in, std::max<int64_t>(1, std::llround(0.5 * double(std::min(c, o * p)))))
        << l.name;
    EXPECT_EQ(l.params_after, c * l.rank_in + l.rank * l.rank_in * p + l.rank * o) << l.name;
    EXPECT_LT(l.params_after, l.params_before) << l.name;
    EXPECT_LT(l.macs_after, l.macs_before) << l.name;
    EXPECT_EQ(l.nodes.size(), 3u) << l.name;
  }
  EXPECT_GT(tucker, 3);
  const auto meta = nlohmann::json::parse(r.graph.metadata.at("frugal.compress"));
  const auto& step = meta["steps"].back();
  EXPECT_EQ(step["lowrank"], "0.5:conv=tucker");
  for (const auto& l : r.layers)
    if (l.factored && l.method == "tucker2") {
      EXPECT_EQ(step["layers"][l.name].size(), 2u);
    }
  const nlohmann::json j = to_json(r);
  EXPECT_EQ(j["layers"][1]["method"], r.layers[1].method);
  EXPECT_EQ(run_ref(r.graph, random_tensor({1, 1, 28, 28}, 3)).numel(), 10);
}

TEST(Tucker, GroupedConvolutionsStayDense) {
  ConvCase c = kCases[0];
  ir::Graph g = conv_graph(c);
  g.initializers["w"] = random_tensor({6, 2, 3, 3}, 1);
  g.nodes[0].attrs["group"] = A{int64_t{2}};
  const LowRankResult r = lowrank(g, tucker_spec("0.5:conv=tucker"));
  EXPECT_TRUE(r.layers.empty());
  ASSERT_EQ(r.notes.size(), 1u);
  EXPECT_NE(r.notes[0].find("grouped"), std::string::npos);
}
