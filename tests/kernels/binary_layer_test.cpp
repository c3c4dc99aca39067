// frugal.BinaryGemm / frugal.BinaryConv on the cpu backend (XNOR/AND-popcount kernels)
// against the reference kernels, bit for bit, over a matrix of shapes, groups, strides,
// pads, dilations, scales, binary and ternary weights, batch 1 and 64; and the AVX-512
// VPOPCNTDQ products against the portable ones.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "cpu_testing.h"
#include "frugal/kernels/cpu/binary_popcount.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/binary_layer.h"

namespace frugal {
namespace {

using namespace cpu_testing;
namespace bin = ops::binary;

// Activations N(0, 1) with every 7th value an exact 0 (a masked-out sign).
Tensor activations(const Shape& shape, uint64_t seed) {
  Tensor t = random_tensor(shape, seed);
  for (int64_t i = 0; i < t.numel(); i += 7) t.data<float>()[i] = 0.0f;
  return t;
}

// M rows of K weights in {-1, +1} (binary) or {-1, 0, +1} (ternary), packed.
struct Bits {
  Tensor sign, mask;
};
Bits random_bits(int64_t M, int64_t K, bool ternary, uint64_t seed) {
  const Tensor u = uniform_tensor({M, K}, seed, 0.0f, 3.0f);
  Bits b{Tensor(DType::kU64, {M, bin::words(K)}), Tensor(DType::kU64, {M, bin::words(K)})};
  std::memset(b.sign.data<uint64_t>(), 0, static_cast<size_t>(b.sign.numel()) * 8);
  std::memset(b.mask.data<uint64_t>(), 0, static_cast<size_t>(b.mask.numel()) * 8);
  std::vector<float> row(static_cast<size_t>(K));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t k = 0; k < K; ++k) {
      const float v = u.data<float>()[m * K + k];
      row[static_cast<size_t>(k)] = v < 1 ? -1.0f : (v < 2 && ternary ? 0.0f : 1.0f);
    }
    bin::pack_row(row.data(), K, 1, b.sign.data<uint64_t>() + m * bin::words(K),
                  b.mask.data<uint64_t>() + m * bin::words(K));
  }
  return b;
}

std::vector<Operand> operands(Tensor x, int64_t M, int64_t K, bool ternary, bool bias,
                              uint64_t seed) {
  Bits bits = random_bits(M, K, ternary, seed);
  std::vector<Operand> ops{input("x", std::move(x)), constant("w_sign", bits.sign),
                           constant("alpha", uniform_tensor({M}, seed + 1, 0.1f, 1.0f))};
  ops.push_back(bias || ternary ? constant("b", random_tensor({M}, seed + 2)) : omitted());
  if (ternary) ops.push_back(constant("w_mask", bits.mask));
  return ops;
}

OneNode binary_node(const std::string& op, const std::vector<Operand>& ops,
                    std::map<std::string, ir::Attribute> attrs) {
  OneNode t = one_node(op, ops, std::move(attrs));
  t.graph.opsets[bin::kDomain] = 1;
  t.graph.nodes[0].domain = bin::kDomain;
  return t;
}

// Runs on cpu and ref: the cpu node must run the popcount kernel and match bit for bit.
void expect_bit_exact(const OneNode& t, const std::string& label) {
  const Ran ref = run_on("ref", t.graph, t.feeds);
  const Ran got = run_on("cpu", t.graph, t.feeds);
  ASSERT_EQ(got.assignments.at(0).backend, "cpu")
      << label << ": declined: "
      << (got.assignments.at(0).declined.empty() ? "" : got.assignments.at(0).declined[0]);
  EXPECT_EQ(got.assignments.at(0).impl.rfind("cpu:popcount:", 0), 0u) << label;
  const Tensor &g = got.outputs.at(0), &w = ref.outputs.at(0);
  ASSERT_EQ(g.shape(), w.shape()) << label;
  int64_t differ = 0;
  for (int64_t i = 0; i < w.numel(); ++i)
    differ += std::memcmp(g.data<float>() + i, w.data<float>() + i, sizeof(float)) != 0;
  EXPECT_EQ(differ, 0) << label << ": " << differ << " of " << w.numel() << " outputs differ";
}

TEST(BinaryLayer, GemmMatchesRefBitExact) {
  uint64_t seed = 1;
  for (int64_t N : {1, 64})
    for (int64_t K : {1, 63, 64, 65, 150, 400})
      for (int64_t M : {1, 7, 8, 10})
        for (const char* scale : {"tensor", "row", "none"})
          for (bool ternary : {false, true}) {
            const std::string label = "N=" + std::to_string(N) + " K=" + std::to_string(K) +
                                      " M=" + std::to_string(M) + " " + scale +
                                      (ternary ? " ternary" : " binary");
            expect_bit_exact(binary_node(bin::kGemm,
                                         operands(activations({N, K}, seed), M, K, ternary,
                                                  M % 2 == 0, seed + 10),
                                         {{"act_scale", attr(std::string(scale))}}),
                             label);
            ++seed;
          }
}

struct ConvCase {
  Shape x;  // N, C, spatial...
  int64_t M, group;
  std::vector<int64_t> kernel, strides, pads, dilations;
};

OneNode conv_node(const ConvCase& c, const std::string& scale, bool ternary, uint64_t seed) {
  int64_t K = c.x[1] / c.group;
  for (int64_t k : c.kernel) K *= k;
  return binary_node(bin::kConv, operands(activations(c.x, seed), c.M, K, ternary, true, seed + 10),
                     {{"kernel_shape", attr(c.kernel)},
                      {"strides", attr(c.strides)},
                      {"pads", attr(c.pads)},
                      {"dilations", attr(c.dilations)},
                      {"group", attr(c.group)},
                      {"act_scale", attr(scale)}});
}

std::string conv_label(const ConvCase& c, const std::string& scale, bool ternary) {
  return "x=" + shape_str(c.x) + " M=" + std::to_string(c.M) + " group=" + std::to_string(c.group) +
         " kernel=" + std::to_string(c.kernel.back()) + " " + scale +
         (ternary ? " ternary" : " binary");
}

void expect_conv_cases_bit_exact(const std::vector<ConvCase>& cases,
                                 const std::vector<std::string>& scales, uint64_t seed) {
  for (const ConvCase& c : cases)
    for (const std::string& scale : scales)
      for (bool ternary : {false, true})
        expect_bit_exact(conv_node(c, scale, ternary, seed++), conv_label(c, scale, ternary));
}

TEST(BinaryLayer, ConvMatchesRefBitExact) {
  const std::vector<ConvCase> cases = {
      {{1, 6, 14, 14}, 16, 1, {5, 5}, {1, 1}, {0, 0, 0, 0}, {1, 1}},  // LeNet-5 conv2
      {{64, 6, 14, 14}, 16, 1, {5, 5}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
      {{1, 16, 9, 9}, 16, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},
      {{1, 16, 9, 9}, 32, 1, {3, 3}, {2, 2}, {1, 1, 1, 1}, {1, 1}},
      {{2, 8, 10, 7}, 12, 4, {3, 3}, {1, 2}, {2, 0, 1, 1}, {1, 1}},  // groups, asymmetric pads
      {{2, 8, 10, 10}, 8, 8, {3, 3}, {1, 1}, {1, 1, 1, 1}, {2, 2}},  // depthwise, dilated
      {{1, 3, 11, 11}, 5, 1, {3, 3}, {1, 1}, {0, 0, 0, 0}, {1, 1}},  // K = 27
      {{1, 70, 5, 5}, 9, 1, {1, 1}, {1, 1}, {0, 0, 0, 0}, {1, 1}},   // 1x1, K = 70
      {{64, 9, 6, 6}, 10, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},  // K = 81
      {{2, 4, 12}, 6, 2, {3}, {2}, {1, 1}, {1}},                     // 1-D
      {{1, 2, 4, 5, 5}, 3, 1, {2, 3, 3}, {1, 1, 1}, {0, 1, 1, 0, 1, 1}, {1, 1, 1}},  // 3-D
  };
  expect_conv_cases_bit_exact(cases, {"tensor", "row"}, 100);
}

// The edges of the bit-plane Conv: channels past one word (70, 130) and just inside
// (63 = 7 x 3 x 3 folded into one word per window; 20 x 3 = 60 bits per kernel row),
// output channels not a multiple of 16 (the 2-block tiles) or 8, output positions not a
// multiple of 4 (the position tiles), strides and asymmetric pads with folded windows,
// a dilated folded window, batch 64, act_scale none.
TEST(BinaryLayer, ConvPlaneEdgesMatchRefBitExact) {
  const std::vector<ConvCase> cases = {
      {{1, 70, 7, 7}, 17, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},   // 2 words, no fold
      {{2, 130, 5, 6}, 9, 1, {3, 3}, {2, 2}, {0, 1, 1, 0}, {1, 1}},   // 3 words, stride 2
      {{1, 7, 9, 11}, 24, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},   // window folded, 63 bits
      {{1, 20, 8, 7}, 33, 1, {3, 3}, {1, 2}, {2, 1, 0, 1}, {1, 1}},   // rows folded, 60 bits
      {{1, 3, 15, 15}, 16, 1, {7, 7}, {2, 2}, {3, 3, 3, 3}, {1, 1}},  // ResNet stem-like
      {{1, 4, 13, 13}, 8, 1, {3, 3}, {1, 1}, {2, 2, 2, 2}, {2, 2}},   // dilated, folded
      {{1, 1, 28, 28}, 6, 1, {5, 5}, {1, 1}, {2, 2, 2, 2}, {1, 1}},   // LeNet-5 conv1
      {{64, 16, 5, 5}, 16, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},  // batch 64
      {{2, 40, 6, 6}, 10, 2, {1, 1}, {2, 2}, {0, 0, 0, 0}, {1, 1}},   // 1x1 stride 2, groups
  };
  expect_conv_cases_bit_exact(cases, {"tensor", "none"}, 500);
}

// Two threads split the packing over samples and the products over output chunks: the
// results equal one thread's and ref's bit for bit.
TEST(BinaryLayer, TwoThreadsMatchOneThreadAndRef) {
  const int before = kernels::cpu::num_threads();
  std::vector<std::pair<std::string, OneNode>> nodes;
  nodes.emplace_back(
      "gemm N=64 K=150 M=10",
      binary_node(bin::kGemm, operands(activations({64, 150}, 3), 10, 150, true, true, 4),
                  {{"act_scale", attr(std::string("tensor"))}}));
  for (const ConvCase& c : std::vector<ConvCase>{
           {{1, 70, 7, 7}, 17, 1, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}},  // batch 1: 49 positions
           {{64, 6, 14, 14}, 16, 1, {5, 5}, {1, 1}, {0, 0, 0, 0}, {1, 1}},
           {{3, 8, 10, 10}, 12, 4, {3, 3}, {1, 1}, {1, 1, 1, 1}, {1, 1}}})
    nodes.emplace_back(conv_label(c, "tensor", false), conv_node(c, "tensor", false, 900));
  for (const auto& [label, t] : nodes) {
    kernels::cpu::set_num_threads(1);
    const Tensor one = run_on("cpu", t.graph, t.feeds).outputs.at(0);
    kernels::cpu::set_num_threads(2);
    expect_bit_exact(t, label + " 2 threads");
    EXPECT_TRUE(run_on("cpu", t.graph, t.feeds).outputs.at(0).equals(one)) << label;
  }
  kernels::cpu::set_num_threads(before);
}

// The popcount products against the definition, per ISA.
void expect_dots_match(kernels::cpu::PopcountIsa isa) {
  namespace cpu = kernels::cpu;
  uint64_t seed = 7;
  for (int64_t P : {1, 2, 5, 64})
    for (int64_t M : {1, 8, 13})
      for (int64_t K : {1, 64, 65, 200, 1000}) {
        const int64_t W = bin::words(K);
        const Bits w = random_bits(M, K, true, seed++);
        const Bits x = random_bits(P, K, true, seed++);
        const cpu::PackedBinaryWeights pw =
            cpu::interleave_weights(w.sign.data<uint64_t>(), w.mask.data<uint64_t>(), M, W);
        const int64_t ld = 8 * cpu::PackedBinaryWeights::blocks(M);
        std::vector<int32_t> dots(static_cast<size_t>(P * ld));
        cpu::popcount_dots(isa, x.sign.data<uint64_t>(), x.mask.data<uint64_t>(), P, pw,
                           dots.data(), ld);
        for (int64_t p = 0; p < P; ++p)
          for (int64_t m = 0; m < M; ++m)
            ASSERT_EQ(dots[static_cast<size_t>(p * ld + m)],
                      bin::packed_dot(
                          x.sign.data<uint64_t>() + p * W, x.mask.data<uint64_t>() + p * W,
                          w.sign.data<uint64_t>() + m * W, w.mask.data<uint64_t>() + m * W, W))
                << cpu::popcount_isa_name(isa) << " P=" << P << " M=" << M << " K=" << K;
      }
}

TEST(BinaryLayer, PortablePopcountMatchesDefinition) {
  expect_dots_match(kernels::cpu::PopcountIsa::kScalar);
}

TEST(BinaryLayer, Avx512PopcountMatchesDefinition) {
  if (kernels::cpu::best_popcount_isa() != kernels::cpu::PopcountIsa::kAvx512)
    GTEST_SKIP() << "this CPU lacks AVX-512 F + VPOPCNTDQ";
  expect_dots_match(kernels::cpu::PopcountIsa::kAvx512);
}

// Products over tap-gathered rows (popcount_taps) against packed_dot of the rows written
// out, per ISA: 3 taps at irregular offsets, origins out of order, 1-3 words per tap.
void expect_taps_match(kernels::cpu::PopcountIsa isa) {
  namespace cpu = kernels::cpu;
  const std::vector<int64_t> taps = {0, 3, 7}, origins = {5, 0, 9, 2, 11, 1, 4};
  uint64_t seed = 31;
  for (int64_t words : {1, 2, 3})
    for (int64_t M : {1, 8, 17, 24}) {
      const int64_t positions = 20, K = 64 * words, T = 3;
      const Bits planes = random_bits(positions, K, true, seed++);
      const Bits w = random_bits(M, T * K, true, seed++);
      const cpu::PackedBinaryWeights pw =
          cpu::interleave_weights(w.sign.data<uint64_t>(), w.mask.data<uint64_t>(), M, T * words);
      const int64_t P = static_cast<int64_t>(origins.size()), ld = 8 * pw.blocks(M);
      std::vector<int32_t> dots(static_cast<size_t>(P * ld));
      cpu::popcount_taps(isa,
                         cpu::TapRows{planes.sign.data<uint64_t>(), planes.mask.data<uint64_t>(),
                                      words, taps.data(), T},
                         origins.data(), P, pw, dots.data(), ld);
      for (int64_t p = 0; p < P; ++p) {
        std::vector<uint64_t> rs, rm;  // the gathered row
        for (int64_t t : taps)
          for (int64_t i = 0; i < words; ++i) {
            const int64_t at = (origins[static_cast<size_t>(p)] + t) * words + i;
            rs.push_back(planes.sign.data<uint64_t>()[at]);
            rm.push_back(planes.mask.data<uint64_t>()[at]);
          }
        for (int64_t m = 0; m < M; ++m)
          ASSERT_EQ(dots[static_cast<size_t>(p * ld + m)],
                    bin::packed_dot(rs.data(), rm.data(), w.sign.data<uint64_t>() + m * T * words,
                                    w.mask.data<uint64_t>() + m * T * words, T * words))
              << cpu::popcount_isa_name(isa) << " words=" << words << " M=" << M << " p=" << p;
      }
    }
}

TEST(BinaryLayer, PortableTapProductsMatchDefinition) {
  expect_taps_match(kernels::cpu::PopcountIsa::kScalar);
}

TEST(BinaryLayer, Avx512TapProductsMatchDefinition) {
  if (kernels::cpu::best_popcount_isa() != kernels::cpu::PopcountIsa::kAvx512)
    GTEST_SKIP() << "this CPU lacks AVX-512 F + VPOPCNTDQ";
  expect_taps_match(kernels::cpu::PopcountIsa::kAvx512);
}

// The outputs computed in the AVX-512 tiles (scale, bias and scatter in registers) against
// the portable products and loop, bit for bit: output rows around the 8-lane edge, position
// counts around the 4-position tile.
TEST(BinaryLayer, Avx512OutputsMatchPortable) {
  namespace cpu = kernels::cpu;
  if (cpu::best_popcount_isa() != cpu::PopcountIsa::kAvx512)
    GTEST_SKIP() << "this CPU lacks AVX-512 F + VPOPCNTDQ";
  const std::vector<int64_t> taps = {0, 2};
  uint64_t seed = 71;
  for (int64_t M : {1, 7, 8, 9, 17, 32})
    for (int64_t P : {1, 3, 4, 9}) {
      const Bits planes = random_bits(P + 2, 128, true, seed++);
      const Bits w = random_bits(M, 2 * 128, true, seed++);
      const cpu::PackedBinaryWeights pw =
          cpu::interleave_weights(w.sign.data<uint64_t>(), w.mask.data<uint64_t>(), M, 4);
      const Tensor alpha = uniform_tensor({M}, seed++, 0.1f, 1.0f);
      const Tensor bias = random_tensor({M}, seed++);
      std::vector<int64_t> origins(static_cast<size_t>(P));
      for (int64_t i = 0; i < P; ++i) origins[static_cast<size_t>(i)] = (i * 5) % P;
      const cpu::TapRows rows{planes.sign.data<uint64_t>(), planes.mask.data<uint64_t>(), 2,
                              taps.data(), 2};
      std::vector<float> ya(static_cast<size_t>(M * (P + 1)), 7.0f), ys(ya);
      std::vector<int32_t> scratch(static_cast<size_t>(P * 8 * pw.blocks(M)));
      for (auto [isa, y] :
           {std::pair{cpu::PopcountIsa::kAvx512, &ya}, std::pair{cpu::PopcountIsa::kScalar, &ys}})
        cpu::popcount_outputs(
            isa, rows, origins.data(), P, pw,
            cpu::OutputScale{alpha.data<float>(), bias.data<float>(), 0.37f, y->data(), P + 1},
            scratch.data());
      EXPECT_EQ(std::memcmp(ya.data(), ys.data(), ya.size() * sizeof(float)), 0)
          << "M=" << M << " P=" << P;
    }
}

// The AVX-512 packing against the portable one (and so against set_bits): channel counts
// around word edges, position counts around the 16-lane edge, zeros, -0, NaN, infinities.
TEST(BinaryLayer, Avx512PackingMatchesPortable) {
  namespace cpu = kernels::cpu;
  if (cpu::best_popcount_isa() != cpu::PopcountIsa::kAvx512)
    GTEST_SKIP() << "this CPU lacks AVX-512 F + VPOPCNTDQ";
  const auto A = cpu::PopcountIsa::kAvx512, S = cpu::PopcountIsa::kScalar;
  uint64_t seed = 61;
  for (int64_t channels : {1, 6, 63, 64, 65, 130})
    for (int64_t count : {1, 15, 16, 17, 40}) {
      Tensor x = activations({channels, count + 3}, seed++);
      float* v = x.data<float>();
      v[0] = -0.0f;
      if (x.numel() > 2) v[1] = std::numeric_limits<float>::quiet_NaN();
      if (x.numel() > 4) v[3] = -std::numeric_limits<float>::infinity();
      const int64_t words = bin::words(channels), n = count * words;
      std::vector<uint64_t> as(n, ~0ull), am(n, ~0ull), ss(n, 0), sm(n, 0);
      cpu::pack_planes(A, v, count + 3, channels, count, words, as.data(), am.data());
      cpu::pack_planes(S, v, count + 3, channels, count, words, ss.data(), sm.data());
      EXPECT_EQ(as, ss) << "planes C=" << channels << " count=" << count;
      EXPECT_EQ(am, sm) << "planes C=" << channels << " count=" << count;
      const int64_t k = channels * (count + 3);
      std::vector<uint64_t> rs(bin::words(k), ~0ull), rm(rs), qs(rs.size(), 0), qm(rs.size(), 0);
      cpu::pack_signs(A, v, k, rs.data(), rm.data());
      cpu::pack_signs(S, v, k, qs.data(), qm.data());
      EXPECT_EQ(rs, qs) << "row K=" << k;
      EXPECT_EQ(rm, qm) << "row K=" << k;
    }
}

TEST(BinaryLayer, BadActScaleNamesTheNode) {
  OneNode t = binary_node(bin::kGemm, operands(activations({1, 8}, 1), 2, 8, false, false, 2),
                          {{"act_scale", attr(std::string("median"))}});
  try {
    run_on("ref", t.graph, t.feeds);
    FAIL() << "accepted act_scale median";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("act_scale 'median'"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace frugal
