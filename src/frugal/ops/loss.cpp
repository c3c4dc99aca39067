// NegativeLogLikelihoodLoss and SoftmaxCrossEntropyLoss (opsets 12, 13).
//   NLL: input [N, C, d1...] holds log-probabilities, target [N, d1...] class indices;
//        loss[n, d] = -input[n, target[n, d], d] * weight[target[n, d]]
//   SCE: log_prob = log_softmax(scores) along the class axis (optional second output),
//        then the NLL of log_prob.
// Elements whose target equals ignore_index contribute 0 and weigh 0. reduction "none"
// keeps target's shape; "sum" adds; "mean" (the default) divides the sum by the total
// weight of the elements not ignored (NaN when all are ignored, as 0 / 0).
#include <algorithm>
#include <cmath>
#include <optional>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

enum class Reduction { kNone, kSum, kMean };

Reduction reduction_of(const ir::Node& node) {
  const std::string r = node.attr_string("reduction", "mean");
  if (r == "none") return Reduction::kNone;
  if (r == "sum") return Reduction::kSum;
  if (r == "mean") return Reduction::kMean;
  throw UserError(node.describe() + ": reduction '" + r + "' must be none, sum or mean");
}

std::optional<int64_t> ignore_index_of(const ir::Node& node) {
  if (!node.has_attr("ignore_index")) return std::nullopt;
  return node.attr_int("ignore_index");
}

// Inputs: scores/input (0), target/labels (1), weight (2, optional).
void infer_loss(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  const Shape& x = ctx.shape(0);
  const Shape& t = ctx.shape(1);
  if (ctx.dtype(1) != DType::kI32 && ctx.dtype(1) != DType::kI64)
    ctx.fail("target has dtype " + std::string(dtype_name(ctx.dtype(1))) +
             ", expected int32 or int64");
  if (x.size() < 2) ctx.fail("input " + shape_str(x) + " must be N x C [x d1 ...]");
  Shape expected = x;
  expected.erase(expected.begin() + 1);
  if (t != expected)
    ctx.fail("target has shape " + shape_str(t) + ", expected " + shape_str(expected) + " (input " +
             shape_str(x) + " without its class dimension)");
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    if (ctx.shape(2) != Shape{x[1]})
      ctx.fail("weight has shape " + shape_str(ctx.shape(2)) + ", expected " +
               std::to_string(x[1]) + " (one per class)");
  }
  const Reduction r = reduction_of(ctx.node());
  ctx.set_output(0, ctx.dtype(0), r == Reduction::kNone ? t : Shape{});
  if (ctx.node().op_type == "SoftmaxCrossEntropyLoss") ctx.set_output(1, ctx.dtype(0), x);
}

// log_softmax of x [N, C, inner] along C into out.
template <typename T>
void log_softmax(const T* x, T* out, int64_t n, int64_t c, int64_t inner) {
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i) {
      const T* xs = x + b * c * inner + i;
      T* ys = out + b * c * inner + i;
      double m = -INFINITY;
      for (int64_t k = 0; k < c; ++k) m = std::max(m, double(xs[k * inner]));
      double s = 0;
      for (int64_t k = 0; k < c; ++k) s += std::exp(double(xs[k * inner]) - m);
      const double lse = m + std::log(s);
      for (int64_t k = 0; k < c; ++k) ys[k * inner] = static_cast<T>(double(xs[k * inner]) - lse);
    }
}

// The NLL of log-probabilities `lp` [N, C, inner] written to ctx.output(0).
template <typename T>
void nll(const KernelContext& ctx, const T* lp, int64_t n, int64_t c, int64_t inner) {
  const std::vector<int64_t> target = ctx.input(1).to_int64();
  const T* weight = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
  const std::optional<int64_t> ignore = ignore_index_of(ctx.node());
  const Reduction r = reduction_of(ctx.node());
  T* out = ctx.output(0).data<T>();
  double sum = 0, total_weight = 0;
  for (int64_t b = 0; b < n; ++b)
    for (int64_t i = 0; i < inner; ++i) {
      const size_t e = static_cast<size_t>(b * inner + i);
      const int64_t cls = target[e];
      double loss = 0, w = 0;
      if (!(ignore && cls == *ignore)) {
        if (cls < 0 || cls >= c)
          ctx.fail("target " + std::to_string(cls) + " is outside [0, " + std::to_string(c) +
                   ") and is not ignore_index");
        w = weight ? double(weight[cls]) : 1.0;
        loss = -double(lp[(b * c + cls) * inner + i]) * w;
      }
      if (r == Reduction::kNone) out[e] = static_cast<T>(loss);
      sum += loss;
      total_weight += w;
    }
  if (r == Reduction::kSum) out[0] = static_cast<T>(sum);
  if (r == Reduction::kMean) out[0] = static_cast<T>(sum / total_weight);
}

template <typename T>
void loss_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t n = x.dim(0), c = x.dim(1);
  const int64_t inner = n * c == 0 ? 0 : x.numel() / (n * c);
  if (ctx.node().op_type == "NegativeLogLikelihoodLoss")
    return nll<T>(ctx, x.data<T>(), n, c, inner);
  Tensor scratch;
  T* lp;
  if (ctx.has_output(1)) {
    lp = ctx.output(1).data<T>();
  } else {
    scratch = Tensor(x.dtype(), x.shape());
    lp = scratch.data<T>();
  }
  log_softmax<T>(x.data<T>(), lp, n, c, inner);
  nll<T>(ctx, lp, n, c, inner);
}

void ref_loss(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64)
    loss_kernel<double>(ctx);
  else
    loss_kernel<float>(ctx);
}

}  // namespace

FRUGAL_REGISTER_OP(NegativeLogLikelihoodLoss, OpDef{.op_type = "NegativeLogLikelihoodLoss",
                                                    .min_inputs = 2,
                                                    .max_inputs = 3,
                                                    .infer = infer_loss,
                                                    .ref = ref_loss});
FRUGAL_REGISTER_OP(SoftmaxCrossEntropyLoss, OpDef{.op_type = "SoftmaxCrossEntropyLoss",
                                                  .min_inputs = 2,
                                                  .max_inputs = 3,
                                                  .min_outputs = 1,
                                                  .max_outputs = 2,
                                                  .infer = infer_loss,
                                                  .ref = ref_loss});

}  // namespace frugal::ops
