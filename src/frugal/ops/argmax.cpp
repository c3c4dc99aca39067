// ArgMax and ArgMin: index of the largest/smallest element along an axis (int64 output).
#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

void infer_arg(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  ctx.require_dtype(0, {DType::kF32, DType::kF64, DType::kI8, DType::kU8, DType::kI16, DType::kU16,
                        DType::kI32, DType::kU32, DType::kI64, DType::kU64});
  const int64_t r = static_cast<int64_t>(in.size());
  if (r == 0) ctx.fail("input must have rank >= 1");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", 0), r);
  Shape out = in;
  if (in[axis] == 0) {
    Shape rest = in;
    rest.erase(rest.begin() + axis);
    if (shape_numel(rest) > 0) ctx.fail("cannot take the arg of an empty axis");
  }
  if (ctx.node().attr_int("keepdims", 1) != 0) {
    out[axis] = 1;
  } else {
    out.erase(out.begin() + axis);
  }
  ctx.set_output(0, DType::kI64, out);
}

template <bool kMax>
void ref_arg(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const int64_t r = x.rank();
  int64_t axis = ctx.node().attr_int("axis", 0);
  if (axis < 0) axis += r;
  const bool last = ctx.opset() >= 12 && ctx.node().attr_int("select_last_index", 0) != 0;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= x.shape()[d];
  const int64_t n = x.shape()[axis];
  if (x.numel() == 0) return;  // inner may be huge when an outer axis is 0
  int64_t* out = y.data<int64_t>();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* in = x.data<T>();
    std::vector<T> best(static_cast<size_t>(inner));
    // Scan the axis in the outer loop so the inner loop reads contiguous memory.
    for (int64_t o = 0; o < outer; ++o) {
      const T* slab = in + o * n * inner;
      int64_t* idx = out + o * inner;
      for (int64_t i = 0; i < inner; ++i) {
        best[i] = slab[i];
        idx[i] = 0;
      }
      for (int64_t j = 1; j < n; ++j) {
        const T* row = slab + j * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const T v = row[i];
          const bool better =
              kMax ? (last ? v >= best[i] : v > best[i]) : (last ? v <= best[i] : v < best[i]);
          if (better) {
            best[i] = v;
            idx[i] = j;
          }
        }
      }
    }
  });
}

Work arg_cost(const CostContext& c) {
  return {.flops = shape_numel(c.in[0])};
}

}  // namespace

FRUGAL_REGISTER_OP(
    ArgMax, OpDef{.op_type = "ArgMax", .infer = infer_arg, .ref = ref_arg<true>, .cost = arg_cost});
FRUGAL_REGISTER_OP(ArgMin, OpDef{.op_type = "ArgMin",
                                 .infer = infer_arg,
                                 .ref = ref_arg<false>,
                                 .cost = arg_cost});

}  // namespace frugal::ops
