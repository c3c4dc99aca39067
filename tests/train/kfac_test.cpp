// K-FAC (train/kfac.h) against dense linear algebra on tiny layers:
//  - the factors against the empirical Fisher block formed explicitly from per-example
//    gradients (each example's own backward pass): A ⊗ G equals it exactly for one example
//    (Gemm, and a convolution with one output position, where KFC is exact), and A, G equal
//    the means of the per-example outer products for a batch;
//  - the statistics K-FAC reads reproduce the layer's weight gradient (g_rows^T a_rows / N),
//    for a strided, padded convolution with many positions and for Gemm;
//  - the preconditioned update against a dense solve with the damped Kronecker product;
//  - the number formats of the parts; resuming from a checkpoint is bit-identical; bad
//    options fail with one UserError.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "frugal/core/rng.h"
#include "frugal/numeric/quantize.h"
#include "frugal/train/autograd.h"
#include "frugal/train/kfac.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"
#include "graph_testing.h"

namespace frugal::train {
namespace {

Tensor random_tensor(const Shape& s, uint64_t stream, float scale = 1.0f) {
  Tensor t(DType::kF32, s);
  Philox rng(77, stream);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}

Tensor labels_of(std::vector<int64_t> v) {
  Tensor t(DType::kI64, {static_cast<int64_t>(v.size())});
  for (size_t i = 0; i < v.size(); ++i) t.data<int64_t>()[i] = v[i];
  return t;
}

ir::Node node(std::string op, std::vector<std::string> in, std::vector<std::string> out,
              std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = op + "_" + out[0];
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = std::move(out);
  n.attrs = std::move(attrs);
  return n;
}

using testing::make_graph;

// x [N,5] -> Gemm(W [3,5], b [3], transB) -> y [N,3].
ir::Graph gemm_graph(int64_t n) {
  return make_graph({n, 5}, {node("Gemm", {"x", "W", "b"}, {"y"}, {{"transB", ir::Attribute{1}}})},
                    {{"W", random_tensor({3, 5}, 1, 0.5f)}, {"b", random_tensor({3}, 2, 0.5f)}});
}

// x [N,2,5,5] -> Conv(W [3,2,3,3], b, stride 2, pad 1) -> [N,3,3,3] -> Relu -> Flatten ->
// Gemm(V [4,27], c) -> y [N,4]: a convolution with 9 output positions under a Gemm.
ir::Graph conv_graph(int64_t n) {
  return make_graph({n, 2, 5, 5},
                    {node("Conv", {"x", "W", "b"}, {"h"},
                          {{"strides", ir::Attribute{std::vector<int64_t>{2, 2}}},
                           {"pads", ir::Attribute{std::vector<int64_t>{1, 1, 1, 1}}}}),
                     node("Relu", {"h"}, {"r"}), node("Flatten", {"r"}, {"f"}),
                     node("Gemm", {"f", "V", "c"}, {"y"}, {{"transB", ir::Attribute{1}}})},
                    {{"W", random_tensor({3, 2, 3, 3}, 3, 0.4f)},
                     {"b", random_tensor({3}, 4, 0.1f)},
                     {"V", random_tensor({4, 27}, 5, 0.3f)},
                     {"c", random_tensor({4}, 6, 0.1f)}});
}

// x [N,2,4,4] -> Conv(W [3,2,4,4], b) -> [N,3,1,1] -> Flatten -> y: one output position.
ir::Graph conv1x1_graph(int64_t n) {
  return make_graph(
      {n, 2, 4, 4}, {node("Conv", {"x", "W", "b"}, {"h"}), node("Flatten", {"h"}, {"y"})},
      {{"W", random_tensor({3, 2, 4, 4}, 7, 0.3f)}, {"b", random_tensor({3}, 8, 0.1f)}});
}

// One training step's statistics: forward and backward of `graph` on (x, labels) with K-FAC
// capturing, then the factor refresh (precondition). Returns the raw gradients by name.
struct Step {
  std::map<std::string, Tensor> grads;   // before preconditioning
  std::map<std::string, Tensor> update;  // after
};
Step run_step(TrainGraph& tg, Kfac& k, const Tensor& x, const Tensor& labels, uint64_t step = 0) {
  tg.set_hook([&](TensorClass cls, const std::string& name, Tensor& t) {
    if (cls != TensorClass::kWeight && cls != TensorClass::kGradient && k.wants(name))
      k.capture(name, t, cls == TensorClass::kError);
  });
  if (k.begin_step(step)) k.capture(tg.input_name(), x, false);
  const Tensor logits = tg.forward(x, true, step);
  tg.backward(softmax_cross_entropy(logits, labels).d_logits);
  Step s;
  std::vector<Tensor> g;
  for (const auto& p : tg.params()) g.push_back(tg.grad(p).clone());
  std::map<std::string, Tensor*> by_name;
  for (size_t i = 0; i < g.size(); ++i) {
    s.grads[tg.params()[i]] = g[i].clone();
    by_name[tg.params()[i]] = &g[i];
  }
  k.precondition(by_name, 0.1f, 1.0f);
  for (size_t i = 0; i < g.size(); ++i) s.update[tg.params()[i]] = g[i];
  return s;
}

Tensor slice_rows(const Tensor& x, int64_t row) {
  Shape s = x.shape();
  s[0] = 1;
  Tensor t(DType::kF32, s);
  const int64_t per = x.numel() / x.dim(0);
  std::copy_n(x.data<float>() + row * per, per, t.data<float>());
  return t;
}

// The layer's gradient as [out, in (+1)] from parameter gradients (weight [out, ...], bias).
std::vector<std::vector<double>> grad_matrix(const Tensor& dw, const Tensor& db) {
  const int64_t out = dw.dim(0), in = dw.numel() / out;
  std::vector<std::vector<double>> m(static_cast<size_t>(out), std::vector<double>(in + 1));
  for (int64_t o = 0; o < out; ++o) {
    for (int64_t k = 0; k < in; ++k) m[o][k] = dw.data<float>()[o * in + k];
    m[o][in] = db.data<float>()[o];
  }
  return m;
}

// Expects A ⊗ G (index (k, o) -> k * O + o: vec of [out, in] column by column) to equal
// vec(M) vec(M)^T, the empirical Fisher of one example.
void expect_kron_equals_fisher(const Tensor& a, const Tensor& g,
                               const std::vector<std::vector<double>>& m) {
  const int64_t o_n = g.dim(0), k_n = a.dim(0);
  ASSERT_EQ(static_cast<int64_t>(m.size()), o_n);
  ASSERT_EQ(static_cast<int64_t>(m[0].size()), k_n);
  double worst = 0, scale = 0;
  for (int64_t k = 0; k < k_n; ++k)
    for (int64_t o = 0; o < o_n; ++o)
      for (int64_t k2 = 0; k2 < k_n; ++k2)
        for (int64_t o2 = 0; o2 < o_n; ++o2) {
          const double kron =
              static_cast<double>(a.data<float>()[k * k_n + k2]) * g.data<float>()[o * o_n + o2];
          const double fisher = m[o][k] * m[o2][k2];
          worst = std::max(worst, std::abs(kron - fisher));
          scale = std::max(scale, std::abs(fisher));
        }
  EXPECT_LT(worst, 1e-5 * scale + 1e-9) << "A (x) G differs from the empirical Fisher block";
}

KfacOptions plain_options() {
  KfacOptions o;
  o.adapt_every = 0;
  o.kl_clip = 0;
  o.inv_every = 1;
  return o;
}

TEST(Kfac, GemmFactorsEqualTheEmpiricalFisherOfOneExample) {
  TrainGraph tg(gemm_graph(1));
  Kfac k(tg.graph(), tg.params(), plain_options(), 0);
  ASSERT_EQ(k.layers(), 1u);
  const Step s = run_step(tg, k, random_tensor({1, 5}, 10), labels_of({2}));
  const auto [a, g] = k.factors(0);
  ASSERT_EQ(a.shape(), (Shape{6, 6}));
  ASSERT_EQ(g.shape(), (Shape{3, 3}));
  expect_kron_equals_fisher(a, g, grad_matrix(s.grads.at("W"), s.grads.at("b")));
}

TEST(Kfac, GemmFactorsAreMeansOfPerExampleOuterProducts) {
  const int64_t n = 4;
  const Tensor x = random_tensor({n, 5}, 11);
  const std::vector<int64_t> lab = {0, 2, 1, 2};
  TrainGraph tg(gemm_graph(n));
  Kfac k(tg.graph(), tg.params(), plain_options(), 0);
  run_step(tg, k, x, labels_of(lab));
  const auto [a, g] = k.factors(0);
  // Per-example gradients from separate backward passes: the bias gradient of one example
  // is its output gradient g_n.
  std::vector<double> ga(9, 0.0), aa(36, 0.0);
  for (int64_t i = 0; i < n; ++i) {
    TrainGraph one(gemm_graph(1));
    one.backward(
        softmax_cross_entropy(one.forward(slice_rows(x, i), true), labels_of({lab[i]})).d_logits);
    const float* gb = one.grad("b").data<float>();
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 3; ++c) ga[r * 3 + c] += static_cast<double>(gb[r]) * gb[c] / n;
    std::vector<double> abar(6, 1.0);
    for (int c = 0; c < 5; ++c) abar[c] = x.data<float>()[i * 5 + c];
    for (int r = 0; r < 6; ++r)
      for (int c = 0; c < 6; ++c) aa[r * 6 + c] += abar[r] * abar[c] / n;
  }
  for (int i = 0; i < 9; ++i) EXPECT_NEAR(g.data<float>()[i], ga[i], 1e-5) << "G[" << i << "]";
  for (int i = 0; i < 36; ++i) EXPECT_NEAR(a.data<float>()[i], aa[i], 1e-5) << "A[" << i << "]";
}

TEST(Kfac, ConvWithOnePositionEqualsTheEmpiricalFisher) {
  TrainGraph tg(conv1x1_graph(1));
  Kfac k(tg.graph(), tg.params(), plain_options(), 0);
  ASSERT_EQ(k.layers(), 1u);
  const Step s = run_step(tg, k, random_tensor({1, 2, 4, 4}, 12), labels_of({1}));
  const auto [a, g] = k.factors(0);
  ASSERT_EQ(a.shape(), (Shape{33, 33}));
  expect_kron_equals_fisher(a, g, grad_matrix(s.grads.at("W"), s.grads.at("b")));
}

// g_rows^T a_rows / N must be the layer's [W | b] gradient: the patches, positions and
// per-example scaling K-FAC reads are the ones the backward used.
void expect_statistics_give_gradient(const Kfac& k, size_t layer, const Tensor& dw,
                                     const Tensor& db, int64_t n) {
  const Kfac::Layer& l = k.layer(layer);
  const Tensor ar = k.input_rows(l), gr = k.output_rows(l, 1.0f);
  const auto m = grad_matrix(dw, db);
  ASSERT_EQ(ar.dim(0), gr.dim(0));
  for (size_t o = 0; o < m.size(); ++o)
    for (size_t c = 0; c < m[o].size(); ++c) {
      double s = 0;
      for (int64_t r = 0; r < ar.dim(0); ++r)
        s += static_cast<double>(gr.data<float>()[r * gr.dim(1) + static_cast<int64_t>(o)]) *
             ar.data<float>()[r * ar.dim(1) + static_cast<int64_t>(c)];
      EXPECT_NEAR(s / static_cast<double>(n), m[o][c], 1e-5 + 1e-4 * std::abs(m[o][c]))
          << l.node << " gradient [" << o << "][" << c << "]";
    }
}

TEST(Kfac, StatisticsReproduceTheWeightGradientsOfAStridedConvAndAGemm) {
  for (const KernelChoice kc : {KernelChoice::kOneDnn, KernelChoice::kFast}) {
    const int64_t n = 3;
    GraphOptions go;
    go.kernels = kc;
    TrainGraph tg(conv_graph(n), go);
    Kfac k(tg.graph(), tg.params(), plain_options(), 0);
    ASSERT_EQ(k.layers(), 2u);
    ASSERT_TRUE(k.begin_step(0));
    tg.set_hook([&](TensorClass cls, const std::string& name, Tensor& t) {
      if (cls != TensorClass::kWeight && cls != TensorClass::kGradient && k.wants(name))
        k.capture(name, t, cls == TensorClass::kError);
    });
    const Tensor x = random_tensor({n, 2, 5, 5}, 13);
    k.capture("x", x, false);
    tg.backward(softmax_cross_entropy(tg.forward(x, true), labels_of({3, 0, 1})).d_logits);
    expect_statistics_give_gradient(k, 0, tg.grad("W"), tg.grad("b"), n);
    expect_statistics_give_gradient(k, 1, tg.grad("V"), tg.grad("c"), n);
    // The conv factor A averages over examples and 9 positions: its bias corner is 1.
    const Tensor ar = k.input_rows(k.layer(0));
    EXPECT_EQ(ar.dim(0), n * 9);
    EXPECT_EQ(ar.dim(1), 2 * 9 + 1);
  }
}

// Dense solve of (A_d ⊗ G_d) vec(V) = vec(M), A_d = A + pi sqrt(l) I, G_d = G + sqrt(l)/pi I.
std::vector<double> dense_solve(const Tensor& a, const Tensor& g, double damping,
                                const std::vector<std::vector<double>>& m) {
  const int64_t kn = a.dim(0), on = g.dim(0), n = kn * on;
  double ta = 0, tg = 0;
  for (int64_t i = 0; i < kn; ++i) ta += a.data<float>()[i * kn + i];
  for (int64_t i = 0; i < on; ++i) tg += g.data<float>()[i * on + i];
  const double pi = std::sqrt((ta / kn) / (tg / on)), s = std::sqrt(damping);
  std::vector<std::vector<double>> d(static_cast<size_t>(n), std::vector<double>(n + 1));
  for (int64_t k = 0; k < kn; ++k)
    for (int64_t o = 0; o < on; ++o) {
      for (int64_t k2 = 0; k2 < kn; ++k2)
        for (int64_t o2 = 0; o2 < on; ++o2)
          d[k * on + o][k2 * on + o2] = (a.data<float>()[k * kn + k2] + (k == k2 ? pi * s : 0.0)) *
                                        (g.data<float>()[o * on + o2] + (o == o2 ? s / pi : 0.0));
      d[k * on + o][n] = m[o][k];
    }
  for (int64_t c = 0; c < n; ++c) {  // Gaussian elimination with partial pivoting
    int64_t p = c;
    for (int64_t r = c + 1; r < n; ++r)
      if (std::abs(d[r][c]) > std::abs(d[p][c])) p = r;
    std::swap(d[c], d[p]);
    for (int64_t r = 0; r < n; ++r) {
      if (r == c) continue;
      const double f = d[r][c] / d[c][c];
      for (int64_t j = c; j <= n; ++j) d[r][j] -= f * d[c][j];
    }
  }
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[i] = d[i][n] / d[i][i];
  return v;
}

TEST(Kfac, UpdateEqualsTheDampedKroneckerSolve) {
  for (const double damping : {1e-3, 0.1}) {
    KfacOptions o = plain_options();
    o.damping = static_cast<float>(damping);
    TrainGraph tg(gemm_graph(4));
    Kfac k(tg.graph(), tg.params(), o, 0);
    const Step s = run_step(tg, k, random_tensor({4, 5}, 14), labels_of({1, 1, 0, 2}));
    const auto [a, g] = k.factors(0);
    const auto m = grad_matrix(s.grads.at("W"), s.grads.at("b"));
    const std::vector<double> v = dense_solve(a, g, damping, m);
    const auto got = grad_matrix(s.update.at("W"), s.update.at("b"));
    double vmax = 0;
    for (double x : v) vmax = std::max(vmax, std::abs(x));
    for (int64_t kk = 0; kk < 6; ++kk)
      for (int64_t oo = 0; oo < 3; ++oo)
        EXPECT_NEAR(got[oo][kk], v[kk * 3 + oo], 2e-4 * vmax)
            << "damping " << damping << " [" << oo << "][" << kk << "]";
  }
}

TEST(Kfac, DampedInverseIsTheInverse) {
  const Tensor r = random_tensor({7, 5}, 15);
  const Tensor c = covariance(r, 7.0);
  const Tensor inv = damped_inverse(c, 0.01);
  for (int i = 0; i < 5; ++i)
    for (int j = 0; j < 5; ++j) {
      double s = 0;
      for (int k = 0; k < 5; ++k)
        s += (c.data<float>()[i * 5 + k] + (i == k ? 0.01 : 0.0)) * inv.data<float>()[k * 5 + j];
      EXPECT_NEAR(s, i == j ? 1.0 : 0.0, 1e-4);
    }
}

bool representable(const Tensor& t, const std::string& format) {
  Tensor q = t.clone();
  numeric::quantize(q.span<float>(), q.span<float>(), numeric::parse_format(format),
                    numeric::Rounding::nearest_even());
  return q.equals(t);
}

TEST(Kfac, EachPartIsRoundedToItsFormat) {
  KfacOptions o = plain_options();
  o.format = "stats=bf16,factors=bf16,inverse=fp16,update=e4m3";
  o.damping = 0.01f;
  o.rounding = "factors=stochastic,default=nearest";
  TrainGraph tg(conv_graph(2));
  Kfac k(tg.graph(), tg.params(), o, 5);
  const Step s = run_step(tg, k, random_tensor({2, 2, 5, 5}, 16), labels_of({0, 3}));
  for (size_t i = 0; i < k.layers(); ++i) {
    EXPECT_TRUE(representable(k.factors(i).first, "bf16"));
    EXPECT_TRUE(representable(k.factors(i).second, "bf16"));
    EXPECT_TRUE(representable(k.inverses(i).first, "fp16"));
    EXPECT_TRUE(representable(k.inverses(i).second, "fp16"));
  }
  // No clipping: the update of each layer is e4m3 values.
  EXPECT_TRUE(representable(s.update.at("V"), "e4m3"));
  EXPECT_TRUE(representable(s.update.at("W"), "e4m3"));
  EXPECT_NE(k.describe().find("factors=bf16/sr"), std::string::npos) << k.describe();
}

TEST(Kfac, BadOptionsAreUserErrors) {
  TrainGraph tg(gemm_graph(1));
  auto make = [&](KfacOptions o) { Kfac k(tg.graph(), tg.params(), o, 0); };
  KfacOptions o;
  o.damping = 0;
  EXPECT_THROW(make(o), UserError);
  o = {};
  o.damping = -1;
  EXPECT_THROW(make(o), UserError);
  o = {};
  o.format = "factors=bogus";
  EXPECT_THROW(make(o), UserError);
  o = {};
  o.format = "weights=bf16";
  EXPECT_THROW(make(o), UserError);
  o = {};
  o.rounding = "inverse=sideways";
  EXPECT_THROW(make(o), UserError);
  o = {};
  o.inv_every = 0;
  EXPECT_THROW(make(o), UserError);
}

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

bool same_weights(const ir::Graph& a, const ir::Graph& b) {
  for (const auto& [name, t] : a.initializers)
    if (!b.initializers.count(name) || !t.equals(b.initializers.at(name))) return false;
  return true;
}

TEST(Kfac, TrainsAndResumesBitIdentically) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c;
  c.limit = 96;
  c.batch = 16;
  c.epochs = 2;
  c.seed = 5;
  c.lr = 0.02f;
  c.optimizer.kind = OptimizerKind::kKfac;
  c.kfac.inv_every = 4;  // inverses refreshed mid-epoch: the checkpoint must carry them
  c.kfac.adapt_every = 2;
  c.kfac.format = "factors=bf16";
  std::vector<EpochStats> stats;
  Trainer straight(zoo::build("lenet5", 2), c);
  ASSERT_NE(straight.kfac(), nullptr);
  EXPECT_EQ(straight.kfac()->layers(), 5u);  // 2 Conv + 3 Gemm
  straight.run([&](const EpochStats& s) { stats.push_back(s); });
  ASSERT_EQ(stats.size(), 2u);
  EXPECT_LT(stats[1].train_loss, stats[0].train_loss);
  EXPECT_NE(straight.kfac()->damping(), c.kfac.damping);  // adapted

  const std::string ckpt = (std::filesystem::temp_directory_path() /
                            ("frugal_kfac_test_" + std::to_string(::getpid()) + ".ckpt"))
                               .string();
  TrainConfig first = c;
  first.checkpoint = ckpt;
  first.stop_after = 1;
  Trainer part1(zoo::build("lenet5", 2), first);
  part1.run({});
  TrainConfig second = c;
  second.resume = ckpt;
  Trainer part2(zoo::build("lenet5", 2), second);
  part2.run({});
  EXPECT_TRUE(same_weights(part2.model(), straight.model()));
  EXPECT_EQ(part2.kfac()->damping(), straight.kfac()->damping());
  // Resuming it with another optimizer is refused.
  TrainConfig sgd = second;
  sgd.optimizer.kind = OptimizerKind::kSgd;
  EXPECT_THROW(Trainer(zoo::build("lenet5", 2), sgd), UserError);
  std::filesystem::remove(ckpt);
}

}  // namespace
}  // namespace frugal::train
