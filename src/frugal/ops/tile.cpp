// Tile: repeats the whole input along each axis.
#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

void infer_tile(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  const auto repeats = int_list_input(ctx.node(), ctx.require_value(1), "repeats");
  if (repeats.size() != in.size())
    ctx.fail("repeats has " + std::to_string(repeats.size()) + " entries for input " +
             shape_str(in));
  Shape out(in.size());
  for (size_t d = 0; d < in.size(); ++d) {
    if (repeats[d] < 0) ctx.fail("repeat " + std::to_string(repeats[d]) + " is negative");
    if (repeats[d] > 0 && in[d] > INT64_MAX / repeats[d]) ctx.fail("output shape overflows");
    out[d] = in[d] * repeats[d];
  }
  ctx.set_output(0, ctx.dtype(0), out);
}

void ref_tile(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.numel() == 0) return;  // an axis may still be huge when another is 0
  const auto strides = strides_of(x.shape());
  std::vector<std::vector<int64_t>> offsets(y.shape().size());
  for (size_t d = 0; d < offsets.size(); ++d) {
    offsets[d].resize(static_cast<size_t>(y.shape()[d]));
    for (int64_t i = 0; i < y.shape()[d]; ++i) offsets[d][i] = (i % x.shape()[d]) * strides[d];
  }
  copy_by_axis_offsets(y.raw(), x.raw(), dtype_size(x.dtype()), y.shape(), offsets);
}

}  // namespace

FRUGAL_REGISTER_OP(Tile, OpDef{.op_type = "Tile",
                               .min_inputs = 2,
                               .max_inputs = 2,
                               .infer = infer_tile,
                               .ref = ref_tile,
                               .cost = no_arithmetic});

}  // namespace frugal::ops
