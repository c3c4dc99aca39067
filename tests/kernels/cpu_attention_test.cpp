// frugal's Attention node (ops/attention.cpp) on the cpu backend against ref, over batch
// shapes, sequence lengths, head dimensions, K given plain or transposed, and every mask
// form the kernel takes (run-time or constant); the mask forms it cannot chunk are declined
// to ref.
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

constexpr double kTol = 1e-4;

struct Case {
  Shape batch;
  int64_t tq, tk, d, dv;
};

Shape with(Shape batch, int64_t a, int64_t b) {
  batch.push_back(a);
  batch.push_back(b);
  return batch;
}

OneNode attention(const Case& c, bool k_transposed, const Shape* mask, uint64_t seed,
                  bool constant_mask = false) {
  std::vector<Operand> ops{
      input("q", random_tensor(with(c.batch, c.tq, c.d), seed)),
      input("k", random_tensor(k_transposed ? with(c.batch, c.d, c.tk) : with(c.batch, c.tk, c.d),
                               seed + 1)),
      input("v", random_tensor(with(c.batch, c.tk, c.dv), seed + 2))};
  // Masks of 0 and -10000, as BERT's padding masks are, with an irregular pattern.
  if (mask) {
    Tensor m = uniform_tensor(*mask, seed + 3, 0.0f, 1.0f);
    for (float& x : m.span<float>()) x = x < 0.3f ? -10000.0f : 0.0f;
    ops.push_back(constant_mask ? constant("mask", m) : input("mask", m));
  }
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.d));
  OneNode t = one_node("Attention", ops,
                       {{"scale", attr(scale)}, {"k_transposed", attr(int64_t{k_transposed})}});
  t.graph.nodes[0].domain = "frugal";
  t.graph.opsets["frugal"] = 1;
  return t;
}

std::string label(const Case& c, bool kt, const Shape* mask) {
  return "batch " + shape_str(c.batch) + " Tq " + std::to_string(c.tq) + " Tk " +
         std::to_string(c.tk) + " d " + std::to_string(c.d) + " dv " + std::to_string(c.dv) +
         (kt ? " K^T" : " K") + (mask ? " mask " + shape_str(*mask) : "");
}

}  // namespace

TEST(CpuAttention, MatchesRefOverShapesWithoutMask) {
  const std::vector<Case> cases = {{{1, 12}, 197, 197, 64, 64}, {{2, 3}, 7, 13, 8, 5},
                                   {{5}, 1, 9, 33, 33},         {{2, 2, 3}, 16, 16, 16, 24},
                                   {{40}, 50, 60, 4, 4},        {{}, 3, 4, 2, 6}};
  uint64_t seed = 1;
  for (const Case& c : cases)
    for (bool kt : {false, true}) {
      seed += 10;
      expect_matches_ref(attention(c, kt, nullptr, seed), kTol, "cpu", label(c, kt, nullptr));
    }
}

// Masks: one for all heads and batches, one per batch element broadcast over heads and
// query rows (BERT's), one per head and batch, a query-independent row, and rank below
// the scores'.
TEST(CpuAttention, MatchesRefWithMasks) {
  struct MaskCase {
    Case c;
    Shape mask;
  };
  const std::vector<MaskCase> cases = {
      {{{2, 4}, 9, 11, 8, 8}, {1, 1, 9, 11}},     {{{3, 4}, 9, 11, 8, 8}, {3, 1, 1, 11}},
      {{{2, 4}, 9, 11, 8, 8}, {2, 4, 9, 11}},     {{{2, 4}, 9, 11, 8, 8}, {11}},
      {{{2, 12}, 64, 64, 64, 64}, {2, 1, 1, 64}}, {{{6}, 5, 5, 3, 3}, {5, 5}},
      {{{2, 3, 2}, 4, 6, 5, 5}, {2, 3, 1, 1, 6}}};
  uint64_t seed = 100;
  for (const MaskCase& m : cases)
    for (bool kt : {false, true}) {
      seed += 10;
      expect_matches_ref(attention(m.c, kt, &m.mask, seed), kTol, "cpu", label(m.c, kt, &m.mask));
    }
}

// Masks that repeat over the leading batch dimensions: Swin's relative position bias (one
// matrix per head, the same for every window: [1, heads, T, T] against [windows, heads]),
// its shifted windows once split ([1, windows, heads, T, T] against [images, windows,
// heads]), with 1s after the varying dimensions too; given at run time (chunks of at most
// one period) and as a constant (chunks of several periods read a tiled copy), with values
// as Swin's (a bias of N(0, 1) plus -100 where windows mix).
TEST(CpuAttention, MatchesRefWithRepeatingMasks) {
  struct MaskCase {
    Case c;
    Shape mask;
  };
  const std::vector<MaskCase> cases = {{{{64, 3}, 49, 49, 32, 32}, {1, 3, 49, 49}},
                                       {{{2, 4}, 9, 11, 8, 8}, {1, 4, 9, 11}},
                                       {{{2, 16, 6}, 49, 49, 32, 32}, {1, 16, 6, 49, 49}},
                                       {{{3, 4, 2}, 5, 6, 4, 3}, {1, 4, 1, 5, 6}},
                                       {{{5, 2, 3}, 7, 7, 4, 4}, {2, 1, 1, 7}},
                                       {{{4, 3}, 6, 6, 5, 5}, {1, 3, 1, 6}}};
  uint64_t seed = 300;
  for (const MaskCase& m : cases)
    for (bool constant_mask : {false, true})
      for (bool kt : {false, true}) {
        seed += 10;
        expect_matches_ref(attention(m.c, kt, &m.mask, seed, constant_mask), kTol, "cpu",
                           label(m.c, kt, &m.mask) + (constant_mask ? " (constant)" : ""));
      }
}

// A mask that varies inside the batch dimensions on both sides of a broadcast one (batch
// and heads vary, windows broadcast) cannot be read as one block per chunk: ref runs it.
TEST(CpuAttention, DeclinesMaskBroadcastInsideBatch) {
  const Case c{{2, 3, 4}, 5, 6, 4, 4};
  const Shape mask{2, 1, 4, 5, 6};
  const std::string why = cpu_decline_reason(attention(c, false, &mask, 7));
  EXPECT_NE(why.find("broadcasts inside the batch"), std::string::npos) << why;
}
