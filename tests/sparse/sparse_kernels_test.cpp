// The cpu backend's sparse-weight kernels (Gemm, MatMul, Conv) in a Session against the ref
// backend: every format forced, over odd shapes, batch 1/3/8, groups, strides, pads,
// dilations, sparsity 0/50/90/99 %, all-zero rows and layers, with and without post-ops;
// and the chooser's decisions under off/auto/force.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "frugal/kernels/cpu/sparse_format.h"
#include "kernels/cpu_testing.h"

namespace frugal {
namespace {

using namespace cpu_testing;

constexpr double kTol = 2e-5;

const char* const kForced[] = {"force:csr", "force:bcsr1x16", "force:bcsr4x16", "force:bitmap"};

// N(0, scale) weights with a fraction `sparsity` zeroed (seeded), every 4th output row
// (dimension `row_axis_stride` apart) zero when `zero_rows`.
Tensor pruned(const Shape& shape, double sparsity, uint64_t seed, bool zero_rows = false,
              float scale = 0.5f) {
  Tensor t = random_tensor(shape, seed, scale);
  Philox rng(seed, 99);
  float* d = t.data<float>();
  const int64_t per_row = t.numel() / shape[0];
  for (int64_t i = 0; i < t.numel(); ++i) {
    if (rng.uniform(static_cast<uint64_t>(i)) < sparsity) d[i] = 0.0f;
    if (zero_rows && (i / per_row) % 4 == 1) d[i] = 0.0f;
  }
  return t;
}

Ran run_sparse(const std::string& sparse, const OneNode& t, int threads = 1) {
  runtime::SessionOptions opt;
  opt.backends = {"cpu", "ref"};
  opt.threads = threads;
  opt.poison_arena = true;
  opt.backend_config.sparse = sparse;
  runtime::Session s(t.graph, opt);
  Ran r;
  r.outputs = s.run(t.feeds);
  r.assignments = s.assignments();
  return r;
}

// Runs `t` under every forced format (1 and 2 threads) and expects the sparse kernel and
// ref's result. bcsr4x16 blocks must not straddle groups: with `bcsr4_fits` false the
// forced bcsr4x16 must leave the node dense.
void expect_sparse_matches_ref(const OneNode& t, const std::string& label, bool bcsr4_fits = true) {
  const Ran ref = run_on("ref", t.graph, t.feeds);
  for (const char* mode : kForced)
    for (int threads : {1, 2}) {
      const Ran got = run_sparse(mode, t, threads);
      const std::string& impl = got.assignments.at(0).impl;
      const bool dense = !bcsr4_fits && std::string(mode) == "force:bcsr4x16";
      EXPECT_EQ(impl.rfind(dense ? "onednn:" : "sparse:", 0), 0u)
          << label << " " << mode << ": impl " << impl;
      ASSERT_EQ(got.outputs.size(), ref.outputs.size());
      const double err = relative_error(got.outputs[0], ref.outputs[0]);
      EXPECT_LE(err, kTol) << label << " " << mode << " threads " << threads;
    }
}

std::map<std::string, ir::Attribute> post(std::vector<std::string> chain) {
  if (chain.empty()) return {};
  return {{"frugal.post_ops", attr(std::move(chain))}};
}

TEST(SparseKernels, GemmOverShapesSparsityAndOptions) {
  int index = 0;
  for (int64_t m : {1, 3, 8})
    for (auto [k, n] : {std::pair<int64_t, int64_t>{37, 19}, {100, 64}, {257, 33}})
      for (double s : {0.0, 0.5, 0.9, 0.99}) {
        const uint64_t seed = 100 + 7 * index++;
        const bool trans_b = index % 2 == 0;
        const bool zero_rows = index % 3 == 0;
        const Tensor w = pruned(trans_b ? Shape{n, k} : Shape{k, n}, s, seed, zero_rows);
        std::map<std::string, ir::Attribute> attrs{{"transB", attr(int64_t{trans_b})}};
        if (index % 4 == 1) attrs["alpha"] = attr(0.75f);
        if (index % 4 == 2) attrs["beta"] = attr(-1.5f);
        const Shape c_shape = index % 5 == 0 ? Shape{1, n} : index % 5 == 1 ? Shape{1} : Shape{n};
        expect_sparse_matches_ref(
            one_node("Gemm",
                     {input("a", random_tensor({m, k}, seed + 1)), constant("w", w),
                      constant("c", random_tensor(c_shape, seed + 2))},
                     attrs),
            "gemm m=" + std::to_string(m) + " k=" + std::to_string(k) + " n=" + std::to_string(n) +
                " s=" + std::to_string(s));
      }
}

TEST(SparseKernels, GemmTransposedInputWithoutBias) {
  for (int64_t m : {1, 5})
    expect_sparse_matches_ref(
        one_node("Gemm",
                 {input("a", random_tensor({40, m}, 3)), constant("w", pruned({40, 24}, 0.9, 4))},
                 {{"transA", attr(int64_t{1})}}),
        "gemm transA m=" + std::to_string(m));
}

TEST(SparseKernels, AllZeroLayerGivesBiasOnly) {
  expect_sparse_matches_ref(one_node("Gemm", {input("a", random_tensor({3, 50}, 5)),
                                              constant("w", pruned({50, 20}, 1.0, 6)),
                                              constant("c", random_tensor({20}, 7))}),
                            "all-zero gemm");
  expect_sparse_matches_ref(one_node("Conv", {input("x", random_tensor({1, 4, 6, 6}, 8)),
                                              constant("w", pruned({8, 4, 3, 3}, 1.0, 9)),
                                              constant("b", random_tensor({8}, 10))}),
                            "all-zero conv");
}

TEST(SparseKernels, MatMulConstantWeights) {
  expect_sparse_matches_ref(one_node("MatMul", {input("a", random_tensor({2, 3, 45}, 11)),
                                                constant("w", pruned({45, 30}, 0.9, 12))}),
                            "matmul 3-D A");
  expect_sparse_matches_ref(one_node("MatMul", {input("a", random_tensor({45}, 13)),
                                                constant("w", pruned({45, 30}, 0.5, 14))}),
                            "matmul 1-D A");
  expect_sparse_matches_ref(one_node("MatMul", {input("a", random_tensor({8, 70}, 15)),
                                                constant("w", pruned({70, 17}, 0.99, 16, true))}),
                            "matmul batch 8");
}

TEST(SparseKernels, ConvOverGeometryGroupsAndSparsity) {
  struct Case {
    Shape x;
    int64_t m, k, group, stride, pad, dilation;
  };
  const Case cases[] = {
      {{1, 3, 11, 9}, 8, 3, 1, 1, 1, 1},   // 3x3, pad 1
      {{3, 6, 8, 8}, 12, 1, 1, 1, 0, 1},   // 1x1 in place, batch 3
      {{1, 16, 7, 7}, 20, 1, 1, 2, 0, 1},  // 1x1 stride 2: unfolds
      {{1, 5, 13, 12}, 7, 5, 1, 2, 2, 1},  // 5x5 stride 2
      {{2, 8, 9, 9}, 8, 3, 4, 1, 1, 1},    // groups of 2 channels
      {{1, 8, 10, 10}, 8, 3, 8, 2, 1, 1},  // depthwise stride 2
      {{1, 4, 12, 12}, 6, 3, 1, 1, 2, 2},  // dilation 2
      {{1, 32, 6, 6}, 32, 3, 2, 1, 1, 1},  // 16 rows per group (bcsr4x16 blocks fit)
  };
  int index = 0;
  for (const Case& c : cases)
    for (double s : {0.0, 0.5, 0.9, 0.99}) {
      const uint64_t seed = 300 + 11 * index++;
      const Tensor w = pruned({c.m, c.x[1] / c.group, c.k, c.k}, s, seed, index % 3 == 0);
      std::vector<Operand> ops{input("x", random_tensor(c.x, seed + 1)), constant("w", w)};
      if (index % 2 == 0) ops.push_back(constant("b", random_tensor({c.m}, seed + 2)));
      const std::map<std::string, ir::Attribute> attrs{
          {"group", attr(c.group)},
          {"strides", attr(std::vector<int64_t>{c.stride, c.stride})},
          {"pads", attr(std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})},
          {"dilations", attr(std::vector<int64_t>{c.dilation, c.dilation})}};
      expect_sparse_matches_ref(one_node("Conv", ops, attrs),
                                "conv x=" + shape_str(c.x) + " k=" + std::to_string(c.k) +
                                    " group=" + std::to_string(c.group) + " s=" + std::to_string(s),
                                c.group == 1 || (c.m / c.group) % 4 == 0);
    }
}

TEST(SparseKernels, FusedPostOps) {
  const std::vector<std::vector<std::string>> chains = {
      {"relu"},      {"clip:0:6"},     {"leakyrelu:0.1"},
      {"hardswish"}, {"sigmoid"},      {"hardsigmoid:0.2:0.5"},
      {"sum"},       {"sum", "relu"},  {"relu", "sum"},
      {"swish"},     {"sum", "swish"}, {"hardswish", "linear:0.5:-0.25"}};
  int index = 0;
  for (const auto& chain : chains) {
    const bool sum = std::find(chain.begin(), chain.end(), "sum") != chain.end();
    const bool broadcast = index++ % 2 == 1;
    const uint64_t seed = 700 + 13 * index;
    std::string label;
    for (const auto& e : chain) label += "+" + e;
    {
      std::vector<Operand> ops{input("a", random_tensor({3, 40}, seed)),
                               constant("w", pruned({40, 18}, 0.9, seed + 1)),
                               constant("c", random_tensor({18}, seed + 2))};
      if (sum)
        ops.push_back(input("s", random_tensor(broadcast ? Shape{18} : Shape{3, 18}, seed + 3)));
      expect_sparse_matches_ref(one_node("Gemm", ops, post(chain)), "gemm " + label);
    }
    {
      std::vector<Operand> ops{input("x", random_tensor({2, 6, 7, 7}, seed + 4)),
                               constant("w", pruned({10, 6, 3, 3}, 0.9, seed + 5)),
                               constant("b", random_tensor({10}, seed + 6))};
      if (sum)
        ops.push_back(input(
            "s", random_tensor(broadcast ? Shape{1, 10, 1, 1} : Shape{2, 10, 7, 7}, seed + 7)));
      auto attrs = post(chain);
      attrs["pads"] = attr(std::vector<int64_t>{1, 1, 1, 1});
      expect_sparse_matches_ref(one_node("Conv", ops, attrs), "conv " + label);
    }
    {
      std::vector<Operand> ops{input("a", random_tensor({1, 33}, seed + 8)),
                               constant("w", pruned({33, 21}, 0.9, seed + 9))};
      if (sum) ops.push_back(input("s", random_tensor({1, 21}, seed + 10)));
      expect_sparse_matches_ref(one_node("MatMul", ops, post(chain)), "matmul " + label);
    }
  }
}

std::string impl_under(const std::string& mode, const OneNode& t) {
  return run_sparse(mode, t).assignments.at(0).impl;
}

TEST(SparseChooser, OffAutoForce) {
  // A large FC layer at batch 1: 99 % sparse is faster sparse by any measure, 0 % is not.
  const auto fc = [](double s) {
    return one_node(
        "Gemm",
        {input("a", random_tensor({1, 1024}, 1)), constant("w", pruned({512, 1024}, s, 2)),
         constant("c", random_tensor({512}, 3))},
        {{"transB", attr(int64_t{1})}});
  };
  const OneNode sparse99 = fc(0.99), dense0 = fc(0.0);
  // The dense kernel of a one-row Gemm is the cpu backend's own dot loop (loop:gemv).
  EXPECT_EQ(impl_under("off", sparse99), "loop:gemv");
  EXPECT_EQ(impl_under("auto", sparse99).rfind("sparse:", 0), 0u) << impl_under("auto", sparse99);
  EXPECT_NE(impl_under("auto", sparse99).find("s=0.99"), std::string::npos);
  EXPECT_EQ(impl_under("auto", dense0), "loop:gemv");
  EXPECT_EQ(impl_under("force", dense0).rfind("sparse:", 0), 0u) << impl_under("force", dense0);
  EXPECT_EQ(impl_under("force:bitmap", dense0).rfind("sparse:bitmap", 0), 0u);
  // The default (library) setting is off.
  EXPECT_EQ(run_on("cpu", sparse99.graph, sparse99.feeds).assignments.at(0).impl, "loop:gemv");
  // Non-constant weights have no sparse kernel even when forced: dense runs.
  const OneNode runtime_w = one_node(
      "MatMul", {input("a", random_tensor({2, 8}, 4)), input("w", random_tensor({8, 3}, 5))});
  EXPECT_EQ(impl_under("force", runtime_w).rfind("onednn:", 0), 0u);
}

TEST(SparseChooser, DecisionsFollowTheModel) {
  using kernels::cpu::choose_sparse;
  using kernels::cpu::parse_sparse_setting;
  using kernels::cpu::SparseLayer;
  const Tensor w0 = pruned({256, 512}, 0.0, 1), w99 = pruned({256, 512}, 0.99, 2);
  SparseLayer l{.dense = w99.data<float>(), .rows = 256, .cols = 512, .columns = 1};
  const auto c99 = choose_sparse(l, parse_sparse_setting("auto"));
  EXPECT_TRUE(c99.format.has_value()) << c99.reason;
  EXPECT_LT(c99.predicted_ratio, 1.0);
  EXPECT_NEAR(c99.sparsity, 0.99, 0.005);
  l.dense = w0.data<float>();
  const auto c0 = choose_sparse(l, parse_sparse_setting("auto"));
  EXPECT_FALSE(c0.format.has_value());
  EXPECT_NE(c0.reason.find("dense kept"), std::string::npos) << c0.reason;
  EXPECT_FALSE(choose_sparse(l, parse_sparse_setting("off")).format.has_value());
  EXPECT_TRUE(choose_sparse(l, parse_sparse_setting("force")).format.has_value());
  // Sparser never makes sparse look worse: the predicted ratio does not rise with sparsity
  // (flat while every 4x16 block still holds a non-zero), and falls overall.
  double last = 1e9, first = 0;
  for (double s : {0.0, 0.5, 0.75, 0.9, 0.95, 0.99}) {
    const Tensor w = pruned({256, 512}, s, 3);
    SparseLayer q{.dense = w.data<float>(), .rows = 256, .cols = 512, .columns = 8};
    const double r = choose_sparse(q, parse_sparse_setting("force")).predicted_ratio;
    EXPECT_LE(r, last) << "s=" << s;
    if (s == 0.0) first = r;
    last = r;
  }
  EXPECT_LT(last, 0.5 * first);
}

// --sparse auto explains in the kernel's name why it kept a pruned layer dense (info --plan
// shows it), and says nothing for a layer without zeros.
TEST(SparseChooser, AutoExplainsAPrunedLayerKeptDense) {
  const OneNode light = one_node("Gemm", {input("a", random_tensor({1, 256}, 11)),
                                          constant("w", pruned({256, 128}, 0.2, 12))});
  const std::string impl = run_sparse("auto", light).assignments.at(0).impl;
  EXPECT_EQ(impl.rfind("onednn:", 0), 0u) << impl;
  EXPECT_NE(impl.find("[sparse auto: dense kept at sparsity 0.2"), std::string::npos) << impl;
  const OneNode dense = one_node("Gemm", {input("a", random_tensor({1, 256}, 13)),
                                          constant("w", random_tensor({256, 128}, 14))});
  const std::string plain = run_sparse("auto", dense).assignments.at(0).impl;
  EXPECT_EQ(plain.find("sparse"), std::string::npos) << plain;
}

}  // namespace
}  // namespace frugal
