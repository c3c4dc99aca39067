// Range: start, start + delta, ... up to (not including) limit.
#include <cmath>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

bool is_range_dtype(DType t) {
  return t == DType::kF32 || t == DType::kF64 || t == DType::kI16 || t == DType::kI32 ||
         t == DType::kI64;
}

// Number of elements: max(ceil((limit - start) / delta), 0), exact for integers.
int64_t range_length(const ir::Node& node, const Tensor& start, const Tensor& limit,
                     const Tensor& delta) {
  auto fail = [&](const std::string& why) -> int64_t {
    throw UserError(node.describe() + ": " + why);
  };
  const int64_t cap = static_cast<int64_t>(max_tensor_bytes() / dtype_size(start.dtype()));
  if (dtype_is_integer(start.dtype())) {
    const __int128 s = start.to_int64()[0], l = limit.to_int64()[0], d = delta.to_int64()[0];
    if (d == 0) return fail("delta is 0");
    const __int128 span = d > 0 ? l - s : s - l;
    const __int128 step = d > 0 ? d : -d;
    const __int128 n = span <= 0 ? 0 : (span + step - 1) / step;
    if (n > cap) return fail("would produce more elements than memory holds");
    return static_cast<int64_t>(n);
  }
  const double s = start.at_double(0), l = limit.at_double(0), d = delta.at_double(0);
  if (d == 0) return fail("delta is 0");
  const double n = std::ceil((l - s) / d);
  if (!(n == n)) return fail("start, limit and delta give no finite length");
  if (n <= 0) return 0;
  if (n > static_cast<double>(cap)) return fail("would produce more elements than memory holds");
  return static_cast<int64_t>(n);
}

void infer_range(InferContext& ctx) {
  for (size_t i = 0; i < 3; ++i) {
    if (shape_numel(ctx.shape(i)) != 1 || ctx.rank(i) > 1)
      ctx.fail("input " + std::to_string(i) + " must be a scalar, got shape " +
               shape_str(ctx.shape(i)));
  }
  ctx.require_same_dtype(0, 1);
  ctx.require_same_dtype(0, 2);
  if (!is_range_dtype(ctx.dtype(0)))
    ctx.unsupported("dtype " + std::string(dtype_name(ctx.dtype(0))) + " is not supported");
  const int64_t n =
      range_length(ctx.node(), ctx.require_value(0), ctx.require_value(1), ctx.require_value(2));
  ctx.set_output(0, ctx.dtype(0), {n});
}

void ref_range(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const Tensor& start = ctx.input(0);
  const Tensor& delta = ctx.input(2);
  visit_dtype(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* out = y.data<T>();
    if constexpr (std::is_integral_v<T>) {
      const int64_t s = start.to_int64()[0], d = delta.to_int64()[0];
      // Every element lies between start and limit, so it fits T.
      for (int64_t i = 0; i < y.numel(); ++i)
        out[i] = static_cast<T>(static_cast<__int128>(s) + static_cast<__int128>(i) * d);
    } else {
      const double s = start.at_double(0), d = delta.at_double(0);
      for (int64_t i = 0; i < y.numel(); ++i)
        out[i] = static_cast<T>(s + static_cast<double>(i) * d);
    }
  });
}

Work range_cost(const CostContext& c) {
  return {.flops = 2 * shape_numel(c.out[0])};
}

}  // namespace

FRUGAL_REGISTER_OP(Range, OpDef{.op_type = "Range",
                                .min_inputs = 3,
                                .max_inputs = 3,
                                .infer = infer_range,
                                .ref = ref_range,
                                .cost = range_cost});

}  // namespace frugal::ops
