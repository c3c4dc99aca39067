// What a Session negotiates with the kernels it chose, after every node has one: layouts
// kept between consecutive kernels of a backend, and 8-bit values between its quantized
// kernels. The Session decides, the kernels only describe and adopt; the interface names no
// backend (the cpu backend implements it: kernels/cpu/layout.h says how).
//
// Native layouts. A kernel may prefer its own memory format (oneDNN: channels blocked by
// 16, nChw16c) and convert from and to plain row-major at its boundaries. When a value
// flows only between kernels whose formats agree, the Session asks the producer and every
// reader to keep it in the producer's format: both conversions go, and the Session
// allocates the value by that format's byte size (padded channels included). A value
// another kernel or the user sees stays plain (the Session's contract).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace frugal::kernels {

struct OpaqueLayout {
  std::string key;   // equal keys: the same bytes at the same places
  size_t bytes = 0;  // buffer size in this layout
};

class LayoutNegotiable {
 public:
  virtual ~LayoutNegotiable() = default;
  // The format the primitive writes output `index` in before its reorder to plain, or
  // reads input `index` in after its reorder from plain; nullopt when there is no reorder.
  virtual std::optional<OpaqueLayout> native_output(size_t index) const = 0;
  virtual std::optional<OpaqueLayout> native_input(size_t index) const = 0;
  // From now on the tensor bound to output/input `index` holds that format: its reorder
  // goes. Only before the first run.
  virtual void adopt_native_output(size_t index) = 0;
  virtual void adopt_native_input(size_t index) = 0;
};

// Output over an input. A kernel that reads input `index` only as an addend of its result
// (a residual Add fused into a convolution as oneDNN's sum post-op: it copies the addend
// into its output, then accumulates onto it) can take its output in that input's buffer
// when nothing reads the input afterwards: the Session then places both values in one
// buffer (runtime/sum_in_place.h) and the kernel's copy finds nothing to move.
class OutputOverInput {
 public:
  virtual ~OutputOverInput() = default;
  // The input whose buffer output 0 may share, or nullopt.
  virtual std::optional<size_t> output_over_input() const = 0;
};

// 8-bit values between quantized kernels. A quantized kernel quantizes its float32
// input to u8 per tensor (x ~ scale * (q - zero_point)) before its primitive reads it.
// When every reader of a value quantizes it with the same parameters into the same layout,
// and its producer can write that u8 itself (the requantization folded into its output
// scales, zero point and post-ops), the Session asks the producer to write u8 and each
// reader to read it as is: the float32 output, the quantize step and the float32 round
// trip through memory go. Negotiated before the layouts above; a value so agreed is
// allocated by the u8 layout's size and holds no float32 (only these kernels touch it).
struct QuantParams {
  float scale = 1.0f;
  int32_t zero_point = 0;
  bool operator==(const QuantParams& o) const {
    return scale == o.scale && zero_point == o.zero_point;
  }
};

struct QuantizedLayout {
  OpaqueLayout layout;  // the u8 layout (key and bytes)
  QuantParams quant;
};

class QuantNegotiable {
 public:
  virtual ~QuantNegotiable() = default;
  // How the kernel would read input `index` as u8 (layout and parameters) instead of
  // quantizing a float32 value itself; nullopt when it cannot or does not quantize it.
  virtual std::optional<QuantizedLayout> quantized_input(size_t index) = 0;
  // The u8 layout the kernel would write output `index` in with parameters `q`
  // (requantization fused), or nullopt when it cannot. May build a primitive to find out.
  virtual std::optional<OpaqueLayout> quantized_output(size_t index, const QuantParams& q) = 0;
  // Commit to the above. Only before the first run, before any layout is adopted.
  virtual void adopt_quantized_input(size_t index) = 0;
  virtual void adopt_quantized_output(size_t index, const QuantParams& q) = 0;
};

}  // namespace frugal::kernels
