// Reductions over a set of axes: ReduceSum, ReduceMean, ReduceMax, ReduceMin, ReduceProd,
// ReduceSumSquare, ReduceL1, ReduceL2, ReduceLogSum, ReduceLogSumExp. The axes are an
// attribute, or input 1 (ReduceSum from opset 13, the others from opset 18).
#include <cmath>
#include <cstring>
#include <limits>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd, kSumSquare, kL1, kL2, kLogSum, kLogSumExp };

struct ReducePlan {
  bool noop = false;          // empty axes with noop_with_empty_axes: the output is the input
  std::vector<bool> reduced;  // per input axis
  Shape out;
};

ReducePlan plan_reduce(const ir::Node& node, const Shape& in,
                       const std::optional<std::vector<int64_t>>& axes) {
  ReducePlan plan;
  const size_t r = in.size();
  plan.reduced.assign(r, false);
  if (!axes || axes->empty()) {
    if (node.attr_int("noop_with_empty_axes", 0) != 0) {
      plan.noop = true;
      plan.out = in;
      return plan;
    }
    plan.reduced.assign(r, true);
  } else {
    for (int64_t a : *axes)
      if (a < static_cast<int64_t>(r)) plan.reduced[a] = true;  // axis 0 of a scalar: nothing
  }
  const bool keepdims = node.attr_int("keepdims", 1) != 0;
  for (size_t d = 0; d < r; ++d) {
    if (!plan.reduced[d]) {
      plan.out.push_back(in[d]);
    } else if (keepdims) {
      plan.out.push_back(1);
    }
  }
  return plan;
}

void infer_reduce(InferContext& ctx) {
  const Shape& in = ctx.shape(0);
  ctx.require_dtype(0, {DType::kF32, DType::kF64, DType::kI8, DType::kU8, DType::kI16, DType::kU16,
                        DType::kI32, DType::kU32, DType::kI64, DType::kU64});
  const auto axes = axes_attr_or_input(ctx, 1, static_cast<int64_t>(in.size()));
  ctx.set_output(0, ctx.dtype(0), plan_reduce(ctx.node(), in, axes).out);
}

// Calls f(input_index, output_index) over the input in row-major order, where the output
// index ignores reduced axes (out_strides are 0 there).
template <typename F>
void for_each_reduced(const Shape& in, const std::vector<int64_t>& out_strides, F&& f) {
  const int64_t n = shape_numel(in);
  if (n == 0) return;
  if (in.empty()) {
    f(0, 0);
    return;
  }
  const size_t r = in.size();
  const int64_t inner = in[r - 1], inner_stride = out_strides[r - 1];
  std::vector<int64_t> idx(r - 1, 0);
  int64_t o = 0;
  for (int64_t i = 0; i < n; i += inner) {
    for (int64_t j = 0; j < inner; ++j) f(i + j, o + j * inner_stride);
    for (size_t d = r - 1; d-- > 0;) {
      o += out_strides[d];
      if (++idx[d] < in[d]) break;
      o -= out_strides[d] * in[d];
      idx[d] = 0;
    }
  }
}

// Integer sums and products wrap around (as two's complement) instead of overflowing,
// which would be undefined behaviour on signed types.
template <typename A>
A add(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(a) + static_cast<uint64_t>(b));
  } else {
    return a + b;
  }
}
template <typename A>
A mul(A a, A b) {
  if constexpr (std::is_integral_v<A>) {
    return static_cast<A>(static_cast<uint64_t>(a) * static_cast<uint64_t>(b));
  } else {
    return a * b;
  }
}

template <typename T>
void reduce_typed(ReduceKind kind, const T* x, const Shape& in, const std::vector<bool>& reduced,
                  T* y, int64_t out_n) {
  // Integers accumulate exactly in 64 bits, floats in double.
  using Acc = std::conditional_t<std::is_floating_point_v<T>, double,
                                 std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>>;
  const size_t r = in.size();
  Shape kept(r);
  int64_t count = 1;
  for (size_t d = 0; d < r; ++d) {
    kept[d] = reduced[d] ? 1 : in[d];
    if (reduced[d]) count *= in[d];
  }
  std::vector<int64_t> out_strides = strides_of(kept);
  for (size_t d = 0; d < r; ++d)
    if (reduced[d]) out_strides[d] = 0;

  if (kind == ReduceKind::kMax || kind == ReduceKind::kMin) {
    const bool is_max = kind == ReduceKind::kMax;
    T init;
    if constexpr (std::is_floating_point_v<T>) {
      init = is_max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    } else {
      init = is_max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
    }
    for (int64_t o = 0; o < out_n; ++o) y[o] = init;
    for_each_reduced(in, out_strides, [&](int64_t i, int64_t o) {
      const T v = x[i];
      bool nan = false;
      if constexpr (std::is_floating_point_v<T>) nan = std::isnan(v);
      if (nan || (is_max ? v > y[o] : v < y[o])) y[o] = v;  // NaN propagates
    });
    return;
  }

  if (kind == ReduceKind::kLogSumExp) {
    // log(sum(exp(x))) = m + log(sum(exp(x - m))) with m the maximum, to avoid overflow.
    std::vector<double> m(static_cast<size_t>(out_n), -std::numeric_limits<double>::infinity());
    std::vector<double> s(static_cast<size_t>(out_n), 0.0);
    for_each_reduced(in, out_strides, [&](int64_t i, int64_t o) {
      m[o] = std::max(m[o], static_cast<double>(x[i]));
    });
    for_each_reduced(in, out_strides, [&](int64_t i, int64_t o) {
      s[o] += std::exp(static_cast<double>(x[i]) - m[o]);
    });
    for (int64_t o = 0; o < out_n; ++o)
      y[o] = saturate_cast<T>(std::isinf(m[o]) ? m[o] : m[o] + std::log(s[o]));
    return;
  }

  std::vector<Acc> acc(static_cast<size_t>(out_n), kind == ReduceKind::kProd ? Acc{1} : Acc{0});
  switch (kind) {
    case ReduceKind::kProd:
      for_each_reduced(in, out_strides,
                       [&](int64_t i, int64_t o) { acc[o] = mul(acc[o], static_cast<Acc>(x[i])); });
      break;
    case ReduceKind::kSumSquare:
    case ReduceKind::kL2:
      for_each_reduced(in, out_strides, [&](int64_t i, int64_t o) {
        const Acc v = static_cast<Acc>(x[i]);
        acc[o] = add(acc[o], mul(v, v));
      });
      break;
    case ReduceKind::kL1:
      for_each_reduced(in, out_strides, [&](int64_t i, int64_t o) {
        const Acc v = static_cast<Acc>(x[i]);
        if constexpr (std::is_unsigned_v<Acc>) {
          acc[o] = add(acc[o], v);
        } else {
          acc[o] = add(acc[o], v < 0 ? mul(v, Acc{-1}) : v);
        }
      });
      break;
    default:  // Sum, Mean, LogSum
      for_each_reduced(in, out_strides,
                       [&](int64_t i, int64_t o) { acc[o] = add(acc[o], static_cast<Acc>(x[i])); });
      break;
  }
  for (int64_t o = 0; o < out_n; ++o) {
    const Acc a = acc[o];
    switch (kind) {
      case ReduceKind::kMean:
        if constexpr (std::is_floating_point_v<T>) {
          y[o] = static_cast<T>(a / static_cast<double>(count));  // empty: NaN, as 0/0
        } else {
          y[o] = count == 0 ? T{0} : static_cast<T>(a / static_cast<Acc>(count));
        }
        break;
      case ReduceKind::kL2:
        y[o] = saturate_cast<T>(std::sqrt(static_cast<double>(a)));
        break;
      case ReduceKind::kLogSum:
        y[o] = saturate_cast<T>(std::log(static_cast<double>(a)));
        break;
      default:
        y[o] = static_cast<T>(a);
        break;
    }
  }
}

template <ReduceKind kKind>
void ref_reduce(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const auto axes = axes_attr_or_input(ctx, 1, x.rank());
  const ReducePlan plan = plan_reduce(ctx.node(), x.shape(), axes);
  if (plan.noop) {
    if (x.nbytes()) std::memcpy(y.raw(), x.raw(), x.nbytes());
    return;
  }
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, bool>) {
      throw UnsupportedError(ctx.node().describe() + ": bool input is not supported");
    } else {
      reduce_typed<T>(kKind, x.data<T>(), x.shape(), plan.reduced, y.data<T>(), y.numel());
    }
  });
}

Work reduce_cost(const CostContext& c) {
  return {.flops = shape_numel(c.in[0])};
}

OpDef reduce_op(const char* name, RefKernel ref) {
  return OpDef{.op_type = name,
               .max_inputs = 2,
               .infer = infer_reduce,
               .ref = std::move(ref),
               .cost = reduce_cost};
}

}  // namespace

FRUGAL_REGISTER_OP(ReduceSum, reduce_op("ReduceSum", ref_reduce<ReduceKind::kSum>));
FRUGAL_REGISTER_OP(ReduceMean, reduce_op("ReduceMean", ref_reduce<ReduceKind::kMean>));
FRUGAL_REGISTER_OP(ReduceMax, reduce_op("ReduceMax", ref_reduce<ReduceKind::kMax>));
FRUGAL_REGISTER_OP(ReduceMin, reduce_op("ReduceMin", ref_reduce<ReduceKind::kMin>));
FRUGAL_REGISTER_OP(ReduceProd, reduce_op("ReduceProd", ref_reduce<ReduceKind::kProd>));
FRUGAL_REGISTER_OP(ReduceSumSquare,
                   reduce_op("ReduceSumSquare", ref_reduce<ReduceKind::kSumSquare>));
FRUGAL_REGISTER_OP(ReduceL1, reduce_op("ReduceL1", ref_reduce<ReduceKind::kL1>));
FRUGAL_REGISTER_OP(ReduceL2, reduce_op("ReduceL2", ref_reduce<ReduceKind::kL2>));
FRUGAL_REGISTER_OP(ReduceLogSum, reduce_op("ReduceLogSum", ref_reduce<ReduceKind::kLogSum>));
FRUGAL_REGISTER_OP(ReduceLogSumExp,
                   reduce_op("ReduceLogSumExp", ref_reduce<ReduceKind::kLogSumExp>));

}  // namespace frugal::ops
