// Expand: broadcasts the input to a shape (numpy rules in both directions).
#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

void infer_expand(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  const Shape target = int_list_input(ctx.node(), ctx.require_value(1), "shape");
  for (int64_t d : target)
    if (d < 0) ctx.fail("shape " + shape_str(target) + " has a negative dimension");
  ctx.set_output(0, ctx.dtype(0), broadcast_shapes(ctx, {in, target}));
}

void ref_expand(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.numel() == 0) return;  // an axis may still be huge when another is 0
  const auto strides = broadcast_strides(x.shape(), y.shape());
  std::vector<std::vector<int64_t>> offsets(y.shape().size());
  for (size_t d = 0; d < offsets.size(); ++d) {
    offsets[d].resize(static_cast<size_t>(y.shape()[d]));
    for (int64_t i = 0; i < y.shape()[d]; ++i) offsets[d][i] = i * strides[d];
  }
  copy_by_axis_offsets(y.raw(), x.raw(), dtype_size(x.dtype()), y.shape(), offsets);
}

}  // namespace

FRUGAL_REGISTER_OP(Expand, OpDef{.op_type = "Expand",
                                 .min_inputs = 2,
                                 .max_inputs = 2,
                                 .infer = infer_expand,
                                 .ref = ref_expand,
                                 .cost = no_arithmetic});

}  // namespace frugal::ops
