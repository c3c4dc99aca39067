// The emu backend: with every format binary32 it must agree with the ref backend (within
// 1e-5 of max |ref|: the summation order differs) over a matrix of Conv geometries, Gemm and
// MatMul; narrow formats against hand-computed results; ops it does not emulate run on
// rounded inputs and say so; --format strings parse or fail with the grammar.
#include <gtest/gtest.h>

#include <cmath>

#include "frugal/kernels/emu/emu_config.h"
#include "frugal/kernels/emu/output_error.h"
#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;
using frugal::kernels::emu::parse_emu_config;

namespace {

Ran run_emu(const OneNode& t, const std::string& format) {
  runtime::SessionOptions opt;
  opt.backends = {"emu"};
  opt.backend_config.format = format;
  runtime::Session s(t.graph, opt);
  Ran r;
  r.outputs = s.run(t.feeds);
  r.assignments = s.assignments();
  return r;
}

constexpr const char* kFp32 = "w=fp32,a=fp32,acc=fp32";

void expect_fp32_matches_ref(const OneNode& t, const std::string& label) {
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran emu = run_emu(t, kFp32);
  ASSERT_EQ(emu.assignments.at(0).backend, "emu") << label;
  EXPECT_EQ(emu.assignments.at(0).impl.rfind("emu: w=fp32", 0), 0u)
      << label << ": " << emu.assignments.at(0).impl;
  EXPECT_LE(relative_error(emu.outputs[0], ref.outputs[0]), 1e-5) << label;
}

}  // namespace

// Groups (1, depthwise, depthwise x2, grouped), kernels 1/3/5, strides 1/2, dilations 1/2,
// pads none/symmetric/asymmetric/SAME_UPPER, batch 1/2, bias on/off.
TEST(EmuBackend, ConvMatrixFp32EqualsRef) {
  struct Channels {
    int64_t c, m, group;
  };
  const Channels channel_cases[] = {{3, 5, 1}, {4, 4, 4}, {3, 6, 3}, {6, 4, 2}};
  int index = 0;
  for (const auto& ch : channel_cases)
    for (int64_t k : {1, 3, 5})
      for (int64_t stride : {1, 2})
        for (int64_t dilation : {1, 2}) {
          const int pad_mode = index % 4;
          const int64_t batch = index % 2 ? 2 : 1;
          const bool bias = index % 3 != 1;
          ++index;
          std::map<std::string, ir::Attribute> attrs{
              {"group", attr(ch.group)},
              {"strides", attr(std::vector<int64_t>{stride, stride})},
              {"dilations", attr(std::vector<int64_t>{dilation, dilation})}};
          const int64_t half = (k - 1) * dilation / 2;
          if (pad_mode == 1) attrs["pads"] = attr(std::vector<int64_t>{half, half, half, half});
          if (pad_mode == 2) attrs["pads"] = attr(std::vector<int64_t>{half, 0, half + 1, 1});
          if (pad_mode == 3) attrs["auto_pad"] = attr(std::string("SAME_UPPER"));
          const uint64_t seed = 300 + index;
          std::vector<Operand> ops{input("x", random_tensor({batch, ch.c, 11, 10}, seed)),
                                   constant("w", random_tensor({ch.m, ch.c / ch.group, k, k}, seed + 1))};
          if (bias) ops.push_back(constant("b", random_tensor({ch.m}, seed + 2)));
          expect_fp32_matches_ref(one_node("Conv", ops, attrs),
                                  "conv g" + std::to_string(ch.group) + " k" + std::to_string(k) +
                                      " s" + std::to_string(stride) + " d" +
                                      std::to_string(dilation) + " pad " + std::to_string(pad_mode));
        }
  EXPECT_EQ(index, 48);
}

TEST(EmuBackend, Conv1dAnd3dFp32EqualsRef) {
  expect_fp32_matches_ref(
      one_node("Conv", {input("x", random_tensor({2, 3, 17}, 1)),
                        constant("w", random_tensor({4, 3, 3}, 2))},
               {{"strides", attr(std::vector<int64_t>{2})}, {"pads", attr(std::vector<int64_t>{1, 1})}}),
      "conv1d");
  expect_fp32_matches_ref(
      one_node("Conv", {input("x", random_tensor({1, 2, 5, 6, 7}, 3)),
                        constant("w", random_tensor({3, 2, 3, 3, 3}, 4)),
                        constant("b", random_tensor({3}, 5))},
               {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1, 1, 1})}}),
      "conv3d");
}

TEST(EmuBackend, GemmAndMatMulFp32EqualRef) {
  expect_fp32_matches_ref(one_node("Gemm", {input("a", random_tensor({3, 20}, 1)),
                                            constant("b", random_tensor({7, 20}, 2)),
                                            constant("c", random_tensor({7}, 3))},
                                   {{"transB", attr(int64_t{1})}}),
                          "gemm transB bias");
  expect_fp32_matches_ref(one_node("Gemm", {input("a", random_tensor({20, 3}, 1)),
                                            input("b", random_tensor({20, 7}, 2)),
                                            constant("c", random_tensor({3, 1}, 3))},
                                   {{"transA", attr(int64_t{1})},
                                    {"alpha", attr(0.5f)},
                                    {"beta", attr(2.0f)}}),
                          "gemm transA alpha beta");
  expect_fp32_matches_ref(one_node("MatMul", {input("a", random_tensor({2, 3, 4, 9}, 1)),
                                              constant("b", random_tensor({9, 5}, 2))}),
                          "matmul 4d x 2d");
  expect_fp32_matches_ref(one_node("MatMul", {input("a", random_tensor({3, 1, 4, 9}, 1)),
                                              input("b", random_tensor({2, 9, 5}, 2))}),
                          "matmul broadcast batch");
  expect_fp32_matches_ref(one_node("MatMul", {input("a", random_tensor({9}, 1)),
                                              input("b", random_tensor({9, 5}, 2))}),
                          "matmul 1d x 2d");
}

// A Conv carrying fused post-ops (a residual sum, then relu: what the graph passes make of
// Conv -> Add -> Relu) gives the ref backend's result with binary32 formats.
TEST(EmuBackend, FusedPostOpsFp32EqualRef) {
  std::map<std::string, ir::Attribute> attrs{
      {"pads", attr(std::vector<int64_t>{1, 1, 1, 1})},
      {"frugal.post_ops", attr(std::vector<std::string>{"sum", "relu"})}};
  expect_fp32_matches_ref(one_node("Conv", {input("x", random_tensor({2, 3, 8, 8}, 1)),
                                            constant("w", random_tensor({4, 3, 3, 3}, 2)),
                                            omitted(),
                                            input("s", random_tensor({2, 4, 8, 8}, 3))},
                                   attrs),
                          "conv+sum+relu");
}

// Hand-computed: x = [1, 2^-12 x 8] . w = ones: fp16 accumulation stalls at 1 (each 2^-12 is
// a quarter of fp16's unit at 1), an fp32 accumulator gets 1 + 2^-9. Weights quantized to e4m3:
// 0.3 -> 0.3125 (e4m3 has 3 fraction bits: 0.3 = 1.2 * 2^-2, nearest 1.25 * 2^-2).
TEST(EmuBackend, NarrowFormatsHandComputed) {
  std::vector<float> xv(9, std::ldexp(1.0f, -12));
  xv[0] = 1.0f;
  const Tensor x = Tensor::from_vector<float>({1, 9}, xv);
  const Tensor w = Tensor::from_vector<float>({9, 1}, std::vector<float>(9, 1.0f));
  const OneNode t = one_node("MatMul", {input("x", x), constant("w", w)});
  EXPECT_EQ(run_emu(t, "w=fp32,a=fp32,acc=fp16").outputs[0].data<float>()[0], 1.0f);
  EXPECT_EQ(run_emu(t, "w=fp32,a=fp32,acc=fp32").outputs[0].data<float>()[0],
            1.0f + std::ldexp(1.0f, -9));

  const OneNode g = one_node("Gemm", {input("a", Tensor::from_vector<float>({1, 1}, {1.0f})),
                                      constant("b", Tensor::from_vector<float>({1, 1}, {0.3f}))});
  EXPECT_EQ(run_emu(g, "w=e4m3,a=fp32,acc=fp32").outputs[0].data<float>()[0], 0.3125f);
  // Activations to e5m2 (2 fraction bits): 0.3 -> 0.3125 as well, 1.1 -> 1.0.
  const OneNode g2 = one_node("Gemm", {input("a", Tensor::from_vector<float>({1, 2}, {0.3f, 1.1f})),
                                       constant("b", Tensor::from_vector<float>({2, 1}, {1.0f, 1.0f}))});
  EXPECT_EQ(run_emu(g2, "w=fp32,a=e5m2,acc=fp32").outputs[0].data<float>()[0], 1.3125f);
}

// Relu is not emulated: it runs in fp32 on inputs rounded to A, and its impl says so.
TEST(EmuBackend, OtherOpsRunOnRoundedInputs) {
  const OneNode t =
      one_node("Relu", {input("x", Tensor::from_vector<float>({3}, {1.1f, -2.0f, 0.3f}))});
  const Ran r = run_emu(t, "w=e4m3,a=e5m2,acc=fp16");
  EXPECT_EQ(r.assignments.at(0).backend, "emu");
  EXPECT_NE(r.assignments.at(0).impl.find("fp32 on a-rounded inputs"), std::string::npos);
  const float* y = r.outputs[0].data<float>();
  EXPECT_EQ(y[0], 1.0f);
  EXPECT_EQ(y[1], 0.0f);
  EXPECT_EQ(y[2], 0.3125f);
}

TEST(EmuConfig, ParsesAndPrints) {
  const auto c = parse_emu_config("w=e4m3,a=e5m2,acc=fp16:chunk=32:compensated");
  EXPECT_EQ(numeric::to_string(c.weights), "e4m3");
  EXPECT_EQ(numeric::to_string(c.activations), "e5m2");
  EXPECT_EQ(c.acc.chunk, 32);
  EXPECT_TRUE(c.acc.compensated);
  EXPECT_EQ(to_string(c), "w=e4m3,a=e5m2,acc=fp16:chunk=32:comp");
  const auto d = parse_emu_config("acc=bf16,round=stochastic:7");
  EXPECT_EQ(numeric::to_string(d.weights), "fp32");
  EXPECT_EQ(d.acc.rounding, numeric::Rounding::stochastic(7));
  EXPECT_EQ(parse_emu_config(""), kernels::emu::EmuConfig{});
}

TEST(EmuConfig, BadStringsNameFormatAndGrammar) {
  for (const char* bad : {"e4m3:chunk=0", "acc=e4m3:chunk=0", "w=e0m3", "a=e9m30",
                          "w=fixed<40.40>", "w=int0", "w=e4m3,w=e5m2", "x=fp16",
                          "round=sometimes", "acc=fp16:comp,round=stochastic:1", "w=e4m3,"}) {
    try {
      parse_emu_config(bad);
      ADD_FAILURE() << "accepted " << bad;
    } catch (const UserError& e) {
      const std::string m = e.what();
      EXPECT_EQ(m.rfind("--format: '", 0), 0u) << m;
      EXPECT_NE(m.find("accepted: w=FMT,a=FMT,acc=FMT"), std::string::npos) << m;
      EXPECT_EQ(m.find('\n'), std::string::npos) << m;
    }
  }
}

// SQNR by hand: ref [1, 2, 3, 4], test [1, 2, 3, 5]: signal 30, noise 1, 10 log10 30 dB;
// max abs error 1, max relative 1/4, top-1 (index 3) agrees. A second row [0, 1] vs [1, 0]
// disagrees and adds noise 2, signal 1 (zero reference: no relative error).
TEST(OutputError, HandComputedSqnr) {
  kernels::emu::OutputErrorMeter m;
  m.add(Tensor::from_vector<float>({1, 4}, {1, 2, 3, 4}), Tensor::from_vector<float>({1, 4}, {1, 2, 3, 5}));
  auto e = m.result();
  EXPECT_NEAR(e.sqnr_db, 14.771212547196624, 1e-12);
  EXPECT_EQ(e.max_abs_error, 1.0);
  EXPECT_EQ(e.max_rel_error, 0.25);
  EXPECT_EQ(e.top1_agree, 1);
  EXPECT_EQ(e.top1_rows, 1);
  m.add(Tensor::from_vector<float>({1, 2}, {0, 1}), Tensor::from_vector<float>({1, 2}, {1, 0}));
  e = m.result();
  EXPECT_NEAR(e.sqnr_db, 10 * std::log10(31.0 / 3.0), 1e-12);
  EXPECT_EQ(e.max_rel_error, 1.0);  // |0 - 1| / 1 on the second row's last element
  EXPECT_EQ(e.top1_agree, 1);
  EXPECT_EQ(e.top1_rows, 2);
  kernels::emu::OutputErrorMeter same;
  same.add(Tensor::from_vector<float>({2}, {1, 2}), Tensor::from_vector<float>({2}, {1, 2}));
  EXPECT_TRUE(std::isinf(same.result().sqnr_db));
  EXPECT_THROW(same.add(Tensor::from_vector<float>({2}, {1, 2}), Tensor::from_vector<float>({1}, {1})),
               UserError);
}
