// InstanceNormalization: each (sample, channel) plane is normalised by its own mean and
// (population) variance, then scaled and shifted per channel:
// Y = scale * (X - mean) / sqrt(var + epsilon) + B.
#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

void infer_instance_norm(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  ctx.require_same_dtype(0, 1);
  ctx.require_same_dtype(0, 2);
  const Shape& x = ctx.shape(0);
  if (x.size() < 3)
    ctx.fail("input X has shape " + shape_str(x) + ", expected N x C x D1 ... (rank >= 3)");
  for (size_t i = 1; i <= 2; ++i) {
    const Shape& p = ctx.shape(i);
    if (p.size() != 1 || p[0] != x[1])
      ctx.fail(std::string(i == 1 ? "scale" : "B") + " has shape " + shape_str(p) + ", expected " +
               std::to_string(x[1]) + " (one per channel of X " + shape_str(x) + ")");
  }
  ctx.set_output(0, ctx.dtype(0), x);
}

template <typename T>
void instance_norm_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const double epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  const T* scale = ctx.input(1).data<T>();
  const T* bias = ctx.input(2).data<T>();
  const int64_t channels = X.dim(1), planes = X.dim(0) * channels;
  const int64_t size = planes == 0 ? 0 : X.numel() / planes;
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  for (int64_t p = 0; p < planes; ++p) {
    const T* xp = x + p * size;
    T* yp = y + p * size;
    double mean = 0;
    for (int64_t i = 0; i < size; ++i) mean += xp[i];
    mean /= static_cast<double>(std::max<int64_t>(size, 1));
    double var = 0;  // two passes: no cancellation from E[x^2] - E[x]^2
    for (int64_t i = 0; i < size; ++i) var += (xp[i] - mean) * (xp[i] - mean);
    var /= static_cast<double>(std::max<int64_t>(size, 1));
    const int64_t c = p % channels;
    const double a = double(scale[c]) / std::sqrt(var + epsilon);
    for (int64_t i = 0; i < size; ++i)
      yp[i] = static_cast<T>((double(xp[i]) - mean) * a + double(bias[c]));
  }
}

void ref_instance_norm(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    instance_norm_kernel<double>(ctx);
  } else {
    instance_norm_kernel<float>(ctx);
  }
}

// Mean, variance (two passes), then a multiply and an add per element.
Work cost_instance_norm(const CostContext& c) {
  Work w;
  w.flops = 5 * shape_numel(c.in[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(InstanceNormalization, OpDef{.op_type = "InstanceNormalization",
                                                .min_inputs = 3,
                                                .max_inputs = 3,
                                                .infer = infer_instance_norm,
                                                .ref = ref_instance_norm,
                                                .cost = cost_instance_norm});

}  // namespace frugal::ops
