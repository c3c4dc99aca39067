// ReverseSequence (opset 10): for each batch entry b, reverses the first
// sequence_lens[b] steps along the time axis and leaves the rest in place. The batch and
// time axes are 0 and 1 in either order (time_axis 0, batch_axis 1 by default).
#include <cstring>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

void infer_reverse_sequence(InferContext& ctx) {
  require_storable(ctx, 0);
  const Shape& x = ctx.shape(0);
  if (x.size() < 2) ctx.fail("input has shape " + shape_str(x) + ", expected rank >= 2");
  const int64_t batch_axis = ctx.node().attr_int("batch_axis", 1);
  const int64_t time_axis = ctx.node().attr_int("time_axis", 0);
  if (!((batch_axis == 0 && time_axis == 1) || (batch_axis == 1 && time_axis == 0)))
    ctx.fail("batch_axis " + std::to_string(batch_axis) + " and time_axis " +
             std::to_string(time_axis) + " must be 0 and 1 in some order");
  if (ctx.dtype(1) != DType::kI64) ctx.fail("sequence_lens must be int64");
  if (ctx.shape(1) != Shape{x[static_cast<size_t>(batch_axis)]})
    ctx.fail("sequence_lens has shape " + shape_str(ctx.shape(1)) + ", expected the batch size " +
             std::to_string(x[static_cast<size_t>(batch_axis)]));
  ctx.set_output(0, ctx.dtype(0), x);
}

void ref_reverse_sequence(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool time_first = ctx.node().attr_int("time_axis", 0) == 0;
  const int64_t steps = x.dim(time_first ? 0 : 1), batch = x.dim(time_first ? 1 : 0);
  const int64_t inner = steps * batch == 0 ? 0 : x.numel() / (steps * batch);
  const size_t block = static_cast<size_t>(inner) * dtype_size(x.dtype());
  const int64_t* lens = ctx.input(1).data<int64_t>();
  const auto* src = static_cast<const unsigned char*>(x.raw());
  auto* dst = static_cast<unsigned char*>(ctx.output(0).raw());
  for (int64_t b = 0; b < batch; ++b) {
    const int64_t len = lens[b];
    if (len < 0 || len > steps)
      ctx.fail("sequence_lens[" + std::to_string(b) + "] = " + std::to_string(len) +
               " is outside [0, " + std::to_string(steps) + "]");
    for (int64_t t = 0; t < steps; ++t) {
      const int64_t from = t < len ? len - 1 - t : t;
      auto at = [&](int64_t step) {
        return static_cast<size_t>(time_first ? step * batch + b : b * steps + step) * block;
      };
      if (block) std::memcpy(dst + at(t), src + at(from), block);
    }
  }
}

}  // namespace

FRUGAL_REGISTER_OP(ReverseSequence, OpDef{.op_type = "ReverseSequence",
                                          .min_inputs = 2,
                                          .max_inputs = 2,
                                          .infer = infer_reverse_sequence,
                                          .ref = ref_reverse_sequence,
                                          .cost = no_arithmetic});

}  // namespace frugal::ops
