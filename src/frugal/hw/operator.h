// An arithmetic operator to generate, verify and size: what it computes, in which number
// formats, with which rounding, and its ports. The arithmetic follows numeric/ exactly: each
// operator rounds the exact result once (numeric::round_value), so the emulator is its
// reference (hw/reference.h).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"

namespace frugal::hw {

enum class HwOp : uint8_t {
  kMul,       // y = round(a * b), all in the format
  kAdd,       // y = round(a + b)
  kFma,       // y = round(a * b + c), one rounding
  kMac,       // y = round(a * b + c): a, b in the format, c and y in the accumulator format;
              // with a Kulisch accumulator: y = c + a * b exactly on a wide fixed-point grid
  kToFp32,    // y = a as binary32 (exact for every format the generator accepts)
  kFromFp32,  // y = round(a), a binary32 (stochastic rounding takes a random word `rnd`)
  kDot,       // y = round(sum of N products a_i * b_i), exact sum, one rounding
};

struct OperatorSpec {
  HwOp op = HwOp::kMul;
  numeric::NumberFormat format;       // operands a, b
  numeric::NumberFormat accumulator;  // c and y of mac and dot (defaults to format)
  bool kulisch = false;               // mac, dot: exact fixed-point accumulator
  numeric::Rounding rounding;         // rne, rz, or sr (from-fp32 only)
  int pipeline = 0;                   // register levels (latency in cycles)
  int length = 4;                     // dot: number of products
};

std::string_view op_name(HwOp op);
// "mul" | "add" | "fma" | "mac" | "to-fp32" | "from-fp32" | "dot"; throws UserError.
HwOp parse_op(std::string_view name);
std::string_view op_grammar();

// Builds a spec from command-line words: format and accumulator names (acc "" = default,
// "kulisch" = exact accumulator), rounding name (nearest|toward-zero|stochastic or a
// numeric name such as rne, rz, sr:bits=8). Throws UserError naming the option at fault, and
// when the generator cannot express the combination (with the reason).
OperatorSpec make_spec(HwOp op, std::string_view format, std::string_view accumulator,
                       std::string_view rounding, int pipeline, int length);
// Throws UserError when the generator cannot express the spec, saying why.
void check_expressible(const OperatorSpec& spec);

// The format of y (the accumulator for mac/dot, binary32 for to-fp32, ...).
numeric::NumberFormat output_format(const OperatorSpec& spec);
// Format of each data input port, in port order (a, b[, c] or a0, b0, a1, b1, ...).
struct Port {
  std::string name;
  int bits = 0;
};
struct PortList {
  std::vector<Port> inputs;  // data inputs, then rnd when rounding is stochastic
  Port output;               // y
  bool clocked = false;      // has clk (pipeline > 0)
};
PortList ports(const OperatorSpec& spec);
// Top module name, e.g. frugal_mul_e4m3 (letters, digits and underscores).
std::string module_name(const OperatorSpec& spec);
// One line describing the spec, e.g. "mac e4m3 x e4m3 + fp32 -> fp32, rne, comb".
std::string describe(const OperatorSpec& spec);

// The Kulisch accumulator's grid: two's complement, KW bits, last bit 2^xmin; the extra
// top bit of a mac's accumulator port flags NaN/inf seen.
struct KulischGrid {
  int width = 0;
  int xmin = 0;
};
KulischGrid kulisch_grid(const OperatorSpec& spec);

// Unpacked value range used by the generator: significand width and the exponent range of
// its last bit and of its leading bit.
struct ValueRange {
  int sig_bits = 0;
  int x_min = 0, x_max = 0;        // exponent of the significand's last bit
  int lead_min = 0, lead_max = 0;  // exponent of a nonzero value's leading bit
};
ValueRange value_range(const numeric::NumberFormat& f);
ValueRange product_range(const ValueRange& a, const ValueRange& b);

}  // namespace frugal::hw
