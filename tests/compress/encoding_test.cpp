// Huffman codes and tensor encodings: optimal code lengths on known counts, the length
// limit, and every encoding round-tripping bit-exactly (sparse with fillers, codebooks,
// raw floats, -0.0, integer dtypes, all-zero tensors) with the size the plan predicted.
#include <gtest/gtest.h>

#include <cstring>

#include "frugal/compress/huffman.h"
#include "frugal/compress/weight_encoding.h"
#include "frugal/core/error.h"
#include "frugal/core/rng.h"

using namespace frugal;
using namespace frugal::compress;

namespace {

void expect_round_trip(const Tensor& t, const EncodeOptions& o = {}) {
  const TensorEncoding plan = plan_encoding(t, o);
  const auto bytes = encode_tensor(t, plan);
  // The streams hold what the plan priced, plus a fixed header of at most 32 bytes.
  EXPECT_LE(bytes.size(), static_cast<size_t>(plan.bytes()) + 32 + 2 * 3) << plan.describe();
  const Tensor back = decode_tensor(bytes.data(), bytes.size(), t.dtype(), t.shape(), "t");
  ASSERT_EQ(back.nbytes(), t.nbytes());
  EXPECT_EQ(std::memcmp(back.raw(), t.raw(), t.nbytes()), 0) << plan.describe();
}

Tensor clustered_sparse(int64_t n, double density, int k, uint64_t seed) {
  Tensor t(DType::kF32, {n});
  const Philox r(seed);
  for (int64_t i = 0; i < n; ++i)
    t.data<float>()[i] =
        r.uniform(2 * static_cast<uint64_t>(i)) < density
            ? 0.01f * static_cast<float>(1 + r.u32(2 * static_cast<uint64_t>(i) + 1) %
                                                 static_cast<uint32_t>(k))
            : 0.0f;
  return t;
}

}  // namespace

TEST(Huffman, LengthsOfKnownCounts) {
  const std::vector<uint64_t> counts{45, 13, 12, 16, 9, 5};  // CLRS 16.3
  const auto l = huffman_lengths(counts);
  EXPECT_EQ(l, (std::vector<uint8_t>{1, 3, 3, 3, 4, 4}));
  EXPECT_EQ(huffman_bits(counts, l), 224u);
  EXPECT_EQ(huffman_lengths(std::vector<uint64_t>{0, 7, 0}), (std::vector<uint8_t>{0, 1, 0}));
}

TEST(Huffman, LengthLimitAndRoundTrip) {
  std::vector<uint64_t> fib{1, 1};
  while (fib.size() < 40) fib.push_back(fib[fib.size() - 1] + fib[fib.size() - 2]);
  const auto l = huffman_lengths(fib);
  for (auto x : l) EXPECT_LE(x, kMaxCodeLength);
  const HuffmanCode code(l, "fib");
  BitWriter w;
  for (uint32_t s = 0; s < fib.size(); ++s) code.encode(w, s);
  const auto bytes = w.finish();
  BitReader r(bytes.data(), bytes.size(), "fib");
  for (uint32_t s = 0; s < fib.size(); ++s) EXPECT_EQ(code.decode(r), s);
  EXPECT_THROW(HuffmanCode(std::vector<uint8_t>{1, 1, 1}, "bad"), UserError);  // not a prefix code
}

TEST(WeightEncoding, SparseClusteredUsesIndicesCodebookAndHuffman) {
  const Tensor t = clustered_sparse(20000, 0.08, 20, 3);
  const TensorEncoding p = plan_encoding(t);
  EXPECT_GT(p.index_bits, 0);
  EXPECT_TRUE(p.codebook);
  EXPECT_EQ(p.book.size(), 21u);            // 20 values and the zero
  EXPECT_LT(p.total_bits(), p.fixed_bits);  // Huffman saved something on skewed gaps
  EXPECT_LT(p.bytes(), static_cast<int64_t>(t.nbytes()) / 20);
  expect_round_trip(t);
  for (int b : {1, 2, 3, 8}) expect_round_trip(t, {true, b});  // fillers at narrow widths
  expect_round_trip(t, {false, 0});
}

TEST(WeightEncoding, RawFloatsNegativeZeroAndOtherDtypes) {
  Tensor f(DType::kF32, {7, 13});
  const Philox r(9);
  for (int64_t i = 0; i < f.numel(); ++i) f.data<float>()[i] = r.normal(static_cast<uint64_t>(i));
  f.data<float>()[3] = -0.0f;
  f.data<float>()[5] = 0.0f;
  EXPECT_FALSE(plan_encoding(f).codebook);
  expect_round_trip(f);
  Tensor neg = Tensor::from_vector<float>({4}, {-0.0f, 0.0f, 0.0f, 0.0f});
  expect_round_trip(neg);
  Tensor i8(DType::kI8, {300});
  for (int64_t i = 0; i < 300; ++i)
    i8.data<int8_t>()[i] = static_cast<int8_t>(i % 15 - 7);  // int4 values
  EXPECT_EQ(plan_encoding(i8).value_bits, 4);
  expect_round_trip(i8);
  Tensor i64 = Tensor::from_vector<int64_t>({5}, {1, -1, int64_t{1} << 40, 0, 7});
  expect_round_trip(i64);
  expect_round_trip(Tensor(DType::kF32, {0}));
  Tensor zero(DType::kF32, {1000});
  std::memset(zero.raw(), 0, zero.nbytes());
  expect_round_trip(zero);
  EXPECT_LE(plan_encoding(zero).bytes(), 1000 / 8 + 8);
}

TEST(WeightEncoding, DamagedStreamsAreUserErrors) {
  const Tensor t = clustered_sparse(500, 0.2, 5, 1);
  const auto bytes = encode_tensor(t, plan_encoding(t));
  for (size_t cut : {size_t{0}, size_t{2}, bytes.size() / 2, bytes.size() - 1})
    EXPECT_THROW(decode_tensor(bytes.data(), cut, t.dtype(), t.shape(), "t"), UserError) << cut;
  auto bad = bytes;
  bad[1] = 99;  // value bits
  EXPECT_THROW(decode_tensor(bad.data(), bad.size(), t.dtype(), t.shape(), "t"), UserError);
}
