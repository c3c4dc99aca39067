#include "frugal/kernels/cpu/int8_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <optional>

#include "frugal/kernels/cpu/few_channel_int8.h"
#include "frugal/kernels/cpu/int8_impl.h"
#include "frugal/kernels/cpu/int8_quant.h"
#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/kernels/deferred_build.h"
#include "frugal/kernels/threads.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

// oneDNN's output-scale mask selecting dimension 1 (output channels of conv, N of matmul).
constexpr int kPerChannelMask = 1 << 1;

// The 8-bit boundaries a kernel has agreed on with its neighbours (layout.h).
struct Int8Io {
  std::optional<dnnl::memory::desc> src_u8;  // input 0 arrives u8 in this layout
  std::optional<dnnl::memory::desc> sum_u8;  // the sum operand arrives u8 in this layout
  std::optional<ActivationQuant> out;        // output 0 is written u8 with these parameters
};

struct Int8Built {
  std::unique_ptr<OnednnKernel> kernel;
  dnnl::memory::desc src;  // input 0 as the primitive reads it (u8)
  dnnl::memory::desc dst;  // output 0 as the primitive writes it
  ActivationQuant in_q;    // input 0's quantization
};

using Int8Builder = Int8Built (*)(const Int8Build&, const Int8Io&);

bool same_quant(const std::optional<ActivationQuant>& a, const std::optional<ActivationQuant>& b) {
  return a.has_value() == b.has_value() &&
         (!a || (a->scale == b->scale && a->zero_point == b->zero_point));
}

bool same_io(const Int8Io& a, const Int8Io& b) {
  return a.src_u8 == b.src_u8 && a.sum_u8 == b.sum_u8 && same_quant(a.out, b.out);
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
  return *w;
}

// B [k, n] (row-major) as rows [n, k].
Tensor transposed(const Tensor& w) {
  const int64_t k = w.dim(0), n = w.dim(1);
  Tensor t = Tensor::uninitialized(DType::kF32, {n, k});  // every value written below
  const float* s = w.data<float>();
  float* d = t.data<float>();
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < n; ++j) d[j * k + i] = s[i * n + j];
  return t;
}

// The weights quantized per output channel (`rows` of them; `transpose`: w is [K, rows]),
// once per kernel: the builders run only inside Int8Kernel, whose memo keeps them across
// the negotiation's rebuilds (a third of resnet50's int8 session init went to quantizing
// the same weights again at each rebuild).
const ChannelQuant& quantized_weights(const Int8Build& ib, const Tensor& w, int64_t rows,
                                      bool transpose) {
  FRUGAL_CHECK(ib.weights, "int8 weights quantized outside an Int8Kernel");
  std::optional<ChannelQuant>& memo = *ib.weights;
  if (!memo) {
    // From the 8-bit values of a QDQ file's weight, when the Session's QDQ import left them.
    if (const auto source = ops::weight_source(ib.base.node(), w))
      memo = quantize_source_rows(*source, rows, transpose);
    if (!memo) memo = quantize_finite_rows(transpose ? transposed(w) : w, rows);
    if (!memo) decline("weights hold a non-finite value");
  }
  return *memo;
}

// The node's "frugal.post_ops" as a oneDNN chain applied after the output scales, in
// float32 (or float32 times 1 / s_y, see int8_epilogue). "sum" is oneDNN's sum post-op,
// which adds what the destination holds: the kernel copies the sum operand there first
// (add_sum_operand). oneDNN's int8 convolutions take a sum
// post-op in their fast (brgemm) kernels, but a binary add in plain layout only in the
// reference one.
struct Int8PostOps {
  dnnl::post_ops ops;
  bool sum = false;                     // oneDNN's sum post-op (the full operand)
  std::optional<int> row_sum_position;  // a binary add of the row operand, at this position
};

// The node's post-ops, in the order ONNX applies them.
std::vector<ops::PostOp> post_op_list(const Build& b) {
  if (!ops::has_post_ops(b.node())) return {};
  try {
    return ops::post_ops_of(b.node());
  } catch (const UserError& e) {
    decline(e.what());
  }
}

// How a matmul's sum operand meets its output [m, n] (rows: the leading dimensions folded,
// as the float32 rows form does): the full output (oneDNN's sum post-op reads it from the
// destination), or one row [n] broadcast over the rows (a bias-like operand: a binary add
// post-op reading a [1, n] operand, or when constant and first in the chain, folded into
// the bias). Convolutions take only the full form.
enum class SumForm { kFull, kRow };

// The sum operand's form, or a decline naming its shape.
SumForm sum_form(const Build& b, bool rows_allowed) {
  const size_t index = ops::sum_operand_index(b.node().op_type);
  if (!b.has_input(index)) decline("sum operand missing");
  const Shape& y = b.out_shape(0);
  const Shape s = with_rank(b.in_shape(index), y.size());
  if (s == y) return SumForm::kFull;
  bool row = rows_allowed && s.back() == y.back();
  for (size_t d = 0; row && d + 1 < s.size(); ++d) row = s[d] == 1;
  if (!row)
    decline("sum operand " + shape_str(b.in_shape(index)) + " must have the output's shape " +
            shape_str(y) + (rows_allowed ? " or be one row broadcast over it" : "") +
            " in int8 (other broadcasts not implemented)");
  return SumForm::kRow;
}

// Whether scaling the result by f > 0 before the chain equals scaling after it
// (relu(f x) = f relu(x), clip bounds scaled with it): the requantization by 1 / s_y then
// folds into the output scales instead of costing a post-op of its own.
bool homogeneous(const Build& b, const std::vector<ops::PostOp>& list) {
  using K = ops::PostOp::Kind;
  for (const ops::PostOp& p : list) {
    if (p.kind != K::kRelu && p.kind != K::kLeakyRelu && p.kind != K::kClip && p.kind != K::kSum)
      return false;
    // A row operand is added unscaled (binary add).
    if (p.kind == K::kSum && sum_form(b, b.node().op_type != "Conv") == SumForm::kRow) return false;
  }
  return true;
}

// The chain as oneDNN post-ops, applied after output scales that include the factor `f`
// (results are f times the float32 ones): clip bounds scale with it, and the sum operand,
// which the destination holds as sum_scale * (q - sum_zero_point), is scaled by
// sum_scale * f. A row sum operand is added as is (binary add, float32): the caller keeps
// f = 1 before it (not homogeneous).
Int8PostOps int8_post_ops(const Build& b, const std::vector<ops::PostOp>& list, float f,
                          float sum_scale, int32_t sum_zero_point) {
  Int8PostOps r;
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
        r.ops.append_eltwise(1.0f, alg::eltwise_clip, std::min(p.a, p.b) * f, p.b * f);
        break;
      case K::kSigmoid:
        r.ops.append_eltwise(1.0f, alg::eltwise_logistic, 0.0f, 0.0f);
        break;
      case K::kHardSwish:
        r.ops.append_eltwise(1.0f, alg::eltwise_hardswish, 0.0f, 0.0f);
        break;
      case K::kSwish:
        r.ops.append_eltwise(1.0f, alg::eltwise_swish, 1.0f, 0.0f);
        break;
      case K::kGelu:
        r.ops.append_eltwise(1.0f, alg::eltwise_gelu_erf, 0.0f, 0.0f);
        break;
      case K::kGeluTanh:
        r.ops.append_eltwise(1.0f, alg::eltwise_gelu_tanh, 0.0f, 0.0f);
        break;
      case K::kHardSigmoid:
        r.ops.append_eltwise(1.0f, alg::eltwise_linear, p.a, p.b);
        r.ops.append_eltwise(1.0f, alg::eltwise_clip, 0.0f, 1.0f);
        break;
      case K::kLinear:
        r.ops.append_eltwise(1.0f, alg::eltwise_linear, p.a, p.b);
        break;
      case K::kSum: {
        if (sum_form(b, b.node().op_type != "Conv") == SumForm::kRow) {
          r.row_sum_position = r.ops.len();
          r.ops.append_binary(alg::binary_add, plain_md({1, b.out_shape(0).back()}, dt::f32));
          break;
        }
        if (sum_zero_point != 0)
          r.ops.append_sum(sum_scale * f, sum_zero_point);
        else
          r.ops.append_sum(sum_scale * f);
        r.sum = true;
        break;
      }
    }
  }
  return r;
}

// `md` with elements of type `t` at the same places (strides count elements).
dnnl::memory::desc with_type(const dnnl::memory::desc& md, dnnl_data_type_t t) {
  dnnl_memory_desc_t d = md.data;
  d.data_type = t;
  return dnnl::memory::desc(d);
}

// A reorder step `from` -> `to` run before the primitive: to = saturate(scale * (from -
// src_zp) + dst_zp) (the quantization or dequantization of a value as it moves).
// oneDNN 2.6's reorder from channels last to plain (its jit:uni transposition) drops the
// zero points at some shapes (u8 NHWC -> f32 NCHW, 2x64x10x9 and 2x256x10x9: every value off
// by scale x zero point; 16, 32, 48 channels right): with a zero point and a change of
// layout the values are converted in `from`'s layout first, then moved
// (Int8Regions.MaxPoolToFloatKeepsItsZeroPoint).
void add_scaled_copy(OnednnKernel& k, const Build& b, const dnnl::memory& from,
                     const dnnl::memory& to, float scale, int32_t src_zp, int32_t dst_zp) {
  const dnnl::memory::desc converted_md = with_type(from.get_desc(), to.get_desc().data.data_type);
  if ((src_zp != 0 || dst_zp != 0) && converted_md != to.get_desc()) {
    const dnnl::memory converted = k.buffer(converted_md);
    add_scaled_copy(k, b, from, converted, scale, src_zp, dst_zp);
    k.add_copy(converted, to);
    return;
  }
  dnnl::primitive_attr attr = scratchpad_attr();
  if (scale != 1.0f) attr.set_output_scales(0, {scale});
  if (src_zp != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {src_zp});
  if (dst_zp != 0) attr.set_zero_points(DNNL_ARG_DST, 0, {dst_zp});
  const dnnl::reorder::primitive_desc pd(b.context->engine(), from.get_desc(), b.context->engine(),
                                         to.get_desc(), attr);
  k.add_step(pd, Args{{DNNL_ARG_FROM, from}, {DNNL_ARG_TO, to}}, /*main=*/false);
}

// Primitive attributes: scratchpad, per-channel output scales, the source zero point, the
// destination's when it is u8, and the post-op chain.
dnnl::primitive_attr int8_attr(const std::vector<float>& out_scales, const ActivationQuant& q,
                               const Int8PostOps& post, const Int8Io& io) {
  dnnl::primitive_attr attr = scratchpad_attr();
  attr.set_output_scales(kPerChannelMask, out_scales);
  if (q.zero_point != 0) attr.set_zero_points(DNNL_ARG_SRC, 0, {q.zero_point});
  if (io.out && io.out->zero_point != 0)
    attr.set_zero_points(DNNL_ARG_DST, 0, {io.out->zero_point});
  if (post.ops.len() > 0) attr.set_post_ops(post.ops);
  return attr;
}

// Binds input 0 and returns it as the primitive reads it, u8 in `wanted`'s layout. When
// its producer writes that u8 itself (io.src_u8, layout.h) it is bound as is. Otherwise
// the float32 input is first converted to `wanted`'s layout (channels last for
// convolutions; when its producer writes float32 in that layout the Session drops the
// conversion), then quantized: q = saturate_u8(round(x / scale) + zero_point).
dnnl::memory quantized_input(OnednnKernel& k, const Build& b, const dnnl::memory::desc& boundary,
                             const dnnl::memory::desc& wanted, const ActivationQuant& q,
                             const Int8Io& io) {
  if (io.src_u8) return k.input_as(0, *io.src_u8, *io.src_u8);
  dnnl::memory source = k.input_as(0, boundary, with_type(wanted, dnnl_f32));
  dnnl::memory converted = k.buffer(wanted);
  add_scaled_copy(k, b, source, converted, 1.0f / q.scale, 0, q.zero_point);
  return converted;
}

// The sum operand's quantization, from its calibrated range, when it has one.
std::optional<ActivationQuant> sum_quant(const Int8Build& ib) {
  const Build& b = ib.base;
  if (!ops::has_post_ops(b.node())) return std::nullopt;
  const size_t index = ops::sum_operand_index(b.node().op_type);
  if (!b.has_input(index)) return std::nullopt;
  auto it = ib.ranges.find(b.node().inputs[index]);
  if (it == ib.ranges.end()) return std::nullopt;
  try {
    return activation_quant(it->second, it->first);
  } catch (const UserError&) {
    return std::nullopt;
  }
}

// The output scale factor f and the post-ops for `io`: with a u8 output the result must
// come out divided by its scale s_y. A homogeneous chain takes f = 1 / s_y in the output
// scales; any other gets f = 1 and a final linear post-op 1 / s_y. The sum operand sits in
// the destination as float32 (scale 1), or as u8 with its own parameters when the
// destination is u8.
struct Int8Epilogue {
  float f = 1.0f;
  Int8PostOps post;
};

// Whether the u8 destination's saturation already applies `p`, a relu or clip run on values
// in output units (v = y / s, then q = saturate(round(v + z))): a lower bound L with L / s
// + z <= 0 clamps only what rounds to 0 or below anyway, an upper bound U with U / s + z >=
// 255 only what saturates to 255 (relu: L = 0, so z must be 0). Such a trailing post-op is
// dropped: one vector operation fewer per 16 outputs in the epilogue.
bool saturation_applies(const ops::PostOp& p, const ActivationQuant& out) {
  const float f = 1.0f / out.scale, z = static_cast<float>(out.zero_point);
  if (p.kind == ops::PostOp::Kind::kRelu) return out.zero_point == 0;
  if (p.kind != ops::PostOp::Kind::kClip) return false;
  return std::min(p.a, p.b) * f + z <= 0.0f && p.b * f + z >= 255.0f;
}

Int8Epilogue int8_epilogue(const Int8Build& ib, const Int8Io& io, std::vector<ops::PostOp> list) {
  const Build& b = ib.base;
  Int8Epilogue e;
  float sum_scale = 1.0f;
  int32_t sum_zp = 0;
  bool has_sum = false;
  for (const auto& p : list) has_sum |= p.kind == ops::PostOp::Kind::kSum;
  const bool full_sum = has_sum && sum_form(b, b.node().op_type != "Conv") == SumForm::kFull;
  if (has_sum && !full_sum && io.sum_u8) decline("a row sum operand is read as float32");
  if (io.out && full_sum) {
    const auto sq = sum_quant(ib);
    if (!sq) decline("no calibration range for the sum operand (needed with a u8 output)");
    sum_scale = sq->scale;
    sum_zp = sq->zero_point;
  }
  const bool fold = io.out && homogeneous(b, list);
  if (fold) e.f = 1.0f / io.out->scale;
  while (fold && !list.empty() && saturation_applies(list.back(), *io.out)) list.pop_back();
  e.post = int8_post_ops(b, list, e.f, sum_scale, sum_zp);
  if (io.out && !fold)
    e.post.ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f / io.out->scale, 0.0f);
  return e;
}

// Before the primitive runs: puts the sum operand into `dst`, the memory the primitive
// writes and its sum post-op reads, converting between the operand as it arrives (float32
// at `boundary`, or u8 in io.sum_u8) and the destination (float32, or u8 with io.out's
// parameters; then the operand keeps its own parameters, which the sum post-op undoes).
// A float32 operand is read in dst's layout, so that when its producer writes that layout
// natively the Session drops the conversion (layout.h).
void add_sum_operand(OnednnKernel& k, const Int8Build& ib, const Int8Io& io,
                     const dnnl::memory::desc& boundary, const dnnl::memory& dst) {
  const Build& b = ib.base;
  const size_t index = ops::sum_operand_index(b.node().op_type);
  const dnnl::memory::desc dst_md = dst.get_desc();
  if (!io.sum_u8 && !io.out) {
    k.add_copy(k.input_as(index, boundary, dst_md), dst);
    return;
  }
  const auto sq = sum_quant(ib);
  if (!sq) decline("no calibration range for the sum operand");
  if (io.sum_u8 && !io.out) {  // dequantize
    add_scaled_copy(k, b, k.input_as(index, *io.sum_u8, *io.sum_u8), dst, sq->scale, sq->zero_point,
                    0);
  } else if (!io.sum_u8) {  // quantize with the operand's parameters
    add_scaled_copy(k, b, k.input_as(index, boundary, with_type(dst_md, dnnl_f32)), dst,
                    1.0f / sq->scale, 0, sq->zero_point);
  } else if (*io.sum_u8 == dst_md) {
    // u8 to u8 in one layout: a plain copy, which the Session drops by placing the output
    // over the operand when this node is its last reader (runtime/sum_in_place.h).
    k.add_copy(k.input_as(index, *io.sum_u8, *io.sum_u8), dst);
    k.allow_output_over_input(index);
  } else {  // u8 to u8: bytes only move
    add_scaled_copy(k, b, k.input_as(index, *io.sum_u8, *io.sum_u8), dst, 1.0f, 0, 0);
  }
}

// A constant row sum operand first in the chain is a bias (Hugging Face's MatMul + Add(B)):
// it is added to `bias` ([1 or m, n], float32, added after alpha as Gemm's C is) and
// dropped from `list`. Returns the bias, undefined when there is none.
Tensor with_constant_row_sum(const Build& b, std::vector<ops::PostOp>& list, const Tensor& bias,
                             int64_t n) {
  if (list.empty() || list.front().kind != ops::PostOp::Kind::kSum) return bias;
  const size_t index = ops::sum_operand_index(b.node().op_type);
  const Tensor* row = b.constant(index);
  if (!row || sum_form(b, true) != SumForm::kRow) return bias;
  if (!all_finite(*row)) decline("sum operand holds a non-finite value");
  Tensor r = bias.defined() ? bias.clone() : Tensor(DType::kF32, {1, n});
  const int64_t rows = r.dim(0);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < n; ++j) r.data<float>()[i * n + j] += row->data<float>()[j];
  list.erase(list.begin());
  return r;
}

std::vector<float> output_scales(const ActivationQuant& q, const std::vector<float>& w_scales,
                                 float factor) {
  std::vector<float> s(w_scales.size());
  for (size_t c = 0; c < s.size(); ++c) s[c] = factor * q.scale * w_scales[c];
  return s;
}

// Output 0 bound as the primitive writes it: u8 as is (io.out), or float32 plain at the
// boundary through a conversion the Session may drop (layout.h).
dnnl::memory bound_output(OnednnKernel& k, const Int8Io& io, const dnnl::memory::desc& boundary,
                          const dnnl::memory::desc& produced) {
  return io.out ? k.output_as(0, produced, produced) : k.output_as(0, boundary, produced);
}

// The matmul kernel shared by Gemm and MatMul: A [m, k] (float32 row-major, quantized
// inside, or u8 from its producer), B given as rows [n, k] (one per output column, already
// quantized), result [m, n] (float32, or u8 with io.out) scaled by `w_scales` times the
// input scale and `alpha`, plus `bias` ([1 or m, n], float32 unscaled) when defined.
Int8Built int8_matmul_kernel(const Int8Build& ib, const Int8Io& io, const ActivationQuant& q,
                             int64_t m, int64_t k, int64_t n, const ChannelQuant& wq, float alpha,
                             const Tensor& given_bias) {
  const Build& b = ib.base;
  std::vector<ops::PostOp> list = post_op_list(b);
  const Tensor full_bias = with_constant_row_sum(b, list, given_bias, n);
  if (io.sum_u8 && list.size() < post_op_list(b).size())
    decline("the constant sum operand is folded into the bias");
  const Int8Epilogue e = int8_epilogue(ib, io, list);
  const std::vector<float> out_scales = output_scales(q, wq.scales, alpha * e.f);
  const Tensor& bias = full_bias;
  Tensor scaled_bias;
  if (bias.defined()) {
    // oneDNN v2 adds the bias to the accumulator before scaling: in accumulator units,
    // whatever the factor f.
    scaled_bias = Tensor(DType::kF32, bias.shape());
    const int64_t cols = bias.dim(1);
    for (int64_t i = 0; i < bias.numel(); ++i)
      scaled_bias.data<float>()[i] =
          bias.data<float>()[i] / (alpha * q.scale * wq.scales[static_cast<size_t>(i % cols)]);
  }
  const dnnl::memory::desc a_boundary = plain_md({m, k}, dt::f32);
  // The rows [n, k] seen as B [k, n].
  const dnnl::memory::desc w_boundary({k, n}, dt::s8, dnnl::memory::dims{1, k});
  const dnnl::memory::desc src =
      io.src_u8 ? *io.src_u8 : dnnl::memory::desc({m, k}, dt::u8, tag::ab);
  const dnnl::memory::desc wei({k, n}, dt::s8, tag::any);
  const dnnl::memory::desc dst_boundary = plain_md({m, n}, dt::f32);
  const dnnl::memory::desc dst = io.out ? plain_md({m, n}, dt::u8) : dst_boundary;
  const dnnl::memory::desc bias_md =
      bias.defined() ? plain_md(bias.shape(), dt::f32) : dnnl::memory::desc();
  const dnnl::matmul::desc d = bias.defined() ? dnnl::matmul::desc(src, wei, bias_md, dst)
                                              : dnnl::matmul::desc(src, wei, dst);
  const dnnl::matmul::primitive_desc pd(d, int8_attr(out_scales, q, e.post, io),
                                        b.context->engine());

  Int8Built r;
  r.kernel = std::make_unique<OnednnKernel>(b.context, ib.mode);
  OnednnKernel& kernel = *r.kernel;
  Args args;
  args[DNNL_ARG_SRC] = quantized_input(kernel, b, a_boundary, pd.src_desc(), q, io);
  args[DNNL_ARG_WEIGHTS] = kernel.constant_as(wq.values, w_boundary, pd.weights_desc());
  if (bias.defined())
    args[DNNL_ARG_BIAS] = kernel.constant_as(scaled_bias, bias_md, pd.bias_desc());
  args[DNNL_ARG_DST] = bound_output(kernel, io, dst_boundary, pd.dst_desc());
  if (e.post.sum) add_sum_operand(kernel, ib, io, dst_boundary, args[DNNL_ARG_DST]);
  if (e.post.row_sum_position) {
    const dnnl::memory::desc row = plain_md({1, n}, dt::f32);
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(*e.post.row_sum_position) | DNNL_ARG_SRC_1] =
        kernel.input_as(ops::sum_operand_index(b.node().op_type), row, row);
  }
  kernel.add_step(pd, std::move(args));
  r.src = pd.src_desc();
  r.dst = pd.dst_desc();
  r.in_q = q;
  return r;
}

// The epilogue of the own few-channel kernel for the node's post-ops applied to results
// scaled by f: relu, clips (bounds scaled by f), a leaky relu first; nullopt for any other
// chain (a sum, a non-homogeneous activation, clips whose bounds leave one value).
std::optional<FewChannelEpilogue> few_channel_epilogue(const Build& b, float f) {
  using K = ops::PostOp::Kind;
  FewChannelEpilogue e;
  const std::vector<ops::PostOp> list = post_op_list(b);
  for (size_t i = 0; i < list.size(); ++i) {
    const ops::PostOp& p = list[i];
    if (p.kind == K::kLeakyRelu && i == 0) {
      e.negative_slope = p.a;
      continue;
    }
    float lo = -std::numeric_limits<float>::infinity(), hi = -lo;
    if (p.kind == K::kRelu) {
      lo = 0.0f;
    } else if (p.kind == K::kClip) {
      lo = std::min(p.a, p.b) * f;
      hi = p.b * f;
    } else {
      return std::nullopt;
    }
    if (std::max(lo, e.lo) > std::min(hi, e.hi)) return std::nullopt;
    e.lo = std::max(lo, e.lo);
    e.hi = std::min(hi, e.hi);
  }
  return e;
}

// frugal's own kernel (few_channel_int8.h) for a 2-D convolution of a float32 input of 1 to
// 4 channels (a network's stem; kernel rows of at most 64 bytes) without groups or
// dilation, whose post-ops
// few_channel_epilogue covers; nullopt where it does not apply (oneDNN's primitive runs:
// a u8 input from an int8 producer, too, which its primitive reads as it comes).
// `scales` are oneDNN's output scales (factor f included), `bias` in accumulator units.
// FRUGAL_OWN_INT8_FEW=0 keeps oneDNN's primitive everywhere (to compare).
std::optional<Int8Built> build_own_few_channels(const Int8Build& ib, const Int8Io& io,
                                                const ActivationQuant& q, const ChannelQuant& wq,
                                                const std::vector<float>& scales,
                                                const Tensor& bias, const ops::WindowGeometry& g,
                                                float f) {
  static const bool off = [] {
    const char* v = std::getenv("FRUGAL_OWN_INT8_FEW");
    return v && std::strcmp(v, "0") == 0;
  }();
  const Build& b = ib.base;
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  const Shape& w = wq.values.shape();
  if (off || io.src_u8 || x.size() != 4 || x[1] < 1 || x[1] > 4 ||
      b.node().attr_int("group", 1) != 1 || !FewChannelConvInt8::available())
    return std::nullopt;
  for (size_t d = 0; d < 2; ++d)
    if (g.dilations[d] != 1) return std::nullopt;
  if (w[3] * x[1] > 64) return std::nullopt;  // a kernel row in one vector
  std::optional<FewChannelEpilogue> e = few_channel_epilogue(b, f);
  if (!e) return std::nullopt;

  const int64_t out_channels = y[1], per_out = shape_numel(w) / out_channels;
  e->u8_out = io.out.has_value();
  e->dst_zero_point = io.out ? static_cast<float>(io.out->zero_point) : 0.0f;
  e->scale = scales;
  e->bias.resize(static_cast<size_t>(out_channels));
  const int8_t* wv = wq.values.data<int8_t>();
  for (int64_t o = 0; o < out_channels; ++o) {
    int64_t weight_sum = 0;
    for (int64_t i = 0; i < per_out; ++i) weight_sum += wv[o * per_out + i];
    const double acc_bias = (bias.defined() ? double(bias.data<float>()[o]) : 0.0) -
                            double(q.zero_point) * double(weight_sum);
    e->bias[static_cast<size_t>(o)] = static_cast<float>(double(scales[size_t(o)]) * acc_bias);
  }

  Int8Built r;
  r.kernel = std::make_unique<OnednnKernel>(b.context, ib.mode);
  OnednnKernel& k = *r.kernel;
  const dnnl::memory::desc dst_md(y, io.out ? dt::u8 : dt::f32, tag::nhwc);
  const dnnl::memory src = k.input_as(0, plain_md(x, dt::f32), plain_md(x, dt::f32));
  const dnnl::memory dst = bound_output(k, io, plain_md(y, dt::f32), dst_md);
  std::shared_ptr<FewChannelConvInt8> conv;
  if (ib.mode == OnednnKernel::Mode::kBuild) {
    FewChannelShape s;
    s.batch = x[0];
    s.channels = x[1];
    s.in_h = x[2];
    s.in_w = x[3];
    s.out_channels = out_channels;
    s.out_h = y[2];
    s.out_w = y[3];
    s.kernel_h = w[2];
    s.kernel_w = w[3];
    s.stride_h = g.strides[0];
    s.stride_w = g.strides[1];
    s.pad_top = g.pad_begin[0];
    s.pad_left = g.pad_begin[1];
    s.pad_bottom = g.pad_end[0];
    s.pad_right = g.pad_end[1];
    conv = std::make_shared<FewChannelConvInt8>(s, wv, FewChannelInputQuant{q.scale, q.zero_point},
                                                std::move(*e));
  }
  k.add_function_step(
      [conv, src, dst] {
        conv->run(static_cast<const float*>(src.get_data_handle()), dst.get_data_handle());
      },
      "own_int8_few_channels:avx512_vnni");
  r.src = dnnl::memory::desc(x, dt::u8, tag::nhwc);
  r.dst = dst_md;
  r.in_q = q;
  return r;
}

Int8Built build_conv(const Int8Build& ib, const Int8Io& io) {
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

  const Int8Epilogue e = int8_epilogue(ib, io, post_op_list(b));
  const ChannelQuant& wq = quantized_weights(ib, w, out_channels, false);
  const std::vector<float> scales = output_scales(q, wq.scales, e.f);
  Tensor bias;
  if (b.has_input(2)) {
    // In accumulator units (oneDNN v2 adds the bias before scaling), whatever the factor f.
    const Tensor* c = b.constant(2);
    if (!c) decline("bias is not constant");
    bias = Tensor(DType::kF32, {out_channels});
    for (int64_t o = 0; o < out_channels; ++o)
      bias.data<float>()[o] = c->data<float>()[o] / (q.scale * wq.scales[static_cast<size_t>(o)]);
  }
  // ONNX's M x C/group x k... is oneDNN's goihw (or oihw) in the same memory order.
  Shape w_dims = w.shape();
  if (group > 1) {
    w_dims[0] = w_dims[0] / group;
    w_dims.insert(w_dims.begin(), group);
  }
  const dnnl::memory::desc w_boundary = plain_md(w_dims, dt::s8);
  const dnnl::memory::desc src = io.src_u8 ? *io.src_u8 : dnnl::memory::desc(x, dt::u8, tag::any);
  const dnnl::memory::desc wei(w_dims, dt::s8, tag::any);
  const dnnl::memory::desc dst(y, io.out ? dt::u8 : dt::f32, tag::any);
  const dnnl::memory::desc bias_md =
      bias.defined() ? plain_md({out_channels}, dt::f32) : dnnl::memory::desc();

  using conv = dnnl::convolution_forward;
  const auto prop = dnnl::prop_kind::forward_inference;
  const auto alg = dnnl::algorithm::convolution_direct;
  const conv::desc d = bias.defined() ? conv::desc(prop, alg, src, wei, bias_md, dst, g.strides,
                                                   dilations, g.pad_begin, g.pad_end)
                                      : conv::desc(prop, alg, src, wei, dst, g.strides, dilations,
                                                   g.pad_begin, g.pad_end);
  const conv::primitive_desc pd = int8_conv_pd(d, int8_attr(scales, q, e.post, io),
                                               b.context->engine(), conv_macs(y, w.shape()));
  // frugal's few-channel kernel against oneDNN's VNNI path, not its AMX tiles: on an AMX
  // CPU oneDNN's stem took 0.45-0.48 ms per image against the kernel's 0.59-0.61 (resnet50;
  // bench/RESULTS.md, "Every model against ONNX Runtime on an Intel Xeon with AMX").
  if (!is_amx(pd.impl_info_str()))
    if (auto own = build_own_few_channels(ib, io, q, wq, scales, bias, g, e.f))
      return std::move(*own);

  Int8Built r;
  r.kernel = std::make_unique<OnednnKernel>(b.context, ib.mode);
  OnednnKernel& k = *r.kernel;
  Args args;
  args[DNNL_ARG_SRC] = quantized_input(k, b, plain_md(x, dt::f32), pd.src_desc(), q, io);
  args[DNNL_ARG_WEIGHTS] = k.constant_as(wq.values, w_boundary, pd.weights_desc());
  if (bias.defined()) args[DNNL_ARG_BIAS] = k.constant_as(bias, bias_md, pd.bias_desc());
  args[DNNL_ARG_DST] = bound_output(k, io, plain_md(y, dt::f32), pd.dst_desc());
  if (e.post.sum) add_sum_operand(k, ib, io, plain_md(y, dt::f32), args[DNNL_ARG_DST]);
  k.add_step(pd, std::move(args));
  r.src = pd.src_desc();
  r.dst = pd.dst_desc();
  r.in_q = q;
  return r;
}

Int8Built build_gemm(const Int8Build& ib, const Int8Io& io) {
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

  const ChannelQuant& wq = quantized_weights(ib, w, cols, n.attr_int("transB", 0) == 0);

  // C (times beta) becomes the bias.
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
        bv[r * cols + j] = beta * cv[r * cs[1] + (cs[1] == 1 ? 0 : j)];
  }
  return int8_matmul_kernel(ib, io, q, m, k, cols, wq, alpha, bias);
}

Int8Built build_matmul(const Int8Build& ib, const Int8Io& io) {
  const Build& b = ib.base;
  const Shape& a = b.in_shape(0);
  if (b.in_shape(1).size() != 2) decline("weights of rank other than 2 not implemented in int8");
  const Tensor& w = constant_weights(b);
  const ActivationQuant q = input_quant(ib);
  const int64_t k = w.dim(0), cols = w.dim(1);
  // A [..., M, K] is row-major: its leading dimensions fold into M.
  const int64_t m = shape_numel(a) / k;
  const ChannelQuant& wq = quantized_weights(ib, w, cols, true);
  return int8_matmul_kernel(ib, io, q, m, k, cols, wq, 1.0f, Tensor());
}

// MaxPool in u8: max commutes with the (monotone) quantization, so the pooled u8 values are
// the input's grid as is, and the output keeps the input's parameters (the backend gives
// the output value the input's range, so that its int8 readers agree). Channels last.
Int8Built build_max_pool(const Int8Build& ib, const Int8Io& io) {
  const Build& b = ib.base;
  const ir::Node& n = b.node();
  const Shape& x = b.in_shape(0);
  if (x.size() != 4)
    decline(std::to_string(x.size()) + "-D input not implemented in int8 (4-D only)");
  if (b.has_output(1)) decline("MaxPool with the Indices output not implemented");
  if (ops::has_post_ops(n)) decline("fused post-ops not implemented in int8 MaxPool");
  const ActivationQuant q = input_quant(ib);
  if (io.out && (io.out->scale != q.scale || io.out->zero_point != q.zero_point))
    decline("MaxPool writes its input's quantization (no requantization)");
  const bool ceil_mode = n.attr_int("ceil_mode", 0) != 0;
  const ops::WindowGeometry g =
      ops::sliding_window(n, {x.begin() + 2, x.end()}, n.attr_ints("kernel_shape"), ceil_mode);
  dnnl::memory::dims dilations, pad_r = g.pad_end;
  for (size_t d = 0; d < g.rank(); ++d) {
    dilations.push_back(g.dilations[d] - 1);
    const int64_t needed =
        (g.out[d] - 1) * g.strides[d] + g.effective_kernel(d) - g.in[d] - g.pad_begin[d];
    pad_r[d] = std::max(pad_r[d], needed);
  }
  const Shape& y = b.out_shape(0);
  const dnnl::memory::desc src = io.src_u8 ? *io.src_u8 : dnnl::memory::desc(x, dt::u8, tag::nhwc);
  const dnnl::memory::desc dst(y, dt::u8, tag::nhwc);
  using pool = dnnl::pooling_v2_forward;
  const pool::primitive_desc pd(
      pool::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_max, src, dst,
                 g.strides, g.kernel, dilations, g.pad_begin, pad_r),
      scratchpad_attr(), b.context->engine());
  Int8Built r;
  r.kernel = std::make_unique<OnednnKernel>(b.context, ib.mode);
  OnednnKernel& k = *r.kernel;
  Args args;
  args[DNNL_ARG_SRC] = quantized_input(k, b, plain_md(x, dt::f32), pd.src_desc(), q, io);
  dnnl::memory out =
      io.out ? k.output_as(0, pd.dst_desc(), pd.dst_desc()) : k.buffer(pd.dst_desc());
  args[DNNL_ARG_DST] = out;
  k.add_step(pd, std::move(args));
  if (!io.out)  // dequantize to the float32 boundary
    add_scaled_copy(k, b, out, k.bind_output(0, plain_md(y, dt::f32)), q.scale, q.zero_point, 0);
  r.src = pd.src_desc();
  r.dst = pd.dst_desc();
  r.in_q = q;
  return r;
}

// GlobalAveragePool of a u8 channels-last input into float32: the mean of the grid values,
// dequantized, s (sum q / HW - z), exact up to float32 rounding (the quantization of a
// mean would cost half a step). Its readers get float32 (a mean lies off the input's grid),
// so it ends an int8 region, but its producer writes u8: a quarter of the bytes (resnet50's
// last convolution wrote 2048 x 7 x 7 floats). With float32 input (no int8 producer) it
// averages in float32 as the cpu backend's pooling.
Int8Built build_global_avg_pool(const Int8Build& ib, const Int8Io& io) {
  const Build& b = ib.base;
  const Shape& x = b.in_shape(0);
  if (x.size() != 4)
    decline(std::to_string(x.size()) + "-D input not implemented in int8 (4-D only)");
  if (io.out) decline("GlobalAveragePool writes float32 (a mean lies off its input's grid)");
  const ActivationQuant q = input_quant(ib);
  const Shape& y = b.out_shape(0);
  const dnnl::memory::desc u8_src(x, dt::u8, tag::nhwc);
  if (io.src_u8 && *io.src_u8 != u8_src) decline("u8 input in a layout other than NHWC");
  Int8Built r;
  r.kernel = std::make_unique<OnednnKernel>(b.context, ib.mode);
  OnednnKernel& k = *r.kernel;
  const dnnl::memory out = k.bind_output(0, plain_md(y, dt::f32));
  if (io.src_u8) {
    const dnnl::memory in = k.input_as(0, u8_src, u8_src);
    const int64_t n = x[0], c = x[1], hw = x[2] * x[3];
    k.add_function_step(
        [in, out, n, c, hw, q, sum = std::vector<int32_t>(static_cast<size_t>(c))]() mutable {
          const uint8_t* src = static_cast<const uint8_t*>(in.get_data_handle());
          float* dst = static_cast<float*>(out.get_data_handle());
          for (int64_t i = 0; i < n; ++i) {
            std::fill(sum.begin(), sum.end(), 0);
            for (int64_t p = 0; p < hw; ++p) {
              const uint8_t* row = src + (i * hw + p) * c;
              for (int64_t j = 0; j < c; ++j) sum[static_cast<size_t>(j)] += row[j];
            }
            for (int64_t j = 0; j < c; ++j)
              dst[i * c + j] = q.scale * (static_cast<float>(sum[static_cast<size_t>(j)]) /
                                              static_cast<float>(hw) -
                                          static_cast<float>(q.zero_point));
          }
        },
        "own:u8_mean");
  } else {
    const dnnl::memory::desc src(x, dt::f32, tag::nhwc);
    const dnnl::memory::desc dst = plain_md(y, dt::f32);
    using pool = dnnl::pooling_v2_forward;
    const pool::primitive_desc pd(
        pool::desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::pooling_avg_include_padding,
                   src, dnnl::memory::desc(y, dt::f32, tag::nhwc), {1, 1}, {x[2], x[3]}, {0, 0},
                   {0, 0}, {0, 0}),
        scratchpad_attr(), b.context->engine());
    k.add_step(pd, Args{{DNNL_ARG_SRC, k.input_as(0, plain_md(x, dt::f32), pd.src_desc())},
                        {DNNL_ARG_DST, k.output_as(0, dst, pd.dst_desc())}});
  }
  r.src = u8_src;
  r.dst = dnnl::memory::desc(y, dt::f32, tag::nhwc);
  r.in_q = q;
  return r;
}

QuantParams params_of(const ActivationQuant& q) {
  return {q.scale, q.zero_point};
}

// An int8 Conv/Gemm/MatMul kernel whose boundaries the Session negotiates (layout.h's
// QuantNegotiable, then LayoutNegotiable): it keeps a copy of what it was built from (the
// node and its inferred tensors), answers the negotiation from probes (the oneDNN kernel
// described, nothing created: onednn_kernel.h) and builds the kernel that runs once, when
// the negotiation is over (DeferredBuild), replaying the layouts adopted meanwhile. Built
// at each agreement instead, resnet50's int8 kernels were built 4.3 times each: 0.2 s of
// session init, mostly oneDNN generating code and converting weights.
class Int8Kernel final : public kernels::Kernel,
                         public LayoutNegotiable,
                         public QuantNegotiable,
                         public DeferredBuild,
                         public kernels::OutputOverInput {
 public:
  Int8Kernel(const Int8Build& ib, Int8Builder builder)
      : node_(ib.base.node()),
        opset_(ib.base.view.opset),
        context_(ib.base.context),
        ranges_(&ib.ranges),
        builder_(builder) {
    for (const auto* t : ib.base.view.inputs) ins_.push_back(t ? std::optional(*t) : std::nullopt);
    for (const auto* t : ib.base.view.outputs)
      outs_.push_back(t ? std::optional(*t) : std::nullopt);
    built_ = build(io_, OnednnKernel::Mode::kProbe);
    if (ops::has_post_ops(node_)) {
      for (const auto& p : post_op_list(base(view())))
        if (p.kind == ops::PostOp::Kind::kSum)
          sum_index_ = static_cast<int64_t>(ops::sum_operand_index(node_.op_type));
    }
  }

  void run(ops::KernelContext& ctx) override {
    if (!final_) finish_build();  // a kernel run outside a Session
    current().kernel->run(ctx);
  }
  std::string impl() const override {
    std::string s = current().kernel->impl();
    if (io_.src_u8 || io_.sum_u8 || io_.out)
      s += std::string(" [") + (io_.src_u8 || io_.sum_u8 ? "u8 in" : "f32 in") +
           (io_.out ? ", u8 out]" : ", f32 out]");
    return s;
  }

  // The built kernel's offer (a u8 sum operand already in the output's layout and
  // quantization); none before the build.
  std::optional<size_t> output_over_input() const override {
    return final_ ? current().kernel->output_over_input() : std::nullopt;
  }
  std::optional<OpaqueLayout> native_output(size_t index) const override {
    return current().kernel->native_output(index);
  }
  std::optional<OpaqueLayout> native_input(size_t index) const override {
    return current().kernel->native_input(index);
  }
  void adopt_native_output(size_t index) override {
    current().kernel->adopt_native_output(index);
    adopted_.push_back({true, index});
  }
  void adopt_native_input(size_t index) override {
    current().kernel->adopt_native_input(index);
    adopted_.push_back({false, index});
  }

  std::optional<QuantizedLayout> quantized_input(size_t index) override {
    const Int8Built& built = current();
    if (index == 0 && !io_.src_u8)
      return QuantizedLayout{{layout_key(built.src), built.src.get_size()}, params_of(built.in_q)};
    if (sum_index_ >= 0 && index == static_cast<size_t>(sum_index_) && !io_.sum_u8) {
      const dnnl::memory::desc md = with_type(built.dst, dnnl_u8);
      Int8Io t = io_;
      t.sum_u8 = md;
      auto sq = sum_quant(Int8Build{base(view()), *ranges_});
      if (!sq || !remember_probe(t)) return std::nullopt;
      return QuantizedLayout{{layout_key(md), md.get_size()}, params_of(*sq)};
    }
    return std::nullopt;
  }
  std::optional<OpaqueLayout> quantized_output(size_t index, const QuantParams& q) override {
    if (index != 0 || io_.out) return std::nullopt;
    Int8Io t = io_;
    t.out = ActivationQuant{q.scale, q.zero_point};
    const Int8Built* r = remember_probe(t);
    if (!r) return std::nullopt;
    return OpaqueLayout{layout_key(r->dst), r->dst.get_size()};
  }
  void adopt_quantized_input(size_t index) override {
    FRUGAL_CHECK(!final_ && adopted_.empty(), "8-bit boundaries are agreed before the layouts");
    if (index == 0) {
      io_.src_u8 = current().src;
    } else {
      FRUGAL_CHECK(sum_index_ >= 0 && index == static_cast<size_t>(sum_index_),
                   "no quantized input to adopt");
      io_.sum_u8 = with_type(current().dst, dnnl_u8);
    }
    use_probe_or_rebuild_later();
  }
  void adopt_quantized_output(size_t index, const QuantParams& q) override {
    FRUGAL_CHECK(index == 0, "no quantized output to adopt");
    FRUGAL_CHECK(!final_ && adopted_.empty(), "8-bit boundaries are agreed before the layouts");
    io_.out = ActivationQuant{q.scale, q.zero_point};
    use_probe_or_rebuild_later();
  }

  void finish_build() override {
    if (final_) return;
    built_ = build(io_, OnednnKernel::Mode::kBuild);
    stale_ = false;
    probed_.reset();
    for (const auto& [output, index] : adopted_)
      if (output)
        built_.kernel->adopt_native_output(index);
      else
        built_.kernel->adopt_native_input(index);
    final_ = true;
  }

 private:
  kernels::NodeView view() const {
    kernels::NodeView v{node_, opset_, {}, {}, false};
    for (const auto& t : ins_) v.inputs.push_back(t ? &*t : nullptr);
    for (const auto& t : outs_) v.outputs.push_back(t ? &*t : nullptr);
    return v;
  }
  Build base(const kernels::NodeView& v) const { return Build{v, context_, Precision::kF32}; }
  Int8Built build(const Int8Io& io, OnednnKernel::Mode mode) const {
    // oneDNN fixes a primitive's thread count when it is created: a build after the
    // Session's placement (outside the node's thread scope) keeps the node's count, so
    // that a node planned on one thread does not wake the others at every run.
    kernels::ThreadScope scope(threads_);
    const kernels::NodeView v = view();
    return builder_(Int8Build{base(v), *ranges_, &weights_, mode}, io);
  }
  // The kernel as described by io_: built again only where an adoption changed io_ and no
  // probe of that io_ was kept (each probe is a oneDNN primitive descriptor: resnet50's
  // and mobilenet_v2's negotiation rebuilt each int8 kernel two to three times).
  const Int8Built& current() const {
    if (stale_) {
      built_ = build(io_, OnednnKernel::Mode::kProbe);
      stale_ = false;
    }
    return built_;
  }
  const Int8Built* remember_probe(const Int8Io& io) {
    auto r = try_probe(io);
    if (!r) return nullptr;
    probed_ = {io, std::move(*r)};
    return &probed_->second;
  }
  void use_probe_or_rebuild_later() {
    stale_ = !(probed_ && same_io(probed_->first, io_));
    if (!stale_) built_ = std::move(probed_->second);
    probed_.reset();
  }
  std::optional<Int8Built> try_probe(const Int8Io& io) const {
    try {
      return build(io, OnednnKernel::Mode::kProbe);
    } catch (const Declined&) {
    } catch (const dnnl::error&) {
    }
    return std::nullopt;
  }

  ir::Node node_;
  int64_t opset_;
  std::vector<std::optional<ops::TensorInfo>> ins_, outs_;
  std::shared_ptr<Context> context_;
  const std::map<std::string, ValueRange>* ranges_;  // the backend's, which outlives us
  Int8Builder builder_;
  int threads_ = kernels::threads();             // the node's, current when the Session builds it
  mutable std::optional<ChannelQuant> weights_;  // quantized once, for every build
  Int8Io io_;
  mutable Int8Built built_;                             // a probe until finish_build()
  mutable bool stale_ = false;                          // io_ changed since built_ was built
  std::optional<std::pair<Int8Io, Int8Built>> probed_;  // the last probe that succeeded
  bool final_ = false;
  std::vector<std::pair<bool, size_t>> adopted_;  // native layouts adopted: (output?, index)
  int64_t sum_index_ = -1;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_int8_conv(const Int8Build& ib) {
  return std::make_unique<Int8Kernel>(ib, build_conv);
}

std::unique_ptr<kernels::Kernel> make_int8_gemm(const Int8Build& ib) {
  return std::make_unique<Int8Kernel>(ib, build_gemm);
}

std::unique_ptr<kernels::Kernel> make_int8_matmul(const Int8Build& ib) {
  return std::make_unique<Int8Kernel>(ib, build_matmul);
}

std::unique_ptr<kernels::Kernel> make_int8_max_pool(const Int8Build& ib) {
  return std::make_unique<Int8Kernel>(ib, build_max_pool);
}

std::unique_ptr<kernels::Kernel> make_int8_global_avg_pool(const Int8Build& ib) {
  return std::make_unique<Int8Kernel>(ib, build_global_avg_pool);
}

}  // namespace frugal::kernels::cpu
