// Pooling against hand-computed windows and a naive per-window formula over strides,
// pads, dilations, ceil_mode, auto_pad and count_include_pad.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Attribute ints(std::vector<int64_t> v) {
  return ir::Attribute{std::move(v)};
}
ir::Attribute int1(int64_t v) {
  return ir::Attribute{v};
}

ir::Node pool_node(const char* op, std::vector<int64_t> kernel, bool indices = false) {
  ir::Node n{.name = "pool2", .op_type = op, .inputs = {"x"}, .outputs = {"y"}};
  if (indices) n.outputs.push_back("i");
  n.attrs["kernel_shape"] = ints(std::move(kernel));
  return n;
}

Tensor iota(Shape shape) {
  Tensor t(DType::kF32, std::move(shape));
  for (int64_t i = 0; i < t.numel(); ++i) t.data<float>()[i] = float(i + 1);
  return t;
}

void expect_values(const Tensor& t, const Shape& shape, const std::vector<float>& want) {
  ASSERT_EQ(t.shape(), shape);
  for (size_t i = 0; i < want.size(); ++i) EXPECT_FLOAT_EQ(t.data<float>()[i], want[i]) << i;
}

struct Options {
  std::vector<int64_t> kernel, strides, dilations, pads;
  bool ceil_mode = false, include_pad = false;
};

// Per-window oracle over 2-D planes: output size from the definition, ceil mode dropping
// windows that start in the end padding.
void check_2d(const char* op, const Shape& xs, const Options& o, uint32_t seed) {
  std::mt19937 gen(seed);
  std::uniform_real_distribution<float> dist(-5.f, 5.f);
  Tensor X(DType::kF32, xs);
  for (auto& e : X.span<float>()) e = dist(gen);
  const bool is_max = std::string(op) == "MaxPool";
  ir::Node n = pool_node(op, o.kernel, is_max);
  if (!o.strides.empty()) n.attrs["strides"] = ints(o.strides);
  if (!o.dilations.empty()) n.attrs["dilations"] = ints(o.dilations);
  if (!o.pads.empty()) n.attrs["pads"] = ints(o.pads);
  if (o.ceil_mode) n.attrs["ceil_mode"] = int1(1);
  if (o.include_pad) n.attrs["count_include_pad"] = int1(1);
  auto out = ops::evaluate(n, 12, {X});
  int64_t osz[2], pb[2], pe[2], s[2], dl[2];
  for (int d = 0; d < 2; ++d) {
    s[d] = o.strides.empty() ? 1 : o.strides[d];
    dl[d] = o.dilations.empty() ? 1 : o.dilations[d];
    pb[d] = o.pads.empty() ? 0 : o.pads[d];
    pe[d] = o.pads.empty() ? 0 : o.pads[d + 2];
    const int64_t span = xs[d + 2] + pb[d] + pe[d] - (dl[d] * (o.kernel[d] - 1) + 1);
    osz[d] = (o.ceil_mode ? (span + s[d] - 1) / s[d] : span / s[d]) + 1;
    if (o.ceil_mode && (osz[d] - 1) * s[d] >= xs[d + 2] + pb[d]) --osz[d];
  }
  const Tensor& Y = out[0];
  ASSERT_EQ(Y.shape(), (Shape{xs[0], xs[1], osz[0], osz[1]}));
  const int64_t H = xs[2], W = xs[3];
  for (int64_t c = 0; c < xs[0] * xs[1]; ++c)
    for (int64_t oh = 0; oh < osz[0]; ++oh)
      for (int64_t ow = 0; ow < osz[1]; ++ow) {
        double sum = 0, best = -std::numeric_limits<double>::infinity();
        int64_t count = 0, padded_count = 0, best_at = -1;
        for (int64_t kh = 0; kh < o.kernel[0]; ++kh)
          for (int64_t kw = 0; kw < o.kernel[1]; ++kw) {
            const int64_t h = oh * s[0] - pb[0] + kh * dl[0];
            const int64_t w = ow * s[1] - pb[1] + kw * dl[1];
            if (h >= -pb[0] && h < H + pe[0] && w >= -pb[1] && w < W + pe[1]) ++padded_count;
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const double v = X.data<float>()[(c * H + h) * W + w];
            sum += v;
            ++count;
            if (v > best) {
              best = v;
              best_at = (c * H + h) * W + w;
            }
          }
        const int64_t at = (c * osz[0] + oh) * osz[1] + ow;
        if (is_max) {
          ASSERT_FLOAT_EQ(Y.data<float>()[at], float(best));
          ASSERT_EQ(out[1].data<int64_t>()[at], best_at);
        } else {
          const double want = sum / double(o.include_pad ? padded_count : count);
          ASSERT_NEAR(Y.data<float>()[at], want, 1e-5);
        }
      }
}

}  // namespace

TEST(MaxPool, HandComputedWithIndices) {
  // 4x4 ramp 1..16, 2x2 windows, stride 2.
  ir::Node n = pool_node("MaxPool", {2, 2}, true);
  n.attrs["strides"] = ints({2, 2});
  auto out = ops::evaluate(n, 12, {iota({1, 1, 4, 4})});
  expect_values(out[0], {1, 1, 2, 2}, {6, 8, 14, 16});
  ASSERT_EQ(out[1].dtype(), DType::kI64);
  std::vector<int64_t> want = {5, 7, 13, 15};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[1].data<int64_t>()[i], want[i]);
  // Column-major indices: element (h, w) of a 4x4 plane is h + 4 * w.
  n.attrs["storage_order"] = int1(1);
  out = ops::evaluate(n, 12, {iota({1, 1, 4, 4})});
  want = {1 + 4 * 1, 1 + 4 * 3, 3 + 4 * 1, 3 + 4 * 3};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(out[1].data<int64_t>()[i], want[i]);
  // The second plane's indices count from the start of the whole tensor.
  n.attrs.erase("storage_order");
  out = ops::evaluate(n, 12, {iota({1, 2, 4, 4})});
  EXPECT_EQ(out[1].data<int64_t>()[4], 16 + 5);
}

TEST(MaxPool, CeilModeAndSameUpper) {
  ir::Node n = pool_node("MaxPool", {3, 3});
  n.attrs["strides"] = ints({2, 2});
  n.attrs["ceil_mode"] = int1(1);
  expect_values(ops::evaluate(n, 12, {iota({1, 1, 4, 4})})[0], {1, 1, 2, 2}, {11, 12, 15, 16});
  ir::Node s = pool_node("MaxPool", {2, 2});
  s.attrs["auto_pad"] = ir::Attribute{std::string("SAME_UPPER")};
  // 3x3 ramp: windows extend past the end.
  expect_values(ops::evaluate(s, 12, {iota({1, 1, 3, 3})})[0], {1, 1, 3, 3},
                {5, 6, 6, 8, 9, 9, 8, 9, 9});
  s.attrs["auto_pad"] = ir::Attribute{std::string("SAME_LOWER")};
  expect_values(ops::evaluate(s, 12, {iota({1, 1, 3, 3})})[0], {1, 1, 3, 3},
                {1, 2, 3, 4, 5, 6, 7, 8, 9});
}

TEST(MaxPool, MatchesNaiveFormula) {
  uint32_t seed = 1;
  for (int64_t k : {1, 2, 3})
    for (int64_t s : {1, 2})
      for (int64_t dil : {1, 2})
        for (bool ceil : {false, true}) {
          Options o{.kernel = {k, k + 1},
                    .strides = {s, s},
                    .dilations = {dil, dil},
                    .pads = {k / 2, 0, 0, k / 2},
                    .ceil_mode = ceil};
          check_2d("MaxPool", {2, 3, 9, 8}, o, seed++);
        }
}

TEST(MaxPool, Uint8And1DAnd3D) {
  Tensor x = Tensor::from_vector<uint8_t>({1, 1, 5}, {3, 200, 7, 7, 1});
  ir::Node n = pool_node("MaxPool", {2});
  Tensor y = ops::evaluate(n, 12, {x})[0];
  ASSERT_EQ(y.dtype(), DType::kU8);
  std::vector<uint8_t> want = {200, 200, 7, 7};
  for (int i = 0; i < 4; ++i) EXPECT_EQ(y.data<uint8_t>()[i], want[i]);
  ir::Node n3 = pool_node("MaxPool", {2, 2, 2});
  expect_values(ops::evaluate(n3, 12, {iota({1, 1, 2, 2, 3})})[0], {1, 1, 1, 1, 2}, {11, 12});
}

TEST(AveragePool, HandComputedPadsAndCountIncludePad) {
  // 3x3 ramp 1..9, 3x3 window, pads 1: corner window holds 1 2 4 5.
  ir::Node n = pool_node("AveragePool", {3, 3});
  n.attrs["pads"] = ints({1, 1, 1, 1});
  Tensor y = ops::evaluate(n, 11, {iota({1, 1, 3, 3})})[0];
  EXPECT_FLOAT_EQ(y.data<float>()[0], 3.0f);  // 12 / 4
  EXPECT_FLOAT_EQ(y.data<float>()[4], 5.0f);  // 45 / 9
  n.attrs["count_include_pad"] = int1(1);
  y = ops::evaluate(n, 11, {iota({1, 1, 3, 3})})[0];
  EXPECT_FLOAT_EQ(y.data<float>()[0], 12.0f / 9);
  EXPECT_FLOAT_EQ(y.data<float>()[1], 21.0f / 9);
}

TEST(AveragePool, CeilModeCountsOnlyTheInput) {
  // 4x4, 3x3 window, stride 2, ceil: the last window holds rows/cols 2..3 only.
  ir::Node n = pool_node("AveragePool", {3, 3});
  n.attrs["strides"] = ints({2, 2});
  n.attrs["ceil_mode"] = int1(1);
  expect_values(ops::evaluate(n, 11, {iota({1, 1, 4, 4})})[0], {1, 1, 2, 2}, {6, 7.5f, 12, 13.5f});
}

TEST(AveragePool, MatchesNaiveFormula) {
  uint32_t seed = 50;
  for (int64_t k : {1, 2, 3})
    for (int64_t s : {1, 2, 3})
      for (bool ceil : {false, true})
        for (bool include : {false, true}) {
          Options o{.kernel = {k, 3},
                    .strides = {s, s},
                    .pads = {k / 2, 1, (k - 1) / 2, 0},
                    .ceil_mode = ceil,
                    .include_pad = include};
          check_2d("AveragePool", {3, 2, 8, 7}, o, seed++);
        }
}

TEST(GlobalPool, AverageAndMax) {
  Tensor x = iota({2, 2, 2, 3});
  Tensor avg = ops::evaluate(
      ir::Node{.name = "gap", .op_type = "GlobalAveragePool", .inputs = {"x"}, .outputs = {"y"}},
      11, {x})[0];
  expect_values(avg, {2, 2, 1, 1}, {3.5f, 9.5f, 15.5f, 21.5f});
  Tensor mx = ops::evaluate(
      ir::Node{.name = "gmp", .op_type = "GlobalMaxPool", .inputs = {"x"}, .outputs = {"y"}}, 11,
      {x})[0];
  expect_values(mx, {2, 2, 1, 1}, {6, 12, 18, 24});
}

TEST(Pool, BadInputsNameTheNode) {
  auto expect_error = [](ir::Node n, Tensor x, const std::string& fragment) {
    try {
      ops::evaluate(n, 12, {x});
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const UserError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("pool2"), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  expect_error(pool_node("MaxPool", {5, 5}), iota({1, 1, 3, 3}), "larger");
  expect_error(pool_node("MaxPool", {2}), iota({4, 4}), "rank");
  expect_error(pool_node("AveragePool", {2}), iota({1, 1, 4, 4}), "kernel");
  ir::Node no_kernel{.name = "pool2", .op_type = "MaxPool", .inputs = {"x"}, .outputs = {"y"}};
  expect_error(no_kernel, iota({1, 1, 4, 4}), "kernel_shape");
  ir::Node bad_ceil = pool_node("MaxPool", {2, 2});
  bad_ceil.attrs["ceil_mode"] = int1(2);
  expect_error(bad_ceil, iota({1, 1, 4, 4}), "ceil_mode");
  EXPECT_THROW(
      ops::evaluate(pool_node("AveragePool", {2, 2}), 12, {Tensor(DType::kI32, {1, 1, 2, 2})}),
      UnsupportedError);
}

TEST(Pool, Cost) {
  const ops::OpDef* def = ops::find_op("", "MaxPool");
  ir::Node n = pool_node("MaxPool", {3, 3});
  ops::Work w = def->cost(ops::CostContext{n, {{1, 64, 112, 112}}, {{1, 64, 56, 56}}});
  EXPECT_EQ(w.macs, 0);
  EXPECT_EQ(w.flops, int64_t{64} * 56 * 56 * 9);
}
