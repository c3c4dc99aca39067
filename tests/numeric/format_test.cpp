// Number formats: names both ways, bad names, properties, and every code of the OCP FP8
// formats against the values of the OCP 8-bit floating point specification (v1.0).
#include <gtest/gtest.h>

#include <cfloat>
#include <cmath>
#include <string>

#include "frugal/core/error.h"
#include "frugal/numeric/format.h"

namespace fn = frugal::numeric;
using fn::NumberFormat;

namespace {

double p2(int e) {
  return std::ldexp(1.0, e);
}

}  // namespace

TEST(FormatNames, PresetsParseAndPrintBothWays) {
  for (const auto& p : fn::format_presets()) {
    SCOPED_TRACE(p.name);
    EXPECT_EQ(fn::parse_format(p.name), p.format);
    EXPECT_EQ(fn::to_string(p.format), p.name);
    EXPECT_NO_THROW(fn::validate(p.format));
  }
}

TEST(FormatNames, GenericNamesRoundTrip) {
  const char* names[] = {"e5m10",
                         "e4m3:specials=ieee",
                         "e4m3:overflow=sat",
                         "e8m0",
                         "e1m2",
                         "e3m3:sub=off",
                         "e5m2:bias=14",
                         "e6m9:specials=fn",
                         "e2m2:specials=none",
                         "fixed4.4",
                         "ufixed8.0",
                         "fixed<1.15>",
                         "int8:scale=0.05:zp=3",
                         "uint4:zp=8",
                         "int8:axis=0",
                         "ternary:threshold=0.7",
                         "binary:scale=0.25",
                         "e2m1:block=16",
                         "int8:block=32",
                         "e4m3:overflow=sat:block=64",
                         "fp16:sub=off"};
  for (const char* n : names) {
    SCOPED_TRACE(n);
    NumberFormat f = fn::parse_format(n);
    std::string s = fn::to_string(f);
    EXPECT_EQ(fn::parse_format(s), f) << s;
  }
  // Canonical spellings.
  EXPECT_EQ(fn::to_string(fn::parse_format("e5m10")), "fp16");
  EXPECT_EQ(fn::to_string(fn::parse_format("e8m7")), "bf16");
  EXPECT_EQ(fn::to_string(fn::parse_format("e4m3:block=32")), "mxfp8");
  EXPECT_EQ(fn::to_string(fn::parse_format("fixed<1.15>")), "fixed1.15");
  EXPECT_EQ(fn::to_string(fn::float_format(4, 3)), "e4m3:specials=ieee");
  EXPECT_EQ(fn::to_string(fn::parse_format("e6m9:specials=fn")), "e6m9:specials=fn");
}

TEST(FormatNames, MalformedNamesGiveOneLineWithGrammar) {
  const char* bad[] = {"e0m3",
                       "e9m30",
                       "fixed<40.40>",
                       "int0",
                       "e4m3:chunk=0",
                       "",
                       "e4m",
                       "fp17",
                       "int17",
                       "uint0",
                       "fixed0.8",
                       "e4m3:bias=x",
                       "e4m3:sub=maybe",
                       "int8:scale=-1",
                       "int8:zp=300",
                       "e4m3:block=0",
                       "fp32:block=32",
                       "e8m23:bias=100",
                       "e5m2:bias=-120",
                       "ternary:threshold=2",
                       "e4m3:",
                       "binary:block=32",
                       "int8:axis=0:block=4"};
  for (const char* n : bad) {
    SCOPED_TRACE(n);
    try {
      fn::parse_format(n);
      ADD_FAILURE() << "accepted";
    } catch (const frugal::UserError& e) {
      std::string msg = e.what();
      EXPECT_EQ(msg.find('\n'), std::string::npos);
      EXPECT_NE(msg.find("accepted: fp32|"), std::string::npos) << msg;
      EXPECT_NE(msg.find(std::string("'") + n + "'"), std::string::npos) << msg;
    }
  }
}

struct Expected {
  const char* name;
  int bits;
  double max, min_normal, min_sub, eps;
  uint64_t finite;
};

// Figures from the IEEE 754 and OCP FP8/MX specifications, computed by hand.
TEST(FormatInfo, PresetPropertiesMatchSpecifications) {
  const Expected table[] = {
      {"fp32", 32, FLT_MAX, p2(-126), p2(-149), p2(-23),
       (uint64_t{1} << 32) - (uint64_t{1} << 24) - 1},
      {"tf32", 19, (2 - p2(-10)) * p2(127), p2(-126), p2(-136), p2(-10),
       (uint64_t{1} << 19) - (uint64_t{1} << 11) - 1},
      {"fp16", 16, 65504, p2(-14), p2(-24), p2(-10), 65536 - 2048 - 1},
      {"bf16", 16, (2 - p2(-7)) * p2(127), p2(-126), p2(-133), p2(-7), 65536 - 256 - 1},
      {"e5m2", 8, 57344, p2(-14), p2(-16), p2(-2), 256 - 8 - 1},
      {"e4m3", 8, 448, p2(-6), p2(-9), p2(-3), 256 - 2 - 1},
      {"e3m4", 8, 15.5, p2(-2), p2(-6), p2(-4), 256 - 32 - 1},
      {"e2m3", 6, 7.5, 1, 0.125, p2(-3), 64 - 1},
      {"e3m2", 6, 28, 0.25, 0.0625, p2(-2), 64 - 1},
      {"e2m1", 4, 6, 1, 0.5, 0.5, 16 - 1},
  };
  for (const auto& e : table) {
    SCOPED_TRACE(e.name);
    fn::FormatInfo info = fn::describe(fn::parse_format(e.name));
    EXPECT_EQ(info.bits, e.bits);
    EXPECT_EQ(info.max_finite, e.max);
    EXPECT_EQ(info.min_finite, -e.max);
    EXPECT_EQ(info.min_normal, e.min_normal);
    EXPECT_EQ(info.min_subnormal, e.min_sub);
    EXPECT_EQ(info.epsilon, e.eps);
    EXPECT_EQ(info.finite_values, e.finite);
  }
  fn::FormatInfo mx = fn::describe(fn::parse_format("mxfp4"));
  EXPECT_EQ(mx.bits, 4);
  EXPECT_DOUBLE_EQ(mx.bits_per_value, 4.25);
  EXPECT_EQ(mx.max_finite, 6 * p2(125));  // 6 * 2^(127 - emax 2)
  fn::FormatInfo i8 = fn::describe(fn::parse_format("int8:scale=0.5:zp=-3"));
  EXPECT_EQ(i8.max_finite, (127 + 3) * 0.5);
  EXPECT_EQ(i8.min_finite, (-128 + 3) * 0.5);
  EXPECT_EQ(i8.finite_values, 256u);
  fn::FormatInfo q = fn::describe(fn::parse_format("fixed4.4"));
  EXPECT_EQ(q.max_finite, 7.9375);
  EXPECT_EQ(q.min_finite, -8);
  EXPECT_EQ(q.epsilon, 0.0625);
}

TEST(FormatInfo, FiniteValueCountsAgreeWithEnumeration) {
  for (const char* n : {"fp16", "bf16", "e5m2", "e4m3", "e3m4", "e2m3", "e3m2", "e2m1",
                        "e3m3:sub=off", "e1m2", "e4m0", "e4m3:specials=fn:bias=8", "fixed4.4",
                        "uint4", "int8:scale=0.1", "binary", "ternary"}) {
    SCOPED_TRACE(n);
    NumberFormat f = fn::parse_format(n);
    EXPECT_EQ(fn::finite_values(f).size(), fn::describe(f).finite_values);
  }
}

// OCP 8-bit FP spec, E4M3: bias 7, no infinities, NaN = S.1111.111, max S.1111.110 = 448,
// min normal 2^-6, min subnormal 2^-9. E5M2: bias 15, inf = S.11111.00,
// NaN = S.11111.{01,10,11}, max 57344, min normal 2^-14, min subnormal 2^-16.
double ocp_value(int code, int E, int M, int bias, bool e4m3) {
  const int s = (code >> (E + M)) & 1;
  const int e = (code >> M) & ((1 << E) - 1);
  const int m = code & ((1 << M) - 1);
  const double sign = s ? -1.0 : 1.0;
  if (e4m3 && e == 15 && m == 7) return NAN;
  if (!e4m3 && e == 31) return m == 0 ? sign * INFINITY : NAN;
  if (e == 0) return sign * std::ldexp(m, 1 - bias - M);
  return sign * std::ldexp(1.0 + m / double(1 << M), e - bias);
}

TEST(OcpFp8, EveryCodeDecodesAndEncodesPerSpec) {
  struct Case {
    const char* name;
    int E, M, bias;
    bool e4m3;
  } cases[] = {{"e4m3", 4, 3, 7, true}, {"e5m2", 5, 2, 15, false}};
  for (const auto& c : cases) {
    NumberFormat f = fn::parse_format(c.name);
    int nans = 0, infs = 0;
    for (int code = 0; code < 256; ++code) {
      SCOPED_TRACE(std::string(c.name) + " code " + std::to_string(code));
      const double want = ocp_value(code, c.E, c.M, c.bias, c.e4m3);
      const double got = fn::decode(f, static_cast<uint32_t>(code));
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got));
        ++nans;
        continue;
      }
      EXPECT_EQ(got, want);
      EXPECT_EQ(std::signbit(got), std::signbit(want));
      if (std::isinf(want)) ++infs;
      EXPECT_EQ(fn::encode(f, want), static_cast<uint32_t>(code));
    }
    EXPECT_EQ(nans, c.e4m3 ? 2 : 6);
    EXPECT_EQ(infs, c.e4m3 ? 0 : 2);
  }
  NumberFormat e4m3 = fn::parse_format("e4m3"), e5m2 = fn::parse_format("e5m2");
  EXPECT_EQ(fn::decode(e4m3, 0x7E), 448.0);
  EXPECT_EQ(fn::decode(e4m3, 0x01), p2(-9));
  EXPECT_EQ(fn::decode(e4m3, 0x08), p2(-6));
  EXPECT_EQ(fn::decode(e5m2, 0x7B), 57344.0);
  EXPECT_EQ(fn::decode(e5m2, 0x01), p2(-16));
  EXPECT_EQ(fn::decode(e5m2, 0x04), p2(-14));
  EXPECT_EQ(fn::encode(e4m3, NAN), 0x7Fu);
  EXPECT_EQ(fn::encode(e5m2, -INFINITY), 0xFCu);
  EXPECT_THROW(fn::encode(e4m3, INFINITY), frugal::UserError);
  EXPECT_THROW(fn::encode(e4m3, 449.0), frugal::UserError);
  EXPECT_THROW(fn::encode(e4m3, 1.0625), frugal::UserError);
}

TEST(OcpMx, ElementFormatsMatchSpec) {
  // OCP MX v1.0: FP4 E2M1 values 0, 0.5, 1, 1.5, 2, 3, 4, 6.
  std::vector<double> want = {-6, -4, -3, -2, -1.5, -1, -0.5, 0, 0.5, 1, 1.5, 2, 3, 4, 6};
  EXPECT_EQ(fn::finite_values(fn::parse_format("e2m1")), want);
  // MXINT8: 8-bit two's complement with an implicit scale of 2^-6.
  NumberFormat i8 = fn::parse_format("mxint8");
  EXPECT_EQ(fn::decode(i8, 0x7F), 127.0 / 64);
  EXPECT_EQ(fn::decode(i8, 0x80), -2.0);
}

TEST(FormatCodes, IntFixedBinaryTernaryCodes) {
  NumberFormat i4 = fn::parse_format("int4:scale=0.5:zp=1");
  EXPECT_EQ(fn::decode(i4, 0x8), (-8 - 1) * 0.5);
  EXPECT_EQ(fn::decode(i4, 0x7), (7 - 1) * 0.5);
  EXPECT_EQ(fn::encode(i4, -4.5), 0x8u);
  NumberFormat q = fn::parse_format("fixed4.4");
  EXPECT_EQ(fn::encode(q, -0.0625), 0xFFu);
  EXPECT_EQ(fn::decode(q, 0x80), -8.0);
  NumberFormat t = fn::parse_format("ternary:scale=0.25");
  EXPECT_EQ(fn::decode(t, 3), -0.25);
  EXPECT_EQ(fn::encode(t, 0.25), 1u);
  EXPECT_EQ(fn::decode(fn::parse_format("binary"), 0), -1.0);
}
