// Variadic elementwise reductions over any number of broadcasting inputs: Sum, Mean,
// Max, Min. Max and Min propagate NaN (as numpy's maximum/minimum do).
#include "frugal/ops/elementwise.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

template <typename T>
bool is_nan(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return std::isnan(v);
  else
    return false;
}

struct SumOp {
  static constexpr unsigned kTypes = kFloatTypes;
  static constexpr bool kMean = false;
  template <typename T>
  T operator()(T a, T b) const {
    return a + b;
  }
};
struct MeanOp : SumOp {
  static constexpr bool kMean = true;
};
struct MaxOp {
  static constexpr unsigned kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <typename T>
  T operator()(T a, T b) const {
    return (b > a || is_nan(b)) ? b : a;
  }
};
struct MinOp {
  static constexpr unsigned kTypes = kNumericTypes;
  static constexpr bool kMean = false;
  template <typename T>
  T operator()(T a, T b) const {
    return (b < a || is_nan(b)) ? b : a;
  }
};

template <typename Op>
void infer_variadic(InferContext& ctx) {
  std::vector<Shape> shapes;
  for (size_t i = 0; i < ctx.num_inputs(); ++i) {
    if (!ctx.has_input(i)) ctx.fail("input " + std::to_string(i) + " is empty");
    require_types(ctx, i, Op::kTypes);
    ctx.require_same_dtype(0, i);
    shapes.push_back(ctx.shape(i));
    // Before opset 8 these ops did not broadcast.
    if (ctx.opset() < 8 && shapes.back() != shapes.front())
      ctx.fail("inputs 0 and " + std::to_string(i) + " differ in shape (" +
               shape_str(shapes.front()) + " vs " + shape_str(shapes.back()) + ") and opset " +
               std::to_string(ctx.opset()) + " does not broadcast");
  }
  ctx.set_output(0, ctx.dtype(0), broadcast_shapes(ctx, shapes));
}

template <typename Op>
void ref_variadic(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const size_t n = ctx.num_inputs();
  visit_types<Op::kTypes>(y.dtype(), [&](auto tag) {
    using T = decltype(tag);
    // Folds left to right: y = x0 op x1, then y = y op xk (y already has the full shape).
    if (n == 1) {
      broadcast_copy<T>(ctx.input(0), y);
    } else {
      binary_map<T, T, T>(ctx.input(0), ctx.input(1), y, Op{});
      for (size_t i = 2; i < n; ++i) binary_map<T, T, T>(y, ctx.input(i), y, Op{});
    }
    if constexpr (Op::kMean) {
      T* p = y.data<T>();
      const T count = static_cast<T>(n);
      for (int64_t i = 0; i < y.numel(); ++i) p[i] /= count;
    }
  });
}

template <typename Op>
OpDef variadic_def(std::string op_type) {
  return OpDef{.op_type = std::move(op_type),
               .min_inputs = 1,
               .max_inputs = -1,
               .infer = infer_variadic<Op>,
               .ref = ref_variadic<Op>};
}

}  // namespace

FRUGAL_REGISTER_OP(Sum, variadic_def<SumOp>("Sum"));
FRUGAL_REGISTER_OP(Mean, variadic_def<MeanOp>("Mean"));
FRUGAL_REGISTER_OP(Max, variadic_def<MaxOp>("Max"));
FRUGAL_REGISTER_OP(Min, variadic_def<MinOp>("Min"));

}  // namespace frugal::ops
