// Compress (opsets 9, 11): keeps the slices along `axis` whose entry in the 1-D boolean
// condition is true (numpy.compress); without an axis the input is flattened first. The
// condition may be shorter than the axis (missing entries count as false). The output
// size depends on the condition's contents, so they must be known to infer it.
#include <cstring>
#include <vector>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

// Indices of the kept slices along an axis of size `dim`.
std::vector<int64_t> kept_slices(const ir::Node& node, const Tensor& cond, int64_t dim) {
  if (cond.dtype() != DType::kBool || cond.rank() != 1)
    throw UserError(node.describe() + ": condition must be a 1-D bool tensor, got " +
                    std::string(dtype_name(cond.dtype())) + " of shape " + shape_str(cond.shape()));
  const bool* c = cond.data<bool>();
  std::vector<int64_t> kept;
  for (int64_t i = 0; i < cond.numel(); ++i) {
    if (!c[i]) continue;
    if (i >= dim)
      throw UserError(node.describe() + ": condition selects entry " + std::to_string(i) +
                      " of an axis of size " + std::to_string(dim));
    kept.push_back(i);
  }
  return kept;
}

void infer_compress(InferContext& ctx) {
  require_storable(ctx, 0);
  if (ctx.dtype(1) != DType::kBool)
    ctx.fail("condition must be bool, got " + std::string(dtype_name(ctx.dtype(1))));
  const Shape& x = ctx.shape(0);
  const bool has_axis = ctx.node().has_attr("axis");
  const int64_t r = static_cast<int64_t>(x.size());
  if (has_axis && r == 0) ctx.fail("an axis needs an input of rank >= 1");
  const int64_t axis = has_axis ? ctx.axis(ctx.node().attr_int("axis"), r) : -1;
  const int64_t dim = has_axis ? x[static_cast<size_t>(axis)] : shape_numel(x);
  const int64_t kept =
      static_cast<int64_t>(kept_slices(ctx.node(), ctx.require_value(1), dim).size());
  if (!has_axis) return ctx.set_output(0, ctx.dtype(0), {kept});
  Shape y = x;
  y[static_cast<size_t>(axis)] = kept;
  ctx.set_output(0, ctx.dtype(0), y);
}

void ref_compress(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const bool has_axis = ctx.node().has_attr("axis");
  int64_t outer = 1, dim = x.numel(), inner = 1;
  if (has_axis) {
    int64_t axis = ctx.node().attr_int("axis");
    if (axis < 0) axis += x.rank();
    dim = x.dim(axis);
    for (int64_t d = 0; d < axis; ++d) outer *= x.dim(d);
    for (int64_t d = axis + 1; d < x.rank(); ++d) inner *= x.dim(d);
  }
  const std::vector<int64_t> kept = kept_slices(ctx.node(), ctx.input(1), dim);
  const size_t block = static_cast<size_t>(inner) * dtype_size(x.dtype());
  const auto* src = static_cast<const unsigned char*>(x.raw());
  auto* dst = static_cast<unsigned char*>(ctx.output(0).raw());
  if (block == 0) return;
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i : kept) {
      std::memcpy(dst, src + static_cast<size_t>(o * dim + i) * block, block);
      dst += block;
    }
}

}  // namespace

FRUGAL_REGISTER_OP(Compress, OpDef{.op_type = "Compress",
                                   .min_inputs = 2,
                                   .max_inputs = 2,
                                   .infer = infer_compress,
                                   .ref = ref_compress,
                                   .cost = no_arithmetic});

}  // namespace frugal::ops
