// frugal.BinaryGemm / frugal.BinaryConv on the cpu backend (XNOR/AND-popcount kernels)
// against the reference kernels, bit for bit, over a matrix of shapes, groups, strides,
// pads, dilations, scales, binary and ternary weights, batch 1 and 64; and the AVX-512
// VPOPCNTDQ products against the portable ones.
#include <gtest/gtest.h>

#include <cstring>

#include "cpu_testing.h"
#include "frugal/kernels/cpu/binary_popcount.h"
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
  uint64_t seed = 100;
  for (const ConvCase& c : cases)
    for (const char* scale : {"tensor", "row"})
      for (bool ternary : {false, true}) {
        int64_t K = c.x[1] / c.group;
        for (int64_t k : c.kernel) K *= k;
        const std::string label = "x=" + shape_str(c.x) + " M=" + std::to_string(c.M) +
                                  " group=" + std::to_string(c.group) + " " + scale +
                                  (ternary ? " ternary" : " binary");
        expect_bit_exact(
            binary_node(bin::kConv,
                        operands(activations(c.x, seed), c.M, K, ternary, true, seed + 10),
                        {{"kernel_shape", attr(c.kernel)},
                         {"strides", attr(c.strides)},
                         {"pads", attr(c.pads)},
                         {"dilations", attr(c.dilations)},
                         {"group", attr(c.group)},
                         {"act_scale", attr(std::string(scale))}}),
            label);
        ++seed;
      }
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
