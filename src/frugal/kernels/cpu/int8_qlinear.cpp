// QLinearConv, QuantizeLinear and DequantizeLinear on cpu:int8: the operators of a graph
// already in ONNX's quantized-operator form, with 8-bit tensors between them, so that
// consecutive quantized layers pass uint8/int8 activations to each other instead of
// float32 (4x fewer bytes, and no quantize step inside each layer).
//
// The boundaries stay plain row-major (the Session's contract); the kernels reorder the
// 8-bit activations into the layout oneDNN's int8 primitives prefer (channels last) and
// back, which costs a quarter of the float32 reorders. Scales and zero points must be
// constant and per tensor, except the weights' scales (per output channel allowed);
// the weights' zero points must be 0 (oneDNN v2 applies none to weights).
#include <cmath>

#include "frugal/kernels/cpu/int8_impl.h"
#include "frugal/kernels/cpu/int8_kernels.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

dt onednn_type(DType t) {
  switch (t) {
    case DType::kU8:
      return dt::u8;
    case DType::kI8:
      return dt::s8;
    case DType::kI32:
      return dt::s32;
    case DType::kF32:
      return dt::f32;
    default:
      decline(std::string(dtype_name(t)) + " not supported");
  }
}

// A constant per-tensor float parameter (scale).
float constant_scale(const Build& b, size_t i, const char* what) {
  const Tensor* t = b.constant(i);
  if (!t) decline(std::string(what) + " is not constant");
  if (t->numel() != 1) decline(std::string(what) + " is not per tensor");
  const float v = t->data<float>()[0];
  if (!(v > 0.0f) || !std::isfinite(v)) decline(std::string(what) + " is not a positive number");
  return v;
}

// A constant per-tensor zero point (0 when omitted).
int32_t constant_zero_point(const Build& b, size_t i, const char* what) {
  if (!b.has_input(i)) return 0;
  const Tensor* t = b.constant(i);
  if (!t) decline(std::string(what) + " is not constant");
  if (t->numel() != 1) decline(std::string(what) + " is not per tensor");
  return static_cast<int32_t>(t->to_int64()[0]);
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_qlinear_conv(const Int8Build& ib) {
  const Build& b = ib.base;
  const ir::Node& n = b.node();
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  if (x.size() < 3 || x.size() > 5)
    decline(std::to_string(x.size()) + "-D input not implemented (1 to 3 spatial dims)");
  const float x_scale = constant_scale(b, 1, "x_scale");
  const int32_t x_zero = constant_zero_point(b, 2, "x_zero_point");
  const Tensor* w = b.constant(3);
  if (!w) decline("weights are not constant");
  if (w->dtype() != DType::kI8) decline("uint8 weights not implemented (int8 only)");
  const Tensor* w_scale = b.constant(4);
  if (!w_scale) decline("w_scale is not constant");
  const Tensor* w_zero = b.has_input(5) ? b.constant(5) : nullptr;
  if (b.has_input(5) && !w_zero) decline("w_zero_point is not constant");
  if (w_zero)
    for (int64_t v : w_zero->to_int64())
      if (v != 0) decline("nonzero weight zero points not implemented (oneDNN applies none)");
  const float y_scale = constant_scale(b, 6, "y_scale");
  const int32_t y_zero = constant_zero_point(b, 7, "y_zero_point");
  if (b.has_input(8) && !b.constant(8)) decline("bias is not constant");

  const int64_t group = n.attr_int("group", 1);
  const int64_t out_channels = w->dim(0);
  const ops::WindowGeometry g = ops::sliding_window(
      n, {x.begin() + 2, x.end()}, {w->shape().begin() + 2, w->shape().end()}, false);
  dnnl::memory::dims dilations;
  for (int64_t d : g.dilations) dilations.push_back(d - 1);

  // y = (acc + B) * x_scale * w_scale[c] / y_scale + y_zero, as ONNX defines it; oneDNN v2
  // adds the bias before the output scales.
  std::vector<float> scales(static_cast<size_t>(out_channels));
  for (int64_t c = 0; c < out_channels; ++c)
    scales[static_cast<size_t>(c)] = static_cast<float>(
        double(x_scale) * w_scale->data<float>()[w_scale->numel() == 1 ? 0 : c] / y_scale);

  Shape w_dims = w->shape();
  if (group > 1) {
    w_dims[0] /= group;
    w_dims.insert(w_dims.begin(), group);
  }
  const dt src_type = onednn_type(b.in_dtype(0));
  const dt dst_type = onednn_type(b.view.outputs[0]->dtype);
  const dnnl::memory::desc w_boundary = plain_md(w_dims, dt::s8);
  const dnnl::memory::desc src(x, src_type, tag::any);
  const dnnl::memory::desc wei(w_dims, dt::s8, tag::any);
  const dnnl::memory::desc dst(y, dst_type, tag::any);
  const dnnl::memory::desc bias_md =
      b.has_input(8) ? plain_md({out_channels}, dt::s32) : dnnl::memory::desc();

  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_output_scales(1 << 1, scales);
  if (x_zero != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {x_zero});
  if (y_zero != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {y_zero});
  using conv = dnnl::convolution_forward;
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  const conv::desc d = b.has_input(8) ? conv::desc(prop, alg, src, wei, bias_md, dst, g.strides,
                                                   dilations, g.pad_begin, g.pad_end)
                                      : conv::desc(prop, alg, src, wei, dst, g.strides, dilations,
                                                   g.pad_begin, g.pad_end);
  const conv::primitive_desc pd =
      int8_conv_pd(d, attr, b.context->engine(), conv_macs(y, w->shape()));

  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, plain_md(x, src_type), pd.src_desc());
  args[DNNL_ARG_WEIGHTS] = k->constant_as(*w, w_boundary, pd.weights_desc());
  if (b.has_input(8)) args[DNNL_ARG_BIAS] = k->constant_as(*b.constant(8), bias_md, pd.bias_desc());
  args[DNNL_ARG_DST] = k->output_as(0, plain_md(y, dst_type), pd.dst_desc());
  k->add_step(pd, conv(pd), std::move(args));
  return k;
}

// QuantizeLinear: y = saturate(round(x / scale) + zero_point); DequantizeLinear:
// y = (x - zero_point) * scale. One reorder each, per tensor parameters only.
std::unique_ptr<kernels::Kernel> make_quantize_linear(const Int8Build& ib) {
  const Build& b = ib.base;
  const float scale = constant_scale(b, 1, "y_scale");
  const int32_t zero = constant_zero_point(b, 2, "y_zero_point");
  const dt to = onednn_type(b.view.outputs[0]->dtype);
  if (to != dt::u8 && to != dt::s8) decline("output must be uint8 or int8");
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_output_scales(0, {1.0f / scale});
  if (zero != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {zero});
  const dnnl::memory::desc from = plain_md(b.in_shape(0), dt::f32);
  const dnnl::memory::desc into = plain_md(b.out_shape(0), to);
  const dnnl::reorder::primitive_desc pd(b.context->engine(), from, b.context->engine(), into,
                                         attr);
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args{{DNNL_ARG_FROM, k->bind_input(0, from)}, {DNNL_ARG_TO, k->bind_output(0, into)}};
  k->add_step(pd, dnnl::reorder(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_dequantize_linear(const Int8Build& ib) {
  const Build& b = ib.base;
  const float scale = constant_scale(b, 1, "x_scale");
  const int32_t zero = constant_zero_point(b, 2, "x_zero_point");
  const dt from_type = onednn_type(b.in_dtype(0));
  if (from_type != dt::u8 && from_type != dt::s8) decline("input must be uint8 or int8");
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_output_scales(0, {scale});
  if (zero != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {zero});
  const dnnl::memory::desc from = plain_md(b.in_shape(0), from_type);
  const dnnl::memory::desc into = plain_md(b.out_shape(0), dt::f32);
  const dnnl::reorder::primitive_desc pd(b.context->engine(), from, b.context->engine(), into,
                                         attr);
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args{{DNNL_ARG_FROM, k->bind_input(0, from)}, {DNNL_ARG_TO, k->bind_output(0, into)}};
  k->add_step(pd, dnnl::reorder(pd), std::move(args));
  return k;
}

}  // namespace frugal::kernels::cpu
