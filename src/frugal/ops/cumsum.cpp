// CumSum (opsets 11, 14): running sums along one axis (a 0-D or one-element input).
// exclusive=1 leaves out the current element; reverse=1 sums from the end. Integer sums
// wrap around on overflow.
#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

constexpr unsigned kCumSumTypes = kFloatTypes | kSignedIntTypes | kUnsignedIntTypes;

int64_t axis_value(const ir::Node& node, const Tensor& t, int64_t rank) {
  if (!dtype_is_integer(t.dtype()) || t.numel() != 1 || t.rank() > 1)
    throw UserError(node.describe() + ": axis must be one integer, got " +
                    std::string(dtype_name(t.dtype())) + " of shape " + shape_str(t.shape()));
  const int64_t a = t.to_int64()[0];
  const int64_t n = a < 0 ? a + rank : a;
  if (n < 0 || n >= rank)
    throw UserError(node.describe() + ": axis " + std::to_string(a) + " is out of range for rank " +
                    std::to_string(rank));
  return n;
}

void infer_cumsum(InferContext& ctx) {
  require_types(ctx, 0, kCumSumTypes);
  const DType t = ctx.dtype(0);
  if (t == DType::kI8 || t == DType::kI16 || t == DType::kU8 || t == DType::kU16)
    ctx.fail("input x has dtype " + std::string(dtype_name(t)) + ", which CumSum does not accept");
  if (ctx.dtype(1) != DType::kI32 && ctx.dtype(1) != DType::kI64)
    ctx.fail("axis has dtype " + std::string(dtype_name(ctx.dtype(1))) + ", expected int32/int64");
  if (ctx.rank(0) == 0) ctx.fail("input x must have rank >= 1");
  if (const Tensor* axis = ctx.value(1)) axis_value(ctx.node(), *axis, ctx.rank(0));
  ctx.set_output(0, t, ctx.shape(0));
}

template <typename T>
void cumsum_kernel(const KernelContext& ctx, int64_t axis) {
  const Tensor& X = ctx.input(0);
  const bool exclusive = ctx.node().attr_int("exclusive", 0) != 0;
  const bool reverse = ctx.node().attr_int("reverse", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= X.dim(d);
  for (int64_t d = axis + 1; d < X.rank(); ++d) inner *= X.dim(d);
  const int64_t n = X.dim(axis);
  const T* x = X.data<T>();
  T* y = ctx.output(0).data<T>();
  // Walks the axis forwards or backwards; the inner dimension stays the contiguous loop.
  for (int64_t o = 0; o < outer; ++o) {
    const int64_t base = o * n * inner;
    for (int64_t s = 0; s < n; ++s) {
      const int64_t k = reverse ? n - 1 - s : s;
      const T* xk = x + base + k * inner;
      T* yk = y + base + k * inner;
      if (s == 0) {
        for (int64_t i = 0; i < inner; ++i) yk[i] = exclusive ? T(0) : xk[i];
        continue;
      }
      const int64_t prev = reverse ? k + 1 : k - 1;
      const T* xp = x + base + prev * inner;
      const T* yp = y + base + prev * inner;
      for (int64_t i = 0; i < inner; ++i) yk[i] = wrap_add(yp[i], exclusive ? xp[i] : xk[i]);
    }
  }
}

void ref_cumsum(KernelContext& ctx) {
  const int64_t axis = axis_value(ctx.node(), ctx.input(1), ctx.input(0).rank());
  visit_types<kCumSumTypes>(ctx.input(0).dtype(),
                            [&](auto tag) { cumsum_kernel<decltype(tag)>(ctx, axis); });
}

}  // namespace

FRUGAL_REGISTER_OP(CumSum, OpDef{.op_type = "CumSum",
                                 .min_inputs = 2,
                                 .max_inputs = 2,
                                 .infer = infer_cumsum,
                                 .ref = ref_cumsum});

}  // namespace frugal::ops
