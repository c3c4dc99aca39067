// Reshape, Flatten, Squeeze, Unsqueeze: the same bytes under a new shape.
#include <algorithm>
#include <cstring>
#include <set>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

void ref_copy(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
}

void infer_reshape(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  std::vector<int64_t> target;
  if (ctx.has_input(1)) {
    target = int_list_input(ctx.node(), ctx.require_value(1), "shape");
  } else if (ctx.node().has_attr("shape")) {  // Reshape-1 kept the shape as an attribute
    target = ctx.node().attr_ints("shape");
  } else {
    ctx.fail("has no 'shape' input");
  }
  const bool allowzero = ctx.opset() >= 14 && ctx.node().attr_int("allowzero", 0) != 0;
  Shape out(target.size());
  int64_t infer_at = -1, known = 1;
  for (size_t i = 0; i < target.size(); ++i) {
    int64_t d = target[i];
    if (d == -1) {
      if (infer_at >= 0) ctx.fail("shape has more than one -1 entry");
      infer_at = static_cast<int64_t>(i);
      continue;
    }
    if (d == 0 && !allowzero) {
      if (i >= in.size())
        ctx.fail("shape entry " + std::to_string(i) + " is 0 (copy the input's dimension) but " +
                 "the input " + shape_str(in) + " has rank " + std::to_string(in.size()));
      d = in[i];
    }
    if (d < 0) ctx.fail("shape entry " + std::to_string(d) + " is invalid");
    out[i] = d;
    if (d != 0 && known > INT64_MAX / d) ctx.fail("shape overflows");
    known *= d;
  }
  const int64_t numel = shape_numel(in);
  if (infer_at >= 0) {
    if (allowzero && known == 0 && std::count(target.begin(), target.end(), 0) > 0)
      ctx.fail("shape has both 0 and -1 entries while allowzero is set");
    if (known == 0 || numel % known != 0)
      ctx.fail("cannot reshape " + shape_str(in) + " with -1 into a shape with known part " +
               std::to_string(known));
    out[infer_at] = numel / known;
  } else if (known != numel) {
    ctx.fail("cannot reshape " + shape_str(in) + " (" + std::to_string(numel) + " elements) to " +
             shape_str(out));
  }
  ctx.set_output(0, ctx.dtype(0), out);
}

void infer_flatten(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  const int64_t r = static_cast<int64_t>(in.size());
  int64_t axis = ctx.node().attr_int("axis", 1);
  if (axis < -r || axis > r)
    ctx.fail("axis " + std::to_string(axis) + " is out of range for rank " + std::to_string(r));
  if (axis < 0) axis += r;
  Shape outer(in.begin(), in.begin() + axis), inner(in.begin() + axis, in.end());
  ctx.set_output(0, ctx.dtype(0), {shape_numel(outer), shape_numel(inner)});
}

void infer_squeeze(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  const int64_t r = static_cast<int64_t>(in.size());
  auto axes = axes_attr_or_input(ctx, 1, r);
  std::vector<bool> drop(in.size(), false);
  if (axes && !axes->empty()) {
    for (int64_t a : *axes) {
      if (a >= r) ctx.fail("cannot squeeze a scalar");
      if (in[a] != 1)
        ctx.fail("cannot squeeze axis " + std::to_string(a) + " of size " + std::to_string(in[a]) +
                 " (input " + shape_str(in) + ")");
      drop[a] = true;
    }
  } else {
    for (size_t i = 0; i < in.size(); ++i) drop[i] = in[i] == 1;
  }
  Shape out;
  for (size_t i = 0; i < in.size(); ++i)
    if (!drop[i]) out.push_back(in[i]);
  ctx.set_output(0, ctx.dtype(0), out);
}

void infer_unsqueeze(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  std::vector<int64_t> axes;
  if (ctx.node().has_attr("axes")) {
    axes = ctx.node().attr_ints("axes");
  } else if (ctx.has_input(1)) {
    axes = int_list_input(ctx.node(), ctx.require_value(1), "axes", true);
  } else {
    ctx.fail("has no axes");
  }
  const int64_t out_rank = static_cast<int64_t>(in.size() + axes.size());
  std::vector<bool> inserted(out_rank, false);
  for (int64_t a : axes) {
    const int64_t n = ctx.axis(a, out_rank);
    if (inserted[n]) ctx.fail("axis " + std::to_string(a) + " is repeated");
    inserted[n] = true;
  }
  Shape out(out_rank, 1);
  size_t next = 0;
  for (int64_t i = 0; i < out_rank; ++i)
    if (!inserted[i]) out[i] = in[next++];
  ctx.set_output(0, ctx.dtype(0), out);
}

}  // namespace

FRUGAL_REGISTER_OP(Reshape, OpDef{.op_type = "Reshape",
                                  .max_inputs = 2,
                                  .infer = infer_reshape,
                                  .ref = ref_copy,
                                  .cost = no_arithmetic});
FRUGAL_REGISTER_OP(Flatten, OpDef{.op_type = "Flatten",
                                  .infer = infer_flatten,
                                  .ref = ref_copy,
                                  .cost = no_arithmetic});
FRUGAL_REGISTER_OP(Squeeze, OpDef{.op_type = "Squeeze",
                                  .max_inputs = 2,
                                  .infer = infer_squeeze,
                                  .ref = ref_copy,
                                  .cost = no_arithmetic});
FRUGAL_REGISTER_OP(Unsqueeze, OpDef{.op_type = "Unsqueeze",
                                    .max_inputs = 2,
                                    .infer = infer_unsqueeze,
                                    .ref = ref_copy,
                                    .cost = no_arithmetic});

}  // namespace frugal::ops
