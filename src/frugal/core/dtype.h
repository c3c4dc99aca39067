// Element types of tensors. One table (dtype.cpp) gives each its name, size and
// ONNX TensorProto code.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace frugal {

enum class DType : uint8_t {
  kUndefined = 0,
  kF32,
  kF64,
  kF16,
  kBF16,
  kI8,
  kU8,
  kI16,
  kU16,
  kI32,
  kU32,
  kI64,
  kU64,
  kBool,
  kString,  // only in the IR (never a tensor's storage type at run time)
};

size_t dtype_size(DType t);
std::string_view dtype_name(DType t);
// ONNX TensorProto.DataType code <-> DType. Unknown codes map to kUndefined.
DType dtype_from_onnx(int32_t code);
int32_t dtype_to_onnx(DType t);
bool dtype_is_float(DType t);    // f32, f64, f16, bf16
bool dtype_is_integer(DType t);  // signed or unsigned ints (not bool)

// 16-bit floats are held as float32: frugal has no float16 / bfloat16 tensors, so a model's
// initializers and declared values of those types widen at load, and a Cast to them keeps
// float32 storage holding values rounded to that type's grid (round_to_held). Returns
// kF32 for kF16 and kBF16, `t` otherwise.
DType held_type(DType t);
// `v` rounded to the grid of `t` (kF16: to nearest even, overflow to infinity; kBF16: to
// nearest even); `v` itself for any other type.
float round_to_held(DType t, float v);

// bf16/fp16 <-> f32 conversions used at the edges (loading initializers, casts).
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);  // round to nearest even, IEEE inf/nan
float bf16_to_float(uint16_t b);
uint16_t float_to_bf16(float f);  // round to nearest even
// n float16 (`bf16`: bfloat16) values, little-endian as ONNX stores them (`src` need not be
// aligned), widened into dst: half_to_float / bf16_to_float each, vectorized where the CPU
// converts float16 itself (F16C); a NaN keeps its payload there.
void widen_16bit_floats(const void* src, float* dst, int64_t n, bool bf16);

// C++ type -> DType.
template <typename T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
  return DType::kF32;
}
template <>
constexpr DType dtype_of<double>() {
  return DType::kF64;
}
template <>
constexpr DType dtype_of<int8_t>() {
  return DType::kI8;
}
template <>
constexpr DType dtype_of<uint8_t>() {
  return DType::kU8;
}
template <>
constexpr DType dtype_of<int16_t>() {
  return DType::kI16;
}
template <>
constexpr DType dtype_of<uint16_t>() {
  return DType::kU16;
}
template <>
constexpr DType dtype_of<int32_t>() {
  return DType::kI32;
}
template <>
constexpr DType dtype_of<uint32_t>() {
  return DType::kU32;
}
template <>
constexpr DType dtype_of<int64_t>() {
  return DType::kI64;
}
template <>
constexpr DType dtype_of<uint64_t>() {
  return DType::kU64;
}
template <>
constexpr DType dtype_of<bool>() {
  return DType::kBool;
}

}  // namespace frugal
