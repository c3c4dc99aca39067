// Reference results from numeric's rounding (see reference.h).
#include "frugal/hw/reference.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <vector>

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

// A two's complement integer of a fixed number of 64-bit words: the dot product's exact sum
// on the Kulisch grid, which needs a few hundred bits for bf16 and fp32 (525 and 557).
class WideInt {
 public:
  explicit WideInt(int bits) : w_(static_cast<size_t>(bits / 64 + 2), 0) {}

  // Adds (-1)^neg * m * 2^shift, shift >= 0.
  void add(uint64_t m, int shift, bool neg) {
    const size_t i = static_cast<size_t>(shift / 64);
    const int off = shift % 64;
    const uint64_t lo = m << off, hi = off == 0 ? 0 : m >> (64 - off);
    uint64_t carry = 0;
    for (size_t k = i; k < w_.size(); ++k) {
      const uint64_t x = k == i ? lo : k == i + 1 ? hi : 0;
      if (x == 0 && carry == 0 && k > i + 1) break;
      const uint64_t old = w_[k];
      if (neg) {
        w_[k] = old - x - carry;
        carry = (old < x || (old == x && carry)) ? 1 : 0;
      } else {
        w_[k] = old + x + carry;
        carry = (w_[k] < old || (w_[k] == old && carry)) ? 1 : 0;
      }
    }
  }

  // The value times 2^scale as a double rounded to odd (see numeric::sum_round_to_odd):
  // rounding it once more to at most 24 significand bits is exact rounding, in every mode.
  double to_odd(int scale) const {
    std::vector<uint64_t> mag = w_;
    const bool neg = (mag.back() >> 63) != 0;
    if (neg) negate(mag);
    int top = static_cast<int>(mag.size()) - 1;
    while (top >= 0 && mag[static_cast<size_t>(top)] == 0) --top;
    if (top < 0) return 0.0;
    const int h = top * 64 + 63 - std::countl_zero(mag[static_cast<size_t>(top)]);
    const int lo = std::max(0, h - 52);  // keep 53 bits, the rest as a sticky bit
    uint64_t m = bits_from(mag, lo);
    if (lo > 0 && any_below(mag, lo)) m |= 1;
    const double v = std::ldexp(static_cast<double>(m), lo + scale);
    return neg ? -v : v;
  }

 private:
  static void negate(std::vector<uint64_t>& v) {
    uint64_t carry = 1;
    for (uint64_t& x : v) {
      x = ~x + carry;
      carry = (carry && x == 0) ? 1 : 0;
    }
  }
  // Up to 53 bits of v from bit lo upward.
  static uint64_t bits_from(const std::vector<uint64_t>& v, int lo) {
    const size_t i = static_cast<size_t>(lo / 64);
    const int off = lo % 64;
    uint64_t x = v[i] >> off;
    if (off != 0 && i + 1 < v.size()) x |= v[i + 1] << (64 - off);
    return x & ((uint64_t{1} << 53) - 1);
  }
  static bool any_below(const std::vector<uint64_t>& v, int lo) {
    const size_t i = static_cast<size_t>(lo / 64);
    const int off = lo % 64;
    for (size_t k = 0; k < i; ++k)
      if (v[k] != 0) return true;
    return off != 0 && (v[i] & ((uint64_t{1} << off) - 1)) != 0;
  }

  std::vector<uint64_t> w_;
};

Word encode_result(const fn::NumberFormat& f, double v) {
  if (std::isnan(v) && !fn::describe(f).has_nan) return 0;  // no NaN code: the RTL gives 0
  return fn::encode(f, v);
}

double round_to(const OperatorSpec& s, const fn::NumberFormat& f, double x, uint64_t counter) {
  return fn::round_value(x, f, s.rounding, counter);
}

// Product a * b on the Kulisch grid of a mac (exact: a double holds any product of two <= 24-bit
// significands, and a mac's grid spans at most 120 bits).
SWord on_grid(double product, int xmin) {
  return static_cast<SWord>(std::ldexp(product, -xmin));
}

// Adds a finite nonzero product (exact in a double) to the sum on the grid of last bit 2^xmin.
void add_on_grid(WideInt& sum, double product, int xmin) {
  int e = 0;
  const double frac = std::frexp(std::fabs(product), &e);  // |product| = frac * 2^e
  auto m = static_cast<uint64_t>(std::ldexp(frac, 53));
  int shift = e - 53 - xmin;
  for (; shift < 0; ++shift) m >>= 1;  // trailing zero bits below the grid
  sum.add(m, shift, product < 0);
}

Word dot_output(const OperatorSpec& s, std::span<const Word> in) {
  const KulischGrid g = kulisch_grid(s);
  bool finite = true;
  double approx = 0;
  WideInt sum(g.width);
  for (int i = 0; i < s.length; ++i) {
    const double p = decode(s.format, in[2 * i]) * decode(s.format, in[2 * i + 1]);
    finite &= std::isfinite(p);
    approx += p;
    if (std::isfinite(p) && p != 0) add_on_grid(sum, p, g.xmin);
  }
  // Specials by double arithmetic (inf - inf and inf * 0 are NaN); a zero sum is +0.
  const double exact = finite ? sum.to_odd(g.xmin) : approx;
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
