// Gemm against hand-computed products and a naive triple loop over transposes, alpha,
// beta and every broadcast form of C.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Node gemm_node(bool with_c) {
  return ir::Node{.name = "fc1000",
                  .op_type = "Gemm",
                  .inputs = {"a", "b", with_c ? "c" : ""},
                  .outputs = {"y"}};
}

Tensor random_tensor(Shape shape, std::mt19937& gen) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Tensor t(DType::kF32, std::move(shape));
  for (auto& e : t.span<float>()) e = dist(gen);
  return t;
}

}  // namespace

TEST(Gemm, HandComputed) {
  Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from_vector<float>({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor c = Tensor::from_vector<float>({2}, {1, -1});  // broadcast along rows
  Tensor y = ops::evaluate(gemm_node(true), 13, {a, b, c})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 2}));
  // A*B = [[58, 64], [139, 154]]
  std::vector<float> want = {59, 63, 140, 153};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]);

  ir::Node n = gemm_node(true);
  n.attrs["alpha"] = ir::Attribute{0.5f};
  n.attrs["beta"] = ir::Attribute{2.0f};
  n.attrs["transA"] = ir::Attribute{int64_t{1}};
  n.attrs["transB"] = ir::Attribute{int64_t{1}};
  // A' = A^T of a 3x2 A, B' = B^T of a 2x3 B: same product when fed the transposes.
  Tensor at = Tensor::from_vector<float>({3, 2}, {1, 4, 2, 5, 3, 6});
  Tensor bt = Tensor::from_vector<float>({2, 3}, {7, 9, 11, 8, 10, 12});
  Tensor col = Tensor::from_vector<float>({2, 1}, {1, 10});  // broadcast along columns
  y = ops::evaluate(n, 13, {at, bt, col})[0];
  want = {29 + 2, 32 + 2, 69.5f + 20, 77 + 20};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]);
}

TEST(Gemm, MatchesNaiveLoop) {
  std::mt19937 gen(7);
  const int64_t M = 13, N = 37, K = 300;  // K spans several blocks, M is not a multiple of 4
  for (int ta = 0; ta < 2; ++ta)
    for (int tb = 0; tb < 2; ++tb)
      for (Shape cs : {Shape{}, Shape{1}, Shape{N}, Shape{M, 1}, Shape{1, N}, Shape{M, N}}) {
        Tensor A = random_tensor(ta ? Shape{K, M} : Shape{M, K}, gen);
        Tensor B = random_tensor(tb ? Shape{N, K} : Shape{K, N}, gen);
        Tensor C = random_tensor(cs, gen);
        ir::Node n = gemm_node(true);
        n.attrs["transA"] = ir::Attribute{int64_t{ta}};
        n.attrs["transB"] = ir::Attribute{int64_t{tb}};
        n.attrs["alpha"] = ir::Attribute{0.75f};
        n.attrs["beta"] = ir::Attribute{-1.5f};
        Tensor Y = ops::evaluate(n, 13, {A, B, C})[0];
        ASSERT_EQ(Y.shape(), (Shape{M, N}));
        const float* a = A.data<float>();
        const float* b = B.data<float>();
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            double acc = 0;
            for (int64_t k = 0; k < K; ++k)
              acc += double(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
            int64_t ci = 0;  // C's element for (i, j) under unidirectional broadcasting
            if (cs.size() == 1) ci = cs[0] == 1 ? 0 : j;
            if (cs.size() == 2) ci = (cs[0] == 1 ? 0 : i) * cs[1] + (cs[1] == 1 ? 0 : j);
            const double want = 0.75 * acc - 1.5 * C.data<float>()[ci];
            ASSERT_NEAR(Y.data<float>()[i * N + j], want, 1e-4 * (1 + std::abs(want)))
                << "transA " << ta << " transB " << tb << " C " << shape_str(cs);
          }
      }
}

TEST(Gemm, WithoutCAndIntegerTypes) {
  Tensor a = Tensor::from_vector<int64_t>({1, 2}, {3, -4});
  Tensor b = Tensor::from_vector<int64_t>({2, 1}, {5, 6});
  Tensor y = ops::evaluate(gemm_node(false), 13, {a, b})[0];
  ASSERT_EQ(y.dtype(), DType::kI64);
  EXPECT_EQ(y.data<int64_t>()[0], -9);
  Tensor ad = Tensor::from_vector<double>({1, 1}, {0.1});
  Tensor yd = ops::evaluate(gemm_node(false), 13, {ad, ad})[0];
  EXPECT_DOUBLE_EQ(yd.data<double>()[0], 0.1 * 0.1);
}

TEST(Gemm, BadInputsNameTheNode) {
  auto expect_error = [](ir::Node n, std::vector<Tensor> in, const std::string& fragment) {
    try {
      ops::evaluate(n, 13, in);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const UserError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("fc1000"), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  Tensor a(DType::kF32, {2, 3}), b(DType::kF32, {4, 5});
  expect_error(gemm_node(false), {a, b}, "inner");
  expect_error(gemm_node(false), {Tensor(DType::kF32, {2, 3, 1}), b}, "matrix");
  expect_error(gemm_node(true), {a, Tensor(DType::kF32, {3, 5}), Tensor(DType::kF32, {3})},
               "broadcast");
  EXPECT_THROW(ops::evaluate(gemm_node(false), 13,
                             {Tensor(DType::kF16, {1, 1}), Tensor(DType::kF16, {1, 1})}),
               UnsupportedError);
}

TEST(Gemm, CostIsMNK) {
  const ops::OpDef* def = ops::find_op("", "Gemm");
  ir::Node n = gemm_node(true);
  n.attrs["transB"] = ir::Attribute{int64_t{1}};
  // ResNet-50's classifier: 1x2048 times 2048x1000 (stored transposed).
  ops::Work w = def->cost(ops::CostContext{n, {{1, 2048}, {1000, 2048}, {1000}}, {{1, 1000}}});
  EXPECT_EQ(w.macs, 2048000);
  n.attrs["transA"] = ir::Attribute{int64_t{1}};
  w = def->cost(ops::CostContext{n, {{64, 8}, {16, 64}, {}}, {{8, 16}}});
  EXPECT_EQ(w.macs, 8 * 16 * 64);
}
