// QDQ import (passes/qdq_fold.h): graphs in ONNX's QDQ form, as quantizers export them
// (int8 weights with per-channel DequantizeLinear on axis 0, float bias, activations
// through QuantizeLinear -> DequantizeLinear, u8 asymmetric or s8 symmetric), run on
// cpu:int8 with the file's scales and zero points (no calibration ranges given), against
// the same graph on ref, where the pairs run as fake quantization in float32.
//
// Both compute on the same grids: cpu:int8 takes the activation grid from the pair and the
// weight grid from the folded weights (each channel's largest |q| is 127 here, so max|w| /
// 127 is the file's scale). The results then differ by float32 rounding, plus where a
// value lies on a rounding tie between two steps: one step s_mid of the middle activation,
// through the second conv's infinity norm L2 (as in int8_regions_test.cpp).
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <iostream>

#include "frugal/ops/dequantize.h"
#include "frugal/passes/passes.h"
#include "frugal/passes/qdq_fold.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

struct QdqGraph {
  ir::Graph g;
  double l2 = 0;  // max_c sum |w2^_c|
};

void add_node(ir::Graph& g, const std::string& op, std::vector<std::string> ins,
              const std::string& out, std::map<std::string, ir::Attribute> attrs = {}) {
  ir::Node n;
  n.name = out + "_node";
  n.op_type = op;
  n.inputs = std::move(ins);
  n.outputs = {out};
  n.attrs = std::move(attrs);
  g.nodes.push_back(std::move(n));
}

// int8 weights [m, c, k, k] with per-channel scales, every channel reaching |q| = 127;
// returns the DequantizeLinear output name and the channels' sum |w^|, max.
std::string weights(ir::Graph& g, const std::string& name, int64_t m, int64_t c, int64_t k,
                    uint64_t seed, double* inf_norm) {
  const Tensor w = random_tensor({m, c, k, k}, seed, 0.3f);
  Tensor q(DType::kI8, w.shape()), s(DType::kF32, {m}), z(DType::kI8, {m});
  const int64_t per = c * k * k;
  *inf_norm = 0;
  for (int64_t o = 0; o < m; ++o) {
    float peak = 0;
    for (int64_t i = 0; i < per; ++i)
      peak = std::max(peak, std::fabs(w.data<float>()[o * per + i]));
    const float scale = peak / 127;
    s.data<float>()[o] = scale;
    z.data<int8_t>()[o] = 0;
    double sum = 0;
    for (int64_t i = 0; i < per; ++i) {
      const float v = std::nearbyint(w.data<float>()[o * per + i] / scale);
      q.data<int8_t>()[o * per + i] = static_cast<int8_t>(v);
      sum += std::fabs(v) * scale;
    }
    *inf_norm = std::max(*inf_norm, sum);
  }
  g.initializers[name + "_q"] = q;
  g.initializers[name + "_s"] = s;
  g.initializers[name + "_z"] = z;
  add_node(g, "DequantizeLinear", {name + "_q", name + "_s", name + "_z"}, name,
           {{"axis", attr(int64_t{0})}});
  return name;
}

// A QuantizeLinear -> DequantizeLinear pair on `x` (u8 with zero point `z`, or s8 with 0).
std::string qdq(ir::Graph& g, const std::string& x, const std::string& name, float scale, int z,
                bool s8, float dq_scale = 0) {
  Tensor s(DType::kF32, {}), s2(DType::kF32, {});
  s.data<float>()[0] = scale;
  s2.data<float>()[0] = dq_scale > 0 ? dq_scale : scale;
  Tensor zp(s8 ? DType::kI8 : DType::kU8, {});
  if (s8)
    zp.data<int8_t>()[0] = static_cast<int8_t>(z);
  else
    zp.data<uint8_t>()[0] = static_cast<uint8_t>(z);
  g.initializers[name + "_s"] = s;
  g.initializers[name + "_s2"] = s2;
  g.initializers[name + "_z"] = zp;
  add_node(g, "QuantizeLinear", {x, name + "_s", name + "_z"}, name + "_q");
  add_node(g, "DequantizeLinear", {name + "_q", name + "_s2", name + "_z"}, name);
  return name;
}

// x -> QDQ -> Conv(relu) -> QDQ -> Conv -> y.
QdqGraph build(bool s8, float mid_dq_scale = 0) {
  QdqGraph r;
  ir::Graph& g = r.g;
  g.opsets[""] = 13;
  g.inputs.push_back(
      ir::ValueInfo{"x", DType::kF32, std::vector<ir::Dim>{{2, ""}, {8, ""}, {6, ""}, {6, ""}}});
  double l1 = 0;
  const std::string xq = qdq(g, "x", "xq", 4.0f / 127, s8 ? 0 : 128, s8);
  const std::string w1 = weights(g, "w1", 16, 8, 3, 5, &l1);
  g.initializers["b1"] = random_tensor({16}, 6, 0.1f);
  add_node(g, "Conv", {xq, w1, "b1"}, "c1", {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
  add_node(g, "Relu", {"c1"}, "r1");
  const std::string mid = qdq(g, "r1", "mq", 0.05f, 0, s8, mid_dq_scale);
  const std::string w2 = weights(g, "w2", 8, 16, 3, 7, &r.l2);
  g.initializers["b2"] = random_tensor({8}, 8, 0.1f);
  add_node(g, "Conv", {mid, w2, "b2"}, "y", {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}});
  g.outputs.push_back(ir::ValueInfo{"y", DType::kUndefined, std::nullopt});
  g.validate_and_sort();
  return r;
}

}  // namespace

TEST(QdqImport, RunsOnInt8WithTheFilesScales) {
  for (bool s8 : {false, true}) {
    const QdqGraph q = build(s8);
    const Tensor x = random_tensor({2, 8, 6, 6}, 9);
    runtime::SessionOptions ref;
    ref.backends = {"ref"};
    const Tensor want = runtime::Session(q.g, ref).run({x})[0];
    runtime::SessionOptions int8;
    int8.backends = {"cpu:int8", "cpu", "ref"};
    runtime::Session s(q.g, int8);
    EXPECT_EQ(s.qdq_pairs_folded(), 2u);
    EXPECT_TRUE(s.qdq_notes().empty());
    for (const auto& a : s.assignments()) {
      EXPECT_NE(a.op_type, "QuantizeLinear");
      EXPECT_NE(a.op_type, "DequantizeLinear");
      if (a.op_type == "Conv") {
        EXPECT_EQ(a.backend, "cpu:int8") << a.node_name;
      }
    }
    // The middle value (the relu fused into the first conv, which writes r1) passes as u8.
    EXPECT_EQ(s.quantized_values().count("r1"), 1u);
    const Tensor got = s.run({x})[0];
    double diff = 0, peak = 0;
    for (int64_t i = 0; i < got.numel(); ++i) {
      diff = std::max(diff, std::fabs(got.at_double(i) - want.at_double(i)));
      peak = std::max(peak, std::fabs(want.at_double(i)));
    }
    std::cout << "[ observed ] " << (s8 ? "s8" : "u8") << ": max|int8 - ref| = " << diff
              << " (bound " << 0.05 * q.l2 + 1e-5 * peak << ", max|ref| " << peak << ")\n";
    EXPECT_LE(diff, 0.05 * q.l2 + 1e-5 * peak) << (s8 ? "s8" : "u8");
    EXPECT_GT(peak, 0.1);
  }
}

TEST(QdqImport, PairsItCannotTakeAreNamed) {
  const QdqGraph q = build(false, /*mid_dq_scale=*/0.07f);  // Q and DQ disagree
  const passes::QdqFolded f = passes::fold_qdq(q.g);
  EXPECT_EQ(f.pairs_folded, 1u);
  ASSERT_EQ(f.notes.size(), 1u);
  EXPECT_NE(f.notes[0].find("mq_q_node -> mq_node"), std::string::npos) << f.notes[0];
  EXPECT_NE(f.notes[0].find("different scales"), std::string::npos) << f.notes[0];
  // It still runs (that pair as fake quantization), and the input model is unchanged.
  const size_t nodes = q.g.nodes.size();
  runtime::SessionOptions int8;
  int8.backends = {"cpu:int8", "cpu", "ref"};
  runtime::Session s(q.g, int8);
  EXPECT_EQ(q.g.nodes.size(), nodes);
  EXPECT_EQ(s.qdq_notes().size(), 1u);
  const Tensor x = random_tensor({2, 8, 6, 6}, 9);
  EXPECT_EQ(s.run({x})[0].numel(), 2 * 8 * 6 * 6);
}

// The weights' DequantizeLinear nodes fold in the import, which leaves each Conv its 8-bit
// source; cpu:int8 quantizes from it what it quantized from the float32 weights before:
// the same outputs, bit for bit, as the graph whose weights were folded to float32 first.
TEST(QdqImport, WeightsFromTheFileGiveTheSameResultAsFromFloat32) {
  for (bool s8 : {false, true}) {
    const QdqGraph q = build(s8);
    const passes::QdqFolded f = passes::fold_qdq(q.g);
    EXPECT_EQ(f.weights_dequantized, 2u);
    for (const auto& n : f.graph.nodes)
      if (n.op_type == "Conv") {
        EXPECT_TRUE(ops::weight_source(n, f.graph.initializers.at(n.inputs[1])).has_value())
            << n.name;
      }
    passes::PassReport report;
    const ir::Graph floats = passes::fold_constants(q.g, ops::InferOptions{}, report);
    EXPECT_EQ(floats.initializers.count("w1"), 1u);
    runtime::SessionOptions int8;
    int8.backends = {"cpu:int8", "cpu", "ref"};
    const Tensor x = random_tensor({2, 8, 6, 6}, 9);
    const Tensor from_file = runtime::Session(q.g, int8).run({x})[0];
    const Tensor from_float = runtime::Session(floats, int8).run({x})[0];
    ASSERT_EQ(from_file.nbytes(), from_float.nbytes());
    EXPECT_EQ(std::memcmp(from_file.raw(), from_float.raw(), from_file.nbytes()), 0)
        << (s8 ? "s8" : "u8");
  }
}
