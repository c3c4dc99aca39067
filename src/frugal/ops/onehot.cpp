// OneHot (opsets 9, 11): output has one more dimension than the indices, of size depth,
// inserted at `axis`; it holds values[1] where the index along that dimension equals the
// index and values[0] elsewhere. Negative indices count from depth; indices outside
// [-depth, depth) give an all-off line. Non-integer indices and depth are truncated.
#include <cmath>
#include <cstring>
#include <vector>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

// Numbers beyond this are no sensible depth and would overflow shape arithmetic.
constexpr double kMaxDepth = 1e15;

int64_t depth_of(const ir::Node& node, const Tensor& depth) {
  if (depth.numel() != 1 || depth.rank() > 1 ||
      !(dtype_is_integer(depth.dtype()) || depth.dtype() == DType::kF32 ||
        depth.dtype() == DType::kF64))
    throw UserError(node.describe() + ": depth must be one number, got " +
                    std::string(dtype_name(depth.dtype())) + " of shape " +
                    shape_str(depth.shape()));
  const double d = std::trunc(depth.at_double(0));
  if (!(d >= 1 && d <= kMaxDepth))
    throw UserError(node.describe() + ": depth " + std::to_string(depth.at_double(0)) +
                    " must be at least 1");
  return static_cast<int64_t>(d);
}

void infer_onehot(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kNumericTypes);
  require_storable(ctx, 2);
  if (ctx.dtype(1) == DType::kF16 || ctx.dtype(1) == DType::kBF16)
    ctx.unsupported("float16/bfloat16 depth");
  const Shape& values = ctx.shape(2);
  if (values.size() != 1 || values[0] != 2)
    ctx.fail("values has shape " + shape_str(values) + ", expected [off_value, on_value]");
  const Shape& indices = ctx.shape(0);
  const int64_t out_rank = static_cast<int64_t>(indices.size()) + 1;
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", -1), out_rank);
  const int64_t depth = depth_of(ctx.node(), ctx.require_value(1));
  Shape y = indices;
  y.insert(y.begin() + axis, depth);
  ctx.set_output(0, ctx.dtype(2), y);
}

void ref_onehot(KernelContext& ctx) {
  const Tensor& indices = ctx.input(0);
  const Tensor& values = ctx.input(2);
  Tensor& y = ctx.output(0);
  const int64_t depth = depth_of(ctx.node(), ctx.input(1));
  int64_t axis = ctx.node().attr_int("axis", -1);
  if (axis < 0) axis += y.rank();
  int64_t inner = 1;
  for (int64_t d = axis; d < indices.rank(); ++d) inner *= indices.dim(d);
  const int64_t outer = inner == 0 ? 0 : indices.numel() / inner;
  const size_t es = dtype_size(values.dtype());
  const auto* off = static_cast<const unsigned char*>(values.raw());
  const unsigned char* on = off + es;
  auto* out = static_cast<unsigned char*>(y.raw());
  for (int64_t i = 0; i < y.numel(); ++i) std::memcpy(out + static_cast<size_t>(i) * es, off, es);
  const std::vector<double> idx = indices.to_double();
  for (int64_t o = 0; o < outer; ++o)
    for (int64_t i = 0; i < inner; ++i) {
      double v = std::trunc(idx[static_cast<size_t>(o * inner + i)]);
      if (v < 0) v += static_cast<double>(depth);
      if (!(v >= 0 && v < static_cast<double>(depth))) continue;  // NaN too
      const int64_t pos = (o * depth + static_cast<int64_t>(v)) * inner + i;
      std::memcpy(out + static_cast<size_t>(pos) * es, on, es);
    }
}

}  // namespace

FRUGAL_REGISTER_OP(OneHot, OpDef{.op_type = "OneHot",
                                 .min_inputs = 3,
                                 .max_inputs = 3,
                                 .infer = infer_onehot,
                                 .ref = ref_onehot,
                                 .cost = no_arithmetic});

}  // namespace frugal::ops
