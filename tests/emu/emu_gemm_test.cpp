// emu_gemm against independent simulations of the same rounding sequence: sums exact in long
// double (64-bit significand; the inputs are chosen so that every sum fits), rounded by
// picking a neighbour from the sorted list of the format's finite values. Also the vectorized
// kernel against numeric::dot for inputs whose sums do not fit, binary32 against a plain FMA
// loop, and a hand-computed stall of fp16 accumulation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/core/rng.h"
#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/numeric/expansions.h"
#include "frugal/numeric/quantize.h"

using namespace frugal;
using namespace frugal::kernels::emu;
using numeric::NumberFormat;
using numeric::Rounding;
using numeric::RoundingMode;

namespace {

// The top R bits of a random word.
uint32_t top_bits(uint32_t word, int r) {
  return r >= 32 ? word : word >> (32 - r);
}

// Rounds x to `format` by looking up its neighbours among the finite values (no overflow in
// these tests: x must lie within the finite range).
class TableRounder {
 public:
  explicit TableRounder(const NumberFormat& f) : f_(f), values_(numeric::finite_values(f)) {}
  long double round(long double x, RoundingMode mode, uint32_t rnd, int bits) const {
    EXPECT_TRUE(x >= values_.front() && x <= values_.back()) << "overflow in a test: " << double(x);
    auto it = std::lower_bound(values_.begin(), values_.end(), x,
                               [](double v, long double y) { return v < y; });
    if (*it == x) return x;
    const long double hi = *it, lo = *(it - 1);
    switch (mode) {
      case RoundingMode::kNearestEven:
      case RoundingMode::kNearestAway: {
        const long double dl = x - lo, dh = hi - x;
        if (dl != dh) return dl < dh ? lo : hi;
        if (mode == RoundingMode::kNearestAway) return std::fabs(lo) > std::fabs(hi) ? lo : hi;
        return (numeric::encode(f_, static_cast<double>(lo)) & 1) == 0 ? lo : hi;
      }
      case RoundingMode::kTowardZero: return x > 0 ? lo : hi;
      case RoundingMode::kUp: return hi;
      case RoundingMode::kDown: return lo;
      case RoundingMode::kStochastic: {
        // Away from zero when rnd + floor(f * 2^R) carries out of R bits, f the fraction of
        // the way from the smaller to the larger magnitude.
        const long double small = x > 0 ? lo : hi, large = x > 0 ? hi : lo;
        const long double f = (std::fabs(x) - std::fabs(small)) / (std::fabs(large) - std::fabs(small));
        const uint64_t fl = static_cast<uint64_t>(std::floor(std::ldexp(f, bits)));
        return uint64_t{rnd} + fl >= (uint64_t{1} << bits) ? large : small;
      }
    }
    return x;
  }

 private:
  NumberFormat f_;
  std::vector<double> values_;
};

// The rounding sequence of emu_gemm.h for C = A * B (A M x K, B K x N, both row-major).
std::vector<float> simulate(const std::vector<float>& A, const std::vector<float>& B, int64_t M,
                            int64_t N, int64_t K, const Accumulator& acc) {
  TableRounder r(acc.format);
  Philox philox(acc.rounding.seed);
  const int64_t N4 = (N + 3) / 4 * 4;
  std::vector<float> C(static_cast<size_t>(M * N));
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      auto add = [&](long double s, long double t, int64_t step) {
        const long double sum = s + t;
        EXPECT_EQ(sum - s, t) << "sum not exact in long double: choose other test inputs";
        uint32_t rnd = 0;
        if (acc.rounding.mode == RoundingMode::kStochastic)
          rnd = top_bits(
              philox.u32(static_cast<uint64_t>((step * M + i) * N4 + j)), acc.rounding.random_bits);
        return r.round(sum, acc.rounding.mode, rnd, acc.rounding.random_bits);
      };
      long double total = 0, part = 0;
      int64_t chunks = 0;
      for (int64_t p = 0; p < K; ++p) {
        const long double prod = static_cast<long double>(A[i * K + p]) * B[p * N + j];
        if (acc.chunk == 0) {
          total = add(total, prod, p + 1);
        } else {
          part = add(part, prod, p + 1);
          if ((p + 1) % acc.chunk == 0) {
            total = add(total, part, K + 1 + chunks++);
            part = 0;
          }
        }
      }
      if (acc.chunk > 0) total = add(total, part, K + 1 + chunks);
      C[i * N + j] = static_cast<float>(total);
    }
  return C;
}

// Values of `format` (random, magnitudes within [2^-4, 2^4]).
std::vector<float> random_values(int64_t n, const NumberFormat& format, uint64_t seed) {
  Philox rng(seed);
  std::vector<float> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const float mag = std::ldexp(1.0f + rng.uniform(2 * i), static_cast<int>(rng.u32(2 * i + 1) % 8) - 4);
    v[i] = (rng.u32(2 * i + 1) >> 16 & 1) ? -mag : mag;
  }
  numeric::quantize(v, v, format, Rounding::nearest_even());
  return v;
}

Accumulator make_acc(const char* format, RoundingMode mode, int chunk, uint64_t seed = 0) {
  Accumulator a;
  a.format = numeric::parse_format(format);
  a.rounding = mode == RoundingMode::kStochastic ? Rounding::stochastic(seed) : Rounding::of(mode);
  a.chunk = chunk;
  return a;
}

std::vector<float> run_gemm(const std::vector<float>& A, const std::vector<float>& B, int64_t M,
                            int64_t N, int64_t K, const Accumulator& acc) {
  std::vector<float> C(static_cast<size_t>(M * N), 123.0f);  // overwritten
  emu_gemm(false, false, M, N, K, A.data(), K, B.data(), N, C.data(), N, acc);
  return C;
}

int count_mismatches(const std::vector<float>& got, const std::vector<float>& want) {
  int bad = 0;
  for (size_t i = 0; i < got.size(); ++i) bad += !(got[i] == want[i]);
  return bad;
}

}  // namespace

// Every rounding mode, per-add and chunked, into fp16, bf16 and e5m2 accumulators; inputs in
// e4m3 and fp16 (every sum then fits in long double). N = 37 leaves a partial vector.
TEST(EmuGemm, MatchesLongDoubleSimulation) {
  const int64_t M = 4, N = 37, K = 45;
  const char* accs[] = {"fp16", "bf16", "e5m2", "e4m3"};
  const char* inputs[] = {"e4m3", "fp16"};
  const RoundingMode modes[] = {RoundingMode::kNearestEven, RoundingMode::kNearestAway,
                                RoundingMode::kTowardZero,  RoundingMode::kUp,
                                RoundingMode::kDown,        RoundingMode::kStochastic};
  int cases = 0;
  for (const char* in : inputs)
    for (const char* acc_name : accs) {
      const NumberFormat f = numeric::parse_format(in);
      // Small accumulators need small inputs to stay in range.
      const bool narrow = std::string(acc_name) == "e4m3" || std::string(acc_name) == "e5m2";
      if (narrow && std::string(in) == "fp16") continue;
      std::vector<float> A = random_values(M * K, f, 1), B = random_values(K * N, f, 2);
      if (std::string(acc_name) == "e4m3") {  // keep |sum| below 448
        for (auto& b : B) b = std::ldexp(b, -3);
        for (auto& a : A) a = std::ldexp(a, -2);
      }
      for (RoundingMode mode : modes)
        for (int chunk : {0, 8}) {
          const Accumulator acc = make_acc(acc_name, mode, chunk, 99);
          const auto got = run_gemm(A, B, M, N, K, acc);
          const auto want = simulate(A, B, M, N, K, acc);
          EXPECT_EQ(count_mismatches(got, want), 0)
              << "inputs " << in << " acc " << acc_name << " mode "
              << numeric::rounding_mode_name(mode) << " chunk " << chunk;
          ++cases;
        }
    }
  EXPECT_EQ(cases, 2 * 6 * 4 + 2 * 6 * 2);
}

// Ties are frequent with e4m3 products into fp16 (the binary32 sum often lies exactly on a
// midpoint): a long K and a wide N run the vectorized kernel over several strips.
TEST(EmuGemm, VectorKernelSettlesTies) {
  const int64_t M = 3, N = 150, K = 300;
  const NumberFormat f = numeric::parse_format("e4m3");
  const auto A = random_values(M * K, f, 3), B = random_values(K * N, f, 4);
  for (int chunk : {0, 32}) {
    const Accumulator acc = make_acc("fp16", RoundingMode::kNearestEven, chunk);
    EXPECT_EQ(count_mismatches(run_gemm(A, B, M, N, K, acc), simulate(A, B, M, N, K, acc)), 0)
        << "chunk " << chunk;
  }
}

// Binary32 inputs: products are not exact in binary32 and sums may not fit in long double;
// numeric::dot (element by element in double, rounded to odd) is the reference.
TEST(EmuGemm, Binary32InputsMatchDot) {
  const int64_t M = 5, N = 33, K = 200;
  Philox rng(5);
  std::vector<float> A(M * K), B(K * N);
  for (size_t i = 0; i < A.size(); ++i) A[i] = rng.normal(i);
  for (size_t i = 0; i < B.size(); ++i) B[i] = rng.normal(100000 + i);
  for (const char* acc_name : {"fp16", "bf16", "tf32", "e6m9"})
    for (int chunk : {0, 16})
      for (bool comp : {false, true}) {
        Accumulator acc = make_acc(acc_name, RoundingMode::kNearestEven, chunk);
        acc.compensated = comp;
        const auto got = run_gemm(A, B, M, N, K, acc);
        numeric::AccumulatorSpec spec;
        spec.format = acc.format;
        spec.chunk = chunk;
        spec.compensated = comp;
        int bad = 0;
        for (int64_t i = 0; i < M; ++i)
          for (int64_t j = 0; j < N; ++j) {
            std::vector<float> col(K);
            for (int64_t p = 0; p < K; ++p) col[p] = B[p * N + j];
            const float want = static_cast<float>(
                numeric::dot({A.data() + i * K, static_cast<size_t>(K)}, col, spec));
            bad += !(got[i * N + j] == want);
          }
        EXPECT_EQ(bad, 0) << acc_name << " chunk " << chunk << " comp " << comp;
      }
}

// A binary32 accumulator with nearest-even is a sequence of FMAs.
TEST(EmuGemm, Binary32AccumulatorIsFmaLoop) {
  const int64_t M = 6, N = 41, K = 130;
  Philox rng(8);
  std::vector<float> A(M * K), B(K * N);
  for (size_t i = 0; i < A.size(); ++i) A[i] = rng.normal(i);
  for (size_t i = 0; i < B.size(); ++i) B[i] = rng.normal(50000 + i);
  const auto got = run_gemm(A, B, M, N, K, make_acc("fp32", RoundingMode::kNearestEven, 0));
  std::vector<float> want(M * N);
  double worst = 0;
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      float c = 0;
      double exact = 0, mag = 0;
      for (int64_t p = 0; p < K; ++p) {
        c = std::fma(A[i * K + p], B[p * N + j], c);
        exact += static_cast<double>(A[i * K + p]) * B[p * N + j];
        mag += std::fabs(static_cast<double>(A[i * K + p]) * B[p * N + j]);
      }
      want[i * N + j] = c;
      worst = std::max(worst, std::fabs(got[i * N + j] - exact) / mag);
    }
  EXPECT_EQ(count_mismatches(got, want), 0);
  EXPECT_LE(worst, K * std::ldexp(1.0, -24));  // the classical bound for recursive summation
}

// Transposed operands and accumulate_into_c: the same numbers as the plain layout.
TEST(EmuGemm, TransposesAndInitialC) {
  const int64_t M = 7, N = 19, K = 23;
  const NumberFormat f = numeric::parse_format("e4m3");
  const auto A = random_values(M * K, f, 11), B = random_values(K * N, f, 12);
  std::vector<float> At(K * M), Bt(N * K);
  for (int64_t i = 0; i < M; ++i)
    for (int64_t p = 0; p < K; ++p) At[p * M + i] = A[i * K + p];
  for (int64_t p = 0; p < K; ++p)
    for (int64_t j = 0; j < N; ++j) Bt[j * K + p] = B[p * N + j];
  const Accumulator acc = make_acc("bf16", RoundingMode::kNearestEven, 4);
  const auto want = run_gemm(A, B, M, N, K, acc);
  std::vector<float> C(M * N);
  emu_gemm(true, true, M, N, K, At.data(), M, Bt.data(), K, C.data(), N, acc);
  EXPECT_EQ(count_mismatches(C, want), 0);

  // C starts the sum: with C = 1 and a K = 1 product of 2^-9, bf16 (8 bits) keeps 1.
  std::vector<float> one_a{std::ldexp(1.0f, -9)}, one_b{1.0f}, c{1.0f};
  emu_gemm(false, false, 1, 1, 1, one_a.data(), 1, one_b.data(), 1, c.data(), 1,
           make_acc("bf16", RoundingMode::kNearestEven, 0), true);
  EXPECT_EQ(c[0], 1.0f);
  c[0] = 1.0f;
  emu_gemm(false, false, 1, 1, 1, one_a.data(), 1, one_b.data(), 1, c.data(), 1,
           make_acc("fp16", RoundingMode::kNearestEven, 0), true);
  EXPECT_EQ(c[0], 1.0f + std::ldexp(1.0f, -9));
}

// Hand-computed: 1 followed by 1024 terms of 2^-12 (exact sum 1.25). fp16 has 10 fraction
// bits, so 1 + 2^-12 rounds back to 1 and per-add accumulation stalls at 1. With chunks of
// 32 the first chunk (1 and 31 terms) stays 1, each of the next 31 chunks sums exactly to
// 2^-7 and enters the total exactly, and the last lone term stalls: 1 + 31/128. Compensated
// accumulation keeps the lost parts in the low word: 1.25. A binary32 accumulator: 1.25.
TEST(EmuGemm, Fp16AccumulationStalls) {
  const int64_t K = 1025;
  std::vector<float> a(K, std::ldexp(1.0f, -12)), b(K, 1.0f);
  a[0] = 1.0f;
  auto run = [&](const char* fmt, int chunk, bool comp) {
    Accumulator acc = make_acc(fmt, RoundingMode::kNearestEven, chunk);
    acc.compensated = comp;
    float c = -1;
    emu_gemm(false, false, 1, 1, K, a.data(), K, b.data(), 1, &c, 1, acc);
    return c;
  };
  EXPECT_EQ(run("fp16", 0, false), 1.0f);
  EXPECT_EQ(run("fp16", 32, false), 1.0f + 31.0f / 128.0f);
  EXPECT_EQ(run("fp16", 0, true), 1.25f);
  EXPECT_EQ(run("fp32", 0, false), 1.25f);
}

// Results do not depend on the thread count.
TEST(EmuGemm, ThreadCountDoesNotMatter) {
  const int64_t M = 64, N = 70, K = 300;
  const NumberFormat f = numeric::parse_format("e5m2");
  const auto A = random_values(M * K, f, 21), B = random_values(K * N, f, 22);
  for (RoundingMode mode : {RoundingMode::kNearestEven, RoundingMode::kStochastic}) {
    const Accumulator acc = make_acc("bf16", mode, 16, 5);
    set_emu_threads(1);
    const auto one = run_gemm(A, B, M, N, K, acc);
    set_emu_threads(4);
    const auto four = run_gemm(A, B, M, N, K, acc);
    set_emu_threads(0);
    EXPECT_EQ(count_mismatches(one, four), 0);
  }
}

TEST(EmuGemm, RejectsBadAccumulators) {
  std::vector<float> a{1}, b{1}, c{0};
  Accumulator acc = make_acc("fp16", RoundingMode::kStochastic, 0, 1);
  acc.compensated = true;
  EXPECT_THROW(emu_gemm(false, false, 1, 1, 1, a.data(), 1, b.data(), 1, c.data(), 1, acc),
               UserError);
  acc = make_acc("mxfp8", RoundingMode::kNearestEven, 0);
  EXPECT_THROW(emu_gemm(false, false, 1, 1, 1, a.data(), 1, b.data(), 1, c.data(), 1, acc),
               UserError);
  acc = make_acc("fp16", RoundingMode::kNearestEven, -1);
  EXPECT_THROW(emu_gemm(false, false, 1, 1, 1, a.data(), 1, b.data(), 1, c.data(), 1, acc),
               UserError);
}
