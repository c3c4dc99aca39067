// Concat: joins inputs along one axis.
#include <cstring>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

int64_t concat_axis(const ir::Node& node, int64_t opset) {
  // Concat-1 defaulted to axis 1; from opset 4 the attribute is required.
  return opset < 4 ? node.attr_int("axis", 1) : node.attr_int("axis");
}

void infer_concat(InferContext& ctx) {
  const size_t n = ctx.num_inputs();
  for (size_t k = 0; k < n; ++k) ctx.shape(k);  // all shapes known before any check
  require_storable(ctx, 0);
  const Shape& first = ctx.shape(0);
  const int64_t r = static_cast<int64_t>(first.size());
  if (r == 0) ctx.fail("cannot concatenate scalars");
  const int64_t axis = ctx.axis(concat_axis(ctx.node(), ctx.opset()), r);
  Shape out = first;
  for (size_t k = 1; k < n; ++k) {
    ctx.require_same_dtype(0, k);
    const Shape& s = ctx.shape(k);
    bool fits = static_cast<int64_t>(s.size()) == r;
    for (int64_t d = 0; fits && d < r; ++d) fits = d == axis || s[d] == first[d];
    if (!fits)
      ctx.fail("input " + std::to_string(k) + " has shape " + shape_str(s) +
               ", which cannot be concatenated with " + shape_str(first) + " on axis " +
               std::to_string(axis));
    out[axis] += s[axis];
  }
  ctx.set_output(0, ctx.dtype(0), out);
}

void ref_concat(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const int64_t r = y.rank();
  int64_t axis = concat_axis(ctx.node(), ctx.opset());
  if (axis < 0) axis += r;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= y.shape()[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= y.shape()[d];
  const size_t esize = dtype_size(y.dtype());
  char* dst = static_cast<char*>(y.raw());
  for (int64_t o = 0; o < outer; ++o) {
    for (size_t k = 0; k < ctx.num_inputs(); ++k) {
      const Tensor& x = ctx.input(k);
      const size_t block = static_cast<size_t>(x.shape()[axis] * inner) * esize;
      if (block == 0) continue;
      std::memcpy(dst, static_cast<const char*>(x.raw()) + o * block, block);
      dst += block;
    }
  }
}

}  // namespace

FRUGAL_REGISTER_OP(Concat, OpDef{.op_type = "Concat",
                                 .max_inputs = -1,
                                 .infer = infer_concat,
                                 .ref = ref_concat,
                                 .cost = no_arithmetic});

}  // namespace frugal::ops
