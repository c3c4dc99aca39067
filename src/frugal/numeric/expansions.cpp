// Error-free transformations, double-word additions and emulated dot products.
#include "frugal/numeric/expansions.h"

#include <bit>
#include <charconv>
#include <cmath>
#include <limits>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/numeric/quantize_kernels.h"

namespace frugal::numeric {

double sum_round_to_odd(double a, double b) {
  const double s = a + b;
  if (!std::isfinite(s)) return s;
  const double bb = s - a;
  const double err = (a - (s - bb)) + (b - bb);
  if (err == 0 || (std::bit_cast<uint64_t>(s) & 1)) return s;
  return std::nextafter(s, err > 0 ? std::numeric_limits<double>::infinity()
                                   : -std::numeric_limits<double>::infinity());
}

EmulatedArithmetic::EmulatedArithmetic(const NumberFormat& format, const Rounding& rounding,
                                       uint64_t counter)
    : format_(format), rounding_(rounding), counter_(counter) {
  validate(format);
  if (format.block != 0)
    throw UserError("emulated arithmetic: " + to_string(format) + " has a shared block scale");
  if (rounding.random_bits < 1 || rounding.random_bits > 32)
    throw UserError("emulated arithmetic: random bits must be 1..32");
  if (format.kind == FormatKind::kFloat) range_ = float_range(format);
}

double EmulatedArithmetic::round(double x) {
  uint32_t rnd = 0;
  if (rounding_.mode == RoundingMode::kStochastic)
    rnd = detail::random_word_bits(Philox(rounding_.seed).u32(counter_++), rounding_.random_bits);
  if (format_.kind == FormatKind::kFloat)
    return detail::round_float_double(x, format_, range_, rounding_.mode, rnd,
                                      rounding_.random_bits);
  return detail::round_element(x, format_, rounding_.mode, rnd, rounding_.random_bits);
}

double EmulatedArithmetic::add(double a, double b) {
  return round(sum_round_to_odd(a, b));
}

double EmulatedArithmetic::fma(double a, double b, double c) {
  return round(sum_round_to_odd(a * b, c));  // a * b is exact for operands of <= 26 bits
}

DoubleWord two_sum(double a, double b, EmulatedArithmetic& f) {
  const double s = f.add(a, b);
  const double a1 = f.sub(s, b);
  const double b1 = f.sub(s, a1);
  const double da = f.sub(a, a1);
  const double db = f.sub(b, b1);
  return {s, f.add(da, db)};
}

DoubleWord fast_two_sum(double a, double b, EmulatedArithmetic& f) {
  const double s = f.add(a, b);
  const double z = f.sub(s, a);
  return {s, f.sub(b, z)};
}

DoubleWord two_prod(double a, double b, EmulatedArithmetic& f) {
  const double p = f.mul(a, b);
  return {p, f.fma(a, b, -p)};
}

DoubleWord dw_plus_fp(DoubleWord x, double y, EmulatedArithmetic& f) {
  const DoubleWord s = two_sum(x.hi, y, f);
  const double v = f.add(x.lo, s.lo);
  return fast_two_sum(s.hi, v, f);
}

DoubleWord dw_plus_dw(DoubleWord x, DoubleWord y, EmulatedArithmetic& f) {
  const DoubleWord s = two_sum(x.hi, y.hi, f);
  const DoubleWord t = two_sum(x.lo, y.lo, f);
  const double c = f.add(s.lo, t.hi);
  const DoubleWord v = fast_two_sum(s.hi, c, f);
  const double w = f.add(t.lo, v.lo);
  return fast_two_sum(v.hi, w, f);
}

namespace {

constexpr std::string_view kAccumulatorGrammar =
    "accepted: <format>[:chunk=K][:comp] with K >= 1, e.g. fp16:chunk=32 or bf16:comp";

[[noreturn]] void bad_accumulator(std::string_view name, const std::string& why) {
  throw UserError("bad accumulator '" + std::string(name) + "': " + why + "; " +
                  std::string(kAccumulatorGrammar));
}

}  // namespace

AccumulatorSpec parse_accumulator(std::string_view name) {
  AccumulatorSpec spec;
  std::string format_name;
  size_t start = 0;
  bool first = true;
  while (start <= name.size()) {
    size_t end = name.find(':', start);
    if (end == std::string_view::npos) end = name.size();
    const std::string_view part = name.substr(start, end - start);
    if (!first && part.substr(0, 6) == "chunk=") {
      const std::string_view v = part.substr(6);
      long long k = 0;
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), k);
      if (ec != std::errc() || p != v.data() + v.size() || k < 1 || k > (1 << 24))
        bad_accumulator(name, "chunk must be an integer >= 1");
      spec.chunk = static_cast<int>(k);
    } else if (!first && (part == "comp" || part == "compensated")) {  // both spellings
      spec.compensated = true;
    } else {
      if (!first) format_name += ':';
      format_name += part;
    }
    first = false;
    start = end + 1;
  }
  try {
    spec.format = parse_format(format_name);
  } catch (const UserError& e) {
    bad_accumulator(name, e.what());
  }
  if (spec.format.block != 0) bad_accumulator(name, "an accumulator cannot have a block scale");
  if (spec.compensated && spec.format.kind != FormatKind::kFloat)
    bad_accumulator(name, "compensated accumulation needs a float format");
  return spec;
}

std::string to_string(const AccumulatorSpec& spec) {
  std::string s = to_string(spec.format);
  if (spec.chunk) s += ":chunk=" + std::to_string(spec.chunk);
  if (spec.compensated) s += ":comp";
  return s;
}

double dot(std::span<const float> x, std::span<const float> y, const AccumulatorSpec& spec) {
  if (x.size() != y.size())
    throw UserError("dot: vectors of " + std::to_string(x.size()) + " and " +
                    std::to_string(y.size()) + " values");
  if (spec.compensated && spec.rounding.mode != RoundingMode::kNearestEven)
    throw UserError("dot: compensated accumulation needs round-to-nearest-even");
  EmulatedArithmetic f(spec.format, spec.rounding);
  const size_t chunk = spec.chunk > 0 ? static_cast<size_t>(spec.chunk) : x.size() + 1;
  if (!spec.compensated) {
    double total = 0, part = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      part = f.add(part, static_cast<double>(x[i]) * y[i]);  // the product is exact
      if ((i + 1) % chunk == 0) {
        total = f.add(total, part);
        part = 0;
      }
    }
    return spec.chunk > 0 ? f.add(total, part) : part;
  }
  DoubleWord total, part;
  for (size_t i = 0; i < x.size(); ++i) {
    // The exact product as a double word of the format (exact when it has <= 2p bits).
    const double p = static_cast<double>(x[i]) * y[i];
    const double ph = f.round(p);
    part = dw_plus_dw(part, {ph, f.round(sum_round_to_odd(p, -ph))}, f);
    if ((i + 1) % chunk == 0) {
      total = dw_plus_dw(total, part, f);
      part = {};
    }
  }
  if (spec.chunk > 0) part = dw_plus_dw(total, part, f);
  return part.value();
}

}  // namespace frugal::numeric
