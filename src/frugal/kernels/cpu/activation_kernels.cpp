// Unary activations on oneDNN's eltwise primitive (Tanh, LeakyRelu, Elu, Selu, Softplus,
// Mish, Exp, Sqrt, Abs, Neg) and PRelu on its prelu primitive, so that the networks
// that use them (YOLO's LeakyRelu, face models' PRelu, BERT's Tanh) stay on cpu instead of
// falling back to the reference kernels. Attribute defaults per the ONNX spec. Log stays on
// ref: oneDNN 2.6's log gives -1e-6 for log(1), outside the ONNX suite's absolute tolerance.
#include <string>

#include "frugal/kernels/cpu/activation_factories.h"
#include "frugal/kernels/cpu/hinted_pd.h"
#include "frugal/kernels/cpu/post_ops.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using alg = dnnl::algorithm;

// The PRelu primitive over `src` (the input's plain or producer's layout) and the slope.
dnnl::prelu_forward::primitive_desc prelu_pd(const Build& b, const dnnl::memory::desc& src,
                                             const dnnl::memory::desc& slope) {
  const dnnl::prelu_forward::desc d(dnnl::prop_kind::forward_inference, src, slope);
  return dnnl::prelu_forward::primitive_desc(d, scratchpad_attr(), b.context->engine());
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_tanh(const Build& b) {
  return eltwise(b, alg::eltwise_tanh, 0.0f, 0.0f);
}

// oneDNN's relu with a negative slope: x for x > 0, alpha * x otherwise.
std::unique_ptr<kernels::Kernel> make_leaky_relu(const Build& b) {
  return eltwise(b, alg::eltwise_relu, b.node().attr_float("alpha", 0.01f), 0.0f);
}

std::unique_ptr<kernels::Kernel> make_elu(const Build& b) {
  return eltwise(b, alg::eltwise_elu, b.node().attr_float("alpha", 1.0f), 0.0f);
}

// gamma * Elu_alpha(x): the Elu primitive, then a scaling pass.
std::unique_ptr<kernels::Kernel> make_selu(const Build& b) {
  const float alpha = b.node().attr_float("alpha", 1.67326319217681884765625f);
  const float gamma = b.node().attr_float("gamma", 1.05070102214813232421875f);
  return eltwise(b, alg::eltwise_elu, alpha, 0.0f, gamma);
}

// oneDNN 2.6's soft_relu is log(1 + e^x), ONNX's Softplus.
std::unique_ptr<kernels::Kernel> make_softplus(const Build& b) {
  return eltwise(b, alg::eltwise_soft_relu, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_mish(const Build& b) {
  return eltwise(b, alg::eltwise_mish, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_exp(const Build& b) {
  return eltwise(b, alg::eltwise_exp, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_sqrt(const Build& b) {
  return eltwise(b, alg::eltwise_sqrt, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_abs(const Build& b) {
  return eltwise(b, alg::eltwise_abs, 0.0f, 0.0f);
}

// x^e for a one-element constant exponent e (of any numeric type) as oneDNN's pow,
// alpha * x^beta; an exponent tensor or one known only at run time stays on ref.
std::unique_ptr<kernels::Kernel> make_pow(const Build& b) {
  const Tensor* e = b.constant(1);
  if (!e || e->numel() != 1) decline("exponent is not a one-element constant");
  if (b.out_shape(0) != b.in_shape(0)) decline("the exponent broadcasts the base's shape");
  const double beta = e->at_double(0);
  // oneDNN computes x^0.5 as sqrt(x): NaN for -inf, where pow (and ONNX's reference) gives +inf.
  if (beta == 0.5) decline("exponent 0.5: oneDNN's sqrt gives NaN for -inf (pow: +inf)");
  return eltwise(b, alg::eltwise_pow, 1.0f, static_cast<float>(beta));
}

// 1 / x as oneDNN's pow with exponent -1 (a division there, as ref computes it).
std::unique_ptr<kernels::Kernel> make_reciprocal(const Build& b) {
  return eltwise(b, alg::eltwise_pow, 1.0f, -1.0f);
}

// -x as oneDNN's linear alpha * x + beta.
std::unique_ptr<kernels::Kernel> make_neg(const Build& b) {
  return eltwise(b, alg::eltwise_linear, -1.0f, 0.0f);
}

// The slope broadcasts onto x unidirectionally (opset 7 on): as oneDNN's weights it gets
// x's rank, each dimension x's or 1; oneDNN declines broadcasts it has no kernel for
// (per-channel slopes run on its jit kernel, others on its reference one).
std::unique_ptr<kernels::Kernel> make_prelu(const Build& b) {
  const Shape& x = b.in_shape(0);
  const Shape& s = b.in_shape(1);
  if (b.view.opset < 7) decline("opset " + std::to_string(b.view.opset) + " slope not implemented");
  if (s.size() > x.size()) decline("slope " + shape_str(s) + " of higher rank than the input");
  // One constant slope is LeakyRelu (oneDNN's prelu has only its reference kernel for it).
  if (const Tensor* c = b.constant(1); c && c->numel() == 1)
    return eltwise(b, alg::eltwise_relu, c->data<float>()[0], 0.0f);
  const Shape slope = with_rank(s, x.size());
  const dnnl::memory::desc md = plain_md(x, dt::f32), slope_md = plain_md(slope, dt::f32);
  // In the producer's blocked layout when oneDNN has a fast kernel for it, else plain.
  const auto pd = in_producer_layout(
      b, 0, md, [&](const dnnl::memory::desc& src) { return prelu_pd(b, src, slope_md); });
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory::desc weights = pd.query_md(dnnl::query::weights_md, 0);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  args[DNNL_ARG_WEIGHTS] = b.constant(1) ? k->constant_as(*b.constant(1), slope_md, weights)
                                         : k->input_as(1, slope_md, weights);
  args[DNNL_ARG_DST] = k->output_as(0, md, pd.dst_desc());
  k->add_step(pd, dnnl::prelu_forward(pd), std::move(args));
  return k;
}

}  // namespace frugal::kernels::cpu
