// The generator: one top module per operator, wiring the library's unpack, multiply, add,
// fixed-point and rounding modules with the format's constants (see verilog.h).
#include "frugal/hw/verilog.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "frugal/core/error.h"

namespace frugal::hw {

namespace fn = frugal::numeric;

namespace {

constexpr int kXw = 14;  // signed exponent width inside the datapath (|x| < 8192)

bool is_float(const fn::NumberFormat& f) {
  return f.kind == fn::FormatKind::kFloat;
}

// An unpacked value on wires <p>_s, _n, _i (sign, NaN, inf), _m (significand), _x (exponent
// of its last bit) and _st (sticky: more nonzero bits below _m).
struct Value {
  std::string p;
  int sig_bits = 0;
  ValueRange range;
  bool has_sticky = false;
};

std::string sticky_of(const Value& v) {
  return v.has_sticky ? v.p + "_st" : "1'b0";
}

// Two's complement width that holds every code of an integer-valued format as a signed number.
int signed_width(const fn::NumberFormat& f) {
  return fn::code_bits(f) + (f.is_signed ? 0 : 1);
}

int frac_bits_of(const fn::NumberFormat& f) {
  return f.kind == fn::FormatKind::kFixed ? f.frac_bits : 0;
}

// The fixed-point datapath (fixed_point_datapath(spec)): plain two's complement arithmetic on
// the codes (value = code * 2^-F), each intermediate exactly as wide as its range needs, then
// one rounding shift where the result keeps fewer fraction bits than the exact value (a
// product of fixed<I>.<F> has 2F) and one clamp to the result's code range: numeric's rounding
// of a fixed-point result is exactly that. Products multiply the magnitudes (an unsigned
// array) and negate after: Yosys 0.23 has no Booth pass, and its signed multiplier
// sign-extends both operands to the product width (int8 mul: 424 against 335 cells). mul
// rounds and clamps the magnitude before negating (nearest-even and toward-zero are symmetric).
// Pipeline registers: one after the products (mul, fma, mac, dot) when there are two or more,
// the rest at the output.
class FixedWriter {
 public:
  FixedWriter(const OperatorSpec& spec, std::ostringstream& os) : spec_(spec), os_(os) {}
  // Writes y_comb; returns the register levels it placed inside.
  int run();

 private:
  // |a| * |b| (unsigned, m) and the product's sign (n) of the code ports a and b.
  struct Magnitude {
    std::string m, n;
  };
  // A signed wire and its width.
  struct Signed {
    std::string name;
    int width = 0;
  };
  Signed operand(const std::string& port, const fn::NumberFormat& f);
  Magnitude magnitude(const std::string& a, const std::string& b, const std::string& name);
  Magnitude reg(const Magnitude& v);
  Signed product(const Magnitude& v, const std::string& name);
  Signed reg(const Signed& v);
  std::string round_up_bit(const std::string& v, int width, int k, bool is_signed);
  Magnitude round_magnitude(const Magnitude& v);
  Signed rescale(const Signed& v, int from_frac, int to_frac, const std::string& name);
  void clamp(const Signed& v, const fn::NumberFormat& out);
  void clamp_magnitude(const Magnitude& v);

  const OperatorSpec& spec_;
  std::ostringstream& os_;
};

FixedWriter::Signed FixedWriter::operand(const std::string& port, const fn::NumberFormat& f) {
  const Signed v{"i" + port, signed_width(f)};
  os_ << "  wire signed [" << v.width - 1 << ":0] " << v.name << " = "
      << (f.is_signed ? "$signed(" + port + ")" : "$signed({1'b0, " + port + "})") << ";\n";
  return v;
}

FixedWriter::Magnitude FixedWriter::magnitude(const std::string& a, const std::string& b,
                                              const std::string& name) {
  const fn::NumberFormat& f = spec_.format;
  const int w = fn::code_bits(f);
  Magnitude v{name + "_m", f.is_signed ? name + "_n" : "1'b0"};
  std::string ma = a, mb = b;
  if (f.is_signed) {
    ma = name + "_ma";
    mb = name + "_mb";
    const std::string top = "[" + std::to_string(w - 1) + "]";
    os_ << "  wire [" << w - 1 << ":0] " << ma << " = " << a << top << " ? -" << a << " : " << a
        << ";\n  wire [" << w - 1 << ":0] " << mb << " = " << b << top << " ? -" << b << " : " << b
        << ";\n  wire " << v.n << " = " << a << top << " ^ " << b << top << ";\n";
  }
  os_ << "  wire [" << 2 * w - 1 << ":0] " << v.m << " = " << ma << " * " << mb << ";\n";
  return v;
}

FixedWriter::Magnitude FixedWriter::reg(const Magnitude& v) {
  const int w = 2 * fn::code_bits(spec_.format);
  Magnitude r{v.m + "_r", spec_.format.is_signed ? v.n + "_r" : v.n};
  os_ << "  reg [" << w - 1 << ":0] " << r.m << ";\n";
  if (spec_.format.is_signed) os_ << "  reg " << r.n << ";\n";
  os_ << "  always @(posedge clk) begin\n    " << r.m << " <= " << v.m << ";\n";
  if (spec_.format.is_signed) os_ << "    " << r.n << " <= " << v.n << ";\n";
  os_ << "  end\n";
  return r;
}

// The signed product, 2 * signed_width(format) bits, 2F fraction bits.
FixedWriter::Signed FixedWriter::product(const Magnitude& v, const std::string& name) {
  const Signed p{name, 2 * signed_width(spec_.format)};
  os_ << "  wire signed [" << p.width - 1 << ":0] " << p.name << " = " << v.n
      << " ? -$signed({1'b0, " << v.m << "}) : $signed({1'b0, " << v.m << "});\n";
  return p;
}

FixedWriter::Signed FixedWriter::reg(const Signed& v) {
  os_ << "  reg signed [" << v.width - 1 << ":0] " << v.name << "_r;\n  always @(posedge clk) "
      << v.name << "_r <= " << v.name << ";\n";
  return {v.name + "_r", v.width};
}

// 1 when v (width bits) with its k low bits dropped (a floor: v >> k) must go up by one:
// nearest-even above half or at half with an odd floor, toward zero when negative and inexact.
std::string FixedWriter::round_up_bit(const std::string& v, int width, int k, bool is_signed) {
  const auto bit = [&](int i) { return v + "[" + std::to_string(i) + "]"; };
  const std::string below = k == 1 ? "" : "|" + v + "[" + std::to_string(k - 2) + ":0]";
  if (spec_.rounding.mode == fn::RoundingMode::kTowardZero)
    return is_signed ? "(" + bit(width - 1) + " & (|" + v + "[" + std::to_string(k - 1) + ":0]))"
                     : "1'b0";
  return "(" + bit(k - 1) + " & (" + bit(k) + (below.empty() ? "" : " | " + below) + "))";
}

// mul: the product's magnitude with the format's F fraction bits (of its 2F) rounded away.
FixedWriter::Magnitude FixedWriter::round_magnitude(const Magnitude& v) {
  const int k = frac_bits_of(spec_.format);
  if (k == 0) return v;
  const int w = 2 * fn::code_bits(spec_.format);
  const Magnitude r{v.m + "_q", v.n};
  os_ << "  wire [" << w - 1 << ":0] " << r.m << " = (" << v.m << " >> " << k << ") + {" << w - 1
      << "'d0, " << round_up_bit(v.m, w, k, false) << "};\n";
  return r;
}

// v with from_frac fraction bits as a value with to_frac: exact when the fraction widens, one
// rounding (the operator's mode) when it narrows.
FixedWriter::Signed FixedWriter::rescale(const Signed& v, int from_frac, int to_frac,
                                         const std::string& name) {
  if (from_frac == to_frac) return v;
  if (to_frac > from_frac) {
    const int d = to_frac - from_frac;
    const Signed r{name, v.width + d};
    os_ << "  wire signed [" << r.width - 1 << ":0] " << r.name << " = $signed({" << v.name << ", "
        << d << "'d0});\n";
    return r;
  }
  const int k = from_frac - to_frac;
  // The floor of v / 2^k plus at most one still fits v's width (k >= 1).
  const Signed r{name, v.width};
  os_ << "  wire signed [" << r.width - 1 << ":0] " << r.name << " = (" << v.name << " >>> " << k
      << ") + $signed({1'b0, " << round_up_bit(v.name, v.width, k, true) << "});\n";
  return r;
}

// mul: the magnitude clamped to the largest code of the product's sign, then negated.
void FixedWriter::clamp_magnitude(const Magnitude& v) {
  const fn::NumberFormat& f = spec_.format;
  const int w = fn::code_bits(f);
  const std::string m = v.m, wide = std::to_string(2 * w);
  if (!f.is_signed) {
    const int64_t hi = (int64_t{1} << w) - 1;
    os_ << "  assign y_comb = " << m << " > " << wide << "'d" << hi << " ? " << w << "'d" << hi
        << " : " << m << "[" << w - 1 << ":0];\n";
    return;
  }
  const int64_t pos = (int64_t{1} << (w - 1)) - 1;
  os_ << "  wire [" << w - 1 << ":0] lim = " << v.n << " ? " << w << "'d" << pos + 1 << " : " << w
      << "'d" << pos << ";\n  wire [" << w - 1 << ":0] mc = " << m << " > {" << w
      << "'d0, lim} ? lim : " << m << "[" << w - 1 << ":0];\n  assign y_comb = " << v.n
      << " ? -mc : mc;\n";
}

void FixedWriter::clamp(const Signed& v, const fn::NumberFormat& out) {
  const int wo = fn::code_bits(out), width = v.width;
  const int64_t hi = out.is_signed ? (int64_t{1} << (wo - 1)) - 1 : (int64_t{1} << wo) - 1;
  const int64_t lo = out.is_signed ? -(int64_t{1} << (wo - 1)) : 0;
  auto lit = [&](int64_t c) {
    return (c < 0 ? "-" : "") + std::to_string(width) + "'sd" + std::to_string(c < 0 ? -c : c);
  };
  if (out.is_signed && width <= wo) {  // the range fits: no clamp, sign-extend
    const std::string top = v.name + "[" + std::to_string(width - 1) + "]";
    os_ << "  assign y_comb = "
        << (width == wo ? v.name
                        : "{{" + std::to_string(wo - width) + "{" + top + "}}, " + v.name + "}")
        << ";\n";
    return;
  }
  os_ << "  assign y_comb = " << v.name << " > " << lit(hi) << " ? " << wo << "'d" << hi << " : "
      << v.name << " < " << lit(lo) << " ? " << wo << "'d" << (out.is_signed ? hi + 1 : 0) << " : "
      << v.name << "[" << wo - 1 << ":0];\n";
}

int FixedWriter::run() {
  const fn::NumberFormat& f = spec_.format;
  const bool split = spec_.pipeline >= 2 && spec_.op != HwOp::kAdd;
  const int pf = 2 * frac_bits_of(f);  // fraction bits of a product
  switch (spec_.op) {
    case HwOp::kAdd: {
      const Signed a = operand("a", f), b = operand("b", f);
      const Signed s{"s", signed_width(f) + 1};
      os_ << "  wire signed [" << s.width - 1 << ":0] s = " << a.name << " + " << b.name << ";\n";
      clamp(s, f);
      return 0;
    }
    case HwOp::kMul: {
      Magnitude p = magnitude("a", "b", "p");
      if (split) p = reg(p);
      clamp_magnitude(round_magnitude(p));
      return split ? 1 : 0;
    }
    case HwOp::kFma:
    case HwOp::kMac: {
      const fn::NumberFormat& acc = spec_.op == HwOp::kFma ? f : spec_.accumulator;
      const int cf = frac_bits_of(acc), t = std::max(pf, cf);
      Magnitude m = magnitude("a", "b", "p");
      Signed c = operand("c", acc);
      if (split) {
        m = reg(m);
        c = reg(c);
      }
      const Signed p = rescale(product(m, "p"), pf, t, "pa");
      c = rescale(c, cf, t, "ca");
      const Signed s{"s", std::max(p.width, c.width) + 1};
      os_ << "  wire signed [" << s.width - 1 << ":0] s = " << p.name << " + " << c.name << ";\n";
      clamp(rescale(s, t, cf, "sr"), acc);
      return split ? 1 : 0;
    }
    case HwOp::kDot: {
      std::string sum;
      int pw = 0;
      for (int i = 0; i < spec_.length; ++i) {
        const std::string n = std::to_string(i);
        Magnitude m = magnitude("a" + n, "b" + n, "p" + n);
        if (split) m = reg(m);
        const Signed p = product(m, "sp" + n);
        pw = p.width;
        sum += (i == 0 ? "" : " + ") + p.name;
      }
      Signed s{"s", pw};
      while ((1 << (s.width - pw)) < spec_.length) ++s.width;
      os_ << "  wire signed [" << s.width - 1 << ":0] s = " << sum << ";\n";
      clamp(rescale(s, pf, frac_bits_of(spec_.accumulator), "sr"), spec_.accumulator);
      return split ? 1 : 0;
    }
    case HwOp::kToFp32:
    case HwOp::kFromFp32:
      break;
  }
  throw InternalError("FixedWriter: " + std::string(op_name(spec_.op)) + " is not fixed-point");
}

class TopWriter {
 public:
  explicit TopWriter(const OperatorSpec& spec) : spec_(spec) {}

  std::string run();

 private:
  void declare(const Value& v);
  Value unpack(const fn::NumberFormat& f, const std::string& code, const std::string& p);
  Value multiply(const Value& a, const Value& b, const std::string& p);
  Value add(const Value& a, const Value& b, const fn::NumberFormat& out, const std::string& p);
  void round(const Value& v, const fn::NumberFormat& f, const std::string& out);
  void body();
  void dot_body();
  void kulisch_mac_body();
  std::string to_fixed(const Value& v, const KulischGrid& g, const std::string& name);
  bool take_stage();
  Value cut(const Value& v);

  const OperatorSpec& spec_;
  std::ostringstream os_;
  // Register levels still to place inside the datapath; the last level is the output's.
  int internal_stages_ = std::max(0, spec_.pipeline - 1);
  int used_stages_ = 0;
};

bool TopWriter::take_stage() {
  if (internal_stages_ == 0) return false;
  --internal_stages_;
  ++used_stages_;
  return true;
}

// One pipeline register on every wire of v.
Value TopWriter::cut(const Value& v) {
  Value r = v;
  r.p = v.p + "_r";
  os_ << "  reg " << r.p << "_s, " << r.p << "_n, " << r.p << "_i";
  if (v.has_sticky) os_ << ", " << r.p << "_st";
  os_ << ";\n  reg [" << v.sig_bits - 1 << ":0] " << r.p << "_m;\n";
  os_ << "  reg signed [" << kXw - 1 << ":0] " << r.p << "_x;\n";
  os_ << "  always @(posedge clk) begin\n";
  for (const char* w : {"_s", "_n", "_i", "_m", "_x"})
    os_ << "    " << r.p << w << " <= " << v.p << w << ";\n";
  if (v.has_sticky) os_ << "    " << r.p << "_st <= " << v.p << "_st;\n";
  os_ << "  end\n";
  return r;
}

void TopWriter::declare(const Value& v) {
  os_ << "  wire " << v.p << "_s, " << v.p << "_n, " << v.p << "_i";
  if (v.has_sticky) os_ << ", " << v.p << "_st";
  os_ << ";\n  wire [" << v.sig_bits - 1 << ":0] " << v.p << "_m;\n";
  os_ << "  wire signed [" << kXw - 1 << ":0] " << v.p << "_x;\n";
}

std::string outs(const Value& v) {
  return ".sign(" + v.p + "_s), .is_nan(" + v.p + "_n), .is_inf(" + v.p + "_i), .sig(" + v.p +
         "_m), .x(" + v.p + "_x)";
}

Value TopWriter::unpack(const fn::NumberFormat& f, const std::string& code, const std::string& p) {
  Value v{p, value_range(f).sig_bits, value_range(f), false};
  declare(v);
  if (is_float(f)) {
    const int specials = f.specials == fn::Specials::kIeee      ? 0
                         : f.specials == fn::Specials::kNanOnly ? 1
                                                                : 2;
    os_ << "  fr_unpack_float #(.E(" << f.exponent_bits << "), .M(" << f.mantissa_bits
        << "), .BIAS(" << f.bias << "), .SUB(" << (f.subnormals ? 1 : 0) << "), .SPECIALS("
        << specials << "), .XW(" << kXw << ")) " << p << "_u (.code(" << code << "), " << outs(v)
        << ");\n";
  } else {
    const int frac = f.kind == fn::FormatKind::kFixed ? f.frac_bits : 0;
    os_ << "  fr_unpack_fixed #(.W(" << fn::code_bits(f) << "), .F(" << frac << "), .SIGNED("
        << (f.is_signed ? 1 : 0) << "), .XW(" << kXw << ")) " << p << "_u (.code(" << code << "), "
        << outs(v) << ");\n";
  }
  return v;
}

std::string ins(const Value& v, char side) {
  const std::string s(1, side);
  return ".s" + s + "(" + v.p + "_s), .n" + s + "(" + v.p + "_n), .i" + s + "(" + v.p + "_i), .m" +
         s + "(" + v.p + "_m), .x" + s + "(" + v.p + "_x)";
}

std::string result(const Value& v) {
  return ".s(" + v.p + "_s), .n(" + v.p + "_n), .i(" + v.p + "_i), .m(" + v.p + "_m), .x(" + v.p +
         "_x)";
}

Value TopWriter::multiply(const Value& a, const Value& b, const std::string& p) {
  Value v{p, a.sig_bits + b.sig_bits, product_range(a.range, b.range), false};
  declare(v);
  os_ << "  fr_mul #(.WA(" << a.sig_bits << "), .WB(" << b.sig_bits << "), .XW(" << kXw << ")) "
      << p << "_mul (" << ins(a, 'a') << ", " << ins(b, 'b') << ", " << result(v) << ");\n";
  return v;
}

// Guard bits below the larger operand's leading bit. A float result needs the output's
// significand plus round, guard and sticky positions (one more for a cancelled leading
// bit); a fixed-point result is kept exact (every operand bit stays).
int guard_bits(const Value& a, const Value& b, const fn::NumberFormat& out, int wn) {
  if (is_float(out)) return std::max(3, out.mantissa_bits + 5 - wn);
  return std::max(a.range.lead_max, b.range.lead_max) -
         std::min(a.range.lead_min, b.range.lead_min) + 2;
}

Value TopWriter::add(const Value& a, const Value& b, const fn::NumberFormat& out,
                     const std::string& p) {
  const int wn = std::max(a.sig_bits, b.sig_bits);
  const int g = guard_bits(a, b, out, wn);
  Value v{p, wn + g + 1, {}, true};
  declare(v);
  os_ << "  fr_add #(.WA(" << a.sig_bits << "), .WB(" << b.sig_bits << "), .G(" << g << "), .XW("
      << kXw << ")) " << p << "_add (" << ins(a, 'a') << ", " << ins(b, 'b') << ", " << result(v)
      << ", .sticky(" << p << "_st));\n";
  return v;
}

void TopWriter::round(const Value& v, const fn::NumberFormat& f, const std::string& out) {
  const fn::Rounding& r = spec_.rounding;
  const int mode = r.mode == fn::RoundingMode::kNearestEven  ? 0
                   : r.mode == fn::RoundingMode::kTowardZero ? 1
                                                             : 2;
  const bool sr = mode == 2;
  const int rbits = sr ? r.random_bits : 1;
  const std::string rnd = sr ? "rnd" : "1'b0";
  const std::string in = ".sign(" + v.p + "_s), .is_nan(" + v.p + "_n), .is_inf(" + v.p +
                         "_i), .x(" + v.p + "_x), .sig(" + v.p + "_m), .sticky(" + sticky_of(v) +
                         "), .rnd(" + rnd + "), .y(" + out + ")";
  if (is_float(f)) {
    const int E = f.exponent_bits, M = f.mantissa_bits;
    const fn::FloatRange fr = fn::float_range(f);
    const uint32_t all_e = (uint32_t{1} << E) - 1;
    const uint32_t all_mag = (uint32_t{1} << (E + M)) - 1;
    uint32_t ovf = fr.max_code, nan = 0;
    if (f.specials == fn::Specials::kIeee) {
      nan = (all_e << M) | (uint32_t{1} << (M - 1));
      if (!f.saturate) ovf = all_e << M;
    } else if (f.specials == fn::Specials::kNanOnly) {
      nan = all_mag;
      if (!f.saturate) ovf = all_mag;
    }
    os_ << "  fr_round_float #(.SW(" << v.sig_bits << "), .E(" << E << "), .M(" << M << "), .BIAS("
        << f.bias << "), .SUB(" << (f.subnormals ? 1 : 0) << "), .MODE(" << mode << "), .R("
        << rbits << "), .EMAX(" << fr.emax << "), .MAXCODE(" << fr.max_code << "), .OVFCODE(" << ovf
        << "), .NANCODE(" << nan << "), .XW(" << kXw << ")) " << v.p << "_round (" << in << ");\n";
  } else {
    const int frac = f.kind == fn::FormatKind::kFixed ? f.frac_bits : 0;
    os_ << "  fr_round_fixed #(.SW(" << v.sig_bits << "), .W(" << fn::code_bits(f) << "), .F("
        << frac << "), .SIGNED(" << (f.is_signed ? 1 : 0) << "), .MODE(" << mode << "), .R("
        << rbits << "), .XW(" << kXw << ")) " << v.p << "_round (" << in << ");\n";
  }
}

std::string TopWriter::to_fixed(const Value& v, const KulischGrid& g, const std::string& name) {
  os_ << "  wire [" << g.width - 1 << ":0] " << name << ";\n";
  os_ << "  fr_to_fixed #(.SW(" << v.sig_bits << "), .KW(" << g.width << "), .XMIN(" << g.xmin
      << "), .XW(" << kXw << ")) " << name << "_fx (.s(" << v.p << "_s), .m(" << v.p << "_m), .x("
      << v.p << "_x), .k(" << name << "));\n";
  return name;
}

// Exact sum of the products on the Kulisch grid, one rounding. NaN when a product is NaN or
// infinities of both signs meet; otherwise an infinite product wins.
void TopWriter::dot_body() {
  const KulischGrid g = kulisch_grid(spec_);
  std::string sum, any_nan, pos_inf, neg_inf;
  for (int i = 0; i < spec_.length; ++i) {
    const std::string n = std::to_string(i);
    const Value a = unpack(spec_.format, "a" + n, "ua" + n);
    const Value b = unpack(spec_.format, "b" + n, "ub" + n);
    const Value p = multiply(a, b, "p" + n);
    to_fixed(p, g, "k" + n);
    const std::string sep = i == 0 ? "" : " | ";
    sum += (i == 0 ? "" : " + ") + std::string("k") + n;
    any_nan += sep + p.p + "_n";
    pos_inf += sep + "(" + p.p + "_i & ~" + p.p + "_s)";
    neg_inf += sep + "(" + p.p + "_i & " + p.p + "_s)";
  }
  os_ << "  wire [" << g.width - 1 << ":0] ksum = " << sum << ";\n";
  os_ << "  wire pinf = " << pos_inf << ";\n  wire ninf = " << neg_inf << ";\n";
  Value t{"t", g.width, {}, false};
  declare(t);
  os_ << "  wire ksign;\n  fr_abs #(.KW(" << g.width
      << ")) t_abs (.k(ksum), .s(ksign), .m(t_m));\n";
  os_ << "  assign t_n = " << any_nan << " | (pinf & ninf);\n";
  os_ << "  assign t_i = (pinf | ninf) & ~t_n;\n";
  os_ << "  assign t_s = t_i ? ninf : ksign;\n";
  os_ << "  assign t_x = " << g.xmin << ";\n";
  round(t, spec_.accumulator, "y_comb");
}

// c + a * b on the Kulisch grid (wrapping at its width); the top bit of c and y records a
// NaN or infinite product, which leaves the sum unchanged.
void TopWriter::kulisch_mac_body() {
  const KulischGrid g = kulisch_grid(spec_);
  const Value a = unpack(spec_.format, "a", "ua");
  const Value b = unpack(spec_.format, "b", "ub");
  const Value p = multiply(a, b, "p");
  to_fixed(p, g, "k");
  os_ << "  assign y_comb = {c[" << g.width << "] | p_n | p_i, c[" << g.width - 1
      << ":0] + ((p_n | p_i) ? " << g.width << "'d0 : k)};\n";
}

void TopWriter::body() {
  const fn::NumberFormat& f = spec_.format;
  if (fixed_point_datapath(spec_)) {
    used_stages_ = FixedWriter(spec_, os_).run();
    return;
  }
  switch (spec_.op) {
    case HwOp::kMul: {
      const Value a = unpack(f, "a", "ua");
      const Value b = unpack(f, "b", "ub");
      Value p = multiply(a, b, "p");
      if (take_stage()) p = cut(p);
      return round(p, f, "y_comb");
    }
    case HwOp::kAdd: {
      const Value a = unpack(f, "a", "ua");
      const Value b = unpack(f, "b", "ub");
      Value s = add(a, b, f, "s");
      if (take_stage()) s = cut(s);
      return round(s, f, "y_comb");
    }
    case HwOp::kFma:
    case HwOp::kMac: {
      if (spec_.kulisch) return kulisch_mac_body();
      const fn::NumberFormat& acc = spec_.op == HwOp::kFma ? f : spec_.accumulator;
      const Value a = unpack(f, "a", "ua");
      const Value b = unpack(f, "b", "ub");
      Value p = multiply(a, b, "p");
      Value c = unpack(acc, "c", "uc");
      if (take_stage()) {
        p = cut(p);
        c = cut(c);
      }
      Value s = add(p, c, acc, "s");
      if (take_stage()) s = cut(s);
      return round(s, acc, "y_comb");
    }
    case HwOp::kToFp32:
      return round(unpack(f, "a", "ua"), fn::float_format(8, 23), "y_comb");
    case HwOp::kFromFp32:
      return round(unpack(fn::float_format(8, 23), "a", "ua"), f, "y_comb");
    case HwOp::kDot:
      return dot_body();
  }
}

std::string TopWriter::run() {
  const PortList pl = ports(spec_);
  os_ << "\n// " << describe(spec_) << "\n";
  os_ << "module " << module_name(spec_) << " (\n";
  if (pl.clocked) os_ << "    input clk,\n";
  for (const Port& p : pl.inputs) os_ << "    input [" << p.bits - 1 << ":0] " << p.name << ",\n";
  os_ << "    output [" << pl.output.bits - 1 << ":0] " << pl.output.name << "\n);\n";
  os_ << "  wire [" << pl.output.bits - 1 << ":0] y_comb;\n";
  body();
  if (pl.clocked)
    os_ << "  fr_pipe #(.W(" << pl.output.bits << "), .N(" << spec_.pipeline - used_stages_
        << ")) out_regs (.clk(clk), .d(y_comb), .q(y));\n";
  else
    os_ << "  assign y = y_comb;\n";
  os_ << "endmodule\n";
  return os_.str();
}

}  // namespace

bool fixed_point_valued(const fn::NumberFormat& f) {
  return f.block == 0 && (f.kind == fn::FormatKind::kInt || f.kind == fn::FormatKind::kFixed);
}

bool fixed_point_datapath(const OperatorSpec& spec) {
  if (spec.kulisch || spec.op == HwOp::kToFp32 || spec.op == HwOp::kFromFp32) return false;
  const bool own_format = spec.op != HwOp::kMac && spec.op != HwOp::kDot;
  return fixed_point_valued(spec.format) && (own_format || fixed_point_valued(spec.accumulator));
}

std::string generate_verilog(const OperatorSpec& spec) {
  check_expressible(spec);
  return std::string(rtl_library()) + TopWriter(spec).run();
}

std::string write_verilog(const OperatorSpec& spec, const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) throw UserError("-o " + dir + ": cannot create directory: " + ec.message());
  const std::string path = (std::filesystem::path(dir) / (module_name(spec) + ".v")).string();
  const std::string text = generate_verilog(spec);
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) throw UserError("-o " + dir + ": cannot write " + path);
  return path;
}

}  // namespace frugal::hw
