// Transpose: permutes axes (reversed by default).
#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

std::vector<int64_t> permutation(const ir::Node& node, size_t rank) {
  std::vector<int64_t> perm = node.attr_ints("perm");
  if (!node.has_attr("perm")) {
    perm.resize(rank);
    for (size_t i = 0; i < rank; ++i) perm[i] = static_cast<int64_t>(rank - 1 - i);
  }
  return perm;
}

void infer_transpose(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  require_storable(ctx, 0);
  const auto perm = permutation(ctx.node(), in.size());
  if (perm.size() != in.size())
    ctx.fail("perm has " + std::to_string(perm.size()) + " entries for input of rank " +
             std::to_string(in.size()));
  std::vector<bool> seen(in.size(), false);
  Shape out(in.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    const int64_t p = perm[i];
    if (p < 0 || p >= static_cast<int64_t>(in.size()) || seen[p])
      ctx.fail("perm is not a permutation of the input's axes");
    seen[p] = true;
    out[i] = in[p];
  }
  ctx.set_output(0, ctx.dtype(0), out);
}

void ref_transpose(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  if (y.numel() == 0) return;
  const auto perm = permutation(ctx.node(), x.shape().size());
  const auto in_strides = strides_of(x.shape());
  std::vector<std::vector<int64_t>> offsets(perm.size());
  for (size_t d = 0; d < perm.size(); ++d) {
    offsets[d].resize(static_cast<size_t>(y.shape()[d]));
    for (int64_t i = 0; i < y.shape()[d]; ++i) offsets[d][i] = i * in_strides[perm[d]];
  }
  copy_by_axis_offsets(y.raw(), x.raw(), dtype_size(x.dtype()), y.shape(), offsets);
}

}  // namespace

FRUGAL_REGISTER_OP(Transpose, OpDef{.op_type = "Transpose",
                                    .infer = infer_transpose,
                                    .ref = ref_transpose,
                                    .cost = no_arithmetic});

}  // namespace frugal::ops
