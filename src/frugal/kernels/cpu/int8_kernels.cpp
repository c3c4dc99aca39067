#include "frugal/kernels/cpu/int8_kernels.h"

#include <algorithm>
#include <cmath>

#include "frugal/kernels/cpu/int8_quant.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// oneDNN's output-scale mask selecting dimension 1 (output channels of conv, N of matmul).
constexpr int kPerChannelMask = 1 << 1;

bool all_finite(const Tensor& t) {
  for (float v : t.span<float>())
    if (!std::isfinite(v)) return false;
  return true;
}

// The input's quantization from its calibrated range, or a decline saying what is missing.
ActivationQuant input_quant(const Int8Build& b) {
  const std::string& name = b.base.node().inputs.at(0);
  auto it = b.ranges.find(name);
  if (it == b.ranges.end()) decline("no calibration range for input '" + name + "'");
  try {
    return activation_quant(it->second, name);
  } catch (const UserError& e) {
    decline(e.what());
  }
}

const Tensor& constant_weights(const Build& b) {
  const Tensor* w = b.constant(1);
  if (!w) decline("weights are not constant (only constant weights are quantized)");
  if (!all_finite(*w)) decline("weights hold a non-finite value");
  return *w;
}

// The node's "frugal.post_ops" as a oneDNN chain applied after the output scales, in
// float32. "sum" is oneDNN's sum post-op, which adds what the destination holds: the kernel
// copies the sum operand there first (add_sum_copy). oneDNN's int8 convolutions take a sum
// post-op in their fast (brgemm) kernels, but a binary add in plain layout only in the
// reference one.
struct Int8PostOps {
  dnnl::post_ops ops;
  bool sum = false;
};

Int8PostOps int8_post_ops(const Build& b) {
  Int8PostOps r;
  if (!ops::has_post_ops(b.node())) return r;
  std::vector<ops::PostOp> list;
  try {
    list = ops::post_ops_of(b.node());
  } catch (const UserError& e) {
    decline(e.what());
  }
  using K = ops::PostOp::Kind;
  using alg = dnnl::algorithm;
  for (const ops::PostOp& p : list) {
    switch (p.kind) {
      case K::kRelu:
        r.ops.append_eltwise(1.0f, alg::eltwise_relu, 0.0f, 0.0f);
        break;
      case K::kLeakyRelu:
        r.ops.append_eltwise(1.0f, alg::eltwise_relu, p.a, 0.0f);
        break;
      case K::kClip:
        r.ops.append_eltwise(1.0f, alg::eltwise_clip, std::min(p.a, p.b), p.b);
        break;
      case K::kSigmoid:
        r.ops.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f);
        break;
      case K::kHardSwish:
        r.ops.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f);
        break;
      case K::kHardSigmoid:
        r.ops.append_eltwise(1.0f, alg::eltwise_linear, p.a, p.b);
        r.ops.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
        break;
      case K::kSum: {
        const size_t index = ops::sum_operand_index(b.node().op_type);
        if (!b.has_input(index) || b.in_shape(index) != b.out_shape(0))
          decline("sum operand must have the output's shape " + shape_str(b.out_shape(0)) +
                  " in int8 (broadcasting not implemented)");
        r.ops.append_sum(1.0f);
        r.sum = true;
        break;
      }
    }
  }
  return r;
}

// Before the primitive runs: copies the sum operand (float32, `boundary`) into `dst`, the
// memory the primitive writes and its sum post-op reads. The operand is read in dst's
// layout, so that when its producer writes that layout natively the Session drops the
// conversion (layout.h) and the copy is a plain memcpy.
void add_sum_copy(OnednnKernel& k, const Build& b, const dnnl::memory::desc& boundary,
                  const dnnl::memory& dst) {
  k.add_copy(k.input_as(ops::sum_operand_index(b.node().op_type), boundary, dst.get_desc()), dst);
}

// Primitive attributes: scratchpad, per-channel output scales, the source zero point and
// the post-op chain.
dnnl::primitive_attr int8_attr(const std::vector<float>& out_scales, const ActivationQuant& q,
                               const Int8PostOps& post) {
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_output_scales(kPerChannelMask, out_scales);
  if (q.zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {q.zero_point});
  if (post.ops.len() > 0) attr.set_post_ops(post.ops);
  return attr;
}

// `md` with float32 elements at the same places (strides count elements).
dnnl::memory::desc as_f32(const dnnl::memory::desc& md) {
  dnnl_memory_desc_t d = md.data;
  d.data_type = dnnl_f32;
  return dnnl::memory::desc(d);
}

// Binds input 0 (float32, `boundary`) and adds the step quantizing it to u8 in the layout
// `wanted`: q = saturate_u8(round(x / scale) + zero_point). The input is first converted
// to float32 in `wanted`'s layout (channels last for convolutions): when its producer is an
// int8 kernel writing that layout, the Session keeps the value in it and drops both
// conversions (layout.h), leaving only the quantization, which moves no channel.
dnnl::memory quantized_input(OnednnKernel& k, const Build& b, const dnnl::memory::desc& boundary,
                             const dnnl::memory::desc& wanted, const ActivationQuant& q) {
  dnnl::memory source = k.input_as(0, boundary, as_f32(wanted));
  dnnl::memory converted = k.buffer(wanted);
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_output_scales(0, {1.0f / q.scale});
  if (q.zero_point != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {q.zero_point});
  const dnnl::reorder::primitive_desc pd(b.context->engine(), source.get_desc(),
                                         b.context->engine(), wanted, attr);
  k.add_step(pd, dnnl::reorder(pd), Args{{DNNL_ARG_FROM, source}, {DNNL_ARG_TO, converted}},
             /*main=*/false);
  return converted;
}

std::vector<float> output_scales(const ActivationQuant& q, const std::vector<float>& w_scales,
                                 float factor) {
  std::vector<float> s(w_scales.size());
  for (size_t c = 0; c < s.size(); ++c) s[c] = factor * q.scale * w_scales[c];
  return s;
}

// The matmul kernel shared by Gemm and MatMul: A [m, k] float32 (row-major, quantized
// inside), B given as rows [n, k] (one per output column, already quantized), result
// [m, n] float32 scaled by `out_scales`, plus `bias` ([1 or m, n], already divided by
// the scales) when defined.
std::unique_ptr<kernels::Kernel> int8_matmul_kernel(const Build& b, const ActivationQuant& q,
                                                    int64_t m, int64_t k, int64_t n,
                                                    const ChannelQuant& wq,
                                                    const std::vector<float>& out_scales,
                                                    const Tensor& bias, const Int8PostOps& post) {
  const dnnl::memory::desc a_boundary = plain_md({m, k}, dt::f32);
  // The rows [n, k] seen as B [k, n].
  const dnnl::memory::desc w_boundary({k, n}, dt::s8, dnnl::memory::dims{1, k});
  const dnnl::memory::desc src({m, k}, dt::u8, tag::ab);
  const dnnl::memory::desc wei({k, n}, dt::s8, tag::any);
  const dnnl::memory::desc dst = plain_md({m, n}, dt::f32);
  const dnnl::memory::desc bias_md =
      bias.defined() ? plain_md(bias.shape(), dt::f32) : dnnl::memory::desc();
  const dnnl::matmul::desc d = bias.defined() ? dnnl::matmul::desc(src, wei, bias_md, dst)
                                              : dnnl::matmul::desc(src, wei, dst);
  const dnnl::matmul::primitive_desc pd(d, int8_attr(out_scales, q, post), b.context->engine());

  auto kernel = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = quantized_input(*kernel, b, a_boundary, pd.src_desc(), q);
  args[DNNL_ARG_WEIGHTS] = kernel->constant_as(wq.values, w_boundary, pd.weights_desc());
  if (bias.defined()) args[DNNL_ARG_BIAS] = kernel->constant_as(bias, bias_md, pd.bias_desc());
  args[DNNL_ARG_DST] = kernel->output_as(0, dst, pd.dst_desc());
  if (post.sum) add_sum_copy(*kernel, b, dst, args[DNNL_ARG_DST]);
  kernel->add_step(pd, dnnl::matmul(pd), std::move(args));
  return kernel;
}

// B [k, n] (row-major) as rows [n, k].
Tensor transposed(const Tensor& w) {
  const int64_t k = w.dim(0), n = w.dim(1);
  Tensor t(DType::kF32, {n, k});
  const float* s = w.data<float>();
  float* d = t.data<float>();
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) d[j * k + i] = s[i * n + j];
  return t;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_int8_conv(const Int8Build& ib) {
  const Build& b = ib.base;
  const size_t rank = b.in_shape(0).size();
  if (rank < 3 || rank > 5)
    decline(std::to_string(rank) + "-D input " + shape_str(b.in_shape(0)) +
            " not implemented (1 to 3 spatial dims)");
  const Tensor& w = constant_weights(b);
  const ActivationQuant q = input_quant(ib);
  const ir::Node& n = b.node();
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  const int64_t group = n.attr_int("group", 1);
  const int64_t out_channels = w.dim(0);
  const ops::WindowGeometry g = ops::sliding_window(
      n, {x.begin() + 2, x.end()}, {w.shape().begin() + 2, w.shape().end()}, false);
  dnnl::memory::dims dilations;
  for (int64_t d : g.dilations) dilations.push_back(d - 1);  // oneDNN counts from 0

  const ChannelQuant wq = quantize_rows(w, out_channels);
  const std::vector<float> scales = output_scales(q, wq.scales, 1.0f);
  Tensor bias;
  if (b.has_input(2)) {
    const Tensor* c = b.constant(2);
    if (!c) decline("bias is not constant");
    bias = Tensor(DType::kF32, {out_channels});
    for (int64_t o = 0; o < out_channels; ++o)
      bias.data<float>()[o] = c->data<float>()[o] / scales[static_cast<size_t>(o)];
  }

  // ONNX's M x C/group x k... is oneDNN's goihw (or oihw) in the same memory order.
  Shape w_dims = w.shape();
  if (group > 1) {
    w_dims[0] = w_dims[0] / group;
    w_dims.insert(w_dims.begin(), group);
  }
  const dnnl::memory::desc w_boundary = plain_md(w_dims, dt::s8);
  const dnnl::memory::desc src(x, dt::u8, tag::any);
  const dnnl::memory::desc wei(w_dims, dt::s8, tag::any);
  const dnnl::memory::desc dst(y, dt::f32, tag::any);
  const dnnl::memory::desc bias_md =
      bias.defined() ? plain_md({out_channels}, dt::f32) : dnnl::memory::desc();

  const Int8PostOps post = int8_post_ops(b);
  using conv = dnnl::convolution_forward;
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  const conv::desc d = bias.defined() ? conv::desc(prop, alg, src, wei, bias_md, dst, g.strides,
                                                   dilations, g.pad_begin, g.pad_end)
                                      : conv::desc(prop, alg, src, wei, dst, g.strides, dilations,
                                                   g.pad_begin, g.pad_end);
  const conv::primitive_desc pd(d, int8_attr(scales, q, post), b.context->engine());

  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = quantized_input(*k, b, plain_md(x, dt::f32), pd.src_desc(), q);
  args[DNNL_ARG_WEIGHTS] = k->constant_as(wq.values, w_boundary, pd.weights_desc());
  if (bias.defined()) args[DNNL_ARG_BIAS] = k->constant_as(bias, bias_md, pd.bias_desc());
  args[DNNL_ARG_DST] = k->output_as(0, plain_md(y, dt::f32), pd.dst_desc());
  if (post.sum) add_sum_copy(*k, b, plain_md(y, dt::f32), args[DNNL_ARG_DST]);
  k->add_step(pd, conv(pd), std::move(args));
  return k;
}

std::unique_ptr<kernels::Kernel> make_int8_gemm(const Int8Build& ib) {
  const Build& b = ib.base;
  const ir::Node& n = b.node();
  if (n.attr_int("transA", 0) != 0) decline("transA=1 not implemented in int8");
  const float alpha = n.attr_float("alpha", 1.0f);
  const float beta = n.attr_float("beta", 1.0f);
  if (alpha == 0.0f || !std::isfinite(alpha)) decline("alpha must be finite and nonzero");
  const Tensor& w = constant_weights(b);
  const ActivationQuant q = input_quant(ib);
  const Shape& y = b.out_shape(0);
  const int64_t m = y[0], cols = y[1], k = b.in_shape(0)[1];

  const ChannelQuant wq = quantize_rows(n.attr_int("transB", 0) != 0 ? w : transposed(w), cols);
  const std::vector<float> scales = output_scales(q, wq.scales, alpha);

  // C (times beta) becomes the bias, divided per column by the output scales.
  const bool has_c = ops::own_input_count(n) > 2 && b.has_input(2) && beta != 0.0f;
  Tensor bias;
  if (has_c) {
    const Tensor* c = b.constant(2);
    if (!c) decline("C is not constant");
    const Shape cs = c->shape().size() == 2   ? c->shape()
                     : c->shape().size() == 1 ? Shape{1, c->shape()[0]}
                                              : Shape{1, 1};
    bias = Tensor(DType::kF32, {cs[0], cols});
    const float* cv = c->data<float>();
    float* bv = bias.data<float>();
    for (int64_t r = 0; r < cs[0]; ++r)
      for (int64_t j = 0; j < cols; ++j)
        bv[r * cols + j] =
            beta * cv[r * cs[1] + (cs[1] == 1 ? 0 : j)] / scales[static_cast<size_t>(j)];
  }
  return int8_matmul_kernel(b, q, m, k, cols, wq, scales, bias, int8_post_ops(b));
}

std::unique_ptr<kernels::Kernel> make_int8_matmul(const Int8Build& ib) {
  const Build& b = ib.base;
  const Shape& a = b.in_shape(0);
  if (b.in_shape(1).size() != 2) decline("weights of rank other than 2 not implemented in int8");
  const Tensor& w = constant_weights(b);
  const ActivationQuant q = input_quant(ib);
  const int64_t k = w.dim(0), cols = w.dim(1);
  // A [..., M, K] is row-major: its leading dimensions fold into M.
  const int64_t m = shape_numel(a) / k;
  const ChannelQuant wq = quantize_rows(transposed(w), cols);
  return int8_matmul_kernel(b, q, m, k, cols, wq, output_scales(q, wq.scales, 1.0f), Tensor(),
                            int8_post_ops(b));
}

}  // namespace frugal::kernels::cpu
