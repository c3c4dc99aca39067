// DequantizeLinear's arithmetic, y = (x - zero_point) * scale, shared by the reference
// kernel and by the QDQ import (passes/qdq_fold.h), which folds the DequantizeLinear of
// each 8-bit weight into a float32 initializer without zeroing the output first, and
// leaves on the node reading that weight where its values came from (WeightSource), so
// that a backend quantizing the weight again per channel can start from the 8-bit values
// instead of reading the float32 ones (kernels/cpu/int8_quant.h).
#pragma once

#include <optional>

#include <cstdint>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"

namespace frugal::ops {

// x: uint8, int8 or int32; scale: float32, one value (axis < 0) or one per index of x
// along `axis`; zero_point: null or x's dtype with scale's count; y: float32 of x's shape,
// every value written.
void dequantize_into(const Tensor& x, const Tensor& scale, const Tensor* zero_point, int64_t axis,
                     Tensor& y);

// One 8-bit value dequantized as dequantize_into computes it.
inline float dequantize_value(int32_t x, int32_t zero_point, float scale) {
  return static_cast<float>(x - zero_point) * scale;
}

// The 8-bit values a float32 weight was dequantized from.
struct WeightSource {
  Tensor values;      // int8 or uint8, of the weight's shape
  Tensor scale;       // float32: one value, or one per index along `axis`
  Tensor zero_point;  // undefined, or values' dtype with scale's count
  int64_t axis = -1;  // -1: one scale for the whole tensor
};

// Records on `reader` (a node reading `weight` as its input 1) that `weight` is
// dequantize_into(source).
void attach_weight_source(ir::Node& reader, const WeightSource& source, const Tensor& weight);

// What attach_weight_source recorded on `reader`, when `weight` is still that very tensor
// (same storage and shape: a pass that rewrote the weight made a new one); else nullopt.
std::optional<WeightSource> weight_source(const ir::Node& reader, const Tensor& weight);

}  // namespace frugal::ops
