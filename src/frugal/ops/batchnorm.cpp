// BatchNormalization in inference form: Y = (X - mean) / sqrt(var + epsilon) * scale + B,
// per channel (or per element of C x D1 x ... with opset 7-8's spatial = 0). Training
// (training_mode = 1, or the running/saved statistics outputs) is declined.
#include <cmath>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {
namespace {

// Opsets 7-8: spatial = 0 gives every element of C x D1 x ... its own statistics.
bool per_channel(const ir::Node& node, int64_t opset) {
  return opset >= 9 || node.attr_int("spatial", 1) != 0;
}

void infer_batch_norm(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32, DType::kF64});
  if (ctx.node().attr_int("training_mode", 0) != 0)
    ctx.unsupported("training_mode = 1 (only inference is supported)");
  for (size_t i = 1; i < ctx.node().outputs.size(); ++i)
    if (ctx.has_output(i))
      ctx.unsupported("output " + std::to_string(i) +
                      " (training statistics) is requested; only inference is supported");
  const Shape& x = ctx.shape(0);
  if (x.size() < 2)
    ctx.fail("input X has shape " + shape_str(x) + ", expected N x C x D1 ... (rank >= 2)");
  const bool channelwise = per_channel(ctx.node(), ctx.opset());
  const int64_t count = channelwise ? x[1] : shape_numel(Shape(x.begin() + 1, x.end()));
  static const char* const kNames[] = {"", "scale", "B", "mean", "var"};
  for (size_t i = 1; i <= 4; ++i) {
    ctx.require_dtype(i, {DType::kF32, DType::kF64});
    const Shape& p = ctx.shape(i);
    if (shape_numel(p) != count || (channelwise && p.size() != 1))
      ctx.fail(std::string(kNames[i]) + " has shape " + shape_str(p) + ", expected " +
               std::to_string(count) + " values for X " + shape_str(x));
  }
  ctx.set_output(0, ctx.dtype(0), x);
}

template <typename T>
void batch_norm_kernel(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const float epsilon = ctx.node().attr_float("epsilon", 1e-5f);
  const std::vector<double> scale = ctx.input(1).to_double();
  const std::vector<double> bias = ctx.input(2).to_double();
  const std::vector<double> mean = ctx.input(3).to_double();
  const std::vector<double> var = ctx.input(4).to_double();
  const int64_t count = static_cast<int64_t>(scale.size());
  // Each parameter covers `inner` consecutive elements of X (1 when per element).
  const int64_t batch = X.dim(0);
  const int64_t per_sample = batch == 0 ? 0 : X.numel() / batch;
  const int64_t inner = count == 0 ? 0 : per_sample / count;
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  for (int64_t n = 0; n < batch; ++n)
    for (int64_t c = 0; c < count; ++c) {
      const double a = scale[c] / std::sqrt(var[c] + double(epsilon));
      const int64_t base = (n * count + c) * inner;
      for (int64_t i = 0; i < inner; ++i)
        y[base + i] = static_cast<T>((double(x[base + i]) - mean[c]) * a + bias[c]);
    }
}

void ref_batch_norm(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64) {
    batch_norm_kernel<double>(ctx);
  } else {
    batch_norm_kernel<float>(ctx);
  }
}

// A multiply and an add per element once folded; scale and B are the parameters, the
// running statistics are not (as torchvision counts).
Work cost_batch_norm(const CostContext& c) {
  Work w;
  w.flops = 2 * shape_numel(c.in[0]);
  w.params = shape_numel(c.in[1]) + shape_numel(c.in[2]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(BatchNormalization, OpDef{.op_type = "BatchNormalization",
                                             .min_inputs = 5,
                                             .max_inputs = 5,
                                             .max_outputs = 5,
                                             .infer = infer_batch_norm,
                                             .ref = ref_batch_norm,
                                             .cost = cost_batch_norm});

}  // namespace frugal::ops
