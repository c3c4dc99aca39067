// Reference results from numeric's rounding (see reference.h).
#include "frugal/hw/reference.h"

#include <bit>
#include <cmath>
#include <limits>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/numeric/expansions.h"
#include "frugal/numeric/quantize.h"

namespace frugal::hw {

namespace fn = frugal::numeric;

namespace {

__extension__ typedef __int128 SWord;

double decode(const fn::NumberFormat& f, Word code) {
  return fn::decode(f, static_cast<uint32_t>(code));
}

// An integer times 2^scale as a double rounded to odd (see numeric::sum_round_to_odd):
// rounding it once more to at most 24 significand bits is exact rounding, in every mode.
double int_to_odd(SWord k, int scale) {
  const bool neg = k < 0;
  Word m = neg ? static_cast<Word>(-k) : static_cast<Word>(k);
  int shift = 0;
  bool sticky = false;
  while (m >> 53) {
    sticky |= (m & 1) != 0;
    m >>= 1;
    ++shift;
  }
  if (sticky) m |= 1;
  const double v = std::ldexp(static_cast<double>(static_cast<uint64_t>(m)), shift + scale);
  return neg ? -v : v;
}

Word encode_result(const fn::NumberFormat& f, double v) {
  if (std::isnan(v) && !fn::describe(f).has_nan) return 0;  // no NaN code: the RTL gives 0
  return fn::encode(f, v);
}

double round_to(const OperatorSpec& s, const fn::NumberFormat& f, double x, uint64_t counter) {
  return fn::round_value(x, f, s.rounding, counter);
}

// Product a * b on the Kulisch grid (exact: a double holds any product of two <= 24-bit
// significands, and the grid spans at most 120 bits).
SWord on_grid(double product, int xmin) {
  return static_cast<SWord>(std::ldexp(product, -xmin));
}

Word dot_output(const OperatorSpec& s, std::span<const Word> in) {
  const KulischGrid g = kulisch_grid(s);
  bool finite = true;
  double approx = 0;
  SWord sum = 0;
  for (int i = 0; i < s.length; ++i) {
    const double p = decode(s.format, in[2 * i]) * decode(s.format, in[2 * i + 1]);
    finite &= std::isfinite(p);
    approx += p;
    if (std::isfinite(p)) sum += on_grid(p, g.xmin);
  }
  // Specials by double arithmetic (inf - inf and inf * 0 are NaN); a zero sum is +0.
  const double exact = finite ? int_to_odd(sum, g.xmin) : approx;
  return encode_result(s.accumulator, round_to(s, s.accumulator, exact + 0.0, 0));
}

Word kulisch_mac_output(const OperatorSpec& s, std::span<const Word> in) {
  const KulischGrid g = kulisch_grid(s);
  const Word mask = (Word{1} << g.width) - 1;
  const Word c = in[2];
  Word flag = (c >> g.width) & 1;
  Word acc = c & mask;
  const double p = decode(s.format, in[0]) * decode(s.format, in[1]);
  if (std::isfinite(p))
    acc = (acc + static_cast<Word>(on_grid(p, g.xmin))) & mask;
  else
    flag = 1;
  return (flag << g.width) | acc;
}

}  // namespace

uint32_t random_input(const OperatorSpec& s, uint64_t counter) {
  if (s.rounding.mode != fn::RoundingMode::kStochastic) return 0;
  const uint32_t w = Philox(s.rounding.seed).u32(counter);
  return s.rounding.random_bits >= 32 ? w : w >> (32 - s.rounding.random_bits);
}

Word reference_output(const OperatorSpec& s, std::span<const Word> in, uint64_t counter) {
  const fn::NumberFormat& f = s.format;
  switch (s.op) {
    case HwOp::kMul:
      return encode_result(f, round_to(s, f, decode(f, in[0]) * decode(f, in[1]), counter));
    case HwOp::kAdd:
      return encode_result(
          f, round_to(s, f, fn::sum_round_to_odd(decode(f, in[0]), decode(f, in[1])), counter));
    case HwOp::kFma:
    case HwOp::kMac: {
      if (s.kulisch) return kulisch_mac_output(s, in);
      const fn::NumberFormat& acc = s.op == HwOp::kFma ? f : s.accumulator;
      const double p = decode(f, in[0]) * decode(f, in[1]);
      return encode_result(acc,
                           round_to(s, acc, fn::sum_round_to_odd(p, decode(acc, in[2])), counter));
    }
    case HwOp::kToFp32: {
      const fn::NumberFormat fp32 = fn::float_format(8, 23);
      return encode_result(fp32, fn::round_value(decode(f, in[0]), fp32, {}, counter));
    }
    case HwOp::kFromFp32: {
      const float x = std::bit_cast<float>(static_cast<uint32_t>(in[0]));
      return encode_result(f, round_to(s, f, x, counter));
    }
    case HwOp::kDot:
      return dot_output(s, in);
  }
  throw InternalError("reference_output: unknown operator");
}

bool outputs_match(const OperatorSpec& s, Word rtl, Word ref) {
  if (rtl == ref) return true;
  if (s.kulisch) return false;
  const fn::NumberFormat out = output_format(s);
  if (out.kind != fn::FormatKind::kFloat) return false;
  return std::isnan(decode(out, rtl)) && std::isnan(decode(out, ref));
}

}  // namespace frugal::hw
