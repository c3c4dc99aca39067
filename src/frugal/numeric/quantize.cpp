// Quantize: dispatch over format kinds, ISAs and threads; the double-precision reference
// rounding (round_value); integer, fixed, binary, ternary, per-channel and block formats.
#include "frugal/numeric/quantize.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <limits>
#include <thread>

#include "frugal/core/error.h"
#include "frugal/core/rng.h"
#include "frugal/numeric/quantize_kernels.h"

namespace frugal::numeric {

using detail::FloatParams;

namespace detail {

FloatParams make_float_params(const NumberFormat& f, int random_bits) {
  const FloatRange r = float_range(f);
  FloatParams p;
  p.mant_shift = 23 - f.mantissa_bits;
  p.emin_biased = r.emin + 127;
  const float t = static_cast<float>(r.min_subnormal);
  p.tiny_bits = std::bit_cast<uint32_t>(t);
  p.tiny_exp = std::ilogb(r.min_subnormal);
  // t/2 is not a binary32 when t = 2^-149; then only a = 0 is below t, and a threshold of 1
  // keeps both nearest modes at 0 for it.
  p.half_tiny_bits = p.tiny_bits > 1 ? std::bit_cast<uint32_t>(t * 0.5f) : 1u;
  p.max_bits = std::bit_cast<uint32_t>(static_cast<float>(r.max_finite));
  const uint32_t nan_bits = 0x7fc00000u;
  p.overflow_bits = f.saturate ? p.max_bits : f.specials == Specials::kIeee ? kInfBits : nan_bits;
  p.inf_bits = f.saturate ? p.max_bits : f.specials == Specials::kIeee ? kInfBits : nan_bits;
  p.random_bits = random_bits;
  p.bias_parity_fix = static_cast<uint32_t>(f.bias + 1) & 1;
  return p;
}

namespace {

// Philox words for consecutive counters, one block computation per four elements.
class RandomWords {
 public:
  explicit RandomWords(uint64_t seed) : philox_(seed) {}
  uint32_t word(uint64_t counter) {
    const uint64_t b = counter >> 2;
    if (b != cached_) {
      block_ = philox_.block(b);
      cached_ = b;
    }
    return block_[counter & 3];
  }

 private:
  Philox philox_;
  uint64_t cached_ = ~uint64_t{0};
  std::array<uint32_t, 4> block_{};
};

template <RoundingMode kMode>
void scalar_float_loop(const float* in, float* out, size_t n, const FloatParams& p, uint64_t seed,
                       uint64_t first) {
  if constexpr (kMode == RoundingMode::kStochastic) {
    RandomWords rw(seed);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t rnd = random_word_bits(rw.word(first + i), p.random_bits);
      out[i] =
          std::bit_cast<float>(round_float_bits<kMode>(std::bit_cast<uint32_t>(in[i]), p, rnd));
    }
  } else {
    for (size_t i = 0; i < n; ++i)
      out[i] = std::bit_cast<float>(round_float_bits<kMode>(std::bit_cast<uint32_t>(in[i]), p, 0));
  }
}

}  // namespace

namespace {
#include "frugal/numeric/block_scaling_impl.h"
}  // namespace

void block_scale_scalar(const float* in, float* tmp, int* scale_exp, size_t m, size_t bs, int emax,
                        int lowest_x) {
  block_scale_impl(in, tmp, scale_exp, m, bs, emax, lowest_x);
}

void block_unscale_scalar(const float* tmp, float* out, const int* scale_exp, size_t m, size_t bs) {
  block_unscale_impl(tmp, out, scale_exp, m, bs);
}

void quantize_float_scalar(const float* in, float* out, size_t n, const FloatParams& p,
                           RoundingMode mode, uint64_t seed, uint64_t first) {
  switch (mode) {
    case RoundingMode::kNearestEven:
      return scalar_float_loop<RoundingMode::kNearestEven>(in, out, n, p, seed, first);
    case RoundingMode::kNearestAway:
      return scalar_float_loop<RoundingMode::kNearestAway>(in, out, n, p, seed, first);
    case RoundingMode::kTowardZero:
      return scalar_float_loop<RoundingMode::kTowardZero>(in, out, n, p, seed, first);
    case RoundingMode::kUp:
      return scalar_float_loop<RoundingMode::kUp>(in, out, n, p, seed, first);
    case RoundingMode::kDown:
      return scalar_float_loop<RoundingMode::kDown>(in, out, n, p, seed, first);
    case RoundingMode::kStochastic:
      return scalar_float_loop<RoundingMode::kStochastic>(in, out, n, p, seed, first);
  }
}

AffineKernelParams make_affine_params(const NumberFormat& f, int random_bits) {
  AffineKernelParams p;
  const int w = f.kind == FormatKind::kFixed ? f.int_bits + f.frac_bits : f.bits;
  p.qmin = f.is_signed ? -std::ldexp(1.0, w - 1) : 0.0;
  p.qmax = f.is_signed ? std::ldexp(1.0, w - 1) - 1 : std::ldexp(1.0, w) - 1;
  if (f.kind == FormatKind::kFixed) {
    p.scale = std::ldexp(1.0, -f.frac_bits);
    p.scale_f = static_cast<float>(p.scale);
  } else {
    p.scale = f.scale;
    p.scale_f = f.scale;
    p.zero_point = f.zero_point;
  }
  p.random_bits = random_bits;
  return p;
}

}  // namespace detail

// ---------------------------------------------------------------------------------------
// ISA selection

bool isa_supported(Isa isa) {
  switch (isa) {
    case Isa::kAuto:
    case Isa::kScalar:
      return true;
    case Isa::kAvx2:
      return __builtin_cpu_supports("avx2");
    case Isa::kAvx512:
      return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
  }
  return false;
}

Isa best_isa() {
  static const Isa best = isa_supported(Isa::kAvx512) ? Isa::kAvx512
                          : isa_supported(Isa::kAvx2) ? Isa::kAvx2
                                                      : Isa::kScalar;
  return best;
}

std::string_view isa_name(Isa isa) {
  switch (isa) {
    case Isa::kAuto:
      return "auto";
    case Isa::kScalar:
      return "scalar";
    case Isa::kAvx2:
      return "avx2";
    case Isa::kAvx512:
      return "avx512";
  }
  return "?";
}

namespace {

detail::FloatKernel float_kernel(Isa isa) {
  switch (isa) {
    case Isa::kAvx512:
      return detail::quantize_float_avx512;
    case Isa::kAvx2:
      return detail::quantize_float_avx2;
    default:
      return detail::quantize_float_scalar;
  }
}

// ---------------------------------------------------------------------------------------
// Double-precision reference rounding

double pow2(int e) {
  return std::ldexp(1.0, e);
}

uint32_t random_word(const Rounding& r, uint64_t counter) {
  if (r.mode != RoundingMode::kStochastic) return 0;
  return detail::random_word_bits(Philox(r.seed).u32(counter), r.random_bits);
}

// Whether a stochastic rounding goes up: f in [0, 1) is the fraction of the way to hi.
bool stochastic_up(double f, uint32_t rnd, int bits) {
  const double fl = std::floor(std::ldexp(f, bits));
  return fl + static_cast<double>(rnd) >= pow2(bits);
}

}  // namespace

double detail::round_float_double(double x, const NumberFormat& f, const FloatRange& r,
                                  RoundingMode mode, uint32_t rnd, int bits) {
  if (std::isnan(x)) return x;
  const bool neg = std::signbit(x);
  const double a = std::fabs(x);
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double overflow = f.saturate ? r.max_finite : f.specials == Specials::kIeee ? inf : nan;
  if (std::isinf(a)) return neg ? -overflow : overflow;
  const bool away = (mode == RoundingMode::kUp && !neg) || (mode == RoundingMode::kDown && neg);
  const bool toward = mode == RoundingMode::kTowardZero || (mode == RoundingMode::kUp && neg) ||
                      (mode == RoundingMode::kDown && !neg);
  const double t = r.min_subnormal;  // smallest positive value
  double res;
  if (a < t) {
    bool up = false;
    switch (mode) {
      case RoundingMode::kNearestEven:
        up = a > t / 2;
        break;
      case RoundingMode::kNearestAway:
        up = a >= t / 2 && a > 0;
        break;
      case RoundingMode::kStochastic:
        up = stochastic_up(a / t, rnd, bits);
        break;
      default:
        up = away && a > 0;
        break;
    }
    res = up ? t : 0.0;
  } else {
    const int e = std::ilogb(a);
    const int M = f.mantissa_bits;
    const int q = std::max(e, r.emin) - M;  // exponent of the quantum at a
    const double y = std::ldexp(a, -q);     // exact
    const double lo = std::floor(y);
    const double frac = y - lo;
    bool up = false;
    switch (mode) {
      case RoundingMode::kNearestEven: {
        // Parity of lo's code: its integer significand, except for M = 0 normals whose code
        // is the biased exponent.
        bool lo_odd = std::fmod(lo, 2.0) == 1.0;
        if (M == 0 && e >= r.emin) lo_odd = ((e + f.bias) & 1) != 0;
        up = frac > 0.5 || (frac == 0.5 && lo_odd);
        break;
      }
      case RoundingMode::kNearestAway:
        up = frac >= 0.5;
        break;
      case RoundingMode::kStochastic:
        up = frac > 0 && stochastic_up(frac, rnd, bits);
        break;
      default:
        up = away && frac > 0;
        break;
    }
    res = std::ldexp(lo + (up ? 1.0 : 0.0), q);
    if (res > r.max_finite) res = toward ? r.max_finite : overflow;
  }
  return neg ? -res : res;
}

namespace {

// Rounds real y to an integer (direction by value, not magnitude).
double round_to_integer(double y, RoundingMode mode, uint32_t rnd, int bits) {
  const double lo = std::floor(y);
  const double frac = y - lo;
  switch (mode) {
    case RoundingMode::kNearestEven:
      return frac > 0.5 || (frac == 0.5 && std::fmod(lo, 2.0) != 0) ? lo + 1 : lo;
    case RoundingMode::kNearestAway:
      return frac > 0.5 || (frac == 0.5 && y > 0) ? lo + 1 : lo;
    case RoundingMode::kTowardZero:
      return std::trunc(y);
    case RoundingMode::kUp:
      return std::ceil(y);
    case RoundingMode::kDown:
      return lo;
    case RoundingMode::kStochastic:
      return frac > 0 && stochastic_up(frac, rnd, bits) ? lo + 1 : lo;
  }
  return lo;
}

struct IntGrid {
  double qmin, qmax;
};
IntGrid int_grid(int width, bool is_signed) {
  if (is_signed) return {-pow2(width - 1), pow2(width - 1) - 1};
  return {0, pow2(width) - 1};
}

double round_affine(double x, float scale, int32_t zero_point, IntGrid g, RoundingMode mode,
                    uint32_t rnd, int bits) {
  if (std::isnan(x)) return x;
  double k;
  if (std::isinf(x)) {
    k = x > 0 ? g.qmax : g.qmin;
  } else {
    k = round_to_integer(x / static_cast<double>(scale), mode, rnd, bits) + zero_point;
    k = std::clamp(k, g.qmin, g.qmax);
  }
  // The carried value is (q - zp) * scale in binary32, as decode() defines it; +0 for zero.
  return static_cast<double>(static_cast<float>(k - zero_point) * scale) + 0.0;
}

double round_fixed(double x, const NumberFormat& f, RoundingMode mode, uint32_t rnd, int bits) {
  if (std::isnan(x)) return x;
  const IntGrid g = int_grid(f.int_bits + f.frac_bits, f.is_signed);
  double k = std::isinf(x)
                 ? (x > 0 ? g.qmax : g.qmin)
                 : std::clamp(round_to_integer(std::ldexp(x, f.frac_bits), mode, rnd, bits), g.qmin,
                              g.qmax);
  return std::ldexp(k, -f.frac_bits) + 0.0;
}

double round_binary(double x, const NumberFormat& f, RoundingMode mode, uint32_t rnd, int bits) {
  if (std::isnan(x)) return x;
  const double s = f.scale;
  bool plus;
  switch (mode) {
    case RoundingMode::kUp:
      plus = x > -s;
      break;
    case RoundingMode::kDown:
      plus = x >= s;
      break;
    case RoundingMode::kStochastic: {
      const double y = std::clamp((x + s) / (2 * s), 0.0, 1.0);
      plus = y >= 1.0 || (y > 0 && stochastic_up(y, rnd, bits));
      break;
    }
    default:
      plus = x >= 0;
      break;  // the nearest; 0 (a tie) goes to +scale
  }
  return plus ? s : -s;
}

double round_ternary(double x, const NumberFormat& f, RoundingMode mode, uint32_t rnd, int bits) {
  if (std::isnan(x)) return x;
  const double s = f.scale;
  const double tau = static_cast<double>(f.threshold) * s;
  const double a = std::fabs(x);
  const double sgn = x < 0 ? -1.0 : 1.0;
  bool nonzero;
  switch (mode) {
    case RoundingMode::kNearestEven:
      nonzero = a > tau;
      break;
    case RoundingMode::kNearestAway:
      nonzero = a >= tau && a > 0;
      break;
    case RoundingMode::kTowardZero:
      nonzero = a >= s;
      break;
    case RoundingMode::kUp:
      nonzero = x > 0 || x <= -s;
      break;
    case RoundingMode::kDown:
      nonzero = x < 0 || x >= s;
      break;
    case RoundingMode::kStochastic:
      nonzero = a >= s || (a > 0 && stochastic_up(a / s, rnd, bits));
      break;
    default:
      nonzero = false;
  }
  return nonzero ? sgn * s : 0.0;
}

}  // namespace

double detail::round_element(double x, const NumberFormat& e, RoundingMode mode, uint32_t rnd,
                             int bits) {
  switch (e.kind) {
    case FormatKind::kFloat:
      return round_float_double(x, e, float_range(e), mode, rnd, bits);
    case FormatKind::kFixed:
      return round_fixed(x, e, mode, rnd, bits);
    case FormatKind::kInt:
      return round_affine(x, e.scale, e.zero_point, int_grid(e.bits, e.is_signed), mode, rnd, bits);
    case FormatKind::kBinary:
      return round_binary(x, e, mode, rnd, bits);
    case FormatKind::kTernary:
      return round_ternary(x, e, mode, rnd, bits);
  }
  return x;
}

void detail::quantize_affine_scalar(const float* in, float* out, size_t n,
                                    const AffineKernelParams& p, RoundingMode mode, uint64_t seed,
                                    uint64_t first) {
  const IntGrid g{p.qmin, p.qmax};
  const int32_t zp = static_cast<int32_t>(p.zero_point);
  RandomWords rw(seed);
  for (size_t i = 0; i < n; ++i) {
    const uint32_t rnd =
        mode == RoundingMode::kStochastic ? random_word_bits(rw.word(first + i), p.random_bits) : 0;
    out[i] = static_cast<float>(round_affine(in[i], p.scale_f, zp, g, mode, rnd, p.random_bits));
  }
}

namespace {

void check_rounding(const Rounding& r) {
  if (r.random_bits < 1 || r.random_bits > 32)
    throw UserError("rounding " + to_string(r) + ": random bits must be 1..32");
}

// ---------------------------------------------------------------------------------------
// Span kernels

constexpr size_t kParallelMin = size_t{1} << 20;

// Runs fn(begin, end) over [0, n) in chunks whose starts are multiples of `align`.
template <class Fn>
void parallel_chunks(size_t n, size_t align, int threads, Fn&& fn) {
  size_t t = threads > 0 ? static_cast<size_t>(threads) : 0;
  if (threads <= 0) {
    t = n < kParallelMin ? 1 : std::max(1u, std::thread::hardware_concurrency());
    t = std::min(t, std::max<size_t>(1, n / (kParallelMin / 4)));
  }
  if (t <= 1 || n <= align) {
    fn(size_t{0}, n);
    return;
  }
  size_t per = (n + t - 1) / t;
  per = (per + align - 1) / align * align;
  std::vector<std::thread> workers;
  for (size_t b = per; b < n; b += per)
    workers.emplace_back([&fn, b, per, n] { fn(b, std::min(n, b + per)); });
  fn(size_t{0}, std::min(n, per));
  for (auto& w : workers) w.join();
}

// Other element kinds (binary, ternary): the reference rounding per element.
void quantize_generic(const float* in, float* out, size_t n, const NumberFormat& e,
                      const Rounding& r, uint64_t first) {
  if (r.mode == RoundingMode::kStochastic) {
    detail::RandomWords rw(r.seed);
    for (size_t i = 0; i < n; ++i) {
      const uint32_t rnd = detail::random_word_bits(rw.word(first + i), r.random_bits);
      out[i] = static_cast<float>(detail::round_element(in[i], e, r.mode, rnd, r.random_bits));
    }
  } else {
    for (size_t i = 0; i < n; ++i)
      out[i] = static_cast<float>(detail::round_element(in[i], e, r.mode, 0, r.random_bits));
  }
}

// Binary and ternary: the AVX-512 kernel on the aligned middle, the reference rounding per
// element on the rest.
void quantize_sign(const float* in, float* out, size_t n, const NumberFormat& e,
                   const Rounding& r, uint64_t first, Isa isa) {
  if (isa != Isa::kAvx512) return quantize_generic(in, out, n, e, r, first);
  const bool sr = r.mode == RoundingMode::kStochastic;
  const size_t head = sr ? std::min(n, static_cast<size_t>((4 - (first & 3)) & 3)) : 0;
  const size_t step = sr ? 64 : 16;
  const size_t mid = (n - head) / step * step;
  quantize_generic(in, out, head, e, r, first);
  detail::quantize_sign_avx512(in + head, out + head, mid, e, r.mode, r.seed, first + head,
                               r.random_bits);
  quantize_generic(in + head + mid, out + head + mid, n - head - mid, e, r, first + head + mid);
}

// The kernels and their parameters for one element format on one ISA.
struct ElementKernels {
  NumberFormat element;
  FloatParams float_params{};
  detail::AffineKernelParams affine_params{};
  detail::FloatKernel float_kernel = nullptr;
  detail::AffineKernel affine_kernel = nullptr;
  Isa isa = Isa::kScalar;  // resolved
  detail::BlockScaleFn block_scale = detail::block_scale_scalar;
  detail::BlockUnscaleFn block_unscale = detail::block_unscale_scalar;
  bool fused_blocks = false;  // AVX-512 one-pass blocks for float elements
};

ElementKernels make_kernels(const NumberFormat& element, const Rounding& r, Isa isa) {
  ElementKernels k;
  k.element = element;
  if (isa == Isa::kAuto) isa = best_isa();
  if (!isa_supported(isa))
    throw UserError("quantize: this CPU cannot run the " + std::string(isa_name(isa)) + " kernels");
  k.isa = isa;
  if (isa == Isa::kAvx512) {
    k.fused_blocks = element.kind == FormatKind::kFloat;
    k.block_scale = detail::block_scale_avx512;
    k.block_unscale = detail::block_unscale_avx512;
  } else if (isa == Isa::kAvx2) {
    k.block_scale = detail::block_scale_avx2;
    k.block_unscale = detail::block_unscale_avx2;
  }
  if (element.kind == FormatKind::kFloat) {
    k.float_params = detail::make_float_params(element, r.random_bits);
    k.float_kernel = float_kernel(isa);
  } else if (element.kind == FormatKind::kInt || element.kind == FormatKind::kFixed) {
    k.affine_params = detail::make_affine_params(element, r.random_bits);
    k.affine_kernel = isa == Isa::kAvx512 ? detail::quantize_affine_avx512
                      : isa == Isa::kAvx2 ? detail::quantize_affine_avx2
                                          : detail::quantize_affine_scalar;
  }
  return k;
}

// Rounds n elements of a format without block scaling.
void quantize_elements(const float* in, float* out, size_t n, const ElementKernels& k,
                       const Rounding& r, uint64_t first) {
  if (k.float_kernel)
    k.float_kernel(in, out, n, k.float_params, r.mode, r.seed, first);
  else if (k.affine_kernel)
    k.affine_kernel(in, out, n, k.affine_params, r.mode, r.seed, first);
  else
    quantize_sign(in, out, n, k.element, r, first, k.isa);
}

// Block (MX) scaling over [0, n) of one chunk (n a multiple of the block size, except at the
// end of the span) whose first element has counter `first`. Works on runs of many blocks so
// that the element kernel sees long spans.
void quantize_blocks(const float* in, float* out, size_t n, const NumberFormat& f,
                     const ElementKernels& k, const Rounding& r, uint64_t first) {
  const size_t bs = static_cast<size_t>(f.block);
  const NumberFormat& e = k.element;
  const int emax = max_exponent(e);
  const FormatInfo ei = describe(e);
  const double elem_min = std::isnan(ei.min_subnormal) ? ei.min_normal : ei.min_subnormal;
  // Keep every scaled element a binary32: elem_min * 2^X >= 2^-149.
  const int lowest_x = std::max(-127, -149 - std::ilogb(elem_min));
  const bool aligned = r.mode != RoundingMode::kStochastic || first % 4 == 0;
  if (k.fused_blocks && bs % 16 == 0 && aligned) {
    const size_t whole = n / bs * bs;
    detail::quantize_blocks_float_avx512(in, out, whole, bs, k.float_params, r.mode, emax,
                                         lowest_x, r.seed, first);
    in += whole;
    out += whole;
    n -= whole;
    first += whole;
  }
  const size_t run = bs * std::max<size_t>(1, 8192 / bs);
  std::vector<float> tmp(std::min(run, n));
  std::vector<int> scale_exp((tmp.size() + bs - 1) / bs);
  for (size_t r0 = 0; r0 < n; r0 += run) {
    const size_t m = std::min(run, n - r0);
    k.block_scale(in + r0, tmp.data(), scale_exp.data(), m, bs, emax, lowest_x);
    quantize_elements(tmp.data(), tmp.data(), m, k, r, first + r0);
    k.block_unscale(tmp.data(), out + r0, scale_exp.data(), m, bs);
  }
}

}  // namespace

double round_value(double x, const NumberFormat& format, const Rounding& rounding,
                   uint64_t counter) {
  validate(format);
  check_rounding(rounding);
  const NumberFormat e = format.element();
  return detail::round_element(x, e, rounding.mode, random_word(rounding, counter),
                               rounding.random_bits);
}

void quantize(std::span<const float> in, std::span<float> out, const NumberFormat& format,
              const Rounding& rounding, const QuantizeOptions& options) {
  validate(format);
  check_rounding(rounding);
  if (in.size() != out.size())
    throw UserError("quantize: input has " + std::to_string(in.size()) + " values, output " +
                    std::to_string(out.size()));
  if (format.channel_axis >= 0)
    throw UserError("quantize: " + to_string(format) +
                    " has per-channel scales: use quantize_per_channel or quantize_tensor");
  // The MX element conversion clamps to the element's largest value.
  NumberFormat elem = format.element();
  if (format.block != 0 && elem.kind == FormatKind::kFloat) elem.saturate = true;
  const ElementKernels kernels = make_kernels(elem, rounding, options.isa);
  const float* src = in.data();
  float* dst = out.data();
  const uint64_t offset = options.counter_offset;
  const size_t align = format.block != 0 ? static_cast<size_t>(format.block) * 64 : 64;
  parallel_chunks(in.size(), align, options.threads, [&](size_t b, size_t end) {
    if (format.block != 0)
      quantize_blocks(src + b, dst + b, end - b, format, kernels, rounding, offset + b);
    else
      quantize_elements(src + b, dst + b, end - b, kernels, rounding, offset + b);
  });
}

AffineParams choose_affine_params(std::span<const float> data, const NumberFormat& format,
                                  int64_t channels, int64_t inner, bool symmetric) {
  validate(format);
  if (format.kind != FormatKind::kInt)
    throw UserError("choose_affine_params: " + to_string(format) + " is not an int format");
  if (channels < 1 || inner < 1 || data.size() % static_cast<size_t>(channels * inner) != 0)
    throw UserError("choose_affine_params: " + std::to_string(data.size()) +
                    " values do not split into " + std::to_string(channels) + " channels of " +
                    std::to_string(inner));
  const IntGrid g = int_grid(format.bits, format.is_signed);
  std::vector<float> lo(static_cast<size_t>(channels), 0.0f),
      hi(static_cast<size_t>(channels), 0.0f);
  for (size_t i = 0; i < data.size(); ++i) {
    const size_t c = (i / static_cast<size_t>(inner)) % static_cast<size_t>(channels);
    if (!std::isfinite(data[i])) continue;
    lo[c] = std::min(lo[c], data[i]);
    hi[c] = std::max(hi[c], data[i]);
  }
  AffineParams p;
  for (size_t c = 0; c < lo.size(); ++c) {
    float scale;
    int32_t zp = 0;
    if (symmetric || !format.is_signed) {
      const double amax = symmetric
                              ? std::max(-static_cast<double>(lo[c]), static_cast<double>(hi[c]))
                              : static_cast<double>(hi[c]) - lo[c];
      const double levels = symmetric ? std::max(1.0, g.qmax) : g.qmax - g.qmin;
      scale = static_cast<float>(amax / levels);
      if (!symmetric && scale > 0)
        zp = static_cast<int32_t>(
            std::clamp(std::nearbyint(g.qmin - lo[c] / scale), g.qmin, g.qmax));
    } else {
      scale = static_cast<float>((static_cast<double>(hi[c]) - lo[c]) / (g.qmax - g.qmin));
      if (scale > 0)
        zp = static_cast<int32_t>(
            std::clamp(std::nearbyint(g.qmin - lo[c] / scale), g.qmin, g.qmax));
    }
    if (!(scale > 0) || !std::isfinite(scale)) {
      scale = 1.0f;
      zp = 0;
    }
    p.scales.push_back(scale);
    p.zero_points.push_back(zp);
  }
  return p;
}

void quantize_per_channel(std::span<const float> in, std::span<float> out,
                          const NumberFormat& format, const AffineParams& params, int64_t inner,
                          const Rounding& rounding, const QuantizeOptions& options) {
  validate(format);
  check_rounding(rounding);
  if (format.kind != FormatKind::kInt)
    throw UserError("quantize_per_channel: " + to_string(format) + " is not an int format");
  if (in.size() != out.size() || params.scales.empty() ||
      params.scales.size() != params.zero_points.size() || inner < 1)
    throw UserError("quantize_per_channel: sizes of values, scales and zero points disagree");
  const IntGrid g = int_grid(format.bits, format.is_signed);
  for (size_t c = 0; c < params.scales.size(); ++c)
    if (!(params.scales[c] > 0) || !std::isfinite(params.scales[c]) ||
        params.zero_points[c] < g.qmin || params.zero_points[c] > g.qmax)
      throw UserError("quantize_per_channel: channel " + std::to_string(c) +
                      " has a non-positive scale or a zero point outside the integer range");
  const size_t channels = params.scales.size();
  const size_t in_ch = static_cast<size_t>(inner);
  parallel_chunks(in.size(), 64, options.threads, [&](size_t b, size_t end) {
    detail::RandomWords rw(rounding.seed);
    for (size_t i = b; i < end; ++i) {
      const size_t c = (i / in_ch) % channels;
      const uint32_t rnd =
          rounding.mode == RoundingMode::kStochastic
              ? detail::random_word_bits(rw.word(options.counter_offset + i), rounding.random_bits)
              : 0;
      out[i] = static_cast<float>(round_affine(in[i], params.scales[c], params.zero_points[c], g,
                                               rounding.mode, rnd, rounding.random_bits));
    }
  });
}

Tensor quantize_tensor(const Tensor& t, const NumberFormat& format, const Rounding& rounding,
                       const QuantizeOptions& options) {
  if (t.dtype() != DType::kF32)
    throw UserError("quantize_tensor: expects a float32 tensor, got " +
                    std::string(dtype_name(t.dtype())));
  Tensor out(DType::kF32, t.shape());
  if (format.kind == FormatKind::kInt && format.channel_axis >= 0) {
    validate(format);
    const int64_t axis = format.channel_axis;
    if (axis >= t.rank())
      throw UserError("quantize_tensor: channel axis " + std::to_string(axis) + " of " +
                      to_string(format) + " is out of range for shape " + shape_str(t.shape()));
    int64_t inner = 1;
    for (int64_t d = axis + 1; d < t.rank(); ++d) inner *= t.dim(d);
    const int64_t channels = t.dim(axis);
    if (t.numel() == 0) return out;
    AffineParams p =
        choose_affine_params(t.span<float>(), format, channels, inner, format.zero_point == 0);
    quantize_per_channel(t.span<float>(), out.span<float>(), format, p, inner, rounding, options);
  } else {
    quantize(t.span<float>(), out.span<float>(), format, rounding, options);
  }
  return out;
}

}  // namespace frugal::numeric
