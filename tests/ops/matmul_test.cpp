// MatMul against hand-computed products and a naive loop over numpy's rules: 1-D
// promotion and batch broadcasting.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "frugal/ops/op.h"

using namespace frugal;

namespace {

ir::Node matmul_node() {
  return ir::Node{.name = "qk", .op_type = "MatMul", .inputs = {"a", "b"}, .outputs = {"y"}};
}

Tensor random_tensor(Shape shape, std::mt19937& gen) {
  std::uniform_real_distribution<float> dist(-1.f, 1.f);
  Tensor t(DType::kF32, std::move(shape));
  for (auto& e : t.span<float>()) e = dist(gen);
  return t;
}

}  // namespace

TEST(MatMul, HandComputed2D) {
  Tensor a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor b = Tensor::from_vector<float>({3, 2}, {7, 8, 9, 10, 11, 12});
  Tensor y = ops::evaluate(matmul_node(), 13, {a, b})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 2}));
  std::vector<float> want = {58, 64, 139, 154};
  for (int i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(y.data<float>()[i], want[i]);
}

TEST(MatMul, OneDimensionalOperands) {
  Tensor v = Tensor::from_vector<float>({3}, {1, 2, 3});
  Tensor m = Tensor::from_vector<float>({3, 2}, {1, 0, 0, 1, 1, 1});
  Tensor y = ops::evaluate(matmul_node(), 13, {v, m})[0];  // vector x matrix -> (2)
  ASSERT_EQ(y.shape(), (Shape{2}));
  EXPECT_FLOAT_EQ(y.data<float>()[0], 4);
  EXPECT_FLOAT_EQ(y.data<float>()[1], 5);
  Tensor mt = Tensor::from_vector<float>({2, 3}, {1, 0, 1, 0, 1, 1});
  y = ops::evaluate(matmul_node(), 13, {mt, v})[0];  // matrix x vector -> (2)
  ASSERT_EQ(y.shape(), (Shape{2}));
  EXPECT_FLOAT_EQ(y.data<float>()[0], 4);
  EXPECT_FLOAT_EQ(y.data<float>()[1], 5);
  y = ops::evaluate(matmul_node(), 13, {v, v})[0];  // dot product -> scalar
  ASSERT_EQ(y.shape(), Shape{});
  EXPECT_FLOAT_EQ(y.data<float>()[0], 14);
  // A batched matrix times a vector keeps the batch.
  Tensor batched = Tensor::from_vector<float>({2, 1, 3}, {1, 1, 1, 2, 2, 2});
  y = ops::evaluate(matmul_node(), 13, {batched, v})[0];
  ASSERT_EQ(y.shape(), (Shape{2, 1}));
  EXPECT_FLOAT_EQ(y.data<float>()[0], 6);
  EXPECT_FLOAT_EQ(y.data<float>()[1], 12);
}

TEST(MatMul, BatchBroadcastingMatchesNaiveLoop) {
  std::mt19937 gen(3);
  struct Case {
    Shape a, b, y;
  };
  for (const Case& c :
       {Case{{2, 3, 5, 7}, {2, 3, 7, 9}, {2, 3, 5, 9}}, Case{{5, 7}, {4, 7, 6}, {4, 5, 6}},
        Case{{3, 1, 5, 7}, {1, 2, 7, 6}, {3, 2, 5, 6}}, Case{{1, 9, 130}, {130, 11}, {1, 9, 11}},
        Case{{2, 0, 4}, {4, 3}, {2, 0, 3}}}) {
    Tensor A = random_tensor(c.a, gen), B = random_tensor(c.b, gen);
    Tensor Y = ops::evaluate(matmul_node(), 13, {A, B})[0];
    ASSERT_EQ(Y.shape(), c.y);
    const int64_t M = c.a[c.a.size() - 2], K = c.a.back(), N = c.b.back();
    // Batch index -> per-operand batch index, right-aligned, size-1 dims broadcast.
    const Shape yb(c.y.begin(), c.y.end() - 2);
    const Shape ab(c.a.begin(), c.a.end() - 2), bb(c.b.begin(), c.b.end() - 2);
    int64_t batches = 1;
    for (int64_t d : yb) batches *= d;
    for (int64_t bi = 0; bi < batches; ++bi) {
      std::vector<int64_t> idx(yb.size());
      for (int64_t r = bi, d = int64_t(yb.size()) - 1; d >= 0; --d) {
        idx[d] = r % yb[d];
        r /= yb[d];
      }
      auto flat = [&](const Shape& s) {
        int64_t f = 0;
        for (size_t d = 0; d < s.size(); ++d) {
          const int64_t i = idx[yb.size() - s.size() + d];
          f = f * s[d] + (s[d] == 1 ? 0 : i);
        }
        return f;
      };
      const float* a = A.data<float>() + flat(ab) * M * K;
      const float* b = B.data<float>() + flat(bb) * K * N;
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) {
          double acc = 0;
          for (int64_t k = 0; k < K; ++k) acc += double(a[i * K + k]) * b[k * N + j];
          ASSERT_NEAR(Y.data<float>()[(bi * M + i) * N + j], acc, 1e-4 * (1 + std::abs(acc)))
              << shape_str(c.a) << " x " << shape_str(c.b);
        }
    }
  }
}

TEST(MatMul, IntegerAndDouble) {
  Tensor a = Tensor::from_vector<int32_t>({1, 2}, {3, -4});
  Tensor b = Tensor::from_vector<int32_t>({2, 2}, {5, 1, 6, 1});
  Tensor y = ops::evaluate(matmul_node(), 13, {a, b})[0];
  ASSERT_EQ(y.dtype(), DType::kI32);
  EXPECT_EQ(y.data<int32_t>()[0], -9);
  EXPECT_EQ(y.data<int32_t>()[1], -1);
  Tensor d = Tensor::from_vector<double>({1, 1}, {0.1});
  EXPECT_DOUBLE_EQ(ops::evaluate(matmul_node(), 13, {d, d})[0].data<double>()[0], 0.1 * 0.1);
}

TEST(MatMul, BadInputsNameTheNode) {
  auto expect_error = [](std::vector<Tensor> in, const std::string& fragment) {
    try {
      ops::evaluate(matmul_node(), 13, in);
      ADD_FAILURE() << "no error for " << fragment;
    } catch (const UserError& e) {
      std::string msg = e.what();
      EXPECT_NE(msg.find("qk"), std::string::npos) << msg;
      EXPECT_NE(msg.find(fragment), std::string::npos) << msg;
    }
  };
  expect_error({Tensor(DType::kF32, {2, 3}), Tensor(DType::kF32, {4, 2})}, "inner");
  expect_error({Tensor(DType::kF32, {2, 2, 3}), Tensor(DType::kF32, {3, 3, 2})}, "broadcast");
  expect_error({Tensor::scalar<float>(1), Tensor(DType::kF32, {3})}, "rank");
  expect_error({Tensor(DType::kF32, {2, 3}), Tensor(DType::kF64, {3, 2})}, "dtype");
}

TEST(MatMul, CostIsBatchMNK) {
  const ops::OpDef* def = ops::find_op("", "MatMul");
  ir::Node n = matmul_node();
  ops::Work w =
      def->cost(ops::CostContext{n, {{8, 12, 64, 32}, {8, 12, 32, 64}}, {{8, 12, 64, 64}}});
  EXPECT_EQ(w.macs, int64_t{8} * 12 * 64 * 64 * 32);
  w = def->cost(ops::CostContext{n, {{32}, {32, 10}}, {{10}}});
  EXPECT_EQ(w.macs, 320);
}
