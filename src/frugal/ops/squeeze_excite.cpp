// frugal.SqueezeExcite (ops/squeeze_excite.h): shape inference, cost and the reference
// kernel (means and products in double, the activations applied in double).
#include "frugal/ops/squeeze_excite.h"

#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

std::vector<PostOp> squeeze_excite_activations(const ir::Node& node, const char* attr) {
  ir::Node as_post_ops;  // post_ops_of parses the entries and names the node on error
  as_post_ops.name = node.name;
  as_post_ops.op_type = node.op_type;
  as_post_ops.domain = node.domain;
  if (node.has_attr(attr))
    as_post_ops.attrs[kPostOpsAttr] = ir::Attribute{.value = node.attr_strings(attr)};
  std::vector<PostOp> ops = post_ops_of(as_post_ops);
  if (has_sum(ops))
    throw UserError(node.describe() + ": attribute " + attr + " may not hold 'sum'");
  return ops;
}

namespace {

// The sizes: batch, channels C, reduced channels Cr, spatial positions.
struct SeDims {
  int64_t n = 0, c = 0, cr = 0, hw = 0;
};

template <typename Ctx>
SeDims se_dims(const Ctx& ctx, const Shape& x, const Shape& w1, const Shape& w2) {
  if (x.size() < 3) ctx.fail("X must be [N, C, spatial...], not " + shape_str(x));
  SeDims d{x[0], x[1], w1.empty() ? 0 : w1[0], shape_numel(x) / (x[0] * x[1])};
  auto ones_after_two = [&](const Shape& w) {
    if (w.size() != x.size()) return false;
    for (size_t i = 2; i < w.size(); ++i)
      if (w[i] != 1) return false;
    return true;
  };
  if (!ones_after_two(w1) || !ones_after_two(w2) || w1[1] != d.c || w2[0] != d.c || w2[1] != d.cr)
    ctx.fail("W1 " + shape_str(w1) + " and W2 " + shape_str(w2) +
             " are not the 1x1 weights [Cr, C, 1...] and [C, Cr, 1...] of X " + shape_str(x));
  return d;
}

void infer_squeeze_excite(InferContext& ctx) {
  if (!ctx.has_input(3)) ctx.fail("input 3 (W2) is required");  // B1 before it may be empty
  for (size_t i = 0; i < 5; ++i)
    if (ctx.has_input(i)) ctx.require_dtype(i, {DType::kF32});
  const SeDims d = se_dims(ctx, ctx.shape(0), ctx.shape(1), ctx.shape(3));
  if (ctx.has_input(2) && ctx.shape(2) != Shape{d.cr})
    ctx.fail("B1 " + shape_str(ctx.shape(2)) + " is not [" + std::to_string(d.cr) + "]");
  if (ctx.has_input(4) && ctx.shape(4) != Shape{d.c})
    ctx.fail("B2 " + shape_str(ctx.shape(4)) + " is not [" + std::to_string(d.c) + "]");
  squeeze_excite_activations(ctx.node(), "inner");
  squeeze_excite_activations(ctx.node(), "gate");
  ctx.set_output(0, DType::kF32, ctx.shape(0));
}

// out[o] = b[o] + sum_i w[o * in + i] * v[i], in double.
void dense(const float* w, const Tensor* b, const double* v, int64_t out, int64_t in, double* y) {
  for (int64_t o = 0; o < out; ++o) {
    double acc = b ? b->at_double(o) : 0.0;
    for (int64_t i = 0; i < in; ++i) acc += double(w[o * in + i]) * v[i];
    y[o] = acc;
  }
}

void ref_squeeze_excite(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const SeDims d = se_dims(ctx, X.shape(), ctx.input(1).shape(), ctx.input(3).shape());
  const std::vector<PostOp> inner = squeeze_excite_activations(ctx.node(), "inner");
  const std::vector<PostOp> gate = squeeze_excite_activations(ctx.node(), "gate");
  const Tensor* b1 = ctx.has_input(2) ? &ctx.input(2) : nullptr;
  const Tensor* b2 = ctx.has_input(4) ? &ctx.input(4) : nullptr;
  const float* x = X.data<float>();
  float* y = ctx.output(0).data<float>();
  std::vector<double> mean(static_cast<size_t>(d.c));
  Tensor h(DType::kF64, {d.cr}), g(DType::kF64, {d.c});
  for (int64_t b = 0; b < d.n; ++b) {
    const float* xb = x + b * d.c * d.hw;
    for (int64_t c = 0; c < d.c; ++c) {
      double sum = 0;
      for (int64_t p = 0; p < d.hw; ++p) sum += xb[c * d.hw + p];
      mean[static_cast<size_t>(c)] = sum / double(d.hw);
    }
    dense(ctx.input(1).data<float>(), b1, mean.data(), d.cr, d.c, h.data<double>());
    apply_post_ops(inner, h, nullptr);
    dense(ctx.input(3).data<float>(), b2, h.data<double>(), d.c, d.cr, g.data<double>());
    apply_post_ops(gate, g, nullptr);
    const double* gv = g.data<double>();
    for (int64_t c = 0; c < d.c; ++c)
      for (int64_t p = 0; p < d.hw; ++p)
        y[(b * d.c + c) * d.hw + p] = static_cast<float>(xb[c * d.hw + p] * gv[c]);
  }
}

// The two products, plus the mean (one addition per element of X), the scaling (one
// product per element) and the activations (one operation per value, a rough count).
Work cost_squeeze_excite(const CostContext& c) {
  const Shape &x = c.in[0], &w1 = c.in[1];
  const int64_t n = x[0], ch = x[1], cr = w1[0];
  Work w;
  w.macs = 2 * n * ch * cr;
  w.flops = 2 * shape_numel(x) + n * (ch + cr);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(SqueezeExcite, OpDef{.op_type = kSqueezeExcite,
                                        .domain = "frugal",
                                        .min_inputs = 2,
                                        .max_inputs = 5,
                                        .infer = infer_squeeze_excite,
                                        .ref = ref_squeeze_excite,
                                        .cost = cost_squeeze_excite});

}  // namespace frugal::ops
