// MatMul of an activation of rank >= 3 by a constant 2-D weight, which the cpu backend runs
// as one 2-D GEMM over the rows (kernels/cpu/matmul_kernels.cpp), against ref: ranks 3 and
// 4, with and without post-ops, the sum operand a row ([N], [1, 1, N]), the full output, or
// a shape with no 2-D view (the batched form then runs).
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

constexpr double kTol = 1e-4;

// [1, ..., 1, n] of rank `rank`.
Shape with_ones(size_t rank, int64_t n) {
  Shape s(rank, 1);
  s.back() = n;
  return s;
}

TEST(CpuMatMulRows, ConstantWeightOverRows) {
  const std::vector<Shape> activations = {{1, 197, 48}, {3, 5, 16}, {2, 3, 4, 33}, {1, 1, 7}};
  const std::vector<std::vector<std::string>> chains = {{}, {"gelu"}, {"sum"}, {"sum", "gelu"}};
  int index = 0;
  for (const Shape& a : activations)
    for (int64_t n : {1, 24, 70})
      for (const auto& chain : chains) {
        Shape y = a;
        y.back() = n;
        std::vector<Shape> sums = {{}};
        if (!chain.empty() && chain[0] == "sum") {
          Shape middle(y.size(), 1);  // varies along the rows: no 2-D view unless 1 row
          middle[y.size() - 2] = y[y.size() - 2];
          middle.back() = n;
          sums = {{n}, with_ones(y.size(), n), y, middle};
        }
        for (const Shape& s : sums) {
          const uint64_t seed = 900 + 5 * static_cast<uint64_t>(index++);
          std::vector<Operand> ops{input("a", random_tensor(a, seed)),
                                   constant("w", random_tensor({a.back(), n}, seed + 1, 0.3f))};
          std::map<std::string, ir::Attribute> attrs;
          if (!chain.empty()) attrs["frugal.post_ops"] = attr(chain);
          std::string label = "matmul " + shape_str(a) + " x [" + std::to_string(n) + "]";
          for (const auto& e : chain) label += " " + e;
          if (!s.empty()) {
            ops.push_back(input("s", random_tensor(s, seed + 2)));
            label += " " + shape_str(s);
          }
          expect_matches_ref(one_node("MatMul", ops, attrs), kTol, "cpu", label);
        }
      }
}

}  // namespace
