// Softmax, LogSoftmax and Hardmax. Before opset 13 the input is coerced to 2-D at `axis`
// (default 1) and each row of that view is normalised as a whole; from opset 13 the ops
// work along the single dimension `axis` (default -1).
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

enum class Normalizer { kSoftmax, kLogSoftmax, kHardmax };

// The input viewed as outer x length x inner, normalised along `length`.
struct AxisView {
  int64_t outer = 1, length = 1, inner = 1;
};

template <typename Ctx>
AxisView axis_view(const Ctx& ctx, const Shape& x) {
  const int64_t rank = static_cast<int64_t>(x.size());
  if (rank == 0) ctx.fail("input is a scalar; expected rank >= 1");
  const bool coerce_2d = ctx.opset() < 13;
  const int64_t axis = ctx.node().attr_int("axis", coerce_2d ? 1 : -1);
  const int64_t a = axis < 0 ? axis + rank : axis;
  // The 2-D coercion also accepts axis == rank (every row has one element).
  if (a < 0 || a > rank || (!coerce_2d && a == rank))
    ctx.fail("axis " + std::to_string(axis) + " is out of range for input " + shape_str(x));
  AxisView v;
  for (int64_t d = 0; d < a; ++d) v.outer *= x[d];
  if (coerce_2d) {
    for (int64_t d = a; d < rank; ++d) v.length *= x[d];
  } else {
    v.length = x[a];
    for (int64_t d = a + 1; d < rank; ++d) v.inner *= x[d];
  }
  return v;
}

void infer_softmax(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  axis_view(ctx, ctx.shape(0));
  ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
}

template <typename T, Normalizer kMode>
void normalize_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const AxisView v = axis_view(ctx, X.shape());
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  const int64_t inner = v.inner, length = v.length;
  // Per-inner-position running values, so the loops walk memory contiguously.
  std::vector<T> best(static_cast<size_t>(inner));
  std::vector<int64_t> best_at(static_cast<size_t>(inner));
  std::vector<double> sum(static_cast<size_t>(inner));
  for (int64_t o = 0; o < v.outer; ++o) {
    const T* xo = x + o * length * inner;
    T* yo = y + o * length * inner;
    if (length == 0) continue;
    std::copy(xo, xo + inner, best.begin());
    std::fill(best_at.begin(), best_at.end(), 0);
    for (int64_t a = 1; a < length; ++a)
      for (int64_t j = 0; j < inner; ++j)
        if (xo[a * inner + j] > best[j]) {  // the first maximum wins
          best[j] = xo[a * inner + j];
          best_at[j] = a;
        }
    if constexpr (kMode == Normalizer::kHardmax) {
      for (int64_t a = 0; a < length; ++a)
        for (int64_t j = 0; j < inner; ++j) yo[a * inner + j] = T(best_at[j] == a ? 1 : 0);
    } else {
      std::fill(sum.begin(), sum.end(), 0.0);
      for (int64_t a = 0; a < length; ++a)
        for (int64_t j = 0; j < inner; ++j)
          sum[j] += std::exp(double(xo[a * inner + j]) - double(best[j]));
      for (int64_t a = 0; a < length; ++a)
        for (int64_t j = 0; j < inner; ++j) {
          const double shifted = double(xo[a * inner + j]) - double(best[j]);
          if constexpr (kMode == Normalizer::kSoftmax) {
            yo[a * inner + j] = static_cast<T>(std::exp(shifted) / sum[j]);
          } else {
            yo[a * inner + j] = static_cast<T>(shifted - std::log(sum[j]));
          }
        }
    }
  }
}

template <Normalizer kMode>
void ref_normalize(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    normalize_kernel<double, kMode>(ctx);
  } else {
    normalize_kernel<float, kMode>(ctx);
  }
}

// Max, exponent, sum and divide (or subtract) per element.
Work cost_softmax(const CostContext& c) {
  Work w;
  w.flops = 4 * shape_numel(c.in[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(Softmax, OpDef{.op_type = "Softmax",
                                  .infer = infer_softmax,
                                  .ref = ref_normalize<Normalizer::kSoftmax>,
                                  .cost = cost_softmax});
FRUGAL_REGISTER_OP(LogSoftmax, OpDef{.op_type = "LogSoftmax",
                                     .infer = infer_softmax,
                                     .ref = ref_normalize<Normalizer::kLogSoftmax>,
                                     .cost = cost_softmax});
FRUGAL_REGISTER_OP(Hardmax, OpDef{.op_type = "Hardmax",
                                  .infer = infer_softmax,
                                  .ref = ref_normalize<Normalizer::kHardmax>});

}  // namespace frugal::ops
