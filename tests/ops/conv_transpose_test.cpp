// ConvTranspose against hand-computed values and, over a matrix of options, against the
// scatter form of its definition: every input element adds x * w into the output.
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

ir::Node deconv_node(bool bias) {
  return ir::Node{.name = "up3",
                  .op_type = "ConvTranspose",
                  .inputs = {"x", "w", bias ? "b" : ""},
                  .outputs = {"y"}};
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
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.data<float>()[i], want[i]) << i;
}

struct Options {
  int64_t group = 1;
  std::vector<int64_t> strides, dilations, pads, output_padding;
};

// Scatter form: x[n, c, i] * w[c, m, k] lands on output i * stride + k * dilation - pad_begin.
std::vector<double> naive_deconv(const Tensor& X, const Tensor& W, const Tensor* B,
                                 const Options& o, Shape& ys) {
  const Shape& x = X.shape();
  const Shape& w = W.shape();
  const size_t n = x.size() - 2;
  const int64_t cg = x[1] / o.group, mg = w[1], M = mg * o.group;
  ys = {x[0], M};
  int64_t in_sp = 1, k_sp = 1, out_sp = 1;
  for (size_t d = 0; d < n; ++d) {
    const int64_t s = o.strides.empty() ? 1 : o.strides[d];
    const int64_t dil = o.dilations.empty() ? 1 : o.dilations[d];
    const int64_t op = o.output_padding.empty() ? 0 : o.output_padding[d];
    const int64_t pads = o.pads.empty() ? 0 : o.pads[d] + o.pads[d + n];
    ys.push_back(s * (x[d + 2] - 1) + op + dil * (w[d + 2] - 1) + 1 - pads);
    in_sp *= x[d + 2];
    k_sp *= w[d + 2];
    out_sp *= ys.back();
  }
  std::vector<double> y(static_cast<size_t>(x[0] * M * out_sp), 0.0);
  for (int64_t b = 0; b < x[0]; ++b)
    for (int64_t m = 0; m < M; ++m)
      for (int64_t p = 0; p < out_sp; ++p)
        y[static_cast<size_t>((b * M + m) * out_sp + p)] = B ? B->data<float>()[m] : 0.0;
  std::vector<int64_t> ipos(n), kpos(n);
  for (int64_t b = 0; b < x[0]; ++b)
    for (int64_t c = 0; c < x[1]; ++c)
      for (int64_t ip = 0; ip < in_sp; ++ip) {
        for (int64_t r = ip, d = int64_t(n) - 1; d >= 0; --d) {
          ipos[d] = r % x[d + 2];
          r /= x[d + 2];
        }
        const double xv = X.data<float>()[(b * x[1] + c) * in_sp + ip];
        const int64_t g = c / cg;
        for (int64_t m = 0; m < mg; ++m)
          for (int64_t kp = 0; kp < k_sp; ++kp) {
            for (int64_t r = kp, d = int64_t(n) - 1; d >= 0; --d) {
              kpos[d] = r % w[d + 2];
              r /= w[d + 2];
            }
            int64_t yi = 0;
            bool inside = true;
            for (size_t d = 0; d < n; ++d) {
              const int64_t s = o.strides.empty() ? 1 : o.strides[d];
              const int64_t dil = o.dilations.empty() ? 1 : o.dilations[d];
              const int64_t pb = o.pads.empty() ? 0 : o.pads[d];
              const int64_t pos = ipos[d] * s + kpos[d] * dil - pb;
              inside = inside && pos >= 0 && pos < ys[d + 2];
              yi = yi * ys[d + 2] + pos;
            }
            if (!inside) continue;
            y[static_cast<size_t>((b * M + g * mg + m) * out_sp + yi)] +=
                xv * W.data<float>()[(c * mg + m) * k_sp + kp];
          }
      }
  return y;
}

void check_against_naive(const Shape& xs, const Shape& ws, const Options& o, bool bias,
                         uint32_t seed) {
  std::mt19937 gen(seed);
  Tensor X = random_tensor(xs, gen), W = random_tensor(ws, gen);
  Tensor B = random_tensor({ws[1] * o.group}, gen);
  ir::Node n = deconv_node(bias);
  if (o.group != 1) n.attrs["group"] = ir::Attribute{o.group};
  if (!o.strides.empty()) n.attrs["strides"] = ints(o.strides);
  if (!o.dilations.empty()) n.attrs["dilations"] = ints(o.dilations);
  if (!o.pads.empty()) n.attrs["pads"] = ints(o.pads);
  if (!o.output_padding.empty()) n.attrs["output_padding"] = ints(o.output_padding);
  std::vector<Tensor> in = {X, W};
  if (bias) in.push_back(B);
  Tensor Y = ops::evaluate(n, 11, in)[0];
  Shape want_shape;
  std::vector<double> want = naive_deconv(X, W, bias ? &B : nullptr, o, want_shape);
  const std::string what = "x " + shape_str(xs) + " w " + shape_str(ws);
  ASSERT_EQ(Y.shape(), want_shape) << what;
  for (size_t i = 0; i < want.size(); ++i)
    ASSERT_NEAR(Y.data<float>()[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << what << " " << i;
}

}  // namespace

TEST(ConvTranspose, OnnxDocumentedExample) {
  // 3x3 ramp, two output channels of 3x3 ones: every output sums the inputs it overlaps.
  Tensor x = Tensor::from_vector<float>({1, 1, 3, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8});
  std::vector<float> plane = {0,  1,  3, 3,  2,  3,  8,  15, 12, 7,  9,  21, 36,
                              27, 15, 9, 20, 33, 24, 13, 6,  13, 21, 15, 8};
  std::vector<float> want = plane;
  want.insert(want.end(), plane.begin(), plane.end());
  expect_values(ops::evaluate(deconv_node(false), 11, {x, filled({1, 2, 3, 3}, 1)})[0],
                {1, 2, 5, 5}, want);
}

TEST(ConvTranspose, OneDimensionalByHand) {
  // x = 1 2, w = 1 1 1, stride 2: full result 1 1 3 2 2.
  Tensor x = Tensor::from_vector<float>({1, 1, 2}, {1, 2});
  Tensor w = Tensor::from_vector<float>({1, 1, 3}, {1, 1, 1});
  ir::Node n = deconv_node(false);
  n.attrs["strides"] = ints({2});
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 5}, {1, 1, 3, 2, 2});
  n.attrs["output_padding"] = ints({1});
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 6}, {1, 1, 3, 2, 2, 0});
  n.attrs.erase("output_padding");
  n.attrs["pads"] = ints({1, 1});
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 3}, {1, 3, 2});
  // An output_shape larger than the full result extends it at the end.
  n.attrs.erase("pads");
  n.attrs["output_shape"] = ints({7});
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 7}, {1, 1, 3, 2, 2, 0, 0});
  // A smaller one crops: total padding 2 split evenly, 1 at each end.
  n.attrs["output_shape"] = ints({3});
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 3}, {1, 3, 2});
}

TEST(ConvTranspose, AutoPadSame) {
  // Output = input * stride = 4; full result has 5: one element of padding, taken from
  // the end for SAME_UPPER and from the beginning for SAME_LOWER.
  Tensor x = Tensor::from_vector<float>({1, 1, 2}, {1, 2});
  Tensor w = Tensor::from_vector<float>({1, 1, 3}, {1, 10, 100});
  ir::Node n = deconv_node(false);
  n.attrs["strides"] = ints({2});
  // full: 1 10 102 20 200
  n.attrs["auto_pad"] = str("SAME_UPPER");
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 4}, {1, 10, 102, 20});
  n.attrs["auto_pad"] = str("SAME_LOWER");
  expect_values(ops::evaluate(n, 11, {x, w})[0], {1, 1, 4}, {10, 102, 20, 200});
}

TEST(ConvTranspose, MatchesNaiveFormula) {
  uint32_t seed = 1;
  struct G {
    int64_t c, m_per_group, group;
  };
  for (G g : {G{3, 5, 1}, G{6, 1, 6}, G{6, 3, 3}})
    for (int64_t k : {1, 3, 4})
      for (int64_t s : {1, 2, 3})
        for (int64_t dil : {1, 2}) {
          Options o;
          o.group = g.group;
          o.strides = {s, 1};
          o.dilations = {dil, 1};
          o.pads = {1, 0, 0, 2};
          o.output_padding = {s - 1, 0};
          check_against_naive({2, g.c, 5, 6}, {g.c, g.m_per_group, k, 3}, o, (k + s) % 2 == 0,
                              seed++);
        }
  Options o3;
  o3.strides = {2, 1, 2};
  o3.pads = {0, 1, 0, 1, 0, 0};
  check_against_naive({1, 2, 3, 4, 3}, {2, 3, 2, 3, 3}, o3, true, seed++);
  Options o1;
  o1.strides = {3};
  o1.dilations = {2};
  check_against_naive({3, 2, 7}, {2, 4, 3}, o1, true, seed++);
}

TEST(ConvTranspose, BadInputsNameTheNode) {
  auto expect_error = [](ir::Node n, std::vector<Tensor> in, const std::string& fragment) {
    try {
      ops::evaluate(n, 11, in);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const UserError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("up3"), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  expect_error(deconv_node(false), {filled({1, 3, 4, 4}, 1), filled({2, 1, 3, 3}, 1)}, "channels");
  expect_error(deconv_node(false), {filled({1, 3}, 1), filled({3, 1, 3}, 1)}, "rank");
  ir::Node p = deconv_node(false);
  p.attrs["pads"] = ints({3, 3, 3, 3});
  expect_error(p, {filled({1, 1, 1, 1}, 1), filled({1, 1, 3, 3}, 1)}, "exceed");
  ir::Node s = deconv_node(false);
  s.attrs["output_shape"] = ints({4, 4, 4});
  expect_error(s, {filled({1, 1, 2, 2}, 1), filled({1, 1, 3, 3}, 1)}, "output_shape");
}

TEST(ConvTranspose, CostCountsMacsPerInput) {
  const ops::OpDef* def = ops::find_op("", "ConvTranspose");
  ASSERT_NE(def, nullptr);
  ir::Node n = deconv_node(false);
  // 16 -> 8 channels, 4x4 kernel, 7x7 input: 7*7*16*8*16 MACs.
  ops::Work w =
      def->cost(ops::CostContext{n, {{1, 16, 7, 7}, {16, 8, 4, 4}, {}}, {{1, 8, 16, 16}}});
  EXPECT_EQ(w.macs, int64_t{7} * 7 * 16 * 8 * 16);
}
