// Shape and Size: facts about the input's shape, known at compile time even when its
// contents are not (so exporters' Shape -> Gather -> Concat -> Reshape chains fold away).
#include <algorithm>
#include <cstring>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

// Shape-15 takes the slice [start, end) of the dimensions, clamped to the rank.
std::vector<int64_t> shape_slice(const ir::Node& node, const Shape& in) {
  const int64_t r = static_cast<int64_t>(in.size());
  int64_t start = node.attr_int("start", 0), end = node.attr_int("end", r);
  if (start < 0) start += r;
  if (end < 0) end += r;
  start = std::clamp<int64_t>(start, 0, r);
  end = std::clamp<int64_t>(end, 0, r);
  if (end < start) end = start;
  return {in.begin() + start, in.begin() + end};
}

void infer_shape(InferContext& ctx) {
  const auto dims = shape_slice(ctx.node(), ctx.shape(0));
  ctx.set_output_value(0, Tensor::from_vector<int64_t>({static_cast<int64_t>(dims.size())}, dims));
}

void ref_shape(KernelContext& ctx) {
  const auto dims = shape_slice(ctx.node(), ctx.input(0).shape());
  Tensor& y = ctx.output(0);
  if (!dims.empty()) std::memcpy(y.raw(), dims.data(), dims.size() * sizeof(int64_t));
}

void infer_size(InferContext& ctx) {
  ctx.set_output_value(0, Tensor::scalar<int64_t>(shape_numel(ctx.shape(0))));
}

void ref_size(KernelContext& ctx) {
  ctx.output(0).data<int64_t>()[0] = ctx.input(0).numel();
}

}  // namespace

FRUGAL_REGISTER_OP(Shape, OpDef{.op_type = "Shape",
                                .infer = infer_shape,
                                .ref = ref_shape,
                                .cost = no_arithmetic});
FRUGAL_REGISTER_OP(
    Size, OpDef{.op_type = "Size", .infer = infer_size, .ref = ref_size, .cost = no_arithmetic});

}  // namespace frugal::ops
