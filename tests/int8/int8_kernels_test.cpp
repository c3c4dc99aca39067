// cpu:int8 Conv, Gemm and MatMul against the float32 reference over a matrix of shapes.
//
// Tolerance, derived from the quantization steps. With x^ = s_x (q - z) the input as
// quantized (|x^ - x| <= s_x / 2 inside the calibrated range, which the grid covers up
// to half a step at its ends) and w^ = s_w[c] q the weights (|w^ - w| <= s_w[c] / 2,
// |w^| <= max|w|), the exactly accumulated result differs from the float one by
//   |sum w^ x^ - sum w x| <= sum |w^| |x^ - x| + sum |w^ - w| |x|
//                         <= s_x / 2 * sum |w^| + s_w[c] / 2 * sum_window |x|
// per output element; post-ops (relu, sum) are 1-Lipschitz. Float32 rounding of the
// scaling adds a relative 1e-5 of sum |w| |x| + |bias|. The test computes this bound per
// element (sum_window |x| by a reference convolution of |x| with all-ones weights) and
// checks every element against it.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <string>

#include "frugal/kernels/cpu/few_channel_int8.h"
#include "frugal/kernels/cpu/int8_impl.h"
#include "frugal/kernels/cpu/int8_quant.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

Tensor abs_of(const Tensor& t) {
  Tensor a = t.clone();
  for (float& v : a.span<float>()) v = std::fabs(v);
  return a;
}

Tensor filled(const Shape& s, float v) {
  Tensor t(DType::kF32, s);
  for (float& x : t.span<float>()) x = v;
  return t;
}

kernels::ValueRange range_of(const Tensor& t) {
  kernels::ValueRange r{t.data<float>()[0], t.data<float>()[0]};
  for (float v : t.span<float>()) {
    r.min = std::min(r.min, v);
    r.max = std::max(r.max, v);
  }
  return r;
}

// Runs the one-node graph on cpu:int8 (falling back to ref) with `ranges`.
Ran run_int8(const OneNode& t, const std::map<std::string, kernels::ValueRange>& ranges) {
  runtime::SessionOptions opt;
  opt.backends = {"cpu:int8", "ref"};
  opt.backend_config.ranges = ranges;
  runtime::Session s(t.graph, opt);
  return {s.run(t.feeds), s.assignments()};
}

// Per output channel c: s_x / 2 * sum |w^_c| (w^ rebuilt from the quantizer's own rule
// independently: q = round(w / s), s = max|w_c| / 127).
std::vector<double> weight_terms(const Tensor& w, int64_t channels, double s_x,
                                 std::vector<double>& s_w) {
  const int64_t per = w.numel() / channels;
  std::vector<double> terms(static_cast<size_t>(channels));
  s_w.assign(static_cast<size_t>(channels), 0.0);
  for (int64_t c = 0; c < channels; ++c) {
    double peak = 0;
    for (int64_t i = 0; i < per; ++i)
      peak = std::max(peak, std::fabs(double(w.data<float>()[c * per + i])));
    const double s = peak > 0 ? peak / 127.0 : 1.0;
    double sum = 0;
    for (int64_t i = 0; i < per; ++i)
      sum += s * std::fabs(std::nearbyint(w.data<float>()[c * per + i] / s));
    terms[static_cast<size_t>(c)] = s_x / 2 * sum;
    s_w[static_cast<size_t>(c)] = s;
  }
  return terms;
}

struct ConvCase {
  int64_t n, c, h, w, m, group, k, stride;
  std::vector<int64_t> pads;  // begin h, begin w, end h, end w
  bool bias;
  float x_lo, x_hi;  // input uniform in [x_lo, x_hi)
  int64_t dilation = 1;
};

std::string label(const ConvCase& p) {
  return "n" + std::to_string(p.n) + " c" + std::to_string(p.c) + " " + std::to_string(p.h) + "x" +
         std::to_string(p.w) + " m" + std::to_string(p.m) + " g" + std::to_string(p.group) + " k" +
         std::to_string(p.k) + " s" + std::to_string(p.stride) + " d" + std::to_string(p.dilation) +
         " pads " + std::to_string(p.pads[0]) + std::to_string(p.pads[1]) +
         std::to_string(p.pads[2]) + std::to_string(p.pads[3]) + (p.bias ? " bias" : "") +
         " x in [" + std::to_string(p.x_lo) + ", " + std::to_string(p.x_hi) + ")";
}

// Whether cpu:int8 runs the case on frugal's own kernel for inputs of few channels
// (few_channel_int8.h) rather than on a oneDNN primitive.
// On an AMX CPU a convolution of kAmxJitMinMacs or more runs on oneDNN's AMX kernel, which
// is faster there (int8_kernels.cpp build_conv).
bool own_few_channels(const ConvCase& p, const std::vector<std::string>& post_ops) {
  const bool sum = std::find(post_ops.begin(), post_ops.end(), "sum") != post_ops.end();
  const int64_t oh = (p.h + p.pads[0] + p.pads[2] - p.dilation * (p.k - 1) - 1) / p.stride + 1;
  const int64_t ow = (p.w + p.pads[1] + p.pads[3] - p.dilation * (p.k - 1) - 1) / p.stride + 1;
  const int64_t macs = p.n * p.m * oh * ow * p.c / p.group * p.k * p.k;
  const bool amx = dnnl::get_effective_cpu_isa() >= dnnl::cpu_isa::avx512_core_amx &&
                   macs >= kernels::cpu::kAmxJitMinMacs;
  return p.c <= 4 && p.k * p.c <= 64 && p.group == 1 && p.dilation == 1 && !sum && !amx &&
         kernels::cpu::FewChannelConvInt8::available();
}

// Checks int8 against ref element by element with the derived bound; returns the largest
// error as a fraction of the bound.
// With a "sum" post-op the sum operand (a graph input of the output's shape) is input 3.
double check_conv(const ConvCase& p, std::vector<std::string> post_ops = {}) {
  const Shape xs{p.n, p.c, p.h, p.w}, ws{p.m, p.c / p.group, p.k, p.k};
  const Tensor x = uniform_tensor(xs, 11 + p.c + p.m, p.x_lo, p.x_hi);
  const Tensor w = random_tensor(ws, 5 + p.k, 0.3f);
  const Tensor b = random_tensor({p.m}, 9, 0.5f);
  std::map<std::string, ir::Attribute> attrs{
      {"group", attr(p.group)},
      {"kernel_shape", attr(std::vector<int64_t>{p.k, p.k})},
      {"strides", attr(std::vector<int64_t>{p.stride, p.stride})},
      {"dilations", attr(std::vector<int64_t>{p.dilation, p.dilation})},
      {"pads", attr(p.pads)}};
  if (!post_ops.empty()) attrs["frugal.post_ops"] = attr(post_ops);
  std::vector<Operand> ops{input("x", x), constant("w", w)};
  const bool sum = std::find(post_ops.begin(), post_ops.end(), "sum") != post_ops.end();
  if (p.bias || sum) ops.push_back(p.bias ? constant("b", b) : omitted());
  if (sum) {
    const int64_t oh = (p.h + p.pads[0] + p.pads[2] - p.dilation * (p.k - 1) - 1) / p.stride + 1;
    const int64_t ow = (p.w + p.pads[1] + p.pads[3] - p.dilation * (p.k - 1) - 1) / p.stride + 1;
    ops.push_back(input("s", random_tensor({p.n, p.m, oh, ow}, 21)));
  }
  const OneNode t = one_node("Conv", ops, attrs);
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran got = run_int8(t, {{"x", range_of(x)}});
  EXPECT_EQ(got.assignments.at(0).backend, "cpu:int8")
      << label(p) << ": "
      << (got.assignments[0].declined.empty() ? "" : got.assignments[0].declined[0]);
  if (got.assignments.at(0).backend != "cpu:int8") return INFINITY;
  const std::string impl = own_few_channels(p, post_ops) ? "own_int8_few_channels:" : "onednn:";
  EXPECT_EQ(got.assignments[0].impl.rfind(impl, 0), 0u)
      << label(p) << ": " << got.assignments[0].impl;

  // sum_window |x| and sum_window |x| |w| per output, by the reference convolution.
  auto ref_conv = [&](const Tensor& xx, const Tensor& ww) {
    return run_on("ref", one_node("Conv", {input("x", xx), constant("w", ww)}, attrs).graph, {xx})
        .outputs[0];
  };
  // post_ops are not part of these sums: drop them for the helper convolutions.
  attrs.erase("frugal.post_ops");
  const Tensor sum_x = ref_conv(abs_of(x), filled(ws, 1.0f));
  const Tensor sum_wx = ref_conv(abs_of(x), abs_of(w));
  const kernels::cpu::ActivationQuant q = kernels::cpu::activation_quant(range_of(x), "x");
  std::vector<double> s_w;
  const std::vector<double> w_terms = weight_terms(w, p.m, q.scale, s_w);

  const Tensor& y = got.outputs[0];
  const Tensor& want = ref.outputs[0];
  EXPECT_EQ(y.shape(), want.shape());
  const int64_t plane = want.numel() / (p.n * p.m);
  double worst = 0;
  int reported = 0;
  for (int64_t i = 0; i < want.numel(); ++i) {
    const size_t c = static_cast<size_t>((i / plane) % p.m);
    const double bias = p.bias ? std::fabs(b.data<float>()[c]) : 0.0;
    const double bound =
        w_terms[c] + s_w[c] / 2 * sum_x.at_double(i) + 1e-5 * (sum_wx.at_double(i) + bias) + 1e-6;
    const double err = std::fabs(y.at_double(i) - want.at_double(i));
    worst = std::max(worst, err / bound);
    if (!(err <= bound) && reported++ < 3)
      ADD_FAILURE() << label(p) << ": element " << i << " int8 " << y.at_double(i) << " ref "
                    << want.at_double(i) << " error " << err << " > bound " << bound;
  }
  return worst;
}

}  // namespace

TEST(Int8Quant, ActivationScaleAndZeroPoint) {
  // [-1, 2]: 3 / 255 per step, zero at 85 steps above the bottom.
  auto q = kernels::cpu::activation_quant({-1.0f, 2.0f}, "v");
  EXPECT_FLOAT_EQ(q.scale, 3.0f / 255.0f);
  EXPECT_EQ(q.zero_point, 85);
  // Non-negative values: zero point 0, the whole grid above zero.
  q = kernels::cpu::activation_quant({0.5f, 5.1f}, "v");
  EXPECT_FLOAT_EQ(q.scale, 5.1f / 255.0f);
  EXPECT_EQ(q.zero_point, 0);
  // Non-positive values: zero at the top.
  q = kernels::cpu::activation_quant({-2.55f, -1.0f}, "v");
  EXPECT_EQ(q.zero_point, 255);
  EXPECT_THROW(kernels::cpu::activation_quant({1.0f, 0.0f}, "v"), UserError);
  EXPECT_THROW(kernels::cpu::activation_quant({0.0f, INFINITY}, "v"), UserError);
}

TEST(Int8Quant, WeightsPerChannelSymmetric) {
  const Tensor w = Tensor::from_vector<float>({2, 3}, {0.5f, -1.27f, 0.004f, 0, 0, 0});
  const auto q = kernels::cpu::quantize_rows(w, 2);
  EXPECT_FLOAT_EQ(q.scales[0], 0.01f);
  EXPECT_FLOAT_EQ(q.scales[1], 1.0f);  // all-zero row
  const int8_t* v = q.values.data<int8_t>();
  EXPECT_EQ(v[0], 50);
  EXPECT_EQ(v[1], -127);
  EXPECT_EQ(v[2], 0);
  EXPECT_EQ(v[3], 0);
}

// The vectorized rounding against std::nearbyint. Row 0 has peak 127/16, so its scale is
// exactly 1/16 and (q +- 0.5) / 16 are exact ties (to even); row 1 is random with a
// negative peak.
TEST(Int8Quant, WeightsRoundAsNearbyint) {
  std::vector<float> v{127.0f / 16};
  for (int q = -126; q <= 126; ++q)
    for (float d : {-0.5f, -0.49f, 0.0f, 0.49f, 0.5f}) v.push_back((q + d) / 16);
  const int64_t row = static_cast<int64_t>(v.size());
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> u(-3.0f, 3.0f);
  v.push_back(-3.0f);
  while (static_cast<int64_t>(v.size()) < 2 * row) v.push_back(u(rng));
  const Tensor w = Tensor::from_vector<float>({2, row}, v);
  const auto q = kernels::cpu::quantize_rows(w, 2);
  EXPECT_EQ(q.scales[0], 1.0f / 16);
  for (int64_t r = 0; r < 2; ++r) {
    float peak = 0.0f;
    for (int64_t i = 0; i < row; ++i) peak = std::max(peak, std::fabs(v[r * row + i]));
    ASSERT_EQ(q.scales[r], peak / 127.0f);
    for (int64_t i = 0; i < row; ++i) {
      const float want = std::clamp(std::nearbyint(v[r * row + i] / q.scales[r]), -127.0f, 127.0f);
      ASSERT_EQ(q.values.data<int8_t>()[r * row + i], static_cast<int8_t>(want))
          << "row " << r << " value " << v[r * row + i];
    }
  }
}

// all_finite, and quantize_finite_rows (which finds them in its per-row peak pass: rows of
// 25 values, the bad one in the first, a middle and the last row).
TEST(Int8Quant, AllFiniteFindsInfinityAndNaNAnywhere) {
  for (float bad : {std::numeric_limits<float>::infinity(), -std::numeric_limits<float>::infinity(),
                    std::numeric_limits<float>::quiet_NaN()})
    for (int64_t at : {0, 17, 60, 99}) {
      std::vector<float> v(100, 1.5f);
      v[static_cast<size_t>(at)] = bad;
      const Tensor t = Tensor::from_vector<float>({100}, v);
      EXPECT_FALSE(kernels::cpu::all_finite(t)) << at;
      EXPECT_FALSE(kernels::cpu::quantize_finite_rows(t, 4).has_value()) << at;
    }
  std::vector<float> ok(100, -std::numeric_limits<float>::max());
  ok[3] = std::numeric_limits<float>::denorm_min();
  const Tensor t = Tensor::from_vector<float>({100}, ok);
  EXPECT_TRUE(kernels::cpu::all_finite(t));
  const auto q = kernels::cpu::quantize_finite_rows(t, 4);
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->values.data<int8_t>()[3], 0);
  EXPECT_EQ(q->values.data<int8_t>()[4], -127);
}

TEST(Int8Conv, MatchesRefWithinQuantizationBound) {
  const std::vector<ConvCase> cases{
      // groups 1, kernels 1/3/5, strides 1/2, padding, batch 1/3, odd channels
      {1, 3, 9, 9, 5, 1, 3, 1, {1, 1, 1, 1}, true, -1.0f, 1.0f},
      {3, 7, 8, 8, 5, 1, 3, 2, {1, 0, 2, 1}, true, 0.0f, 2.0f},
      {1, 16, 7, 7, 32, 1, 1, 1, {0, 0, 0, 0}, false, 0.0f, 1.0f},
      {1, 5, 11, 11, 9, 1, 5, 2, {2, 2, 2, 2}, true, -0.3f, 3.0f},
      {3, 4, 6, 6, 3, 1, 5, 1, {0, 0, 0, 0}, false, -2.0f, -0.5f},
      // depthwise
      {1, 8, 10, 10, 8, 8, 3, 1, {1, 1, 1, 1}, true, 0.0f, 6.0f},
      {3, 5, 9, 9, 5, 5, 3, 2, {1, 1, 0, 0}, true, -1.0f, 1.0f},
      {1, 7, 12, 12, 14, 7, 5, 1, {2, 2, 2, 2}, false, -1.0f, 4.0f},
      // grouped
      {1, 6, 8, 8, 9, 3, 3, 1, {1, 1, 1, 1}, true, -1.0f, 1.0f},
      {3, 8, 7, 7, 4, 2, 1, 2, {0, 0, 0, 0}, true, 0.0f, 1.0f},
      // dilation
      {1, 4, 12, 12, 6, 1, 3, 1, {2, 2, 2, 2}, true, -1.0f, 1.0f, 2},
      // above kAmxJitMinMacs (int8_impl.h): oneDNN's jit AMX kernel where it offers one
      {1, 128, 56, 56, 128, 1, 3, 2, {1, 1, 1, 1}, true, 0.0f, 1.0f},
  };
  for (const auto& c : cases) {
    const double worst = check_conv(c);
    std::cout << "[ observed ] " << label(c) << ": worst error / bound = " << worst << "\n";
  }
}

// frugal's kernel for 1 to 4 input channels over a matrix: channels 1-4, kernels 1-11
// (kernel rows of 1 to 33 bytes; 68, past 64, on oneDNN's primitive), strides 1-4, symmetric and
// uneven padding, widths that leave a partial step of pixels, 5-32 output channels (12 pixels a
// step) and 33-130 (6 pixels x 64 channels, a partial last block), batch 1-2, inputs whose zero
// point is 0, 255 or between, relu, a clip and a leaky relu.
TEST(Int8Conv, FewInputChannelsByFrugalsKernel) {
  if (!kernels::cpu::FewChannelConvInt8::available())
    GTEST_SKIP() << "no AVX-512 VNNI on this CPU: frugal's few-channel int8 kernel not tested";
  struct Case {
    ConvCase conv;
    const char* post_op1;  // "" for none
    const char* post_op2;
  };
  const std::vector<Case> cases{
      {{1, 3, 23, 23, 64, 1, 7, 2, {3, 3, 3, 3}, true, -2.0f, 2.5f}, "relu", ""},
      {{2, 3, 16, 19, 70, 1, 7, 2, {3, 2, 1, 3}, false, -1.0f, 1.0f}, "", ""},
      {{1, 3, 17, 17, 32, 1, 3, 2, {1, 1, 1, 1}, true, 0.0f, 1.0f}, "clip:0:6", ""},
      {{1, 1, 28, 28, 6, 1, 5, 1, {0, 0, 0, 0}, true, 0.0f, 1.0f}, "relu", ""},
      {{2, 1, 13, 11, 130, 1, 3, 1, {1, 1, 1, 1}, true, -1.0f, 1.0f}, "leakyrelu:0.1", ""},
      {{1, 2, 9, 14, 33, 1, 3, 3, {2, 0, 0, 2}, true, -2.0f, -0.5f}, "", ""},
      {{1, 4, 10, 10, 48, 1, 5, 2, {2, 2, 2, 2}, false, -0.3f, 3.0f}, "relu", ""},
      {{1, 4, 8, 13, 64, 1, 1, 1, {0, 0, 0, 0}, true, -1.0f, 1.0f}, "", ""},
      {{2, 2, 12, 12, 5, 1, 4, 2, {1, 2, 1, 2}, true, -1.0f, 4.0f}, "leakyrelu:0.2", "clip:-1:2"},
      {{1, 3, 7, 31, 96, 1, 3, 1, {1, 1, 1, 1}, true, -1.0f, 1.0f}, "relu", "clip:0:1"},
      {{1, 1, 5, 5, 12, 1, 5, 1, {0, 0, 0, 0}, false, -1.0f, 1.0f}, "", ""},
      // AlexNet's stem, 11x11 stride 4: kernel rows of 33 bytes (one 64-byte vector each)
      {{1, 3, 39, 39, 64, 1, 11, 4, {2, 2, 2, 2}, true, -1.0f, 1.0f}, "relu", ""},
      // rows of 68 bytes: oneDNN's primitive
      {{1, 4, 20, 20, 8, 1, 17, 1, {8, 8, 8, 8}, true, -1.0f, 1.0f}, "", ""},
      // ResNet's stem at 160x160 (60 M MACs): oneDNN's AMX kernel on an AMX CPU, else frugal's
      {{1, 3, 160, 160, 64, 1, 7, 2, {3, 3, 3, 3}, true, -2.0f, 2.5f}, "relu", ""},
  };
  for (const Case& c : cases) {
    std::vector<std::string> post_ops;
    for (const char* op : {c.post_op1, c.post_op2})
      if (*op) post_ops.emplace_back(op);
    const double worst = check_conv(c.conv, post_ops);
    std::cout << "[ observed ] " << label(c.conv) << ": worst error / bound = " << worst << "\n";
  }
  // The channels interleaved without AVX-512 VBMI (CPUs that lack it), 2 to 4 channels.
  setenv("FRUGAL_INT8_NO_VBMI", "1", 1);
  for (size_t i : {1, 5, 7}) check_conv(cases[i].conv, {});
  unsetenv("FRUGAL_INT8_NO_VBMI");
}

TEST(Int8Conv, FusedReluAndSumApplyAfterDequantization) {
  // relu after the bias, and a residual sum: int8 - ref stays within the same bound (the
  // sum adds exact float32 values, relu is 1-Lipschitz).
  check_conv({1, 6, 8, 8, 7, 1, 3, 1, {1, 1, 1, 1}, true, -1.0f, 1.0f}, {"relu"});
  check_conv({1, 6, 8, 8, 7, 1, 3, 1, {1, 1, 1, 1}, true, -1.0f, 1.0f}, {"sum", "relu"});
  check_conv({3, 5, 7, 7, 4, 1, 1, 2, {0, 0, 0, 0}, false, 0.0f, 2.0f}, {"sum"});
}

TEST(Int8Conv, DeclinedNodesSayWhy) {
  const Tensor x = uniform_tensor({1, 3, 6, 6}, 1, -1, 1);
  const Tensor w = random_tensor({4, 3, 3, 3}, 2);
  const OneNode conv = one_node("Conv", {input("x", x), constant("w", w)},
                                {{"kernel_shape", attr(std::vector<int64_t>{3, 3})}});
  // No range for the input: falls back to the next backend, which reports the reason.
  Ran r = run_int8(conv, {});
  EXPECT_EQ(r.assignments[0].backend, "ref");
  ASSERT_FALSE(r.assignments[0].declined.empty());
  EXPECT_NE(r.assignments[0].declined[0].find("no calibration range for input 'x'"),
            std::string::npos)
      << r.assignments[0].declined[0];
  // Weights fed at run time are not quantized.
  const OneNode dyn = one_node("Conv", {input("x", x), input("w", w)},
                               {{"kernel_shape", attr(std::vector<int64_t>{3, 3})}});
  r = run_int8(dyn, {{"x", {-1, 1}}});
  EXPECT_NE(r.assignments[0].declined.at(0).find("weights are not constant"), std::string::npos)
      << r.assignments[0].declined[0];
  // Weights with a NaN (in the last output channel) are not quantized.
  Tensor bad = w.clone();
  bad.data<float>()[bad.numel() - 1] = std::numeric_limits<float>::quiet_NaN();
  const OneNode nan = one_node("Conv", {input("x", x), constant("w", bad)},
                               {{"kernel_shape", attr(std::vector<int64_t>{3, 3})}});
  r = run_int8(nan, {{"x", {-1, 1}}});
  EXPECT_EQ(r.assignments[0].backend, "ref");
  EXPECT_NE(r.assignments[0].declined.at(0).find("weights hold a non-finite value"),
            std::string::npos)
      << r.assignments[0].declined[0];
  // Other operators are left to float32.
  const OneNode relu = one_node("Relu", {input("x", x)});
  r = run_int8(relu, {{"x", {-1, 1}}});
  EXPECT_EQ(r.assignments[0].backend, "ref");
  EXPECT_NE(r.assignments[0].declined.at(0).find("not quantized: runs in fp32 on the next backend"),
            std::string::npos)
      << r.assignments[0].declined[0];
}

namespace {

struct GemmCase {
  int64_t m, k, n;
  bool trans_b;
  float alpha, beta;
  Shape c_shape;  // empty: no C
};

void check_gemm(const GemmCase& p) {
  const std::string what = "gemm m" + std::to_string(p.m) + " k" + std::to_string(p.k) + " n" +
                           std::to_string(p.n) + (p.trans_b ? " transB" : "") + " alpha " +
                           std::to_string(p.alpha) + " beta " + std::to_string(p.beta) + " C " +
                           shape_str(p.c_shape);
  const Tensor a = uniform_tensor({p.m, p.k}, 3, -0.5f, 2.0f);
  const Tensor bmat = random_tensor(p.trans_b ? Shape{p.n, p.k} : Shape{p.k, p.n}, 4, 0.2f);
  std::vector<Operand> ops{input("a", a), constant("b", bmat)};
  if (!p.c_shape.empty()) ops.push_back(constant("c", random_tensor(p.c_shape, 6)));
  const OneNode t = one_node(
      "Gemm", ops,
      {{"transB", attr(int64_t{p.trans_b})}, {"alpha", attr(p.alpha)}, {"beta", attr(p.beta)}});
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran got = run_int8(t, {{"a", range_of(a)}});
  ASSERT_EQ(got.assignments.at(0).backend, "cpu:int8")
      << what << ": "
      << (got.assignments[0].declined.empty() ? "" : got.assignments[0].declined[0]);
  // Weights per output column n: rows of B^T.
  Tensor rows(DType::kF32, {p.n, p.k});
  for (int64_t i = 0; i < p.k; ++i)
    for (int64_t j = 0; j < p.n; ++j)
      rows.data<float>()[j * p.k + i] =
          p.trans_b ? bmat.data<float>()[j * p.k + i] : bmat.data<float>()[i * p.n + j];
  const auto q = kernels::cpu::activation_quant(range_of(a), "a");
  std::vector<double> s_w;
  const std::vector<double> w_terms = weight_terms(rows, p.n, q.scale, s_w);
  for (int64_t i = 0; i < p.m; ++i) {
    double sum_a = 0;
    for (int64_t kk = 0; kk < p.k; ++kk) sum_a += std::fabs(a.data<float>()[i * p.k + kk]);
    for (int64_t j = 0; j < p.n; ++j) {
      const size_t c = static_cast<size_t>(j);
      const double want = ref.outputs[0].at_double(i * p.n + j);
      const double bound = std::fabs(p.alpha) * (w_terms[c] + s_w[c] / 2 * sum_a) +
                           1e-5 * (std::fabs(p.alpha) * sum_a * 127 * s_w[c] + std::fabs(want)) +
                           1e-6;
      const double err = std::fabs(got.outputs[0].at_double(i * p.n + j) - want);
      ASSERT_LE(err, bound) << what << ": element " << i << "," << j;
    }
  }
}

}  // namespace

TEST(Int8Gemm, MatchesRefWithinQuantizationBound) {
  check_gemm({1, 64, 10, true, 1.0f, 1.0f, {10}});
  check_gemm({3, 33, 7, false, 1.0f, 1.0f, {1, 7}});
  check_gemm({4, 20, 5, true, 0.5f, 2.0f, {4, 5}});
  check_gemm({2, 17, 9, false, -1.5f, 0.0f, {2, 1}});
  check_gemm({5, 40, 3, false, 1.0f, 1.0f, {}});
  check_gemm({3, 12, 6, true, 1.0f, 0.5f, {3, 1}});
}

TEST(Int8MatMul, BatchedInputAgainstConstantWeights) {
  const Tensor a = uniform_tensor({2, 3, 24}, 8, 0.0f, 1.0f);
  const Tensor w = random_tensor({24, 6}, 9, 0.3f);
  const OneNode t = one_node("MatMul", {input("a", a), constant("w", w)});
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran got = run_int8(t, {{"a", range_of(a)}});
  ASSERT_EQ(got.assignments.at(0).backend, "cpu:int8") << got.assignments[0].declined.at(0);
  // The bound of the file's top with A's leading dimensions folded into rows:
  // s_x / 2 * sum|w^| + s_w / 2 * sum|a| per element, plus float32 slack.
  const auto q = kernels::cpu::activation_quant(range_of(a), "a");
  Tensor rows(DType::kF32, {6, 24});
  for (int64_t i = 0; i < 24; ++i)
    for (int64_t j = 0; j < 6; ++j) rows.data<float>()[j * 24 + i] = w.data<float>()[i * 6 + j];
  std::vector<double> s_w;
  const std::vector<double> w_terms = weight_terms(rows, 6, q.scale, s_w);
  for (int64_t r = 0; r < 6; ++r) {
    double sum_a = 0;
    for (int64_t kk = 0; kk < 24; ++kk) sum_a += std::fabs(a.data<float>()[r * 24 + kk]);
    for (int64_t j = 0; j < 6; ++j) {
      const double bound = w_terms[size_t(j)] + s_w[size_t(j)] / 2 * sum_a + 1e-4;
      EXPECT_LE(
          std::fabs(got.outputs[0].at_double(r * 6 + j) - ref.outputs[0].at_double(r * 6 + j)),
          bound);
    }
  }
}

namespace {

// A transformer's MatMul: activation [..., K] of rank 3 or 4 against constant weights
// [K, N] (the rows form: leading dimensions folded into M), with the "frugal.post_ops"
// chain and a sum operand that is the full output (a residual) or one row broadcast over
// it (a bias [N] or [1, 1, N], constant or fed at run time).
struct RowsCase {
  Shape a;
  int64_t n;
  std::vector<std::string> post_ops;
  Shape sum_shape;  // empty: no sum operand
  bool sum_constant = false;
};

std::string label(const RowsCase& p) {
  std::string s = "a " + shape_str(p.a) + " n" + std::to_string(p.n) + " post_ops";
  for (const auto& o : p.post_ops) s += " " + o;
  if (!p.sum_shape.empty())
    s += " sum " + shape_str(p.sum_shape) + (p.sum_constant ? " constant" : " input");
  return s;
}

OneNode rows_node(const RowsCase& p, Tensor& a) {
  const int64_t k = p.a.back();
  a = uniform_tensor(p.a, 31 + k, -1.0f, 2.0f);
  std::vector<Operand> ops{input("a", a), constant("w", random_tensor({k, p.n}, 32 + p.n, 0.3f))};
  if (!p.sum_shape.empty()) {
    const Tensor s = random_tensor(p.sum_shape, 33, 2.0f);
    ops.push_back(p.sum_constant ? constant("s", s) : input("s", s));
  }
  std::map<std::string, ir::Attribute> attrs;
  if (!p.post_ops.empty()) attrs["frugal.post_ops"] = attr(p.post_ops);
  return one_node("MatMul", ops, attrs);
}

// int8 against ref per element within the Gemm bound (rows of A against columns of W; the
// sum operand adds exact float32 values, relu is 1-Lipschitz, GELU's slope stays below
// 1.13, which scales the bound).
void check_matmul_rows(const RowsCase& p) {
  Tensor a;
  const OneNode t = rows_node(p, a);
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran got = run_int8(t, {{"a", range_of(a)}});
  ASSERT_EQ(got.assignments.at(0).backend, "cpu:int8")
      << label(p) << ": "
      << (got.assignments[0].declined.empty() ? "" : got.assignments[0].declined[0]);
  const int64_t k = p.a.back(), m = a.numel() / k;
  const Tensor& w = t.graph.initializers.at("w");
  Tensor rows(DType::kF32, {p.n, k});
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < p.n; ++j) rows.data<float>()[j * k + i] = w.data<float>()[i * p.n + j];
  const auto q = kernels::cpu::activation_quant(range_of(a), "a");
  std::vector<double> s_w;
  const std::vector<double> w_terms = weight_terms(rows, p.n, q.scale, s_w);
  const bool gelu = std::find(p.post_ops.begin(), p.post_ops.end(), "gelu") != p.post_ops.end();
  ASSERT_EQ(got.outputs[0].shape(), ref.outputs[0].shape()) << label(p);
  for (int64_t r = 0; r < m; ++r) {
    double sum_a = 0;
    for (int64_t kk = 0; kk < k; ++kk) sum_a += std::fabs(a.data<float>()[r * k + kk]);
    for (int64_t j = 0; j < p.n; ++j) {
      const size_t c = static_cast<size_t>(j);
      const double want = ref.outputs[0].at_double(r * p.n + j);
      const double bound = (gelu ? 1.13 : 1.0) * (w_terms[c] + s_w[c] / 2 * sum_a) +
                           1e-5 * (sum_a * 127 * s_w[c] + std::fabs(want) + 8) + 1e-6;
      const double err = std::fabs(got.outputs[0].at_double(r * p.n + j) - want);
      ASSERT_LE(err, bound) << label(p) << ": row " << r << " column " << j;
    }
  }
}

}  // namespace

TEST(Int8MatMul, RowsWithBroadcastAndFullSumOperands) {
  const std::vector<std::string> sum{"sum"};
  for (const Shape& a : {Shape{2, 5, 24}, Shape{2, 3, 4, 20}}) {
    Shape full = a;
    full.back() = 16;
    Shape ones(a.size(), 1);
    ones.back() = 16;
    check_matmul_rows({a, 16, {}, {}});
    check_matmul_rows({a, 16, {"relu"}, {}});
    for (bool constant : {true, false}) {
      check_matmul_rows({a, 16, sum, {16}, constant});                 // bias [N]
      check_matmul_rows({a, 16, sum, ones, constant});                 // bias [1, 1, N]
      check_matmul_rows({a, 16, {"sum", "relu"}, {16}, constant});     // bias, then relu
      check_matmul_rows({a, 16, {"relu", "sum"}, {16}, constant});     // not a bias: added last
      check_matmul_rows({a, 16, {"sum", "gelu"}, {1, 16}, constant});  // BERT's FFN
      check_matmul_rows({a, 16, sum, full, constant});                 // a residual
      check_matmul_rows({a, 16, {"sum", "relu"}, full, constant});
    }
  }
  check_matmul_rows({{1, 7, 33}, 5, sum, {5}, true});      // odd sizes, batch 1
  check_matmul_rows({{1, 7, 33}, 5, sum, {7, 5}, false});  // full, rank below the output's
}

TEST(Int8MatMul, OtherSumBroadcastsDeclineWithTheShape) {
  // [B, 1, N] broadcasts over the sequence but not over all the rows: left to float32.
  Tensor a;
  const OneNode t = rows_node({{2, 5, 24}, 16, {"sum"}, {2, 1, 16}}, a);
  const Ran got = run_int8(t, {{"a", range_of(a)}});
  EXPECT_EQ(got.assignments.at(0).backend, "ref");
  ASSERT_FALSE(got.assignments[0].declined.empty());
  EXPECT_NE(got.assignments[0].declined[0].find("sum operand 2x1x16 must have the output's shape"),
            std::string::npos)
      << got.assignments[0].declined[0];
}
