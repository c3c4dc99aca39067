// Number formats: every format frugal can emulate, from 1 bit to binary32, as one value
// type. Presets live in one traits table (format.cpp); any format prints to a short name
// and parses back from it (parse_format(to_string(f)) == f).
//
// Values in an emulated format are carried as binary32 floats that are exactly
// representable in the format (the CPFloat/QPyTorch approach), so every float format must
// fit inside binary32: normals no smaller than 2^-126, largest value no larger than FLT_MAX.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace frugal::numeric {

enum class FormatKind : uint8_t {
  kFloat,    // sign, E exponent bits, M mantissa bits
  kFixed,    // two's complement (or unsigned) with F fraction bits, saturating
  kInt,      // affine integer: value = (q - zero_point) * scale, q in [qmin, qmax]
  kBinary,   // {-scale, +scale}
  kTernary,  // {-scale, 0, +scale}, |x| <= threshold * scale goes to 0
};

// What the all-ones exponent field of a float format means.
enum class Specials : uint8_t {
  kIeee,     // infinities and NaNs, as in IEEE 754 (fp16, bf16, e5m2)
  kNanOnly,  // only the all-ones code is NaN, no infinities (OCP E4M3FN, "fn")
  kNone,     // every code is finite (OCP MX FP6/FP4 element formats)
};

struct NumberFormat {
  FormatKind kind = FormatKind::kFloat;

  // kFloat. Default: binary32.
  int exponent_bits = 8;
  int mantissa_bits = 23;
  int bias = 127;
  bool subnormals = true;
  Specials specials = Specials::kIeee;
  // Overflow clamps to +-max instead of going to inf (or NaN when the format has no inf).
  // Formats without inf and NaN always saturate.
  bool saturate = false;

  // kFixed: fixed<int_bits>.<frac_bits>; int_bits counts the sign bit when is_signed.
  int int_bits = 0;
  int frac_bits = 0;
  // kInt: bit width; kFixed/kInt: signedness.
  int bits = 0;
  bool is_signed = true;

  // kInt, kBinary, kTernary: value of one step. kInt also: zero point, and the axis along
  // which scales vary (-1: one scale for the tensor; >= 0: per channel, scales from data).
  float scale = 1.0f;
  int32_t zero_point = 0;
  int channel_axis = -1;
  // kTernary: fraction of scale below which (|x| <= threshold * scale) a value becomes 0.
  float threshold = 0.5f;

  // MX-style block scaling: groups of `block` consecutive elements share a power-of-two
  // scale stored as E8M0 (OCP Microscaling v1.0). 0: no shared scale.
  int block = 0;

  bool operator==(const NumberFormat&) const = default;

  // The element format of a block format (this format with block = 0).
  NumberFormat element() const {
    NumberFormat e = *this;
    e.block = 0;
    return e;
  }
};

// Builders for the common cases (no validation beyond parse_format's; see validate()).
NumberFormat float_format(int exponent_bits, int mantissa_bits);  // IEEE-like defaults
NumberFormat fixed_format(int int_bits, int frac_bits, bool is_signed = true);
NumberFormat int_format(int bits, bool is_signed = true, float scale = 1.0f,
                        int32_t zero_point = 0);

// Parses a format name; throws UserError with a one-line message stating the grammar.
NumberFormat parse_format(std::string_view name);
// The canonical name (a preset name when one matches, else the generic form with options).
std::string to_string(const NumberFormat& format);
// One line describing the accepted names, for error and help messages.
std::string_view format_grammar();
// Throws UserError when the format is out of the supported range (names `what`).
void validate(const NumberFormat& format);

// The traits table of presets: name, format and a one-line description.
struct FormatPreset {
  std::string name;
  NumberFormat format;
  std::string description;
};
const std::vector<FormatPreset>& format_presets();

// Derived properties. Values that do not apply are NaN (e.g. epsilon of an int format).
struct FormatInfo {
  std::string name;
  std::string layout;          // e.g. "s1 e4 m3", "s1 i3 f4", "u8 (q-zp)*scale"
  int bits = 0;                // bits of one element code
  double bits_per_value = 0;   // including the amortized shared block scale
  double max_finite = 0;       // largest finite value
  double min_finite = 0;       // most negative finite value
  double min_normal = 0;       // smallest positive normal (float), smallest step otherwise
  double min_subnormal = 0;    // smallest positive subnormal (NaN when none)
  double epsilon = 0;          // distance from 1 to the next larger value (float, fixed)
  uint64_t finite_values = 0;  // distinct finite values (+0 and -0 count once)
  bool has_inf = false;
  bool has_nan = false;
};
FormatInfo describe(const NumberFormat& format);

// Bit patterns. A float code is sign | exponent | mantissa in the low 1+E+M bits; a
// fixed/int code is the two's complement (or unsigned) integer q in the low bits; binary:
// 0 = -scale, 1 = +scale; ternary: 0 = 0, 1 = +scale, 3 = -scale. Block formats encode the
// element alone (shared scale 1).
int code_bits(const NumberFormat& format);
double decode(const NumberFormat& format, uint32_t code);
// The code of `value`, which must be representable (NaN and +-inf map to their codes when
// the format has them); throws UserError otherwise.
uint32_t encode(const NumberFormat& format, double value);
// Every distinct finite value in increasing order (formats of at most 24 code bits).
std::vector<double> finite_values(const NumberFormat& format);

// Float formats: exponent range as seen by the rounding code.
struct FloatRange {
  int emin = 0;           // exponent of the smallest normal
  int emax = 0;           // exponent of the largest finite value
  uint32_t max_code = 0;  // magnitude code of the largest finite value
  double max_finite = 0;
  double min_normal = 0;
  double min_subnormal = 0;  // equals min_normal when subnormals are off
};
FloatRange float_range(const NumberFormat& format);

// Exponent of the largest finite value (floor(log2(max))), for block scaling.
int max_exponent(const NumberFormat& format);

}  // namespace frugal::numeric
