// BatchNormalization (inference, running statistics), LayerNormalization, LRN, Softmax and
// LogSoftmax on oneDNN's normalization primitives.
#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/elementwise.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

// Softmax and LogSoftmax: before opset 13 the input is coerced to 2-D at `axis` and each
// row normalised whole; from opset 13 along the one dimension `axis`.
std::unique_ptr<kernels::Kernel> softmax(const Build& b, dnnl::algorithm alg) {
  const Shape& x = b.in_shape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  const bool coerce_2d = b.view.opset < 13;
  int64_t axis = b.node().attr_int("axis", coerce_2d ? 1 : -1);
  if (axis < 0) axis += rank;
  Shape view = x;
  if (coerce_2d) {
    int64_t outer = 1, length = 1;
    for (int64_t d = 0; d < rank; ++d) (d < axis ? outer : length) *= x[d];
    view = {outer, length};
    axis = 1;
  }
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < static_cast<int64_t>(view.size()); ++d) {
    if (d < axis) outer *= view[d];
    if (d > axis) inner *= view[d];
  }
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  if (inner > 1) {
    // oneDNN 2.6 has a jit softmax only over a dense innermost axis; over another one it
    // runs its reference kernel (YOLOv8's DFL, a Softmax over axis 1 of [N, 16, 4, A]: 113
    // ms against ONNX Runtime's 18). The input is reordered so that the axis is innermost
    // ([outer, D, inner] with strides [D * inner, 1, D], seen as a plain [outer, inner, D]),
    // normalised there, and reordered back.
    const int64_t length = view[static_cast<size_t>(axis)];
    const dnnl::memory::desc plain3 = plain_md({outer, length, inner}, dt::f32);
    const dnnl::memory::desc axis_last({outer, length, inner}, dt::f32,
                                       dnnl::memory::dims{length * inner, 1, length});
    const dnnl::memory::desc rows = plain_md({outer, inner, length}, dt::f32);
    const dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, rows, rows, 2);
    const dnnl::softmax_v2_forward::primitive_desc pd(d, scratchpad_attr(), b.context->engine());
    args[DNNL_ARG_SRC] = k->view_of(k->input_as(0, plain3, axis_last), rows);
    args[DNNL_ARG_DST] = k->view_of(k->output_as(0, plain3, axis_last), rows);
    k->add_step(pd, dnnl::softmax_v2_forward(pd), std::move(args));
    k->add_note("axis " + std::to_string(axis) + " made innermost");
    return k;
  }
  const dnnl::memory::desc md = plain_md(view, dt::f32);
  const dnnl::softmax_v2_forward::desc d(dnnl::prop_kind::forward_inference, alg, md, md,
                                         static_cast<int>(axis));
  const dnnl::softmax_v2_forward::primitive_desc pd(d, scratchpad_attr(), b.context->engine());
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  args[DNNL_ARG_DST] = k->output_as(0, md, pd.dst_desc());
  k->add_step(pd, dnnl::softmax_v2_forward(pd), std::move(args));
  return k;
}

// LayerNormalization's Scale or B as one value per element of a normalized row (the
// operand broadcast to the normalized shape), or `fill` when omitted.
Tensor affine_row(const Build& b, size_t i, const Shape& normalized, float fill) {
  Tensor row(DType::kF32, {shape_numel(normalized)});
  if (!b.has_input(i)) {
    for (float& v : row.span<float>()) v = fill;
    return row;
  }
  const Tensor* c = b.constant(i);
  if (!c) decline(std::string(i == 1 ? "Scale" : "B") + " known only at run time not implemented");
  Tensor full(DType::kF32, normalized);
  ops::elementwise::broadcast_copy<float>(*c, full);
  return full.reshaped(row.shape());
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_layer_norm(const Build& b) {
  if (b.has_output(1) || b.has_output(2)) decline("Mean and InvStdDev outputs not implemented");
  const Shape& x = b.in_shape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = b.node().attr_int("axis", -1);
  if (axis < 0) axis += rank;
  // Rows of the trailing dimensions from `axis`: oneDNN normalizes the last one.
  const Shape normalized(x.begin() + axis, x.end());
  const int64_t size = shape_numel(normalized);
  const dnnl::memory::desc md = plain_md({shape_numel(x) / size, size}, dt::f32);
  const auto flags = dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  const dnnl::layer_normalization_forward::desc d(dnnl::prop_kind::forward_inference, md,
                                                  b.node().attr_float("epsilon", 1e-5f), flags);
  const dnnl::layer_normalization_forward::primitive_desc pd(d, scratchpad_attr(),
                                                             b.context->engine());
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory::desc row = plain_md({size}, dt::f32);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  args[DNNL_ARG_SCALE] = k->constant_as(affine_row(b, 1, normalized, 1.0f), row, row);
  args[DNNL_ARG_SHIFT] = k->constant_as(affine_row(b, 2, normalized, 0.0f), row, row);
  args[DNNL_ARG_DST] = k->output_as(0, md, pd.dst_desc());
  k->add_step(pd, dnnl::layer_normalization_forward(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_batch_norm(const Build& b) {
  if (b.view.opset < 9 && b.node().attr_int("spatial", 1) == 0)
    decline("spatial = 0 (per-element statistics) not implemented");
  const Shape& x = b.in_shape(0);
  if (x.size() > 5) decline(std::to_string(x.size()) + "-D input not implemented");
  const dnnl::memory::desc md = plain_md(x, dt::f32);
  const auto flags = dnnl::normalization_flags::use_global_stats |
                     dnnl::normalization_flags::use_scale | dnnl::normalization_flags::use_shift;
  const dnnl::batch_normalization_forward::desc d(dnnl::prop_kind::forward_inference, md,
                                                  b.node().attr_float("epsilon", 1e-5f), flags);
  const dnnl::batch_normalization_forward::primitive_desc pd(d, scratchpad_attr(),
                                                             b.context->engine());
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory::desc channels = plain_md({x[1]}, dt::f32);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  args[DNNL_ARG_SCALE] = k->bind_input(1, channels);
  args[DNNL_ARG_SHIFT] = k->bind_input(2, channels);
  args[DNNL_ARG_MEAN] = k->bind_input(3, channels);
  args[DNNL_ARG_VARIANCE] = k->bind_input(4, channels);
  args[DNNL_ARG_DST] = k->output_as(0, md, pd.dst_desc());
  k->add_step(pd, dnnl::batch_normalization_forward(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_lrn(const Build& b) {
  const ir::Node& n = b.node();
  const int64_t size = n.attr_int("size");
  // oneDNN's window is centred; ONNX puts an even window's extra channel above.
  if (size % 2 == 0) decline("even size " + std::to_string(size) + " not implemented");
  const dnnl::memory::desc md = plain_md(b.in_shape(0), dt::f32);
  const dnnl::lrn_forward::desc d(
      dnnl::prop_kind::forward_inference, dnnl::algorithm::lrn_across_channels, md, size,
      n.attr_float("alpha", 1e-4f), n.attr_float("beta", 0.75f), n.attr_float("bias", 1.0f));
  const dnnl::lrn_forward::primitive_desc pd(d, scratchpad_attr(), b.context->engine());
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  args[DNNL_ARG_DST] = k->output_as(0, md, pd.dst_desc());
  k->add_step(pd, dnnl::lrn_forward(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_softmax(const Build& b) {
  return softmax(b, dnnl::algorithm::softmax_accurate);
}

std::unique_ptr<kernels::Kernel> make_log_softmax(const Build& b) {
  return softmax(b, dnnl::algorithm::softmax_log);
}

}  // namespace frugal::kernels::cpu
