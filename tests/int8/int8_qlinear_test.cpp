// cpu:int8's QLinearConv, QuantizeLinear and DequantizeLinear against the reference
// kernels (ops/qlinear.cpp, ops/quantize.cpp). Both accumulate exactly in int32; they may
// differ only in rounding the requantized value: oneDNN multiplies by a float32 product of
// the scales (and QuantizeLinear by 1/scale) where the reference divides in higher
// precision, which can move a value lying within float32 error of a .5 tie across it:
// at most 1 step. Elsewhere results must be equal.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

Tensor u8_tensor(const Shape& s, uint64_t seed) {
  Tensor t(DType::kU8, s);
  Philox rng(seed, 3);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = rng.u32(uint64_t(i)) % 256;
  return t;
}

Tensor s8_tensor(const Shape& s, uint64_t seed) {
  Tensor t(DType::kI8, s);
  Philox rng(seed, 4);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.data<int8_t>()[i] = static_cast<int8_t>(int(rng.u32(uint64_t(i)) % 255) - 127);
  return t;
}

Ran run_int8(const OneNode& t) {
  runtime::SessionOptions opt;
  opt.backends = {"cpu:int8", "ref"};
  runtime::Session s(t.graph, opt);
  return {s.run(t.feeds), s.assignments()};
}

// Largest |a - b| over the elements (as integers or floats).
double max_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  double m = 0;
  for (int64_t i = 0; i < a.numel(); ++i)
    m = std::max(m, std::fabs(a.at_double(i) - b.at_double(i)));
  return m;
}

void expect_on_int8(const Ran& r, const std::string& what) {
  for (const auto& a : r.assignments)
    EXPECT_EQ(a.backend, "cpu:int8")
        << what << ": " << a.node_name << " " << (a.declined.empty() ? "" : a.declined[0]);
}

}  // namespace

TEST(Int8QLinear, ConvMatchesRefWithinOneStep) {
  struct Case {
    int64_t n, c, hw, m, group, k, stride, pad;
    uint8_t x_zero, y_zero;
    bool per_channel, bias;
  };
  const std::vector<Case> cases{
      {1, 8, 9, 16, 1, 3, 1, 1, 128, 100, true, true},
      {3, 5, 8, 7, 1, 1, 2, 0, 0, 0, false, false},
      {1, 12, 10, 12, 12, 3, 2, 1, 20, 128, true, true},  // depthwise
      {1, 6, 7, 9, 3, 5, 1, 2, 7, 3, false, true},        // grouped
  };
  for (const auto& c : cases) {
    const std::string what = "c" + std::to_string(c.c) + " m" + std::to_string(c.m) + " g" +
                             std::to_string(c.group) + " k" + std::to_string(c.k);
    const Tensor x = u8_tensor({c.n, c.c, c.hw, c.hw}, 1 + c.c);
    const Tensor w = s8_tensor({c.m, c.c / c.group, c.k, c.k}, 2 + c.m);
    std::vector<float> ws(c.per_channel ? size_t(c.m) : 1);
    for (size_t i = 0; i < ws.size(); ++i) ws[i] = 0.002f + 0.0005f * float(i);
    std::vector<int32_t> bias(static_cast<size_t>(c.m));
    for (size_t i = 0; i < bias.size(); ++i) bias[i] = int32_t(i * 37 % 500) - 250;
    std::vector<Operand> ops{
        input("x", x),
        constant("xs", Tensor::scalar<float>(0.02f)),
        constant("xz", Tensor::scalar<uint8_t>(c.x_zero)),
        constant("w", w),
        constant("ws", c.per_channel ? Tensor::from_vector<float>({c.m}, ws)
                                     : Tensor::scalar<float>(ws[0])),
        constant("wz", c.per_channel ? Tensor(DType::kI8, {c.m}) : Tensor::scalar<int8_t>(0)),
        constant("ys", Tensor::scalar<float>(0.05f)),
        constant("yz", Tensor::scalar<uint8_t>(c.y_zero))};
    if (c.bias) ops.push_back(constant("b", Tensor::from_vector<int32_t>({c.m}, bias)));
    const OneNode t = one_node("QLinearConv", ops,
                               {{"group", attr(c.group)},
                                {"strides", attr(std::vector<int64_t>{c.stride, c.stride})},
                                {"pads", attr(std::vector<int64_t>{c.pad, c.pad, c.pad, c.pad})}});
    const Ran ref = run_on("ref", t.graph, t.feeds);
    const Ran got = run_int8(t);
    expect_on_int8(got, what);
    EXPECT_EQ(got.outputs[0].dtype(), DType::kU8);
    EXPECT_LE(max_diff(got.outputs[0], ref.outputs[0]), 1.0) << what;
  }
}

TEST(Int8QLinear, QuantizeAndDequantizeMatchRef) {
  const Tensor x = uniform_tensor({2, 3, 5, 5}, 4, -3.0f, 5.0f);
  const OneNode q =
      one_node("QuantizeLinear", {input("x", x), constant("s", Tensor::scalar<float>(0.03f)),
                                  constant("z", Tensor::scalar<uint8_t>(90))});
  const Ran qr = run_on("ref", q.graph, q.feeds), qg = run_int8(q);
  expect_on_int8(qg, "QuantizeLinear");
  EXPECT_LE(max_diff(qg.outputs[0], qr.outputs[0]), 1.0);  // saturates at 0 and 255 too

  const Tensor u = u8_tensor({2, 3, 5, 5}, 5);
  const OneNode d =
      one_node("DequantizeLinear", {input("u", u), constant("s", Tensor::scalar<float>(0.03f)),
                                    constant("z", Tensor::scalar<uint8_t>(90))});
  const Ran dr = run_on("ref", d.graph, d.feeds), dg = run_int8(d);
  expect_on_int8(dg, "DequantizeLinear");
  // (u - z) * s: one float32 rounding either way.
  EXPECT_LE(max_diff(dg.outputs[0], dr.outputs[0]), 1e-6 * 255 * 0.03);
}

TEST(Int8QLinear, DeclinesWhatItCannotRun) {
  const Tensor x = u8_tensor({1, 2, 4, 4}, 6);
  // Nonzero weight zero points: oneDNN v2 applies none to weights.
  const OneNode t = one_node(
      "QLinearConv",
      {input("x", x), constant("xs", Tensor::scalar<float>(0.1f)),
       constant("xz", Tensor::scalar<uint8_t>(0)), constant("w", s8_tensor({2, 2, 1, 1}, 7)),
       constant("ws", Tensor::scalar<float>(0.1f)), constant("wz", Tensor::scalar<int8_t>(3)),
       constant("ys", Tensor::scalar<float>(0.1f)), constant("yz", Tensor::scalar<uint8_t>(0))});
  const Ran r = run_int8(t);
  EXPECT_EQ(r.assignments[0].backend, "ref");
  EXPECT_NE(r.assignments[0].declined.at(0).find("nonzero weight zero points"), std::string::npos)
      << r.assignments[0].declined[0];
}
