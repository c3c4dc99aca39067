#include "frugal/core/dtype.h"

#include <cpuid.h>
#include <immintrin.h>

#include <bit>
#include <cmath>
#include <cstring>
#include <limits>

namespace frugal {
namespace {

struct DTypeTraits {
  DType type;
  const char* name;
  size_t size;
  int32_t onnx;  // TensorProto.DataType
};

// The one table of element types.
constexpr DTypeTraits kTraits[] = {
    {DType::kUndefined, "undefined", 0, 0},
    {DType::kF32, "float32", 4, 1},
    {DType::kF64, "float64", 8, 11},
    {DType::kF16, "float16", 2, 10},
    {DType::kBF16, "bfloat16", 2, 16},
    {DType::kI8, "int8", 1, 3},
    {DType::kU8, "uint8", 1, 2},
    {DType::kI16, "int16", 2, 5},
    {DType::kU16, "uint16", 2, 4},
    {DType::kI32, "int32", 4, 6},
    {DType::kU32, "uint32", 4, 12},
    {DType::kI64, "int64", 8, 7},
    {DType::kU64, "uint64", 8, 13},
    {DType::kBool, "bool", 1, 9},
    {DType::kString, "string", 0, 8},
};

const DTypeTraits& traits(DType t) {
  for (const auto& tr : kTraits)
    if (tr.type == t) return tr;
  return kTraits[0];
}

}  // namespace

size_t dtype_size(DType t) {
  return traits(t).size;
}
std::string_view dtype_name(DType t) {
  return traits(t).name;
}

DType dtype_from_onnx(int32_t code) {
  for (const auto& tr : kTraits)
    if (tr.onnx == code && tr.type != DType::kUndefined) return tr.type;
  return DType::kUndefined;
}
int32_t dtype_to_onnx(DType t) {
  return traits(t).onnx;
}

bool dtype_is_float(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kF16 || t == DType::kBF16;
}
DType held_type(DType t) {
  return t == DType::kF16 || t == DType::kBF16 ? DType::kF32 : t;
}

float round_to_held(DType t, float v) {
  if (t == DType::kF16) return half_to_float(float_to_half(v));
  if (t == DType::kBF16) return bf16_to_float(float_to_bf16(v));
  return v;
}

bool dtype_is_integer(DType t) {
  switch (t) {
    case DType::kI8:
    case DType::kU8:
    case DType::kI16:
    case DType::kU16:
    case DType::kI32:
    case DType::kU32:
    case DType::kI64:
    case DType::kU64:
      return true;
    default:
      return false;
  }
}

namespace {

__attribute__((target("avx,f16c"))) void widen_halves_f16c(const uint8_t* src, float* dst,
                                                           int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8)
    _mm256_storeu_ps(
        dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 2 * i))));
  for (; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = half_to_float(h);
  }
}

}  // namespace

void widen_16bit_floats(const void* src, float* dst, int64_t n, bool bf16) {
  const uint8_t* s = static_cast<const uint8_t*>(src);
  if (bf16) {
    for (int64_t i = 0; i < n; ++i) {
      uint16_t b;
      std::memcpy(&b, s + 2 * i, 2);
      dst[i] = bf16_to_float(b);
    }
    return;
  }
  // F16C from CPUID leaf 1 (clang's __builtin_cpu_supports does not know "f16c").
  static const bool f16c = [] {
    unsigned a = 0, b = 0, c = 0, d = 0;
    return __builtin_cpu_supports("avx") && __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
  }();
  if (f16c) {
    widen_halves_f16c(s, dst, n);
    return;
  }
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, s + 2 * i, 2);
    dst[i] = half_to_float(h);
  }
}

float half_to_float(uint16_t h) {
  uint32_t sign = (h >> 15) & 1, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  float v;
  if (exp == 0)
    v = std::ldexp(static_cast<float>(mant), -24);
  else if (exp == 31)
    v = mant ? std::numeric_limits<float>::quiet_NaN() : std::numeric_limits<float>::infinity();
  else
    v = std::ldexp(static_cast<float>(mant | 0x400), static_cast<int>(exp) - 25);
  return sign ? -v : v;
}

uint16_t float_to_half(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000);
  uint32_t ax = x & 0x7fffffff;
  if (ax >= 0x7f800000) return sign | (ax > 0x7f800000 ? 0x7e00 : 0x7c00);
  if (ax >= 0x477ff000) return sign | 0x7c00;  // rounds to >= 65520: overflow to inf
  if (ax < 0x38800000) {                       // below fp16 normal range: subnormal or zero
    float a = std::bit_cast<float>(ax);
    // Scale so that the subnormal quantum 2^-24 becomes 1, then round to nearest even.
    float scaled = a * 16777216.0f;
    return sign | static_cast<uint16_t>(std::nearbyint(scaled));
  }
  uint32_t mant = ax & 0x7fffff;
  int32_t exp = static_cast<int32_t>(ax >> 23) - 127 + 15;
  uint32_t half = (static_cast<uint32_t>(exp) << 10) | (mant >> 13);
  uint32_t rest = mant & 0x1fff;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;
  return sign | static_cast<uint16_t>(half);
}

float bf16_to_float(uint16_t b) {
  return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

uint16_t float_to_bf16(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffff) > 0x7f800000) return static_cast<uint16_t>((x >> 16) | 0x40);  // quiet NaN
  uint32_t lsb = (x >> 16) & 1;
  x += 0x7fff + lsb;
  return static_cast<uint16_t>(x >> 16);
}

}  // namespace frugal
