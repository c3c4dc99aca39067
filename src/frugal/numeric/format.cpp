// Number formats: the traits table of presets, names both ways, properties and codes.
#include "frugal/numeric/format.h"

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>

#include "frugal/core/error.h"

namespace frugal::numeric {

NumberFormat float_format(int exponent_bits, int mantissa_bits) {
  NumberFormat f;
  f.kind = FormatKind::kFloat;
  f.exponent_bits = exponent_bits;
  f.mantissa_bits = mantissa_bits;
  f.bias = exponent_bits >= 1 && exponent_bits <= 30 ? (1 << (exponent_bits - 1)) - 1 : 0;
  f.subnormals = true;
  // With one exponent bit there is no room for inf/NaN: every code is finite.
  f.specials = exponent_bits == 1 ? Specials::kNone : Specials::kIeee;
  f.saturate = f.specials == Specials::kNone;
  return f;
}

NumberFormat fixed_format(int int_bits, int frac_bits, bool is_signed) {
  NumberFormat f;
  f.kind = FormatKind::kFixed;
  f.int_bits = int_bits;
  f.frac_bits = frac_bits;
  f.bits = int_bits + frac_bits;
  f.is_signed = is_signed;
  return f;
}

NumberFormat int_format(int bits, bool is_signed, float scale, int32_t zero_point) {
  NumberFormat f;
  f.kind = FormatKind::kInt;
  f.bits = bits;
  f.is_signed = is_signed;
  f.scale = scale;
  f.zero_point = zero_point;
  return f;
}

namespace {

NumberFormat with_specials(NumberFormat f, int bias, Specials s) {
  f.bias = bias;
  f.specials = s;
  f.saturate = s == Specials::kNone;
  return f;
}

NumberFormat with_block(NumberFormat f, int k) {
  f.block = k;
  return f;
}

NumberFormat binary_format() {
  NumberFormat f;
  f.kind = FormatKind::kBinary;
  f.bits = 1;
  return f;
}

NumberFormat ternary_format() {
  NumberFormat f;
  f.kind = FormatKind::kTernary;
  f.bits = 2;
  return f;
}

// The traits table. Order matters: to_string picks the first preset that matches.
std::vector<FormatPreset> make_presets() {
  return {
      {"fp32", float_format(8, 23), "IEEE 754 binary32"},
      {"tf32", float_format(8, 10), "NVIDIA TensorFloat-32: binary32 range, fp16 precision"},
      {"fp16", float_format(5, 10), "IEEE 754 binary16"},
      {"bf16", float_format(8, 7), "bfloat16: binary32 range, 8-bit significand"},
      {"e5m2", float_format(5, 2), "OCP FP8 E5M2 (IEEE-like: inf and NaN)"},
      {"e4m3", with_specials(float_format(4, 3), 7, Specials::kNanOnly),
       "OCP FP8 E4M3FN: no inf, NaN = S.1111.111, max 448"},
      {"e3m4", float_format(3, 4), "8-bit float, 3-bit exponent (IEEE-like)"},
      {"e2m3", with_specials(float_format(2, 3), 1, Specials::kNone),
       "OCP MX FP6 E2M3 element: no inf/NaN, max 7.5"},
      {"e3m2", with_specials(float_format(3, 2), 3, Specials::kNone),
       "OCP MX FP6 E3M2 element: no inf/NaN, max 28"},
      {"e2m1", with_specials(float_format(2, 1), 1, Specials::kNone),
       "OCP MX FP4 E2M1 element: no inf/NaN, max 6"},
      {"int16", int_format(16), "signed 16-bit integer (scale 1, zero point 0)"},
      {"int8", int_format(8), "signed 8-bit integer (scale 1, zero point 0)"},
      {"uint8", int_format(8, false), "unsigned 8-bit integer"},
      {"int4", int_format(4), "signed 4-bit integer"},
      {"int2", int_format(2), "signed 2-bit integer"},
      {"fixed8.8", fixed_format(8, 8), "Q7.8 fixed point: 16 bits, 8 fraction bits"},
      {"binary", binary_format(), "sign times scale"},
      {"ternary", ternary_format(), "-scale, 0, +scale (threshold 0.5 scale)"},
      {"mxfp8", with_block(with_specials(float_format(4, 3), 7, Specials::kNanOnly), 32),
       "OCP MXFP8: 32 x E4M3 sharing an E8M0 scale"},
      {"mxfp6", with_block(with_specials(float_format(2, 3), 1, Specials::kNone), 32),
       "OCP MXFP6: 32 x E2M3 sharing an E8M0 scale"},
      {"mxfp4", with_block(with_specials(float_format(2, 1), 1, Specials::kNone), 32),
       "OCP MXFP4: 32 x E2M1 sharing an E8M0 scale"},
      {"mxint8", with_block(fixed_format(2, 6), 32),
       "OCP MXINT8: 32 x int8 (1.6 fixed point) sharing an E8M0 scale"},
  };
}

constexpr std::string_view kGrammar =
    "accepted: fp32|tf32|fp16|bf16|e5m2|e4m3|e3m4|e2m3|e3m2|e2m1|e<E>m<M> (E 1..8, M 0..23), "
    "fixed<I>.<F>|ufixed<I>.<F> (I+F 1..24), int<B>|uint<B> (B 1..16), binary, ternary, "
    "mxfp8|mxfp6|mxfp4|mxint8; options after ':' are bias=N sub=on|off specials=ieee|fn|none "
    "overflow=sat|inf (float), scale=S zp=Z axis=A (int), scale=S threshold=T "
    "(binary/ternary), block=K (K 1..4096, shared E8M0 scale)";

[[noreturn]] void bad_name(std::string_view name, const std::string& why) {
  throw UserError("bad number format '" + std::string(name) + "': " + why + "; " +
                  std::string(kGrammar));
}

bool parse_int(std::string_view s, long long& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size();
}

bool parse_float(std::string_view s, float& out) {
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && p == s.data() + s.size() && std::isfinite(out);
}

std::string format_float(float v) {
  char buf[64];
  auto [p, ec] = std::to_chars(buf, buf + sizeof buf, v);
  return std::string(buf, p);
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// "e4m3" -> (4, 3); false when the text does not have that shape.
bool parse_em(std::string_view s, long long& e, long long& m) {
  if (s.size() < 4 || s[0] != 'e') return false;
  size_t mpos = s.find('m');
  if (mpos == std::string_view::npos) return false;
  return parse_int(s.substr(1, mpos - 1), e) && parse_int(s.substr(mpos + 1), m);
}

NumberFormat parse_base(std::string_view name, std::string_view base) {
  for (const auto& p : format_presets())
    if (p.name == base) return p.format;
  long long a = 0, b = 0;
  if (parse_em(base, a, b)) {
    if (a < 1 || a > 8) bad_name(name, "exponent bits must be 1..8");
    if (b < 0 || b > 23) bad_name(name, "mantissa bits must be 0..23");
    return float_format(static_cast<int>(a), static_cast<int>(b));
  }
  for (bool is_signed : {true, false}) {
    std::string_view prefix = is_signed ? "fixed" : "ufixed";
    if (!starts_with(base, prefix)) continue;
    std::string_view rest = base.substr(prefix.size());
    size_t dot = rest.find('.');
    if (dot == std::string_view::npos || !parse_int(rest.substr(0, dot), a) ||
        !parse_int(rest.substr(dot + 1), b))
      bad_name(name, "fixed point is fixed<I>.<F>, e.g. fixed8.8");
    if (a < (is_signed ? 1 : 0) || b < 0 || a + b < 1 || a + b > 24)
      bad_name(name, is_signed ? "fixed<I>.<F> needs I >= 1 (incl. sign), F >= 0, I+F <= 24"
                               : "ufixed<I>.<F> needs I, F >= 0, 1 <= I+F <= 24");
    return fixed_format(static_cast<int>(a), static_cast<int>(b), is_signed);
  }
  for (bool is_signed : {true, false}) {
    std::string_view prefix = is_signed ? "int" : "uint";
    if (!starts_with(base, prefix)) continue;
    if (!parse_int(base.substr(prefix.size()), a)) bad_name(name, "integer formats are int<B>");
    if (a < 1 || a > 16) bad_name(name, "integer bits must be 1..16");
    return int_format(static_cast<int>(a), is_signed);
  }
  bad_name(name, "unknown format '" + std::string(base) + "'");
}

void apply_option(std::string_view name, NumberFormat& f, std::string_view opt) {
  size_t eq = opt.find('=');
  std::string_view key = opt.substr(0, eq);
  std::string_view val = eq == std::string_view::npos ? std::string_view() : opt.substr(eq + 1);
  long long n = 0;
  float x = 0;
  const bool is_float = f.kind == FormatKind::kFloat;
  auto need = [&](bool ok, const char* why) {
    if (!ok) bad_name(name, "option '" + std::string(opt) + "': " + why);
  };
  if (key == "block") {
    need(parse_int(val, n) && n >= 1 && n <= 4096, "block must be an integer 1..4096");
    f.block = static_cast<int>(n);
  } else if (key == "bias") {
    need(is_float, "bias applies to float formats");
    need(parse_int(val, n) && n > -1000 && n < 1000, "bias must be an integer");
    f.bias = static_cast<int>(n);
  } else if (key == "sub") {
    need(is_float, "sub applies to float formats");
    need(val == "on" || val == "off", "sub must be on or off");
    f.subnormals = val == "on";
  } else if (key == "specials") {
    need(is_float, "specials applies to float formats");
    need(val == "ieee" || val == "fn" || val == "none", "specials must be ieee, fn or none");
    f.specials = val == "ieee" ? Specials::kIeee
                 : val == "fn" ? Specials::kNanOnly
                               : Specials::kNone;
    // Choosing specials resets the overflow policy to its default (write overflow= after).
    f.saturate = f.specials == Specials::kNone;
  } else if (key == "overflow") {
    need(is_float, "overflow applies to float formats (others always saturate)");
    need(val == "sat" || val == "inf", "overflow must be sat or inf");
    f.saturate = val == "sat";
  } else if (key == "scale") {
    need(f.kind == FormatKind::kInt || f.kind == FormatKind::kBinary ||
             f.kind == FormatKind::kTernary,
         "scale applies to int, binary and ternary formats");
    need(parse_float(val, x) && x > 0, "scale must be a positive number");
    f.scale = x;
  } else if (key == "zp") {
    need(f.kind == FormatKind::kInt, "zp applies to int formats");
    need(parse_int(val, n) && n > -65536 && n < 65536, "zp must be an integer");
    f.zero_point = static_cast<int32_t>(n);
  } else if (key == "axis") {
    need(f.kind == FormatKind::kInt, "axis applies to int formats");
    need(parse_int(val, n) && n >= 0 && n < 16, "axis must be an integer 0..15");
    f.channel_axis = static_cast<int>(n);
  } else if (key == "threshold") {
    need(f.kind == FormatKind::kTernary, "threshold applies to ternary");
    need(parse_float(val, x) && x >= 0 && x <= 1, "threshold must be in [0, 1] (x scale)");
    f.threshold = x;
  } else {
    bad_name(name, "unknown option '" + std::string(key) + "'");
  }
}

double pow2(int e) {
  return std::ldexp(1.0, e);
}

}  // namespace

const std::vector<FormatPreset>& format_presets() {
  static const std::vector<FormatPreset> presets = make_presets();
  return presets;
}

std::string_view format_grammar() {
  return kGrammar;
}

FloatRange float_range(const NumberFormat& f) {
  FloatRange r;
  const int E = f.exponent_bits, M = f.mantissa_bits;
  const uint32_t all = (uint32_t{1} << (E + M)) - 1;
  switch (f.specials) {
    case Specials::kIeee:
      r.max_code = (((uint32_t{1} << E) - 2) << M) | ((uint32_t{1} << M) - 1);
      break;
    case Specials::kNanOnly:
      r.max_code = all - 1;
      break;
    case Specials::kNone:
      r.max_code = all;
      break;
  }
  r.emin = 1 - f.bias;
  const int top_field = static_cast<int>(r.max_code >> M);
  r.emax = top_field - f.bias;
  const uint32_t top_man = r.max_code & ((uint32_t{1} << M) - 1);
  r.max_finite = std::ldexp(static_cast<double>((uint32_t{1} << M) | top_man), r.emax - M);
  r.min_normal = pow2(r.emin);
  r.min_subnormal = f.subnormals && M > 0 ? pow2(r.emin - M) : r.min_normal;
  return r;
}

namespace {

// Why the format is outside the supported range, or "" when it is fine.
std::string invalid_reason(const NumberFormat& f) {
  switch (f.kind) {
    case FormatKind::kFloat: {
      if (f.exponent_bits < 1 || f.exponent_bits > 8) return "exponent bits must be 1..8";
      if (f.mantissa_bits < 0 || f.mantissa_bits > 23) return "mantissa bits must be 0..23";
      if (f.specials == Specials::kNone && !f.saturate)
        return "a format without inf and NaN must saturate";
      const FloatRange r = float_range(f);
      if ((r.max_code >> f.mantissa_bits) == 0) return "no normal numbers (too few exponent codes)";
      if (r.emin < -126)
        return "smallest normal 2^" + std::to_string(r.emin) +
               " is below binary32's 2^-126 (values are carried as binary32): lower the bias";
      if (r.max_finite > FLT_MAX)
        return "largest value exceeds binary32's range (values are carried as binary32): raise "
               "the bias";
      break;
    }
    case FormatKind::kFixed: {
      const int w = f.int_bits + f.frac_bits;
      if (f.int_bits < (f.is_signed ? 1 : 0) || f.frac_bits < 0 || w < 1 || w > 24)
        return "fixed point needs I+F in 1..24 (I counts the sign bit)";
      if (f.bits != w) return "fixed point bits must equal I+F";
      break;
    }
    case FormatKind::kInt: {
      if (f.bits < 1 || f.bits > 16) return "integer bits must be 1..16";
      if (!(f.scale > 0) || !std::isfinite(f.scale)) return "scale must be positive and finite";
      const int64_t qmin = f.is_signed ? -(int64_t{1} << (f.bits - 1)) : 0;
      const int64_t qmax =
          f.is_signed ? (int64_t{1} << (f.bits - 1)) - 1 : (int64_t{1} << f.bits) - 1;
      if (f.zero_point < qmin || f.zero_point > qmax) return "zero point outside the integer range";
      break;
    }
    case FormatKind::kBinary:
    case FormatKind::kTernary:
      if (!(f.scale > 0) || !std::isfinite(f.scale)) return "scale must be positive and finite";
      if (!(f.threshold >= 0 && f.threshold <= 1)) return "threshold must be in [0, 1]";
      break;
    default:
      return "unknown format kind";
  }
  if (f.channel_axis >= 0 && f.block != 0)
    return "per-channel scales and block scales exclude each other";
  if (f.block != 0) {
    if (f.block < 1 || f.block > 4096) return "block must be 1..4096";
    const NumberFormat e = f.element();
    const bool kind_ok = e.kind == FormatKind::kFloat || e.kind == FormatKind::kFixed ||
                         (e.kind == FormatKind::kInt && e.zero_point == 0 && e.channel_axis < 0);
    if (!kind_ok) return "block elements must be float, fixed or int (zero point 0) formats";
    if (e.kind == FormatKind::kFloat && float_range(e).min_subnormal < pow2(-94))
      return "block elements need a smallest value >= 2^-94 (an 8-bit exponent needs no "
             "shared scale)";
    if (!(describe(e).max_finite > 0)) return "block elements need a positive largest value";
  }
  return "";
}

}  // namespace

void validate(const NumberFormat& f) {
  std::string why = invalid_reason(f);
  if (!why.empty()) throw UserError("number format " + to_string(f) + ": " + why);
}

NumberFormat parse_format(std::string_view name) {
  if (name.empty()) bad_name(name, "empty name");
  if (name.size() > 200) bad_name(name.substr(0, 40), "name too long");
  size_t colon = name.find(':');
  std::string base;
  for (char c : name.substr(0, colon))
    if (c != '<' && c != '>')
      base += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  NumberFormat f = parse_base(name, base);
  while (colon != std::string_view::npos) {
    size_t next = name.find(':', colon + 1);
    std::string_view opt =
        name.substr(colon + 1, next == std::string_view::npos ? next : next - colon - 1);
    if (opt.empty()) bad_name(name, "empty option");
    apply_option(name, f, opt);
    colon = next;
  }
  std::string why = invalid_reason(f);
  if (!why.empty()) bad_name(name, why);
  return f;
}

std::string to_string(const NumberFormat& f) {
  for (const auto& p : format_presets())
    if (p.format == f) return p.name;
  std::string out;
  NumberFormat base;
  const NumberFormat e = f.element();
  bool found = false;
  for (const auto& p : format_presets()) {
    const NumberFormat& q = p.format;
    if (q.block != 0 || q.kind != e.kind) continue;
    bool same_shape = false;
    switch (e.kind) {
      case FormatKind::kFloat:
        same_shape = q.exponent_bits == e.exponent_bits && q.mantissa_bits == e.mantissa_bits;
        break;
      case FormatKind::kFixed:
        same_shape =
            q.int_bits == e.int_bits && q.frac_bits == e.frac_bits && q.is_signed == e.is_signed;
        break;
      case FormatKind::kInt:
        same_shape = q.bits == e.bits && q.is_signed == e.is_signed;
        break;
      default:
        same_shape = true;
        break;
    }
    if (same_shape) {
      out = p.name;
      base = q;
      found = true;
      break;
    }
  }
  if (!found) {
    switch (e.kind) {
      case FormatKind::kFloat:
        out = "e" + std::to_string(e.exponent_bits) + "m" + std::to_string(e.mantissa_bits);
        base = float_format(e.exponent_bits, e.mantissa_bits);
        break;
      case FormatKind::kFixed:
        out = std::string(e.is_signed ? "fixed" : "ufixed") + std::to_string(e.int_bits) + "." +
              std::to_string(e.frac_bits);
        base = fixed_format(e.int_bits, e.frac_bits, e.is_signed);
        break;
      case FormatKind::kInt:
        out = std::string(e.is_signed ? "int" : "uint") + std::to_string(e.bits);
        base = int_format(e.bits, e.is_signed);
        break;
      case FormatKind::kBinary:
        out = "binary";
        base = binary_format();
        break;
      case FormatKind::kTernary:
        out = "ternary";
        base = ternary_format();
        break;
    }
  }
  if (e.kind == FormatKind::kFloat) {
    if (e.bias != base.bias) out += ":bias=" + std::to_string(e.bias);
    if (e.subnormals != base.subnormals) out += e.subnormals ? ":sub=on" : ":sub=off";
    if (e.specials != base.specials)
      out += e.specials == Specials::kIeee      ? ":specials=ieee"
             : e.specials == Specials::kNanOnly ? ":specials=fn"
                                                : ":specials=none";
    // specials=none implies saturation; print overflow only when it is a choice.
    const bool implied_sat = e.specials == Specials::kNone;
    const bool base_sat = e.specials != base.specials ? implied_sat : base.saturate;
    if (e.saturate != base_sat && !implied_sat)
      out += e.saturate ? ":overflow=sat" : ":overflow=inf";
  }
  if (e.scale != base.scale) out += ":scale=" + format_float(e.scale);
  if (e.zero_point != base.zero_point) out += ":zp=" + std::to_string(e.zero_point);
  if (e.channel_axis != base.channel_axis) out += ":axis=" + std::to_string(e.channel_axis);
  if (e.threshold != base.threshold) out += ":threshold=" + format_float(e.threshold);
  if (f.block != 0) out += ":block=" + std::to_string(f.block);
  return out;
}

int code_bits(const NumberFormat& f) {
  switch (f.kind) {
    case FormatKind::kFloat:
      return 1 + f.exponent_bits + f.mantissa_bits;
    case FormatKind::kFixed:
      return f.int_bits + f.frac_bits;
    case FormatKind::kInt:
      return f.bits;
    case FormatKind::kBinary:
      return 1;
    case FormatKind::kTernary:
      return 2;
  }
  return 0;
}

namespace {

struct IntRange {
  int64_t qmin, qmax;
};
IntRange int_range(const NumberFormat& f) {
  const int w = f.kind == FormatKind::kFixed ? f.int_bits + f.frac_bits : f.bits;
  if (f.is_signed) return {-(int64_t{1} << (w - 1)), (int64_t{1} << (w - 1)) - 1};
  return {0, (int64_t{1} << w) - 1};
}

int64_t sign_extend(uint32_t code, int w, bool is_signed) {
  const uint64_t mask = (uint64_t{1} << w) - 1;
  uint64_t c = code & mask;
  if (is_signed && (c >> (w - 1)) & 1)
    return static_cast<int64_t>(c) - static_cast<int64_t>(mask + 1);
  return static_cast<int64_t>(c);
}

double int_value(const NumberFormat& f, int64_t q) {
  if (f.kind == FormatKind::kFixed) return std::ldexp(static_cast<double>(q), -f.frac_bits);
  // The value is what the quantizer produces: (q - zp) * scale rounded to binary32.
  return static_cast<double>(static_cast<float>(q - f.zero_point) * f.scale);
}

}  // namespace

double decode(const NumberFormat& fmt, uint32_t code) {
  const NumberFormat f = fmt.element();
  switch (f.kind) {
    case FormatKind::kFloat: {
      const int E = f.exponent_bits, M = f.mantissa_bits;
      const bool neg = (code >> (E + M)) & 1;
      const uint32_t mag = code & ((uint32_t{1} << (E + M)) - 1);
      const uint32_t ef = mag >> M, man = mag & ((uint32_t{1} << M) - 1);
      const uint32_t all_e = (uint32_t{1} << E) - 1;
      double v;
      if (f.specials == Specials::kIeee && ef == all_e) {
        v = man == 0 ? std::numeric_limits<double>::infinity()
                     : std::numeric_limits<double>::quiet_NaN();
      } else if (f.specials == Specials::kNanOnly && mag == (uint32_t{1} << (E + M)) - 1) {
        v = std::numeric_limits<double>::quiet_NaN();
      } else if (ef == 0) {
        v = f.subnormals ? std::ldexp(static_cast<double>(man), 1 - f.bias - M) : 0.0;
      } else {
        v = std::ldexp(static_cast<double>((uint32_t{1} << M) | man),
                       static_cast<int>(ef) - f.bias - M);
      }
      return neg ? -v : v;
    }
    case FormatKind::kFixed:
    case FormatKind::kInt:
      return int_value(f, sign_extend(code, code_bits(f), f.is_signed));
    case FormatKind::kBinary:
      return (code & 1) ? f.scale : -static_cast<double>(f.scale);
    case FormatKind::kTernary: {
      const uint32_t c = code & 3;
      return c == 0   ? 0.0
             : c == 1 ? f.scale
             : c == 3 ? -static_cast<double>(f.scale)
                      : std::numeric_limits<double>::quiet_NaN();
    }
  }
  return 0;
}

uint32_t encode(const NumberFormat& fmt, double v) {
  const NumberFormat f = fmt.element();
  auto fail = [&]() -> uint32_t {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", v);
    throw UserError(std::string("value ") + buf + " is not representable in " + to_string(f));
  };
  switch (f.kind) {
    case FormatKind::kFloat: {
      const int E = f.exponent_bits, M = f.mantissa_bits;
      const uint32_t sign = std::signbit(v) ? uint32_t{1} << (E + M) : 0;
      const uint32_t all_e = (uint32_t{1} << E) - 1;
      if (std::isnan(v)) {
        if (f.specials == Specials::kIeee && M > 0)
          return sign | (all_e << M) | (uint32_t{1} << (M - 1));
        if (f.specials == Specials::kNanOnly) return sign | ((uint32_t{1} << (E + M)) - 1);
        return fail();
      }
      if (std::isinf(v)) {
        if (f.specials == Specials::kIeee) return sign | (all_e << M);
        return fail();
      }
      const double a = std::fabs(v);
      if (a == 0) return sign;
      const FloatRange r = float_range(f);
      int e = std::ilogb(a);
      uint32_t mag;
      if (e < r.emin) {
        if (!f.subnormals) return fail();
        const double m = std::ldexp(a, -(r.emin - M));
        if (m != std::floor(m) || m >= std::ldexp(1.0, M)) return fail();
        mag = static_cast<uint32_t>(m);
      } else {
        const double m = std::ldexp(a, -(e - M));
        if (m != std::floor(m)) return fail();
        mag = (static_cast<uint32_t>(e + f.bias) << M) |
              (static_cast<uint32_t>(m) & ((uint32_t{1} << M) - 1));
      }
      if (mag > r.max_code) return fail();
      return sign | mag;
    }
    case FormatKind::kFixed:
    case FormatKind::kInt: {
      if (!std::isfinite(v)) return fail();
      const IntRange r = int_range(f);
      double qd = f.kind == FormatKind::kFixed ? std::ldexp(v, f.frac_bits)
                                               : std::nearbyint(v / f.scale) + f.zero_point;
      if (qd < static_cast<double>(r.qmin) || qd > static_cast<double>(r.qmax)) return fail();
      const int64_t q = static_cast<int64_t>(qd);
      if (int_value(f, q) != v) return fail();
      return static_cast<uint32_t>(q) & static_cast<uint32_t>((uint64_t{1} << code_bits(f)) - 1);
    }
    case FormatKind::kBinary:
      if (v == f.scale) return 1;
      if (v == -static_cast<double>(f.scale)) return 0;
      return fail();
    case FormatKind::kTernary:
      if (v == 0) return 0;
      if (v == f.scale) return 1;
      if (v == -static_cast<double>(f.scale)) return 3;
      return fail();
  }
  return fail();
}

std::vector<double> finite_values(const NumberFormat& fmt) {
  const NumberFormat f = fmt.element();
  const int w = code_bits(f);
  if (w > 24) throw UserError("finite_values: " + to_string(f) + " has too many codes to list");
  std::vector<double> out;
  out.reserve(size_t{1} << w);
  for (uint32_t c = 0; c < (uint32_t{1} << w); ++c) {
    if (f.kind == FormatKind::kTernary && c == 2) continue;
    double v = decode(f, c);
    if (std::isfinite(v)) out.push_back(v == 0 ? 0.0 : v);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

int max_exponent(const NumberFormat& fmt) {
  const NumberFormat f = fmt.element();
  if (f.kind == FormatKind::kFloat) return float_range(f).emax;
  const double m = describe(f).max_finite;
  return m > 0 ? std::ilogb(m) : std::numeric_limits<int>::min();
}

FormatInfo describe(const NumberFormat& fmt) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const NumberFormat f = fmt.element();
  FormatInfo info;
  info.name = to_string(fmt);
  info.bits = code_bits(f);
  info.bits_per_value = info.bits + (fmt.block ? 8.0 / fmt.block : 0.0);
  switch (f.kind) {
    case FormatKind::kFloat: {
      const FloatRange r = float_range(f);
      const int M = f.mantissa_bits;
      info.layout = "s1 e" + std::to_string(f.exponent_bits) + " m" + std::to_string(M) + " bias " +
                    std::to_string(f.bias);
      info.max_finite = r.max_finite;
      info.min_finite = -r.max_finite;
      info.min_normal = r.min_normal;
      info.min_subnormal = f.subnormals && M > 0 ? r.min_subnormal : nan;
      info.epsilon = r.emin <= 0 && r.emax >= 0 ? pow2(-M) : nan;
      const uint64_t nonzero = f.subnormals ? r.max_code : r.max_code - (uint64_t{1} << M) + 1;
      info.finite_values = 2 * nonzero + 1;
      info.has_inf = f.specials == Specials::kIeee;
      info.has_nan = (f.specials == Specials::kIeee && M > 0) || f.specials == Specials::kNanOnly;
      break;
    }
    case FormatKind::kFixed: {
      const IntRange r = int_range(f);
      info.layout = std::string(f.is_signed ? "two's complement " : "unsigned ") +
                    std::to_string(f.int_bits) + "." + std::to_string(f.frac_bits);
      info.max_finite = std::ldexp(static_cast<double>(r.qmax), -f.frac_bits);
      info.min_finite = std::ldexp(static_cast<double>(r.qmin), -f.frac_bits);
      info.min_normal = pow2(-f.frac_bits);
      info.min_subnormal = nan;
      info.epsilon = pow2(-f.frac_bits);
      info.finite_values = uint64_t{1} << info.bits;
      break;
    }
    case FormatKind::kInt: {
      const IntRange r = int_range(f);
      info.layout = std::string(f.is_signed ? "int" : "uint") + std::to_string(f.bits) +
                    " (q - zp) * scale" + (f.channel_axis >= 0 ? " per channel" : "");
      info.max_finite = int_value(f, r.qmax);
      info.min_finite = int_value(f, r.qmin);
      info.min_normal = f.scale;
      info.min_subnormal = nan;
      info.epsilon = f.scale;
      info.finite_values = uint64_t{1} << info.bits;
      break;
    }
    case FormatKind::kBinary:
      info.layout = "sign bit * scale";
      info.max_finite = f.scale;
      info.min_finite = -static_cast<double>(f.scale);
      info.min_normal = f.scale;
      info.min_subnormal = info.epsilon = nan;
      info.finite_values = 2;
      break;
    case FormatKind::kTernary:
      info.layout = "{-1, 0, +1} * scale";
      info.max_finite = f.scale;
      info.min_finite = -static_cast<double>(f.scale);
      info.min_normal = f.scale;
      info.min_subnormal = info.epsilon = nan;
      info.finite_values = 3;
      break;
  }
  if (fmt.block != 0) {
    // The shared scale 2^X, X in [-127, 127], is chosen per block so that the block's
    // largest magnitude lands in the element's top binade (see quantize.cpp).
    const int emax = max_exponent(f);
    const double elem_min = std::isnan(info.min_subnormal) ? info.min_normal : info.min_subnormal;
    const int lowest_x = std::max(-127, -149 - std::ilogb(elem_min));
    info.layout = std::to_string(fmt.block) + " x (" + info.layout + ") + e8m0 scale";
    info.max_finite = std::ldexp(info.max_finite, std::min(127, 127 - emax));
    info.min_finite = std::ldexp(info.min_finite, std::min(127, 127 - emax));
    info.min_normal = std::ldexp(info.min_normal, lowest_x);
    if (!std::isnan(info.min_subnormal))
      info.min_subnormal = std::ldexp(info.min_subnormal, lowest_x);
  }
  return info;
}

}  // namespace frugal::numeric
