// Elementwise operators: Relu, Clip, Sigmoid, HardSwish and Gelu on oneDNN's eltwise primitive,
// Add, Mul, Sub and Div on its binary primitive (one operand may broadcast with dimensions of size
// 1), HardSigmoid as an own loop (oneDNN 2.6 has no such algorithm).
#include <algorithm>
#include <limits>
#include <optional>

#include "frugal/kernels/cpu/activation_factories.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/post_ops.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;

}  // namespace

std::unique_ptr<kernels::Kernel> eltwise(const Build& b, dnnl::algorithm alg, float alpha,
                                         float beta, float scale) {
  const dnnl::memory::desc md = plain_md(b.in_shape(0), dt::f32);
  // In the producer's blocked layout when it has one: elementwise does not care.
  const dnnl::memory::desc wanted = b.hint(0) ? *b.hint(0) : md;
  auto pd_of = [&](dnnl::algorithm a, float al, float be) {
    const dnnl::eltwise_forward::desc d(dnnl::prop_kind::forward_inference, a, wanted, al, be);
    return dnnl::eltwise_forward::primitive_desc(d, scratchpad_attr(), b.context->engine());
  };
  const dnnl::eltwise_forward::primitive_desc pd = pd_of(alg, alpha, beta);
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = k->input_as(0, md, pd.src_desc());
  const dnnl::memory dst = k->output_as(0, md, pd.dst_desc());
  args[DNNL_ARG_DST] = dst;
  k->add_step(pd, dnnl::eltwise_forward(pd), std::move(args));
  if (scale != 1.0f) {
    // A second pass in place: oneDNN 2.6 runs an eltwise with a post-op on its reference
    // kernel only (one thread, and wrong on 1-D tensors).
    const dnnl::eltwise_forward::primitive_desc scaled =
        pd_of(dnnl::algorithm::eltwise_linear, scale, 0.0f);
    k->add_step(scaled, dnnl::eltwise_forward(scaled),
                Args{{DNNL_ARG_SRC, dst}, {DNNL_ARG_DST, dst}}, false);
  }
  return k;
}

namespace {

// A Clip bound: the attribute before opset 11, the constant input from 11, else `dflt`.
float clip_bound(const Build& b, size_t input, const char* attr, float dflt) {
  if (b.view.opset < 11) return b.node().attr_float(attr, dflt);
  if (!b.has_input(input)) return dflt;
  const Tensor* v = b.constant(input);
  if (!v) decline(std::string(attr) + " known only at run time not implemented");
  return v->data<float>()[0];
}

std::unique_ptr<kernels::Kernel> binary(const Build& b, dnnl::algorithm alg, bool commutative) {
  if (b.view.opset < 7) decline("legacy broadcast (opset < 7) not implemented");
  const Shape& y = b.out_shape(0);
  const size_t rank = std::max<size_t>(1, y.size());
  const Shape out = with_rank(y, rank);
  size_t first = 0, second = 1;
  Shape s0 = with_rank(b.in_shape(0), rank), s1 = with_rank(b.in_shape(1), rank);
  // oneDNN broadcasts only its second source. A broadcast first operand swaps the two: free
  // for Add and Mul; Sub's result is then negated by a post-op (x - a = -(a - x) exactly:
  // BERT's `1 - mask`, YOLOv8's `anchors - lt` at batch > 1).
  dnnl::primitive_attr attr = scratchpad_attr();
  if (s0 != out) {
    if (s1 != out)
      decline("broadcast of both operands (" + shape_str(b.in_shape(0)) + ", " +
              shape_str(b.in_shape(1)) + ") not implemented");
    if (!commutative && alg != dnnl::algorithm::binary_sub)
      decline("a broadcast first operand (" + shape_str(b.in_shape(0)) + ") not implemented");
    std::swap(first, second);
    std::swap(s0, s1);
    if (!commutative) {
      dnnl::post_ops negate;
      negate.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, -1.0f, 0.0f);
      attr.set_post_ops(negate);
    }
  }
  const dnnl::memory::desc md0 = plain_md(s0, dt::f32), md1 = plain_md(s1, dt::f32),
                           dst = plain_md(out, dt::f32);
  // Both operands in one blocked layout from their producers: add them in it. A broadcast
  // operand (squeeze-excitation's per-channel scale) against a full-size one in its
  // producer's layout: the full-size one stays in that layout, and only the small one is
  // read plain. Otherwise EfficientNet's SE Mul reordered its large operand to plain and the
  // product back, two copies per block (bench/RESULTS.md, "SE Mul in the producer's layout").
  const dnnl::memory::desc *h0 = b.hint(first), *h1 = b.hint(second);
  const bool same = h0 && h1 && *h0 == *h1 && s0 == s1;
  std::optional<dnnl::binary::primitive_desc> pd;
  if (same) {
    pd.emplace(dnnl::binary::desc(alg, *h0, *h0, *h0), attr, b.context->engine());
  } else if (h0 && s0 != s1) {
    pd.emplace(dnnl::binary::desc(alg, *h0, md1, *h0), attr, b.context->engine());
    // oneDNN's reference loops over a blocked layout cost more than the two reorders.
    if (std::string(pd->impl_info_str()).rfind("ref", 0) == 0) pd.reset();
  }
  if (!pd) pd.emplace(dnnl::binary::desc(alg, md0, md1, dst), attr, b.context->engine());
  auto k = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC_0] = k->input_as(first, md0, pd->src0_desc());
  args[DNNL_ARG_SRC_1] = k->input_as(second, md1, pd->src1_desc());
  args[DNNL_ARG_DST] = k->output_as(0, dst, pd->dst_desc());
  k->add_step(*pd, dnnl::binary(*pd), std::move(args));
  return k;
}

// y = min(max(alpha * x + beta, 0), 1), a loop the compiler vectorizes.
class HardSigmoidKernel final : public kernels::Kernel {
 public:
  HardSigmoidKernel(float alpha, float beta) : alpha_(alpha), beta_(beta) {}
  void run(ops::KernelContext& ctx) override {
    const Tensor& x = ctx.input(0);
    const float* in = x.data<float>();
    float* out = ctx.output(0).data<float>();
    const int64_t count = x.numel();
    const float alpha = alpha_, beta = beta_;
    for (int64_t i = 0; i < count; ++i)
      out[i] = std::min(1.0f, std::max(0.0f, alpha * in[i] + beta));
  }
  std::string impl() const override { return "loop"; }

 private:
  float alpha_, beta_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_relu(const Build& b) {
  return eltwise(b, dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_clip(const Build& b) {
  const float inf = std::numeric_limits<float>::infinity();
  const float lo = clip_bound(b, 1, "min", -inf);
  const float hi = clip_bound(b, 2, "max", inf);
  // ONNX gives hi everywhere when lo > hi; oneDNN's clip does the same with lo lowered to hi.
  return eltwise(b, dnnl::algorithm::eltwise_clip, std::min(lo, hi), hi);
}

std::unique_ptr<kernels::Kernel> make_sigmoid(const Build& b) {
  return eltwise(b, dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_hard_swish(const Build& b) {
  return eltwise(b, dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_gelu(const Build& b) {
  const std::string form = b.node().attr_string("approximate", "none");
  if (form != "none" && form != "tanh") decline("approximate '" + form + "' not implemented");
  return eltwise(
      b, form == "tanh" ? dnnl::algorithm::eltwise_gelu_tanh : dnnl::algorithm::eltwise_gelu_erf,
      0.0f, 0.0f);
}

std::unique_ptr<kernels::Kernel> make_hard_sigmoid(const Build& b) {
  return std::make_unique<HardSigmoidKernel>(b.node().attr_float("alpha", 0.2f),
                                             b.node().attr_float("beta", 0.5f));
}

std::unique_ptr<kernels::Kernel> make_add(const Build& b) {
  return binary(b, dnnl::algorithm::binary_add, true);
}

std::unique_ptr<kernels::Kernel> make_mul(const Build& b) {
  return binary(b, dnnl::algorithm::binary_mul, true);
}

std::unique_ptr<kernels::Kernel> make_sub(const Build& b) {
  return binary(b, dnnl::algorithm::binary_sub, false);
}

std::unique_ptr<kernels::Kernel> make_div(const Build& b) {
  return binary(b, dnnl::algorithm::binary_div, false);
}

}  // namespace frugal::kernels::cpu
