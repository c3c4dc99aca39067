// Floating-point expansions in an emulated format: error-free transformations (TwoSum,
// FastTwoSum, TwoProd), double-word additions, and dot products whose accumulator lives in
// any format, plain, chunked (Wang et al., NeurIPS 2018) or compensated (double-word).
// This is also the reference for the emulated GEMM's accumulation modes.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::numeric {

// Arithmetic in an emulated format: every operation returns its exact result rounded to the
// format. Operands must be values of the format (products of two are then exact in double);
// sums are rounded to odd in double first, which makes the final rounding exact in every
// mode (Boldo and Melquiond: 53 >= p + 2). Stochastic rounding takes counter, counter + 1,
// ... for successive operations.
class EmulatedArithmetic {
 public:
  explicit EmulatedArithmetic(const NumberFormat& format, const Rounding& rounding = {},
                              uint64_t counter = 0);
  double round(double x);
  double add(double a, double b);
  double sub(double a, double b) { return add(a, -b); }
  double mul(double a, double b) { return round(a * b); }
  double fma(double a, double b, double c);  // a * b + c with one rounding
  const NumberFormat& format() const { return format_; }

 private:
  NumberFormat format_;
  FloatRange range_;
  Rounding rounding_;
  uint64_t counter_;
};

// a + b rounded to odd in double: the truncation of the exact sum with its last bit set when
// inexact. Rounding that again to at most 51 bits equals rounding the exact sum.
double sum_round_to_odd(double a, double b);

// hi + lo, |lo| <= ulp(hi) / 2 after the additions below.
struct DoubleWord {
  double hi = 0;
  double lo = 0;
  double value() const { return hi + lo; }
};

// Exact when the arithmetic rounds to nearest and nothing overflows or underflows.
DoubleWord two_sum(double a, double b, EmulatedArithmetic& f);       // hi = a + b rounded
DoubleWord fast_two_sum(double a, double b, EmulatedArithmetic& f);  // requires |a| >= |b|
DoubleWord two_prod(double a, double b, EmulatedArithmetic& f);      // via FMA
// Joldes, Muller and Popescu, "Tight and rigorous error bounds for basic building blocks of
// double-word arithmetic", ACM TOMS 2017: Algorithm 4 (DWPlusFP) and 6 (AccurateDWPlusDW).
DoubleWord dw_plus_fp(DoubleWord x, double y, EmulatedArithmetic& f);
DoubleWord dw_plus_dw(DoubleWord x, DoubleWord y, EmulatedArithmetic& f);

// How a dot product accumulates: "fp16", "bf16:chunk=32", "fp16:comp", "e5m2:chunk=16:comp".
struct AccumulatorSpec {
  NumberFormat format;
  int chunk = 0;             // 0: one accumulator; k: sum runs of k terms, then add the sums
  bool compensated = false;  // double-word accumulator (round-to-nearest-even only)
  Rounding rounding;         // of every addition (not part of the name)

  bool operator==(const AccumulatorSpec&) const = default;
};
// Throws UserError with the grammar on a bad name (e.g. "e4m3:chunk=0").
AccumulatorSpec parse_accumulator(std::string_view name);
std::string to_string(const AccumulatorSpec& spec);

// sum x[i] * y[i] with every product exact and every addition rounded to spec.format. The
// result is the accumulator's value: for a double-word accumulator, hi + lo.
double dot(std::span<const float> x, std::span<const float> y, const AccumulatorSpec& spec);

}  // namespace frugal::numeric
