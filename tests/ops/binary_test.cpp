#include <cstdint>
#include <limits>

#include "elementwise_testing.h"

using namespace frugal;
using namespace frugal::elementwise_testing;

namespace {

// Flat index into `in` of the element that numpy broadcasting pairs with flat output
// index `i` of `out`: computed from the multi-index, independently of the kernels' walker.
int64_t naive_broadcast_index(const Shape& in, const Shape& out, int64_t i) {
  std::vector<int64_t> idx(out.size());
  for (size_t d = out.size(); d-- > 0;) {
    idx[d] = i % out[d];
    i /= out[d];
  }
  int64_t flat = 0;
  const size_t lead = out.size() - in.size();
  for (size_t d = 0; d < in.size(); ++d) flat = flat * in[d] + (in[d] == 1 ? 0 : idx[lead + d]);
  return flat;
}

Tensor iota(const Shape& shape, float start, float step) {
  Tensor t(DType::kF32, shape);
  float* p = t.data<float>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = start + step * static_cast<float>(i);
  return t;
}

}  // namespace

TEST(Add, SameShapeFloat) {
  auto y = run("Add", {Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4}),
                       Tensor::from_vector<float>({2, 2}, {10, 20, 30, 40})});
  EXPECT_EQ(y.shape(), (Shape{2, 2}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{11, 22, 33, 44}));
}

TEST(Add, BroadcastsRowAndColumn) {
  // [2,1] + [3] -> [2,3]
  auto y = run("Add", {Tensor::from_vector<float>({2, 1}, {10, 20}),
                       Tensor::from_vector<float>({3}, {1, 2, 3})});
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{11, 12, 13, 21, 22, 23}));
}

TEST(Sub, ScalarOnEitherSide) {
  auto x = Tensor::from_vector<float>({3}, {1, 2, 3});
  EXPECT_EQ(values<float>(run("Sub", {x, Tensor::scalar<float>(1)})),
            (std::vector<float>{0, 1, 2}));
  EXPECT_EQ(values<float>(run("Sub", {Tensor::scalar<float>(1), x})),
            (std::vector<float>{0, -1, -2}));
}

TEST(Sub, BroadcastMatchesNaiveIndexing) {
  const std::vector<std::pair<Shape, Shape>> cases = {{{2, 3, 4}, {4}},
                                                      {{2, 3, 4}, {3, 1}},
                                                      {{2, 1, 4}, {3, 1}},
                                                      {{1}, {2, 3}},
                                                      {{2, 3, 1, 5}, {3, 4, 1}},
                                                      {{4, 1, 1}, {1, 3, 2}},
                                                      {{2, 3, 4}, {2, 1, 4}},
                                                      {{1, 1, 5}, {5}},
                                                      {{3, 1, 2, 1}, {1, 4, 1, 6}},
                                                      {{}, {2, 2}},
                                                      {{2, 2}, {}},
                                                      {{1, 3}, {2, 1}}};
  for (const auto& [sa, sb] : cases) {
    Tensor a = iota(sa, 0.5f, 1.0f), b = iota(sb, 1000.0f, 7.0f);
    Tensor y = run("Sub", {a, b});
    // Expected output shape, worked out by hand per the numpy rule.
    Shape out(std::max(sa.size(), sb.size()), 1);
    for (size_t d = 0; d < sa.size(); ++d) out[out.size() - sa.size() + d] = sa[d];
    for (size_t d = 0; d < sb.size(); ++d) {
      auto& o = out[out.size() - sb.size() + d];
      o = std::max(o, sb[d]);
    }
    ASSERT_EQ(y.shape(), out) << shape_str(sa) << " - " << shape_str(sb);
    for (int64_t i = 0; i < y.numel(); ++i) {
      float want = a.data<float>()[naive_broadcast_index(sa, out, i)] -
                   b.data<float>()[naive_broadcast_index(sb, out, i)];
      ASSERT_EQ(y.data<float>()[i], want) << shape_str(sa) << " - " << shape_str(sb) << " at " << i;
    }
  }
}

TEST(Add, EmptyTensorBroadcast) {
  auto y = run("Add", {Tensor(DType::kF32, {0, 3}), Tensor::from_vector<float>({3}, {1, 2, 3})});
  EXPECT_EQ(y.shape(), (Shape{0, 3}));
  EXPECT_EQ(y.numel(), 0);
}

TEST(Add, IntegerOverflowWraps) {
  auto y = run("Add", {Tensor::from_vector<int32_t>({2}, {std::numeric_limits<int32_t>::max(), -5}),
                       Tensor::from_vector<int32_t>({2}, {1, 3})});
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{std::numeric_limits<int32_t>::min(), -2}));
  auto z = run("Mul", {Tensor::from_vector<uint8_t>({2}, {200, 7}), Tensor::scalar<uint8_t>(2)});
  EXPECT_EQ(values<uint8_t>(z), (std::vector<uint8_t>{144, 14}));  // 400 mod 256
  auto w = run("Mul", {Tensor::from_vector<uint16_t>({1}, {65535}),
                       Tensor::from_vector<uint16_t>({1}, {65535})});
  EXPECT_EQ(values<uint16_t>(w), (std::vector<uint16_t>{1}));  // (2^16-1)^2 mod 2^16
}

TEST(Div, IntegerTruncatesTowardZero) {
  auto y = run("Div", {Tensor::from_vector<int32_t>({4}, {7, -7, 7, -7}),
                       Tensor::from_vector<int32_t>({4}, {2, 2, -2, -2})});
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{3, -3, -3, 3}));
}

TEST(Div, IntegerEdgeCasesDoNotTrap) {
  const int64_t lo = std::numeric_limits<int64_t>::min();
  auto y = run("Div", {Tensor::from_vector<int64_t>({3}, {5, lo, 9}),
                       Tensor::from_vector<int64_t>({3}, {0, -1, -3})});
  EXPECT_EQ(values<int64_t>(y), (std::vector<int64_t>{0, lo, -3}));
}

TEST(Div, FloatAndDouble) {
  auto y = run("Div", {Tensor::from_vector<float>({3}, {1, -3, 1}),
                       Tensor::from_vector<float>({3}, {4, 2, 0})});
  expect_near(y, {0.25, -1.5, std::numeric_limits<double>::infinity()});
  auto z = run("Div", {Tensor::from_vector<double>({1}, {1}), Tensor::scalar<double>(3)});
  EXPECT_EQ(z.dtype(), DType::kF64);
  EXPECT_DOUBLE_EQ(z.data<double>()[0], 1.0 / 3.0);
}

TEST(Pow, FloatBroadcast) {
  auto y = run("Pow", {Tensor::from_vector<float>({2, 2}, {1, 2, 3, 4}),
                       Tensor::from_vector<float>({2}, {2, 0.5f})});
  expect_near(y, {1, std::sqrt(2.0), 9, 2});
}

TEST(Pow, IntegerExponentsExact) {
  auto y = run("Pow", {Tensor::from_vector<int32_t>({3}, {2, 3, -2}),
                       Tensor::from_vector<int32_t>({3}, {10, 3, 3})});
  EXPECT_EQ(values<int32_t>(y), (std::vector<int32_t>{1024, 27, -8}));
  // 3^39 = 4052555153018976267 needs all 63 bits: a double-based pow would lose it.
  auto z = run("Pow", {Tensor::from_vector<int64_t>({1}, {3}), Tensor::scalar<int64_t>(39)});
  EXPECT_EQ(values<int64_t>(z), (std::vector<int64_t>{4052555153018976267LL}));
  // Negative exponents: truncated reciprocals.
  auto w = run("Pow", {Tensor::from_vector<int32_t>({4}, {2, 1, -1, -1}),
                       Tensor::from_vector<int32_t>({4}, {-1, -5, -3, -2})});
  EXPECT_EQ(values<int32_t>(w), (std::vector<int32_t>{0, 1, -1, 1}));
}

TEST(Pow, MixedTypesKeepBaseType) {
  auto y = run(
      "Pow", {Tensor::from_vector<float>({2}, {2, 3}), Tensor::from_vector<int64_t>({2}, {3, -1})});
  EXPECT_EQ(y.dtype(), DType::kF32);
  expect_near(y, {8, 1.0 / 3});
  auto z = run("Pow", {Tensor::from_vector<int32_t>({2}, {2, 9}),
                       Tensor::from_vector<float>({2}, {0.5f, 0.5f})});
  EXPECT_EQ(z.dtype(), DType::kI32);
  EXPECT_EQ(values<int32_t>(z), (std::vector<int32_t>{1, 3}));  // trunc(1.414), 3
}

TEST(Pow, MixedTypesRejectedBeforeOpset12) {
  expect_user_error([] {
    run("Pow", {Tensor::from_vector<float>({1}, {2}), Tensor::from_vector<int64_t>({1}, {3})}, {},
        11);
  });
}

TEST(Add, LegacyBroadcastWithAxis) {
  // Opset 6, broadcast=1, axis=0: B [2] lines up with A's dimension 0.
  auto a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto b = Tensor::from_vector<float>({2}, {10, 20});
  auto y = run("Add", {a, b}, {{"broadcast", attr_int(1)}, {"axis", attr_int(0)}}, 6);
  EXPECT_EQ(y.shape(), (Shape{2, 3}));
  EXPECT_EQ(values<float>(y), (std::vector<float>{11, 12, 13, 24, 25, 26}));
  // Without axis: suffix matching.
  auto c = Tensor::from_vector<float>({3}, {10, 20, 30});
  auto z = run("Add", {a, c}, {{"broadcast", attr_int(1)}}, 6);
  EXPECT_EQ(values<float>(z), (std::vector<float>{11, 22, 33, 14, 25, 36}));
}

TEST(Add, LegacyWithoutBroadcastNeedsEqualShapes) {
  auto a = Tensor::from_vector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  auto c = Tensor::from_vector<float>({3}, {10, 20, 30});
  expect_user_error([&] { run("Add", {a, c}, {}, 6); });
  // The same inputs broadcast under numpy rules from opset 7.
  EXPECT_EQ(run("Add", {a, c}, {}, 7).shape(), (Shape{2, 3}));
}

TEST(Add, IncompatibleShapesNameTheNode) {
  expect_user_error([] { run("Add", {Tensor(DType::kF32, {2, 3}), Tensor(DType::kF32, {4})}); });
}

TEST(Add, DtypeErrors) {
  // Different dtypes: invalid model.
  expect_user_error([] { run("Add", {Tensor(DType::kF32, {2}), Tensor(DType::kF64, {2})}); });
  // bool is not an arithmetic type: invalid model.
  expect_user_error([] { run("Add", {Tensor(DType::kBool, {2}), Tensor(DType::kBool, {2})}); });
  // float16 is valid ONNX that the reference kernels decline.
  expect_user_error([] { run("Add", {Tensor(DType::kF16, {2}), Tensor(DType::kF16, {2})}); }, true);
}
