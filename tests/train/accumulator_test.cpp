// Emulated accumulators (the ACC class) in training: every GEMM of Conv (forward,
// backward-data through col2im, backward-weights over the whole batch), Gemm and MatMul
// (forward, both backward products) equals a direct emulation computed here with
// numeric::dot (products exact, every addition rounded to the accumulator format, chunked
// or compensated), over a matrix of shapes and accumulators. Plus the policy's ACC
// parsing, its refusals, and ACC=fp32 being today's sgemm path.
#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <span>

#include "frugal/core/rng.h"
#include "frugal/numeric/expansions.h"
#include "frugal/train/autograd.h"
#include "frugal/train/grad_op.h"
#include "frugal/train/precision.h"
#include "frugal/train/trainer.h"
#include "frugal/zoo/zoo.h"

namespace frugal::train {
namespace {

using kernels::emu::Accumulator;

Tensor random_tensor(const Shape& s, uint64_t stream, float scale = 1.0f) {
  Tensor t(DType::kF32, s);
  Philox rng(4321, stream);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<float>()[i] = scale * rng.normal(static_cast<uint64_t>(i));
  return t;
}

ir::Node node(std::string op, std::vector<std::string> in,
              std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = op + "_node";
  n.op_type = std::move(op);
  n.inputs = std::move(in);
  n.outputs = {"y"};
  n.attrs = std::move(attrs);
  return n;
}

std::unique_ptr<GradOp> make_op(const ir::Node& n, const Accumulator& acc) {
  const GradOpFactory* f = find_grad_op(n.op_type);
  EXPECT_NE(f, nullptr);
  return (*f)(n, 17, KernelConfig(KernelChoice::kFast, acc));
}

// The accumulators of the matrix: fp16 and bf16, per-add and chunked (a chunk of 4 so
// that small K are chunked too, and 32), and compensated.
std::vector<std::pair<std::string, Accumulator>> accumulators() {
  std::vector<std::pair<std::string, Accumulator>> out;
  for (const char* name : {"fp16", "fp16:chunk=4", "fp16:chunk=32", "bf16", "bf16:chunk=4",
                           "bf16:chunk=32", "fp16:comp", "bf16:chunk=4:comp"}) {
    const numeric::AccumulatorSpec s = numeric::parse_accumulator(name);
    Accumulator a;
    a.format = s.format;
    a.chunk = s.chunk;
    a.compensated = s.compensated;
    out.emplace_back(name, a);
  }
  return out;
}

float emulated_dot(const std::vector<float>& x, const std::vector<float>& y,
                   const Accumulator& acc) {
  numeric::AccumulatorSpec s;
  s.format = acc.format;
  s.chunk = acc.chunk;
  s.compensated = acc.compensated;
  s.rounding = acc.rounding;
  return static_cast<float>(numeric::dot(std::span<const float>(x), std::span<const float>(y), s));
}

void expect_same(const Tensor& got, const std::vector<float>& want, const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  for (int64_t i = 0; i < got.numel(); ++i)
    ASSERT_EQ(got.data<float>()[i], want[static_cast<size_t>(i)]) << what << "[" << i << "]";
}

struct ConvCase {
  int64_t n, c, h, w, m, k, stride, pad, dil, group;
  bool bias;
};

const std::vector<ConvCase> kConvCases{
    {2, 3, 6, 5, 4, 3, 1, 1, 1, 1, true},   // plain 3x3, pad 1 (K = 27)
    {1, 2, 7, 7, 3, 3, 2, 0, 1, 1, false},  // stride 2
    {1, 2, 7, 6, 2, 2, 1, 1, 2, 1, true},   // dilation 2
    {2, 4, 5, 5, 6, 3, 1, 1, 1, 2, true},   // groups 2
    {1, 3, 6, 6, 3, 3, 2, 1, 1, 3, false},  // depthwise, stride 2
    {2, 4, 4, 4, 5, 1, 1, 0, 1, 1, true},   // pointwise (no im2col)
    {3, 8, 6, 6, 5, 5, 1, 2, 1, 1, false},  // K = 200: several chunks of 32
};

TEST(Accumulator, ConvForwardAndBackwardEqualDirectEmulation) {
  for (const auto& [acc_name, acc] : accumulators())
    for (const ConvCase& c : kConvCases) {
      SCOPED_TRACE(acc_name + " c=" + std::to_string(c.c) + " k=" + std::to_string(c.k) +
                   " group=" + std::to_string(c.group) + " stride=" + std::to_string(c.stride));
      const ir::Node n =
          node("Conv", c.bias ? std::vector<std::string>{"x", "W", "B"} : std::vector<std::string>{"x", "W"},
               {{"strides", ir::Attribute{std::vector<int64_t>{c.stride, c.stride}}},
                {"pads", ir::Attribute{std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad}}},
                {"dilations", ir::Attribute{std::vector<int64_t>{c.dil, c.dil}}},
                {"group", ir::Attribute{c.group}}});
      const int64_t cg = c.c / c.group, mg = c.m / c.group;
      std::vector<Tensor> in{random_tensor({c.n, c.c, c.h, c.w}, 1),
                             random_tensor({c.m, cg, c.k, c.k}, 2, 0.5f)};
      if (c.bias) in.push_back(random_tensor({c.m}, 3));
      auto op = make_op(n, acc);
      ForwardState st;
      const std::vector<Tensor> out = op->forward(in, st);
      const int64_t oh = (c.h + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
      const int64_t ow = (c.w + 2 * c.pad - c.dil * (c.k - 1) - 1) / c.stride + 1;
      ASSERT_EQ(out[0].shape(), (Shape{c.n, c.m, oh, ow}));
      const float* x = in[0].data<float>();
      const float* w = in[1].data<float>();
      // x at (image, channel, kernel tap, output position); 0 in the padding.
      auto xat = [&](int64_t b, int64_t ch, int64_t i, int64_t j, int64_t oy, int64_t ox) {
        const int64_t iy = oy * c.stride - c.pad + i * c.dil, ix = ox * c.stride - c.pad + j * c.dil;
        return iy < 0 || iy >= c.h || ix < 0 || ix >= c.w ? 0.0f
                                                          : x[((b * c.c + ch) * c.h + iy) * c.w + ix];
      };
      // Forward: y = dot over (channel, i, j) of the group, then + bias in binary32.
      std::vector<float> want_y;
      for (int64_t b = 0; b < c.n; ++b)
        for (int64_t mo = 0; mo < c.m; ++mo)
          for (int64_t oy = 0; oy < oh; ++oy)
            for (int64_t ox = 0; ox < ow; ++ox) {
              std::vector<float> wv, xv;
              for (int64_t ch = 0; ch < cg; ++ch)
                for (int64_t i = 0; i < c.k; ++i)
                  for (int64_t j = 0; j < c.k; ++j) {
                    wv.push_back(w[((mo * cg + ch) * c.k + i) * c.k + j]);
                    xv.push_back(xat(b, (mo / mg) * cg + ch, i, j, oy, ox));
                  }
              float v = emulated_dot(wv, xv, acc);
              if (c.bias) v += in[2].data<float>()[mo];
              want_y.push_back(v);
            }
      expect_same(out[0], want_y, "y");

      const Tensor dy = random_tensor(out[0].shape(), 4);
      const float* d = dy.data<float>();
      std::vector<bool> need(in.size(), true);
      const std::vector<Tensor> din = op->backward(in, out, {dy}, need);
      // dW[mo][ch][i][j] = dot over (image, oy, ox) of dy and the input tap.
      std::vector<float> want_dw;
      for (int64_t mo = 0; mo < c.m; ++mo)
        for (int64_t ch = 0; ch < cg; ++ch)
          for (int64_t i = 0; i < c.k; ++i)
            for (int64_t j = 0; j < c.k; ++j) {
              std::vector<float> dv, xv;
              for (int64_t b = 0; b < c.n; ++b)
                for (int64_t oy = 0; oy < oh; ++oy)
                  for (int64_t ox = 0; ox < ow; ++ox) {
                    dv.push_back(d[((b * c.m + mo) * oh + oy) * ow + ox]);
                    xv.push_back(xat(b, (mo / mg) * cg + ch, i, j, oy, ox));
                  }
              want_dw.push_back(emulated_dot(dv, xv, acc));
            }
      expect_same(din[1], want_dw, "dW");
      // dx: dcol = dot over the group's output channels, then summed in binary32 over the
      // kernel taps in the order (i, j) (col2im).
      std::vector<float> want_dx(static_cast<size_t>(in[0].numel()), 0.0f);
      for (int64_t b = 0; b < c.n; ++b)
        for (int64_t ch = 0; ch < c.c; ++ch)
          for (int64_t i = 0; i < c.k; ++i)
            for (int64_t j = 0; j < c.k; ++j)
              for (int64_t oy = 0; oy < oh; ++oy)
                for (int64_t ox = 0; ox < ow; ++ox) {
                  const int64_t iy = oy * c.stride - c.pad + i * c.dil;
                  const int64_t ix = ox * c.stride - c.pad + j * c.dil;
                  if (iy < 0 || iy >= c.h || ix < 0 || ix >= c.w) continue;
                  const int64_t g = ch / cg;
                  std::vector<float> wv, dv;
                  for (int64_t r = 0; r < mg; ++r) {
                    const int64_t mo = g * mg + r;
                    wv.push_back(w[((mo * cg + ch % cg) * c.k + i) * c.k + j]);
                    dv.push_back(d[((b * c.m + mo) * oh + oy) * ow + ox]);
                  }
                  want_dx[static_cast<size_t>(((b * c.c + ch) * c.h + iy) * c.w + ix)] +=
                      emulated_dot(wv, dv, acc);
                }
      expect_same(din[0], want_dx, "dx");
    }
}

// op(X)(r, k) of a row-major matrix stored [rows x cols], transposed or not.
float at(const Tensor& t, bool trans, int64_t r, int64_t k) {
  const int64_t cols = t.dim(1);
  return trans ? t.data<float>()[k * cols + r] : t.data<float>()[r * cols + k];
}

TEST(Accumulator, GemmForwardAndBackwardEqualDirectEmulation) {
  struct Dims {
    int64_t m, k, n;
  };
  for (const auto& [acc_name, acc] : accumulators())
    for (const Dims dm : {Dims{3, 40, 5}, Dims{9, 67, 4}})
      for (int ta = 0; ta < 2; ++ta)
        for (int tb = 0; tb < 2; ++tb)
          for (const float alpha : {1.0f, 0.5f}) {
            SCOPED_TRACE(acc_name + " m=" + std::to_string(dm.m) + " transA=" +
                         std::to_string(ta) + " transB=" + std::to_string(tb) +
                         " alpha=" + std::to_string(alpha));
            const float beta = 2.0f;
            const ir::Node n = node("Gemm", {"a", "b", "c"},
                                    {{"transA", ir::Attribute{int64_t{ta}}},
                                     {"transB", ir::Attribute{int64_t{tb}}},
                                     {"alpha", ir::Attribute{alpha}},
                                     {"beta", ir::Attribute{beta}}});
            const Tensor a = random_tensor(ta ? Shape{dm.k, dm.m} : Shape{dm.m, dm.k}, 5);
            const Tensor b = random_tensor(tb ? Shape{dm.n, dm.k} : Shape{dm.k, dm.n}, 6);
            const Tensor cb = random_tensor({dm.n}, 7);
            auto op = make_op(n, acc);
            const std::vector<Tensor> in{a, b, cb};
            const std::vector<Tensor> out = op->forward(in, ForwardState{});
            std::vector<float> want;
            for (int64_t i = 0; i < dm.m; ++i)
              for (int64_t j = 0; j < dm.n; ++j) {
                std::vector<float> av, bv;
                for (int64_t p = 0; p < dm.k; ++p) {
                  av.push_back(at(a, ta, i, p));
                  bv.push_back(at(b, tb, p, j));
                }
                const float scaled = alpha * emulated_dot(av, bv, acc);
                want.push_back(scaled + beta * cb.data<float>()[j]);
              }
            expect_same(out[0], want, "Y");
            const Tensor dy = random_tensor(out[0].shape(), 8);
            const std::vector<Tensor> din = op->backward(in, out, {dy}, {true, true, false});
            // dA(i, p) = alpha * sum_j dY(i, j) op(B)(p, j), stored as A is.
            std::vector<float> want_da(static_cast<size_t>(a.numel()));
            for (int64_t i = 0; i < dm.m; ++i)
              for (int64_t p = 0; p < dm.k; ++p) {
                std::vector<float> dv, bv;
                for (int64_t j = 0; j < dm.n; ++j) {
                  dv.push_back(dy.data<float>()[i * dm.n + j]);
                  bv.push_back(at(b, tb, p, j));
                }
                want_da[static_cast<size_t>(ta ? p * dm.m + i : i * dm.k + p)] =
                    alpha * emulated_dot(dv, bv, acc);
              }
            expect_same(din[0], want_da, "dA");
            // dB(p, j) = alpha * sum_i op(A)(i, p) dY(i, j), stored as B is.
            std::vector<float> want_db(static_cast<size_t>(b.numel()));
            for (int64_t p = 0; p < dm.k; ++p)
              for (int64_t j = 0; j < dm.n; ++j) {
                std::vector<float> av, dv;
                for (int64_t i = 0; i < dm.m; ++i) {
                  av.push_back(at(a, ta, i, p));
                  dv.push_back(dy.data<float>()[i * dm.n + j]);
                }
                want_db[static_cast<size_t>(tb ? j * dm.k + p : p * dm.n + j)] =
                    alpha * emulated_dot(av, dv, acc);
              }
            expect_same(din[1], want_db, "dB");
          }
}

TEST(Accumulator, MatMulForwardAndBackwardEqualDirectEmulation) {
  for (const auto& [acc_name, acc] : accumulators()) {
    SCOPED_TRACE(acc_name);
    const int64_t rows = 6, k = 45, n = 7;
    const Tensor a = random_tensor({2, 3, k}, 9), w = random_tensor({k, n}, 10);
    auto op = make_op(node("MatMul", {"a", "w"}), acc);
    const std::vector<Tensor> in{a, w};
    const std::vector<Tensor> out = op->forward(in, ForwardState{});
    ASSERT_EQ(out[0].shape(), (Shape{2, 3, n}));
    const float* ad = a.data<float>();
    const float* wd = w.data<float>();
    std::vector<float> want;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t j = 0; j < n; ++j) {
        std::vector<float> av(ad + r * k, ad + (r + 1) * k), wv;
        for (int64_t p = 0; p < k; ++p) wv.push_back(wd[p * n + j]);
        want.push_back(emulated_dot(av, wv, acc));
      }
    expect_same(out[0], want, "Y");
    const Tensor dy = random_tensor(out[0].shape(), 11);
    const float* d = dy.data<float>();
    const std::vector<Tensor> din = op->backward(in, out, {dy}, {true, true});
    std::vector<float> want_da, want_dw;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t p = 0; p < k; ++p) {
        std::vector<float> dv(d + r * n, d + (r + 1) * n), wv(wd + p * n, wd + (p + 1) * n);
        want_da.push_back(emulated_dot(dv, wv, acc));
      }
    for (int64_t p = 0; p < k; ++p)
      for (int64_t j = 0; j < n; ++j) {
        std::vector<float> av, dv;
        for (int64_t r = 0; r < rows; ++r) {
          av.push_back(ad[r * k + p]);
          dv.push_back(d[r * n + j]);
        }
        want_dw.push_back(emulated_dot(av, dv, acc));
      }
    expect_same(din[0], want_da, "dA");
    expect_same(din[1], want_dw, "dW");
  }
}

TEST(Accumulator, NarrowAccumulatorChangesTheResult) {
  // The emulation is not a no-op: fp16 accumulation over K = 200 differs from binary32.
  const ConvCase c = kConvCases.back();
  const ir::Node n = node("Conv", {"x", "W"}, {{"pads", ir::Attribute{std::vector<int64_t>{2, 2, 2, 2}}}});
  const std::vector<Tensor> in{random_tensor({c.n, c.c, c.h, c.w}, 1),
                               random_tensor({c.m, c.c, c.k, c.k}, 2, 0.5f)};
  const GradOpFactory* f = find_grad_op("Conv");
  const Tensor y32 = (*f)(n, 17, KernelConfig(KernelChoice::kFast))->forward(in, {})[0];
  Accumulator fp16;
  fp16.format = numeric::parse_format("fp16");
  const Tensor y16 = make_op(n, fp16)->forward(in, {})[0];
  int64_t differ = 0;
  for (int64_t i = 0; i < y32.numel(); ++i)
    differ += y32.data<float>()[i] != y16.data<float>()[i];
  EXPECT_GT(differ, y32.numel() / 4);
}

TEST(Accumulator, PolicyParsesAcc) {
  EXPECT_FALSE(PrecisionPolicy::parse("", "", 0).accumulator().has_value());
  EXPECT_FALSE(PrecisionPolicy::parse("ACC=fp32", "", 0).accumulator().has_value());
  const PrecisionPolicy p = PrecisionPolicy::parse("W=e4m3,ACC=fp16:chunk=32:compensated", "", 0);
  ASSERT_TRUE(p.accumulator().has_value());
  EXPECT_EQ(p.accumulator()->format, numeric::parse_format("fp16"));
  EXPECT_EQ(p.accumulator()->chunk, 32);
  EXPECT_TRUE(p.accumulator()->compensated);
  EXPECT_NE(p.describe().find("ACC=fp16:chunk=32:comp"), std::string::npos) << p.describe();
  const PrecisionPolicy q = PrecisionPolicy::parse("ACC=bf16", "ACC=rz", 0);
  EXPECT_EQ(q.accumulator()->rounding.mode, numeric::RoundingMode::kTowardZero);
  EXPECT_EQ(q.accumulator()->chunk, 0);
  // fp32 with chunking is an emulation of its own, not the sgemm path.
  EXPECT_TRUE(PrecisionPolicy::parse("ACC=fp32:chunk=8", "", 0).accumulator().has_value());
  EXPECT_THROW(PrecisionPolicy::parse("ACC=fp16:chunk=0", "", 0), UserError);
  EXPECT_THROW(PrecisionPolicy::parse("ACC=nosuchformat", "", 0), UserError);
  EXPECT_THROW(PrecisionPolicy::parse("ACC=fp16", "ACC=stochastic", 0), UserError);
  EXPECT_THROW(PrecisionPolicy::parse("ACC=fp16:comp", "ACC=rz", 0), UserError);
  EXPECT_THROW(PrecisionPolicy::parse("W=bf16", "ACC=rz", 0), UserError);
}

TEST(Accumulator, ReferenceKernelsRefuseAcc) {
  ir::Graph g;
  g.opsets[""] = 17;
  ir::ValueInfo in;
  in.name = "x";
  in.dtype = DType::kF32;
  in.shape = std::vector<ir::Dim>{ir::Dim{2, ""}, ir::Dim{4, ""}};
  g.inputs.push_back(in);
  ir::ValueInfo out;
  out.name = "y";
  out.dtype = DType::kF32;
  g.outputs.push_back(out);
  g.nodes.push_back(node("MatMul", {"x", "W"}));
  g.initializers["W"] = random_tensor({4, 3}, 1);
  GraphOptions opt;
  opt.kernels = KernelChoice::kReference;
  opt.accumulator = Accumulator{};
  EXPECT_THROW(TrainGraph(g, opt), UserError);
}

bool have_fashion_mnist() {
  return std::filesystem::exists("/usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz");
}

bool same_weights(const ir::Graph& a, const ir::Graph& b) {
  for (const auto& [name, t] : a.initializers)
    if (!b.initializers.count(name) || !t.equals(b.initializers.at(name))) return false;
  return a.initializers.size() == b.initializers.size();
}

TEST(Accumulator, TrainingWithFp32AccIsTodaysPathAndFp16Differs) {
  if (!have_fashion_mnist()) GTEST_SKIP() << "Fashion-MNIST not installed";
  TrainConfig c;
  c.limit = 128;
  c.batch = 32;
  c.lr = 0.05f;
  c.epochs = 1;
  c.seed = 2;
  Trainer plain(zoo::build("lenet5", 0), c);
  plain.run({});
  c.format = "ACC=fp32";
  Trainer fp32acc(zoo::build("lenet5", 0), c);
  fp32acc.run({});
  EXPECT_TRUE(same_weights(plain.model(), fp32acc.model()));
  c.format = "ACC=fp16:chunk=32";
  std::vector<double> losses;
  Trainer fp16acc(zoo::build("lenet5", 0), c);
  fp16acc.run([&](const EpochStats& s) { losses.push_back(s.train_loss); });
  EXPECT_FALSE(same_weights(plain.model(), fp16acc.model()));
  ASSERT_EQ(losses.size(), 1u);
  EXPECT_TRUE(std::isfinite(losses[0]));
}

}  // namespace
}  // namespace frugal::train
