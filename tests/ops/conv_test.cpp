// Conv against hand-computed values (ONNX's documented examples) and, over a matrix of
// shapes and options, against a naive direct-convolution formula written here.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Attribute ints(std::vector<int64_t> v) {
  return ir::Attribute{std::move(v)};
}
ir::Attribute str(const char* s) {
  return ir::Attribute{std::string(s)};
}
ir::Attribute int1(int64_t v) {
  return ir::Attribute{v};
}

ir::Node conv_node(bool bias) {
  return ir::Node{
      .name = "conv7", .op_type = "Conv", .inputs = {"x", "w", bias ? "b" : ""}, .outputs = {"y"}};
}

Tensor iota(Shape shape, float start = 0) {
  Tensor t(DType::kF32, std::move(shape));
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = start + float(i);
  return t;
}

Tensor filled(Shape shape, float v) {
  Tensor t(DType::kF32, std::move(shape));
  for (auto& e : t.span<float>()) e = v;
  return t;
}

Tensor random_tensor(Shape shape, std::mt19937& gen) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Tensor t(DType::kF32, std::move(shape));
  for (auto& e : t.span<float>()) e = dist(gen);
  return t;
}

void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  ASSERT_EQ(t.shape(), shape);
  ASSERT_EQ(t.numel(), static_cast<int64_t>(want.size()));
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.data<float>()[i], want[i]) << i;
}

// Direct convolution, straight from the definition, in double.
struct Options {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads;  // empty: defaults
  std::string auto_pad = "NOTSET";
  bool bias = false;
};

Shape expected_out(const Shape& x, const Shape& w, const Options& o, std::vector<int64_t>& pb) {
  const size_t n = x.size() - 2;
  Shape y = {x[0], w[0]};
  pb.assign(n, 0);
  for (size_t d = 0; d < n; ++d) {
    const int64_t in = x[d + 2], k = w[d + 2];
    const int64_t s = o.strides.empty() ? 1 : o.strides[d];
    const int64_t dil = o.dilations.empty() ? 1 : o.dilations[d];
    const int64_t ext = dil * (k - 1) + 1;
    if (o.auto_pad == "SAME_UPPER" || o.auto_pad == "SAME_LOWER") {
      const int64_t out = (in + s - 1) / s;
      const int64_t need = std::max<int64_t>(0, (out - 1) * s + ext - in);
      pb[d] = o.auto_pad == "SAME_LOWER" ? (need + 1) / 2 : need / 2;
      y.push_back(out);
    } else if (o.auto_pad == "VALID") {
      y.push_back((in - ext) / s + 1);
    } else {
      const int64_t b = o.pads.empty() ? 0 : o.pads[d], e = o.pads.empty() ? 0 : o.pads[d + n];
      pb[d] = b;
      y.push_back((in + b + e - ext) / s + 1);
    }
  }
  return y;
}

std::vector<double> naive_conv(const Tensor& X, const Tensor& W, const Tensor* B, const Options& o,
                               Shape& out_shape) {
  const Shape& x = X.shape();
  const Shape& w = W.shape();
  std::vector<int64_t> pb;
  out_shape = expected_out(x, w, o, pb);
  const size_t n = x.size() - 2;
  const int64_t cg = w[1], mg = w[0] / o.group;
  int64_t out_sp = 1, k_sp = 1, in_sp = 1;
  for (size_t d = 0; d < n; ++d) {
    out_sp *= out_shape[d + 2];
    k_sp *= w[d + 2];
    in_sp *= x[d + 2];
  }
  std::vector<double> y(static_cast<size_t>(x[0] * w[0] * out_sp), 0.0);
  const float* xd = X.data<float>();
  const float* wd = W.data<float>();
  std::vector<int64_t> opos(n), kpos(n);
  for (int64_t b = 0; b < x[0]; ++b)
    for (int64_t m = 0; m < w[0]; ++m) {
      const int64_t g = m / mg;
      for (int64_t op = 0; op < out_sp; ++op) {
        for (int64_t r = op, d = int64_t(n) - 1; d >= 0; --d) {
          opos[d] = r % out_shape[d + 2];
          r /= out_shape[d + 2];
        }
        double acc = B ? B->data<float>()[m] : 0.0;
        for (int64_t c = 0; c < cg; ++c)
          for (int64_t kp = 0; kp < k_sp; ++kp) {
            for (int64_t r = kp, d = int64_t(n) - 1; d >= 0; --d) {
              kpos[d] = r % w[d + 2];
              r /= w[d + 2];
            }
            int64_t xi = 0;
            bool inside = true;
            for (size_t d = 0; d < n; ++d) {
              const int64_t s = o.strides.empty() ? 1 : o.strides[d];
              const int64_t dil = o.dilations.empty() ? 1 : o.dilations[d];
              const int64_t pos = opos[d] * s - pb[d] + kpos[d] * dil;
              inside = inside && pos >= 0 && pos < x[d + 2];
              xi = xi * x[d + 2] + pos;
            }
            if (!inside) continue;
            acc += double(xd[(b * x[1] + g * cg + c) * in_sp + xi]) *
                   double(wd[(m * cg + c) * k_sp + kp]);
          }
        y[static_cast<size_t>((b * w[0] + m) * out_sp + op)] = acc;
      }
    }
  return y;
}

void check_against_naive(const Shape& xs, const Shape& ws, const Options& o, uint32_t seed) {
  std::mt19937 gen(seed);
  Tensor X = random_tensor(xs, gen), W = random_tensor(ws, gen);
  Tensor B = random_tensor({ws[0]}, gen);
  ir::Node n = conv_node(o.bias);
  if (o.group != 1) n.attrs["group"] = int1(o.group);
  if (!o.strides.empty()) n.attrs["strides"] = ints(o.strides);
  if (!o.dilations.empty()) n.attrs["dilations"] = ints(o.dilations);
  if (!o.pads.empty()) n.attrs["pads"] = ints(o.pads);
  if (o.auto_pad != "NOTSET") n.attrs["auto_pad"] = ir::Attribute{o.auto_pad};
  std::vector<Tensor> in = {X, W};
  if (o.bias) in.push_back(B);
  Tensor Y = ops::evaluate(n, 18, in)[0];
  Shape want_shape;
  std::vector<double> want = naive_conv(X, W, o.bias ? &B : nullptr, o, want_shape);
  std::string what = "x " + shape_str(xs) + " w " + shape_str(ws) + " group " +
                     std::to_string(o.group) + " auto_pad " + o.auto_pad;
  ASSERT_EQ(Y.shape(), want_shape) << what;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(Y.data<float>()[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << what << " at " << i;
}

}  // namespace

TEST(Conv, BasicWithAndWithoutPadding) {
  // ONNX's documented example: 5x5 ramp, 3x3 ones.
  ir::Node n = conv_node(false);
  n.attrs["kernel_shape"] = ints({3, 3});
  n.attrs["pads"] = ints({1, 1, 1, 1});
  expect_values(ops::evaluate(n, 11, {iota({1, 1, 5, 5}), filled({1, 1, 3, 3}, 1)})[0],
                {1, 1, 5, 5}, {12,  21, 27, 33,  24,  33,  54,  63, 72,  51,  63,  99, 108,
                               117, 81, 93, 144, 153, 162, 111, 72, 111, 117, 123, 84});
  n.attrs["pads"] = ints({0, 0, 0, 0});
  expect_values(ops::evaluate(n, 11, {iota({1, 1, 5, 5}), filled({1, 1, 3, 3}, 1)})[0],
                {1, 1, 3, 3}, {54, 63, 72, 99, 108, 117, 144, 153, 162});
}

TEST(Conv, StridesWithPaddingAndAutoPadSame) {
  ir::Node n = conv_node(false);
  n.attrs["strides"] = ints({2, 2});
  n.attrs["pads"] = ints({1, 1, 1, 1});
  expect_values(ops::evaluate(n, 11, {iota({1, 1, 7, 5}), filled({1, 1, 3, 3}, 1)})[0],
                {1, 1, 4, 3}, {12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124});
  ir::Node s = conv_node(false);
  s.attrs["strides"] = ints({2, 2});
  s.attrs["auto_pad"] = str("SAME_LOWER");
  expect_values(ops::evaluate(s, 11, {iota({1, 1, 5, 5}), filled({1, 1, 3, 3}, 1)})[0],
                {1, 1, 3, 3}, {12, 27, 24, 63, 108, 81, 72, 117, 84});
}

TEST(Conv, SameUpperPadsTheEndAndSameLowerTheBeginning) {
  // x = 1 2 3 4, kernel (1, 10): one pad element in total.
  Tensor x = Tensor::from_vector<float>({1, 1, 4}, {1, 2, 3, 4});
  Tensor w = Tensor::from_vector<float>({1, 1, 2}, {1, 10});
  ir::Node n = conv_node(false);
  n.attrs["auto_pad"] = str("SAME_UPPER");
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 4}, {21, 32, 43, 4});
  n.attrs["auto_pad"] = str("SAME_LOWER");
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 4}, {10, 21, 32, 43});
  n.attrs["auto_pad"] = str("VALID");
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 3}, {21, 32, 43});
}

TEST(Conv, BiasAndGroupsByHand) {
  // Two groups of one channel each; channel 1 of the output uses only input channel 1.
  Tensor x = Tensor::from_vector<float>({1, 2, 1, 2}, {1, 2, 3, 4});
  Tensor w = Tensor::from_vector<float>({2, 1, 1, 1}, {10, 100});
  Tensor b = Tensor::from_vector<float>({2}, {0.5f, -1});
  ir::Node n = conv_node(true);
  n.attrs["group"] = int1(2);
  expect_values(ops::evaluate(n, 11, {x, w, b})[0], {1, 2, 1, 2}, {10.5f, 20.5f, 299, 399});
}

TEST(Conv, MatchesNaiveFormula2D) {
  uint32_t seed = 1;
  struct G {
    int64_t c, m, group;
  };
  // Plain, depthwise, grouped (odd channel counts), depthwise with a multiplier.
  for (G g : {G{3, 5, 1}, G{6, 6, 6}, G{6, 9, 3}, G{4, 8, 4}})
    for (int64_t k : {1, 3, 5})
      for (int64_t s : {1, 2})
        for (int64_t dil : {1, 2})
          for (int64_t batch : {1, 3}) {
            Options o;
            o.group = g.group;
            o.strides = {s, s};
            o.dilations = {dil, dil};
            o.pads = {k / 2, 0, k / 2 + 1, 1};  // asymmetric
            o.bias = (k + s) % 2 == 0;
            check_against_naive({batch, g.c, 11, 9}, {g.m, g.c / g.group, k, k}, o, seed++);
          }
}

TEST(Conv, MatchesNaiveFormulaAutoPad) {
  uint32_t seed = 100;
  for (const char* mode : {"SAME_UPPER", "SAME_LOWER", "VALID"})
    for (int64_t k : {1, 2, 3, 4})
      for (int64_t s : {1, 2, 3})
        for (int64_t dil : {1, 2}) {
          Options o;
          o.auto_pad = mode;
          o.strides = {s, 1};
          o.dilations = {dil, 1};
          o.bias = true;
          check_against_naive({2, 3, 10, 7}, {4, 3, k, 3}, o, seed++);
        }
}

TEST(Conv, MatchesNaiveFormula1DAnd3D) {
  uint32_t seed = 200;
  for (int64_t s : {1, 2}) {
    Options o;
    o.strides = {s};
    o.dilations = {2};
    o.pads = {1, 2};
    o.bias = true;
    check_against_naive({2, 3, 13}, {5, 3, 3}, o, seed++);
    Options o3;
    o3.group = 2;
    o3.strides = {s, 1, s};
    o3.pads = {1, 0, 1, 0, 1, 2};
    check_against_naive({1, 4, 5, 6, 7}, {6, 2, 3, 2, 3}, o3, seed++);
  }
}

TEST(Conv, LargeOutputIsProcessedInChunks) {
  // K = 64 * 9 = 576 taps; 4M-element workspace / 576 < 120 * 120 output positions.
  Options o;
  o.pads = {1, 1, 1, 1};
  check_against_naive({1, 64, 120, 120}, {2, 64, 3, 3}, o, 300);
}

TEST(Conv, Float64) {
  Tensor x = Tensor::from_vector<double>({1, 1, 3}, {1, 2, 3});
  Tensor w = Tensor::from_vector<double>({1, 1, 2}, {0.5, 0.25});
  Tensor y = ops::evaluate(conv_node(false), 11, {x, w})[0];
  ASSERT_EQ(y.dtype(), DType::kF64);
  EXPECT_DOUBLE_EQ(y.data<double>()[0], 1.0);
  EXPECT_DOUBLE_EQ(y.data<double>()[1], 1.75);
}

TEST(Conv, EmptyBatch) {
  Tensor y = ops::evaluate(conv_node(false), 11,
                           {Tensor(DType::kF32, {0, 2, 4, 4}), filled({3, 2, 3, 3}, 1)})[0];
  EXPECT_EQ(y.shape(), (Shape{0, 3, 2, 2}));
}

TEST(Conv, BadInputsNameTheNode) {
  auto expect_error = [](ir::Node n, std::vector<Tensor> in, const std::string& fragment) {
    try {
      ops::evaluate(n, 11, in);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const UserError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("conv7"), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  expect_error(conv_node(false), {filled({1, 3, 5, 5}, 1), filled({2, 2, 3, 3}, 1)}, "channels");
  expect_error(conv_node(false), {filled({1, 1, 2, 2}, 1), filled({1, 1, 3, 3}, 1)}, "larger");
  expect_error(conv_node(false), {filled({3, 5}, 1), filled({1, 3, 3}, 1)}, "rank");
  expect_error(conv_node(false), {filled({1, 1, 5, 5}, 1), filled({1, 1, 3}, 1)}, "rank");
  expect_error(conv_node(true), {filled({1, 1, 5, 5}, 1), filled({2, 1, 3, 3}, 1), filled({3}, 0)},
               "bias");
  ir::Node g = conv_node(false);
  g.attrs["group"] = int1(2);
  expect_error(g, {filled({1, 4, 5, 5}, 1), filled({3, 2, 3, 3}, 1)}, "group");
  ir::Node p = conv_node(false);
  p.attrs["pads"] = ints({1, 1});
  expect_error(p, {filled({1, 1, 5, 5}, 1), filled({1, 1, 3, 3}, 1)}, "pads");
  ir::Node a = conv_node(false);
  a.attrs["auto_pad"] = str("SAME");
  expect_error(a, {filled({1, 1, 5, 5}, 1), filled({1, 1, 3, 3}, 1)}, "auto_pad");
  ir::Node k = conv_node(false);
  k.attrs["kernel_shape"] = ints({2, 2});
  expect_error(k, {filled({1, 1, 5, 5}, 1), filled({1, 1, 3, 3}, 1)}, "kernel_shape");
  ir::Node s = conv_node(false);
  s.attrs["strides"] = ints({0, 1});
  expect_error(s, {filled({1, 1, 5, 5}, 1), filled({1, 1, 3, 3}, 1)}, "strides");
  ir::Node huge = conv_node(false);
  huge.attrs["dilations"] = ints({int64_t{1} << 40, 1});  // would overflow the window size
  expect_error(huge, {filled({1, 1, 5, 5}, 1), filled({1, 1, 3, 3}, 1)}, "dilations");
}

TEST(Conv, UnsupportedDtypeIsDeclined) {
  Tensor x(DType::kF16, {1, 1, 3, 3}), w(DType::kF16, {1, 1, 1, 1});
  EXPECT_THROW(ops::evaluate(conv_node(false), 11, {x, w}), UnsupportedError);
}

TEST(Conv, CostCountsMacsPerOutput) {
  // A ResNet-50 3x3 layer: 64 -> 64 channels at 56x56: 56*56*64*64*9 MACs.
  const ops::OpDef* def = ops::find_op("", "Conv");
  ASSERT_NE(def, nullptr);
  ir::Node n = conv_node(true);
  ops::Work w =
      def->cost(ops::CostContext{n, {{1, 64, 56, 56}, {64, 64, 3, 3}, {64}}, {{1, 64, 56, 56}}});
  EXPECT_EQ(w.macs, int64_t{115605504});
  // Depthwise 3x3 over 32 channels at 112x112, batch 2: 2*32*112*112*9.
  ir::Node d = conv_node(false);
  w = def->cost(ops::CostContext{d, {{2, 32, 112, 112}, {32, 1, 3, 3}, {}}, {{2, 32, 112, 112}}});
  EXPECT_EQ(w.macs, int64_t{2} * 32 * 112 * 112 * 9);
}
