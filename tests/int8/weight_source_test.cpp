// cpu:int8's weights quantized from a QDQ file's 8-bit values (quantize_source_rows,
// kernels/cpu/int8_quant.h) against quantize_finite_rows of the float32 weights they
// dequantize to, which the kernels quantized before: bit for bit (scales and values) over
// int8 / uint8 sources, one scale per tensor or per row, zero points, rows as the first
// axis or as columns (Gemm transB=0, MatMul), rows short enough to be computed value by
// value and long enough for a table, scales that reproduce the file's grid (then the
// source's values are shared) and scales that do not.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "frugal/kernels/cpu/int8_quant.h"
#include "frugal/ops/dequantize.h"

using namespace frugal;
using kernels::cpu::ChannelQuant;

namespace {

// [k, n] -> [n, k].
Tensor transpose_2d(const Tensor& w) {
  const int64_t k = w.dim(0), n = w.dim(1);
  Tensor t(DType::kF32, {n, k});
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) t.data<float>()[j * k + i] = w.data<float>()[i * n + j];
  return t;
}

enum class Scales { kFilesGrid, kRandom };

struct Case {
  DType type;
  bool per_row, zero_points, transposed;
  int64_t rows, row_size;
  Scales scales;
  int span;  // values drawn from [-span, span] around the middle of the type's range
};

std::string describe(const Case& c) {
  return std::string(dtype_name(c.type)) + (c.per_row ? " per row" : " per tensor") +
         (c.zero_points ? " zp" : "") + (c.transposed ? " transposed" : "") + " rows " +
         std::to_string(c.rows) + "x" + std::to_string(c.row_size) +
         (c.scales == Scales::kFilesGrid ? " file's grid" : " random scales") + " span " +
         std::to_string(c.span);
}

// The source of one case: its values, and a weight as the QDQ import makes it.
ops::WeightSource make_source(const Case& c, uint32_t seed) {
  std::mt19937 rng(seed);
  const bool s8 = c.type == DType::kI8;
  const int mid = s8 ? 0 : 128;
  const Shape shape = c.transposed ? Shape{c.row_size, c.rows} : Shape{c.rows, c.row_size};
  const int64_t params = c.per_row ? c.rows : 1;
  ops::WeightSource s{Tensor(c.type, shape), Tensor(DType::kF32, {params}), Tensor(),
                      c.per_row ? (c.transposed ? 1 : 0) : -1};
  std::uniform_int_distribution<int> value(mid - c.span, mid + c.span);
  for (int64_t i = 0; i < s.values.numel(); ++i) {
    const int v = std::clamp(value(rng), s8 ? -128 : 0, s8 ? 127 : 255);
    if (s8)
      s.values.data<int8_t>()[i] = static_cast<int8_t>(v);
    else
      s.values.data<uint8_t>()[i] = static_cast<uint8_t>(v);
  }
  std::uniform_real_distribution<float> scale(1e-4f, 0.2f);
  for (int64_t p = 0; p < params; ++p) s.scale.data<float>()[p] = scale(rng);
  if (c.zero_points) {
    s.zero_point = Tensor(c.type, {params});
    std::uniform_int_distribution<int> zp(-3, 3);
    for (int64_t p = 0; p < params; ++p) {
      if (s8)
        s.zero_point.data<int8_t>()[p] = static_cast<int8_t>(zp(rng));
      else
        s.zero_point.data<uint8_t>()[p] = static_cast<uint8_t>(128 + zp(rng));
    }
  }
  if (c.scales == Scales::kFilesGrid && s8 && !c.transposed) {
    // Each row symmetric with a largest |q| of 127, as frugal quantize writes its weights.
    for (int64_t r = 0; r < c.rows; ++r) {
      int8_t* row = s.values.data<int8_t>() + r * c.row_size;
      for (int64_t i = 0; i < c.row_size; ++i) row[i] = std::max<int8_t>(row[i], -127);
      row[(r * 7) % c.row_size] = r % 2 ? 127 : -127;
    }
  }
  return s;
}

Tensor dequantized(const ops::WeightSource& s) {
  Tensor y(DType::kF32, s.values.shape());
  ops::dequantize_into(s.values, s.scale, s.zero_point.defined() ? &s.zero_point : nullptr, s.axis,
                       y);
  return y;
}

void expect_same(const std::optional<ChannelQuant>& got, const std::optional<ChannelQuant>& want,
                 const std::string& what) {
  ASSERT_EQ(got.has_value(), want.has_value()) << what;
  if (!want) return;
  ASSERT_EQ(got->scales.size(), want->scales.size()) << what;
  for (size_t r = 0; r < want->scales.size(); ++r)
    ASSERT_EQ(std::bit_cast<uint32_t>(got->scales[r]), std::bit_cast<uint32_t>(want->scales[r]))
        << what << " row " << r;
  ASSERT_EQ(got->values.shape(), want->values.shape()) << what;
  ASSERT_EQ(std::memcmp(got->values.raw(), want->values.raw(), want->values.nbytes()), 0) << what;
}

}  // namespace

TEST(Int8WeightSource, MatchesQuantizingTheDequantizedWeights) {
  uint32_t seed = 1;
  int cases = 0, shared = 0;
  for (DType type : {DType::kI8, DType::kU8})
    for (bool per_row : {true, false})
      for (bool zero_points : {false, true})
        for (bool transposed : {false, true})
          for (auto [rows, row_size] : {std::pair<int64_t, int64_t>{1, 1}, {16, 9}, {8, 300}})
            for (Scales scales : {Scales::kFilesGrid, Scales::kRandom})
              for (int span : {3, 127, 200}) {
                const Case c{type, per_row, zero_points, transposed, rows, row_size, scales, span};
                const ops::WeightSource s = make_source(c, seed++);
                const Tensor y = dequantized(s);
                const auto want =
                    kernels::cpu::quantize_finite_rows(transposed ? transpose_2d(y) : y, rows);
                const auto got = kernels::cpu::quantize_source_rows(s, rows, transposed);
                expect_same(got, want, describe(c));
                ++cases;
                if (got && got->values.raw() == s.values.raw()) {
                  ++shared;
                  EXPECT_TRUE(type == DType::kI8 && !transposed) << describe(c);
                }
              }
  EXPECT_EQ(cases, 288);
  // The file's grid, int8, rows first, no zero point: every such case shares its values.
  EXPECT_GE(shared, 3 * 3 * 2);
}

// Where the table would not reproduce the float32 path it declines, and the caller
// quantizes the float32 weights: parameters along another axis than the rows, a scale
// that is not finite; and a value that dequantizes to infinity makes both decline.
TEST(Int8WeightSource, DeclinesWhatItDoesNotReproduce) {
  const Case c{DType::kI8, true, false, false, 4, 6, Scales::kRandom, 100};
  ops::WeightSource s = make_source(c, 3);
  ASSERT_TRUE(kernels::cpu::quantize_source_rows(s, 4, false).has_value());
  EXPECT_FALSE(kernels::cpu::quantize_source_rows(s, 4, true).has_value());   // axis 0 as columns
  EXPECT_FALSE(kernels::cpu::quantize_source_rows(s, 6, false).has_value());  // other rows
  for (float bad :
       {std::numeric_limits<float>::infinity(), std::numeric_limits<float>::quiet_NaN()}) {
    ops::WeightSource b = s;
    b.scale = s.scale.clone();
    b.scale.data<float>()[2] = bad;
    EXPECT_FALSE(kernels::cpu::quantize_source_rows(b, 4, false).has_value());
  }
  ops::WeightSource huge = s;
  huge.values = s.values.clone();
  huge.values.data<int8_t>()[6] = 100;
  huge.scale = s.scale.clone();
  huge.scale.data<float>()[1] = 1e37f;  // 100 * 1e37 overflows float32
  EXPECT_FALSE(kernels::cpu::quantize_finite_rows(dequantized(huge), 4).has_value());
  EXPECT_FALSE(kernels::cpu::quantize_source_rows(huge, 4, false).has_value());
}

// weight_source answers only for the very tensor it was attached with.
TEST(Int8WeightSource, FoundOnlyForTheTensorItDescribes) {
  const Case c{DType::kI8, true, false, false, 4, 6, Scales::kRandom, 100};
  const ops::WeightSource s = make_source(c, 4);
  const Tensor y = dequantized(s);
  ir::Node conv;
  conv.op_type = "Conv";
  EXPECT_FALSE(ops::weight_source(conv, y).has_value());
  ops::attach_weight_source(conv, s, y);
  const auto found = ops::weight_source(conv, y);
  ASSERT_TRUE(found.has_value());
  EXPECT_EQ(found->values.raw(), s.values.raw());
  EXPECT_EQ(found->axis, 0);
  EXPECT_FALSE(found->zero_point.defined());
  EXPECT_FALSE(ops::weight_source(conv, y.clone()).has_value());  // rewritten by a pass
}
