// LRN (local response normalization across channels):
// Y[n, c, ...] = X[n, c, ...] / (bias + alpha / size * sum of X[n, i, ...]^2)^beta over
// channels i in [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)] clipped to [0, C).
#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

void infer_lrn(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  const Shape& x = ctx.shape(0);
  if (x.size() < 2)
    ctx.fail("input X has shape " + shape_str(x) + ", expected N x C x D1 ... (rank >= 2)");
  if (!ctx.node().has_attr("size")) ctx.fail("attribute size is required");
  const int64_t size = ctx.node().attr_int("size");
  if (size <= 0) ctx.fail("size " + std::to_string(size) + " must be positive");
  ctx.set_output(0, ctx.dtype(0), x);
}

template <typename T>
void lrn_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const ir::Node& node = ctx.node();
  const double alpha = node.attr_float("alpha", 1e-4f);
  const double beta = node.attr_float("beta", 0.75f);
  const double bias = node.attr_float("bias", 1.0f);
  const int64_t size = node.attr_int("size");
  const int64_t below = (size - 1) / 2, above = size - 1 - below;
  const int64_t batch = X.dim(0), channels = X.dim(1);
  const int64_t plane = batch * channels == 0 ? 0 : X.numel() / (batch * channels);
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  std::vector<double> square_sum(static_cast<size_t>(plane));
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < channels; ++c) {
      std::fill(square_sum.begin(), square_sum.end(), 0.0);
      const int64_t lo = std::max<int64_t>(0, c - below);
      const int64_t hi = std::min<int64_t>(channels - 1, c + above);
      for (int64_t i = lo; i <= hi; ++i) {
        const T* xi = x + (n * channels + i) * plane;
        for (int64_t p = 0; p < plane; ++p) square_sum[p] += double(xi[p]) * double(xi[p]);
      }
      const T* xc = x + (n * channels + c) * plane;
      T* yc = y + (n * channels + c) * plane;
      for (int64_t p = 0; p < plane; ++p)
        yc[p] = static_cast<T>(double(xc[p]) /
                               std::pow(bias + alpha / double(size) * square_sum[p], beta));
    }
}

void ref_lrn(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    lrn_kernel<double>(ctx);
  } else {
    lrn_kernel<float>(ctx);
  }
}

// A square and an add per channel in the window, then scale, power and divide.
Work cost_lrn(const CostContext& c) {
  Work w;
  w.flops = shape_numel(c.in[0]) * (2 * c.node.attr_int("size", 1) + 3);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(LRN,
                   OpDef{.op_type = "LRN", .infer = infer_lrn, .ref = ref_lrn, .cost = cost_lrn});

}  // namespace frugal::ops
