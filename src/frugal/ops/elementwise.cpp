#include "frugal/ops/elementwise.h"

#include "frugal/ops/util.h"

namespace frugal::ops::elementwise {

unsigned type_class(DType t) {
  switch (t) {
    case DType::kF32:
    case DType::kF64:
      return kFloatTypes;
    case DType::kI8:
    case DType::kI16:
    case DType::kI32:
    case DType::kI64:
      return kSignedIntTypes;
    case DType::kU8:
    case DType::kU16:
    case DType::kU32:
    case DType::kU64:
      return kUnsignedIntTypes;
    case DType::kBool:
      return kBoolType;
    default:
      return 0;
  }
}

void require_types(const InferContext& ctx, size_t i, unsigned allowed) {
  const DType t = ctx.dtype(i);
  const std::string what =
      "input " + std::to_string(i) + " has dtype " + std::string(dtype_name(t));
  if (t == DType::kF16 || t == DType::kBF16 || t == DType::kString)
    ctx.unsupported(what + ", which frugal's reference kernels do not compute in");
  if ((type_class(t) & allowed) == 0) ctx.fail(what + ", which this operator does not accept");
}

Shape legacy_rhs_shape(const ir::Node& node, int64_t opset, const Shape& a, const Shape& b) {
  if (opset >= 7) return b;
  auto fail = [&](const std::string& why) {
    throw UserError(node.describe() + ": " + why + " (opset " + std::to_string(opset) +
                    " broadcasting)");
  };
  if (node.attr_int("broadcast", 0) == 0) {
    if (a != b)
      fail("input shapes " + shape_str(a) + " and " + shape_str(b) +
           " differ and attribute broadcast is not set");
    return b;
  }
  if (shape_numel(b) == 1) return {};
  const int64_t ra = static_cast<int64_t>(a.size()), rb = static_cast<int64_t>(b.size());
  if (rb > ra) fail("input 1 " + shape_str(b) + " has a higher rank than input 0 " + shape_str(a));
  const int64_t axis = node.attr_int("axis", ra - rb);
  if (axis < 0 || axis + rb > ra)
    fail("axis " + std::to_string(axis) + " does not place " + shape_str(b) + " within " +
         shape_str(a));
  Shape out = b;
  out.resize(static_cast<size_t>(ra - axis), 1);  // trailing 1s align it at `axis`
  // The spec says size-1 expansion "doesn't work yet", but exporters relied on it.
  for (int64_t i = 0; i < rb; ++i)
    if (b[i] != a[axis + i] && b[i] != 1)
      fail("input 1 " + shape_str(b) + " does not match input 0 " + shape_str(a) + " at axis " +
           std::to_string(axis));
  return out;
}

Shape binary_output_shape(const InferContext& ctx) {
  const Shape& a = ctx.shape(0);
  const Shape rhs = legacy_rhs_shape(ctx.node(), ctx.opset(), a, ctx.shape(1));
  return broadcast_shapes(ctx, {a, rhs});
}

Tensor binary_rhs(const KernelContext& ctx) {
  const Tensor& b = ctx.input(1);
  if (ctx.opset() >= 7) return b;
  const Shape s = legacy_rhs_shape(ctx.node(), ctx.opset(), ctx.input(0).shape(), b.shape());
  return s == b.shape() ? b : b.reshaped(s);
}

}  // namespace frugal::ops::elementwise
