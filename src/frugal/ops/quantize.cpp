// Linear (de)quantization: QuantizeLinear, DequantizeLinear (opsets 10 and 13: one scale
// and zero point per tensor, or from opset 13 one per index along `axis`) and
// DynamicQuantizeLinear (uint8, scale and zero point computed from the data's range).
//   QuantizeLinear:   y = saturate(round_half_even(x / scale) + zero_point)
//   DequantizeLinear: y = (x - zero_point) * scale
#include <algorithm>
#include <type_traits>

#include "frugal/ops/dequantize.h"
#include "frugal/ops/elementwise.h"
#include "frugal/ops/quantize_math.h"

namespace frugal::ops {
namespace {

using elementwise::convert;
using quant::round_half_even;
using quant::round_saturate;

// x viewed as outer x channels x inner around the quantization axis; channels is 1 for
// per-tensor parameters, so the kernels have one loop nest for both.
struct AxisLayout {
  int64_t outer = 1, channels = 1, inner = 1;
};

AxisLayout layout_of(const Shape& x, int64_t axis) {
  AxisLayout l;
  if (axis < 0) {
    l.inner = shape_numel(x);
    return l;
  }
  for (int64_t d = 0; d < axis; ++d) l.outer *= x[d];
  l.channels = x[axis];
  for (size_t d = static_cast<size_t>(axis) + 1; d < x.size(); ++d) l.inner *= x[d];
  return l;
}

// Checks scale (input 1) and zero point (input 2, optional) against x (input 0) and
// returns the quantization axis, or -1 for one scale for the whole tensor.
int64_t check_params(const InferContext& ctx) {
  const Shape& x = ctx.shape(0);
  const Shape& scale = ctx.shape(1);
  if (ctx.has_input(2) && shape_numel(ctx.shape(2)) != shape_numel(scale))
    ctx.fail("zero point " + shape_str(ctx.shape(2)) + " and scale " + shape_str(scale) +
             " differ in size");
  if (scale.size() > 1) ctx.fail("scale " + shape_str(scale) + " must be a scalar or 1-D");
  if (shape_numel(scale) == 1) return -1;
  if (scale.empty() || ctx.opset() < 13)
    ctx.fail("scale " + shape_str(scale) + " must hold one value (per-axis scales need opset 13)");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", 1), static_cast<int64_t>(x.size()));
  if (x.empty() || scale[0] != x[axis])
    ctx.fail("per-axis scale " + shape_str(scale) + " does not match x " + shape_str(x) +
             " along axis " + std::to_string(axis));
  return axis;
}

int64_t kernel_axis(const KernelContext& ctx) {
  if (ctx.input(1).numel() == 1) return -1;
  const int64_t r = ctx.input(0).rank();
  const int64_t a = ctx.node().attr_int("axis", 1);
  return a < 0 ? a + r : a;
}

void infer_quantize(InferContext& ctx) {
  const DType x = ctx.dtype(0);
  if (x == DType::kF16 || x == DType::kBF16) ctx.unsupported("float16/bfloat16 input x");
  if (x != DType::kF32 && x != DType::kI32)
    ctx.fail("input x has dtype " + std::string(dtype_name(x)) + ", expected float32 or int32");
  if (ctx.dtype(1) != DType::kF32)
    ctx.fail("scale has dtype " + std::string(dtype_name(ctx.dtype(1))) + ", expected float32");
  DType y = DType::kU8;
  if (ctx.has_input(2)) {
    y = ctx.dtype(2);
    if (y != DType::kU8 && y != DType::kI8)
      ctx.unsupported("zero point dtype " + std::string(dtype_name(y)) + " (uint8 and int8 only)");
  }
  check_params(ctx);
  ctx.set_output(0, y, ctx.shape(0));
}

template <typename X, typename Q>
void quantize_kernel(const KernelContext& ctx) {
  // float32 x divides in float32 (as the spec's reference does); int32 x in double.
  using F = std::conditional_t<std::is_same_v<X, float>, float, double>;
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const AxisLayout l = layout_of(x.shape(), kernel_axis(ctx));
  const float* scale = ctx.input(1).data<float>();
  const Q* zero = ctx.has_input(2) ? ctx.input(2).data<Q>() : nullptr;
  const X* px = x.data<X>();
  Q* py = y.data<Q>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const F s = static_cast<F>(scale[c]);
      const F z = zero ? static_cast<F>(zero[c]) : F(0);
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        py[base + i] = round_saturate<Q>(round_half_even(static_cast<F>(px[base + i]) / s) + z);
    }
}

void ref_quantize(KernelContext& ctx) {
  const bool x_float = ctx.input(0).dtype() == DType::kF32;
  const bool y_u8 = ctx.output(0).dtype() == DType::kU8;
  if (x_float && y_u8) return quantize_kernel<float, uint8_t>(ctx);
  if (x_float) return quantize_kernel<float, int8_t>(ctx);
  if (y_u8) return quantize_kernel<int32_t, uint8_t>(ctx);
  return quantize_kernel<int32_t, int8_t>(ctx);
}

void infer_dequantize(InferContext& ctx) {
  const DType x = ctx.dtype(0);
  if (x != DType::kU8 && x != DType::kI8 && x != DType::kI32)
    ctx.unsupported("input x has dtype " + std::string(dtype_name(x)) +
                    " (uint8, int8 and int32 only)");
  if (ctx.dtype(1) == DType::kF16 || ctx.dtype(1) == DType::kBF16)
    ctx.unsupported("float16/bfloat16 scale");
  if (ctx.dtype(1) != DType::kF32)
    ctx.fail("scale has dtype " + std::string(dtype_name(ctx.dtype(1))) + ", expected float32");
  if (ctx.has_input(2)) ctx.require_same_dtype(0, 2);
  check_params(ctx);
  ctx.set_output(0, DType::kF32, ctx.shape(0));
}

// The 8-bit types subtract in int32 (exact there, and a loop the compiler vectorizes);
// int32 in int64, where x - zero_point cannot overflow.
template <typename X>
void dequantize_kernel(const Tensor& x, const Tensor& scale_t, const Tensor* zero_t, int64_t axis,
                       Tensor& y) {
  using D = std::conditional_t<sizeof(X) == 1, int32_t, int64_t>;
  const AxisLayout l = layout_of(x.shape(), axis);
  const float* scale = scale_t.data<float>();
  const X* zero = zero_t ? zero_t->data<X>() : nullptr;
  const X* px = x.data<X>();
  float* py = y.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const float s = scale[c];
      const D z = zero ? zero[c] : 0;
      const int64_t base = (o * l.channels + c) * l.inner;
      for (int64_t i = 0; i < l.inner; ++i)
        py[base + i] = sizeof(X) == 1 ? dequantize_value(px[base + i], static_cast<int32_t>(z), s)
                                      : static_cast<float>(static_cast<D>(px[base + i]) - z) * s;
    }
}

void ref_dequantize(KernelContext& ctx) {
  dequantize_into(ctx.input(0), ctx.input(1), ctx.has_input(2) ? &ctx.input(2) : nullptr,
                  kernel_axis(ctx), ctx.output(0));
}

void infer_dynamic_quantize(InferContext& ctx) {
  const DType x = ctx.dtype(0);
  if (x == DType::kF16 || x == DType::kBF16) ctx.unsupported("float16/bfloat16 input x");
  if (x != DType::kF32)
    ctx.fail("input x has dtype " + std::string(dtype_name(x)) + ", expected float32");
  ctx.set_output(0, DType::kU8, ctx.shape(0));
  ctx.set_output(1, DType::kF32, {});
  ctx.set_output(2, DType::kU8, {});
}

// The range is widened to include 0 so that 0 is exactly representable. Arithmetic is
// in float32 as in the spec's function body. A range of zero (all inputs 0) would divide
// by zero: the scale is then 1, so every value, and the zero point, quantizes to 0.
void ref_dynamic_quantize(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const float* px = x.data<float>();
  const int64_t n = x.numel();
  float lo = 0.0f, hi = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    lo = std::min(lo, px[i]);
    hi = std::max(hi, px[i]);
  }
  float scale = (hi - lo) / 255.0f;
  if (scale == 0.0f) scale = 1.0f;
  const uint8_t zero = round_saturate<uint8_t>(0.0f - lo / scale);
  uint8_t* py = ctx.output(0).data<uint8_t>();
  for (int64_t i = 0; i < n; ++i)
    py[i] = round_saturate<uint8_t>(round_half_even(px[i] / scale) + static_cast<float>(zero));
  if (ctx.has_output(1)) ctx.output(1).data<float>()[0] = scale;
  if (ctx.has_output(2)) ctx.output(2).data<uint8_t>()[0] = zero;
}

}  // namespace

FRUGAL_REGISTER_OP(QuantizeLinear, OpDef{.op_type = "QuantizeLinear",
                                         .min_inputs = 2,
                                         .max_inputs = 3,
                                         .infer = infer_quantize,
                                         .ref = ref_quantize});
FRUGAL_REGISTER_OP(DequantizeLinear, OpDef{.op_type = "DequantizeLinear",
                                           .min_inputs = 2,
                                           .max_inputs = 3,
                                           .infer = infer_dequantize,
                                           .ref = ref_dequantize});
FRUGAL_REGISTER_OP(DynamicQuantizeLinear, OpDef{.op_type = "DynamicQuantizeLinear",
                                                .min_outputs = 3,
                                                .max_outputs = 3,
                                                .infer = infer_dynamic_quantize,
                                                .ref = ref_dynamic_quantize});

void dequantize_into(const Tensor& x, const Tensor& scale, const Tensor* zero_point, int64_t axis,
                     Tensor& y) {
  switch (x.dtype()) {
    case DType::kU8:
      return dequantize_kernel<uint8_t>(x, scale, zero_point, axis, y);
    case DType::kI8:
      return dequantize_kernel<int8_t>(x, scale, zero_point, axis, y);
    default:
      return dequantize_kernel<int32_t>(x, scale, zero_point, axis, y);
  }
}

namespace {
constexpr const char* kSourceValues = "frugal.weight_values";
constexpr const char* kSourceScale = "frugal.weight_scale";
constexpr const char* kSourceZeroPoint = "frugal.weight_zero_point";
constexpr const char* kSourceAxis = "frugal.weight_axis";
// The float32 weight itself (shared storage, no copy): what weight_source compares.
constexpr const char* kSourceOf = "frugal.weight_dequantized";
}  // namespace

void attach_weight_source(ir::Node& reader, const WeightSource& source, const Tensor& weight) {
  reader.attrs[kSourceValues] = ir::Attribute{.value = source.values};
  reader.attrs[kSourceScale] = ir::Attribute{.value = source.scale};
  if (source.zero_point.defined())
    reader.attrs[kSourceZeroPoint] = ir::Attribute{.value = source.zero_point};
  reader.attrs[kSourceAxis] = ir::Attribute{.value = source.axis};
  reader.attrs[kSourceOf] = ir::Attribute{.value = weight};
}

std::optional<WeightSource> weight_source(const ir::Node& reader, const Tensor& weight) {
  if (!reader.has_attr(kSourceOf)) return std::nullopt;
  const Tensor& of = reader.attr_tensor(kSourceOf);
  if (of.raw() != weight.raw() || of.dtype() != weight.dtype() || of.shape() != weight.shape())
    return std::nullopt;
  WeightSource s{reader.attr_tensor(kSourceValues), reader.attr_tensor(kSourceScale), Tensor(),
                 reader.attr_int(kSourceAxis)};
  if (reader.has_attr(kSourceZeroPoint)) s.zero_point = reader.attr_tensor(kSourceZeroPoint);
  return s;
}

}  // namespace frugal::ops
