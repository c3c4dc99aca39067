// Operator specs: names, validation (what the generator cannot express, and why), ports.
#include "frugal/hw/operator.h"

#include <algorithm>
#include <cctype>

#include "frugal/core/error.h"

namespace frugal::hw {

namespace fn = frugal::numeric;

namespace {

struct OpName {
  HwOp op;
  std::string_view name;
};
constexpr OpName kOps[] = {
    {HwOp::kMul, "mul"}, {HwOp::kAdd, "add"},        {HwOp::kFma, "fma"},
    {HwOp::kMac, "mac"}, {HwOp::kToFp32, "to-fp32"}, {HwOp::kFromFp32, "from-fp32"},
    {HwOp::kDot, "dot"},
};

// A Kulisch mac's accumulator is a port, and the verifier carries ports in 128-bit words.
constexpr int kMaxKulischBits = 120;
// A dot product's exact sum is internal (the reference holds it in as many 64-bit words as it
// needs); fp32 of length 64 needs 563 bits.
constexpr int kMaxDotGridBits = 1024;
// Products a mac's Kulisch accumulator absorbs without wrapping: 2^16.
constexpr int kMacHeadroomBits = 16;

bool is_float(const fn::NumberFormat& f) {
  return f.kind == fn::FormatKind::kFloat;
}

int ceil_log2(int n) {
  int b = 0;
  while ((1 << b) < n) ++b;
  return b;
}

// Why the generator cannot build operators on `f`, or "".
std::string format_limit(const fn::NumberFormat& f) {
  if (f.block != 0)
    return "block (MX) formats share a scale outside the element: generate the element "
           "format and apply the scale separately";
  switch (f.kind) {
    case fn::FormatKind::kFloat:
      if (f.mantissa_bits == 0)
        return "a float without mantissa bits has a zero-width mantissa field, which the "
               "generator does not emit";
      return "";
    case fn::FormatKind::kFixed:
      return "";
    case fn::FormatKind::kInt:
      if (f.scale != 1.0f || f.zero_point != 0 || f.channel_axis >= 0)
        return "integer operators work on codes: a scale or zero point is applied outside "
               "the operator (use scale 1, zero point 0)";
      return "";
    case fn::FormatKind::kBinary:
    case fn::FormatKind::kTernary:
      return "binary and ternary values are sign logic, not an arithmetic datapath (use int2)";
  }
  return "unknown format kind";
}

[[noreturn]] void cannot(const OperatorSpec& s, const std::string& why) {
  throw UserError("frugal hw cannot express " + describe(s) + ": " + why);
}

fn::Rounding parse_hw_rounding(std::string_view name) {
  std::string n(name);
  if (n == "nearest") return fn::Rounding::nearest_even();
  if (n == "toward-zero") return fn::Rounding::of(fn::RoundingMode::kTowardZero);
  if (n.rfind("stochastic", 0) == 0) n = "sr" + n.substr(10);
  try {
    return fn::parse_rounding(n);
  } catch (const UserError& e) {
    throw UserError(std::string("--round: ") + e.what());
  }
}

}  // namespace

std::string_view op_name(HwOp op) {
  for (const auto& o : kOps)
    if (o.op == op) return o.name;
  return "?";
}

std::string_view op_grammar() {
  return "mul|add|fma|mac|to-fp32|from-fp32|dot";
}

HwOp parse_op(std::string_view name) {
  for (const auto& o : kOps)
    if (o.name == name) return o.op;
  throw UserError("unknown operator '" + std::string(name) +
                  "' (accepted: " + std::string(op_grammar()) + ")");
}

ValueRange value_range(const fn::NumberFormat& f) {
  ValueRange v;
  if (is_float(f)) {
    const fn::FloatRange r = fn::float_range(f);
    v.sig_bits = f.mantissa_bits + 1;
    v.x_min = r.emin - f.mantissa_bits;
    v.x_max = r.emax - f.mantissa_bits;
    v.lead_min = f.subnormals ? r.emin - f.mantissa_bits : r.emin;
    v.lead_max = r.emax;
    return v;
  }
  const int w = fn::code_bits(f);
  const int frac = f.kind == fn::FormatKind::kFixed ? f.frac_bits : 0;
  v.sig_bits = w;
  v.x_min = v.x_max = -frac;
  v.lead_min = -frac;
  v.lead_max = w - 1 - frac;
  return v;
}

ValueRange product_range(const ValueRange& a, const ValueRange& b) {
  ValueRange p;
  p.sig_bits = a.sig_bits + b.sig_bits;
  p.x_min = a.x_min + b.x_min;
  p.x_max = a.x_max + b.x_max;
  p.lead_min = a.lead_min + b.lead_min;
  p.lead_max = a.lead_max + b.lead_max + 1;
  return p;
}

KulischGrid kulisch_grid(const OperatorSpec& s) {
  const ValueRange p = product_range(value_range(s.format), value_range(s.format));
  const int headroom = s.op == HwOp::kDot ? ceil_log2(s.length) : kMacHeadroomBits;
  return {p.lead_max - p.x_min + 1 + headroom + 1, p.x_min};
}

fn::NumberFormat output_format(const OperatorSpec& s) {
  switch (s.op) {
    case HwOp::kMac:
    case HwOp::kDot:
      return s.accumulator;
    case HwOp::kToFp32:
      return fn::float_format(8, 23);
    default:
      return s.format;
  }
}

std::string describe(const OperatorSpec& s) {
  const std::string f = fn::to_string(s.format);
  const std::string acc = s.kulisch ? "kulisch" : fn::to_string(s.accumulator);
  std::string text;
  switch (s.op) {
    case HwOp::kMul:
      text = "mul " + f;
      break;
    case HwOp::kAdd:
      text = "add " + f;
      break;
    case HwOp::kFma:
      text = "fma " + f;
      break;
    case HwOp::kMac:
      text = "mac " + f + " x " + f + " + " + acc;
      break;
    case HwOp::kToFp32:
      text = "to-fp32 " + f;
      break;
    case HwOp::kFromFp32:
      text = "from-fp32 " + f;
      break;
    case HwOp::kDot:
      text = "dot" + std::to_string(s.length) + " " + f + " -> " + acc;
      break;
  }
  text += ", " + fn::to_string(s.rounding);
  text += s.pipeline > 0 ? ", " + std::to_string(s.pipeline) + " stages" : ", combinational";
  return text;
}

std::string module_name(const OperatorSpec& s) {
  std::string raw = "frugal_" + std::string(op_name(s.op)) + "_" + fn::to_string(s.format);
  if (s.op == HwOp::kMac || s.op == HwOp::kDot)
    raw += "_" + (s.kulisch ? std::string("kulisch") : fn::to_string(s.accumulator));
  if (s.op == HwOp::kDot) raw += "_n" + std::to_string(s.length);
  std::string out;
  for (char c : raw) out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

void check_expressible(const OperatorSpec& s) {
  std::string why = format_limit(s.format);
  if (!why.empty()) cannot(s, fn::to_string(s.format) + ": " + why);
  if (!s.kulisch) {
    why = format_limit(s.accumulator);
    if (!why.empty()) cannot(s, "accumulator " + fn::to_string(s.accumulator) + ": " + why);
    if ((s.op == HwOp::kMac || s.op == HwOp::kDot) && is_float(s.format) != is_float(s.accumulator))
      cannot(s,
             "float and fixed-point operands in one datapath are not generated (convert "
             "first)");
  }
  const fn::RoundingMode m = s.rounding.mode;
  if (m != fn::RoundingMode::kNearestEven && m != fn::RoundingMode::kTowardZero &&
      m != fn::RoundingMode::kStochastic)
    cannot(s, "rounding " + fn::to_string(s.rounding) +
                  " is not generated (nearest-even, toward-zero and stochastic are)");
  if (m == fn::RoundingMode::kStochastic && s.op != HwOp::kFromFp32)
    cannot(s,
           "stochastic rounding is generated for from-fp32 only (the other operators keep a "
           "sticky bit, not R exact fraction bits)");
  if (m == fn::RoundingMode::kStochastic && !is_float(s.format) && s.rounding.random_bits > 24)
    cannot(s,
           "stochastic rounding into fixed-point or integer formats takes at most 24 random "
           "bits (beyond that numeric's double-precision fraction is not exact)");
  if (s.pipeline < 0 || s.pipeline > 16) cannot(s, "--pipeline must be 0..16");
  if (s.op == HwOp::kDot && (s.length < 1 || s.length > 64)) cannot(s, "--length must be 1..64");
  if (s.kulisch && s.op != HwOp::kMac)
    cannot(s, "a Kulisch accumulator is a mac option (dot always sums exactly)");
  if (s.kulisch && kulisch_grid(s).width > kMaxKulischBits)
    cannot(s, "the Kulisch accumulator port needs " + std::to_string(kulisch_grid(s).width + 1) +
                  " bits; frugal's verifier carries ports of at most " +
                  std::to_string(kMaxKulischBits + 1));
  if (s.op == HwOp::kDot && kulisch_grid(s).width > kMaxDotGridBits)
    cannot(s, "the exact sum needs " + std::to_string(kulisch_grid(s).width) +
                  " bits; the generator takes at most " + std::to_string(kMaxDotGridBits));
}

OperatorSpec make_spec(HwOp op, std::string_view format, std::string_view accumulator,
                       std::string_view rounding, int pipeline, int length) {
  OperatorSpec s;
  s.op = op;
  try {
    s.format = fn::parse_format(format);
  } catch (const UserError& e) {
    throw UserError(std::string("--format: ") + e.what());
  }
  s.accumulator = s.format;
  if (!accumulator.empty()) {
    if (op != HwOp::kMac && op != HwOp::kDot) throw UserError("--acc: applies to mac and dot only");
    if (accumulator == "kulisch") {
      s.kulisch = true;
    } else {
      try {
        s.accumulator = fn::parse_format(accumulator);
      } catch (const UserError& e) {
        throw UserError(std::string("--acc: ") + e.what());
      }
    }
  }
  s.rounding = parse_hw_rounding(rounding);
  s.pipeline = pipeline;
  s.length = length;
  check_expressible(s);
  return s;
}

PortList ports(const OperatorSpec& s) {
  PortList p;
  const int w = fn::code_bits(s.format);
  const int wacc = s.kulisch ? kulisch_grid(s).width + 1 : fn::code_bits(s.accumulator);
  switch (s.op) {
    case HwOp::kMul:
    case HwOp::kAdd:
      p.inputs = {{"a", w}, {"b", w}};
      p.output = {"y", w};
      break;
    case HwOp::kFma:
      p.inputs = {{"a", w}, {"b", w}, {"c", w}};
      p.output = {"y", w};
      break;
    case HwOp::kMac:
      p.inputs = {{"a", w}, {"b", w}, {"c", wacc}};
      p.output = {"y", wacc};
      break;
    case HwOp::kToFp32:
      p.inputs = {{"a", w}};
      p.output = {"y", 32};
      break;
    case HwOp::kFromFp32:
      p.inputs = {{"a", 32}};
      p.output = {"y", w};
      break;
    case HwOp::kDot:
      for (int i = 0; i < s.length; ++i) {
        p.inputs.push_back({"a" + std::to_string(i), w});
        p.inputs.push_back({"b" + std::to_string(i), w});
      }
      p.output = {"y", fn::code_bits(s.accumulator)};
      break;
  }
  if (s.rounding.mode == fn::RoundingMode::kStochastic)
    p.inputs.push_back({"rnd", s.rounding.random_bits});
  p.clocked = s.pipeline > 0;
  return p;
}

}  // namespace frugal::hw
