// cpu:bf16: Conv, ConvTranspose, Gemm and MatMul with bfloat16 sources and weights and
// float32 accumulation, against ref in float32. bfloat16 keeps 8 significant bits (relative
// rounding error up to 2^-9 per operand), so per node the budget is 1e-2 of max |ref|; the
// result must also differ from float32 (the bf16 path is really taken).
#include <gtest/gtest.h>

#include "kernels/cpu_testing.h"

using namespace frugal;
using namespace frugal::cpu_testing;

namespace {

constexpr double kBf16Tol = 1e-2;

void expect_bf16_close(const OneNode& t, const std::string& label) {
  const double err = expect_matches_ref(t, kBf16Tol, "cpu:bf16", label);
  EXPECT_GT(err, 1e-6) << label << ": identical to float32, bf16 not used";
}

}  // namespace

TEST(CpuBf16, Conv) {
  expect_bf16_close(one_node("Conv",
                             {input("x", random_tensor({2, 16, 12, 12}, 1)),
                              constant("w", random_tensor({24, 16, 3, 3}, 2)),
                              constant("b", random_tensor({24}, 3))},
                             {{"pads", attr(std::vector<int64_t>{1, 1, 1, 1})}}),
                    "conv 3x3");
  expect_bf16_close(
      one_node("Conv",
               {input("x", random_tensor({1, 32, 9, 9}, 4)),
                constant("w", random_tensor({32, 1, 3, 3}, 5))},
               {{"group", attr(int64_t{32})}, {"strides", attr(std::vector<int64_t>{2, 2})}}),
      "conv depthwise");
}

TEST(CpuBf16, ConvTranspose) {
  expect_bf16_close(one_node("ConvTranspose",
                             {input("x", random_tensor({1, 8, 6, 6}, 6)),
                              constant("w", random_tensor({8, 4, 3, 3}, 7))},
                             {{"strides", attr(std::vector<int64_t>{2, 2})}}),
                    "conv_transpose");
}

TEST(CpuBf16, GemmAndMatMul) {
  expect_bf16_close(
      one_node("Gemm",
               {input("a", random_tensor({4, 64}, 8)), constant("b", random_tensor({10, 64}, 9)),
                constant("c", random_tensor({10}, 10))},
               {{"transB", attr(int64_t{1})}}),
      "gemm");
  expect_bf16_close(one_node("MatMul", {input("a", random_tensor({3, 5, 32}, 11)),
                                        input("b", random_tensor({3, 32, 7}, 12))}),
                    "matmul batched");
}
