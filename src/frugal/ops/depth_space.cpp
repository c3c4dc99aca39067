// DepthToSpace and SpaceToDepth: move blocksize x blocksize blocks between the channel
// dimension and the spatial dimensions of an N x C x H x W tensor. Each is a transpose of
// a 6-D view of the input:
//   DepthToSpace DCR: N x b x b x C' x H x W -> N x C' x H x b x W x b  (perm 0 3 4 1 5 2)
//   DepthToSpace CRD: N x C' x b x b x H x W -> N x C' x H x b x W x b  (perm 0 1 4 2 5 3)
//   SpaceToDepth:     N x C x H' x b x W' x b -> N x b x b x C x H' x W' (perm 0 3 5 1 2 4)
// DCR (depth, column, row) is the default and the only mode before opset 11.
#include <array>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/depth_space.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

int64_t blocksize_of(const ir::Node& node) {
  const int64_t b = node.attr_int("blocksize");
  if (b <= 0 || b > (int64_t{1} << 20))
    throw UserError(node.describe() + ": blocksize " + std::to_string(b) + " must be positive");
  return b;
}

bool crd_mode(const ir::Node& node) {
  const std::string mode = node.attr_string("mode", "DCR");
  if (mode != "DCR" && mode != "CRD")
    throw UserError(node.describe() + ": mode '" + mode + "' must be DCR or CRD");
  return mode == "CRD";
}

void infer_depth_to_space(InferContext& ctx) {
  require_storable(ctx, 0);
  const Shape& x = ctx.shape(0);
  if (x.size() != 4) ctx.fail("input has shape " + shape_str(x) + ", expected N x C x H x W");
  const int64_t b = blocksize_of(ctx.node());
  crd_mode(ctx.node());
  if (x[1] % (b * b) != 0)
    ctx.fail("channels " + std::to_string(x[1]) +
             " are not a multiple of blocksize^2 = " + std::to_string(b * b));
  ctx.set_output(0, ctx.dtype(0), {x[0], x[1] / (b * b), x[2] * b, x[3] * b});
}

void infer_space_to_depth(InferContext& ctx) {
  require_storable(ctx, 0);
  const Shape& x = ctx.shape(0);
  if (x.size() != 4) ctx.fail("input has shape " + shape_str(x) + ", expected N x C x H x W");
  const int64_t b = blocksize_of(ctx.node());
  if (x[2] % b != 0 || x[3] % b != 0)
    ctx.fail("spatial size " + std::to_string(x[2]) + " x " + std::to_string(x[3]) +
             " is not a multiple of blocksize " + std::to_string(b));
  ctx.set_output(0, ctx.dtype(0), {x[0], x[1] * b * b, x[2] / b, x[3] / b});
}

// Copies the 6-D view `in6` of x, permuted by `perm`, into y.
void permute_6d(const Tensor& x, Tensor& y, const DepthSpaceView& view) {
  const Shape& in6 = view.in6;
  const std::array<int64_t, 6>& perm = view.perm;
  if (y.numel() == 0) return;
  const std::vector<int64_t> strides = strides_of(in6);
  Shape out6(6);
  std::vector<std::vector<int64_t>> offsets(6);
  for (size_t d = 0; d < 6; ++d) {
    out6[d] = in6[static_cast<size_t>(perm[d])];
    offsets[d].resize(static_cast<size_t>(out6[d]));
    for (int64_t i = 0; i < out6[d]; ++i) offsets[d][i] = i * strides[perm[d]];
  }
  copy_by_axis_offsets(y.raw(), x.raw(), dtype_size(x.dtype()), out6, offsets);
}

void ref_depth_space(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  permute_6d(x, ctx.output(0), depth_space_view(ctx.node(), x.shape()));
}

}  // namespace

DepthSpaceView depth_space_view(const ir::Node& node, const Shape& x) {
  const int64_t b = blocksize_of(node);
  if (node.op_type == "SpaceToDepth")
    return {{x[0], x[1], x[2] / b, b, x[3] / b, b}, {0, 3, 5, 1, 2, 4}};
  const int64_t n = x[0], c = x[1] / (b * b), h = x[2], w = x[3];
  if (crd_mode(node)) return {{n, c, b, b, h, w}, {0, 1, 4, 2, 5, 3}};
  return {{n, b, b, c, h, w}, {0, 3, 4, 1, 5, 2}};
}

FRUGAL_REGISTER_OP(DepthToSpace, OpDef{.op_type = "DepthToSpace",
                                       .infer = infer_depth_to_space,
                                       .ref = ref_depth_space,
                                       .cost = no_arithmetic});
FRUGAL_REGISTER_OP(SpaceToDepth, OpDef{.op_type = "SpaceToDepth",
                                       .infer = infer_space_to_depth,
                                       .ref = ref_depth_space,
                                       .cost = no_arithmetic});

}  // namespace frugal::ops
