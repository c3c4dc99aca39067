// Machinery shared by the elementwise operators (unary math, activations, binary
// arithmetic, comparisons, logical ops, Where, variadic Sum/Max/...): dtype sets,
// a broadcast walker that visits the output in contiguous runs, safe numeric
// conversion, and OpDef builders for ops that are one scalar function.
#pragma once

#include <array>
#include <cmath>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops::elementwise {

// Sets of element types an operator accepts (bit flags).
enum TypeSet : unsigned {
  kFloatTypes = 1u << 0,        // float32, float64
  kSignedIntTypes = 1u << 1,    // int8 .. int64
  kUnsignedIntTypes = 1u << 2,  // uint8 .. uint64
  kBoolType = 1u << 3,
  kIntTypes = kSignedIntTypes | kUnsignedIntTypes,
  kSignedTypes = kFloatTypes | kSignedIntTypes,
  kNumericTypes = kFloatTypes | kIntTypes,
  kAllTypes = kNumericTypes | kBoolType,
};

template <typename T>
constexpr unsigned type_class_of() {
  if constexpr (std::is_same_v<T, bool>)
    return kBoolType;
  else if constexpr (std::is_floating_point_v<T>)
    return kFloatTypes;
  else if constexpr (std::is_signed_v<T>)
    return kSignedIntTypes;
  else
    return kUnsignedIntTypes;
}

// The class of a dtype; 0 for those the reference kernels do not compute in
// (float16, bfloat16, string, undefined).
unsigned type_class(DType t);

// Checks input i's dtype against `allowed`: float16/bfloat16/string are declined
// (unsupported, so a conformance case is skipped); any other dtype outside the set
// is an invalid model (fail).
void require_types(const InferContext& ctx, size_t i, unsigned allowed);

// Calls f(T{}) for the C++ type of `t`, instantiating f only for types in Allowed.
template <unsigned Allowed, typename F>
void visit_types(DType t, F&& f) {
  visit_dtype(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr ((type_class_of<T>() & Allowed) != 0) {
      f(tag);
    } else {
      throw InternalError("elementwise kernel reached with dtype " + std::string(dtype_name(t)) +
                          " that inference should have rejected");
    }
  });
}

// Integer arithmetic that wraps modulo 2^bits instead of overflowing (signed overflow is
// undefined in C++). Narrow types are widened to unsigned int, which cannot overflow
// into undefined behaviour the way their promotion to int can (65535 * 65535).
template <typename T>
using WrapType =
    std::conditional_t<(sizeof(T) < sizeof(unsigned)), unsigned, std::make_unsigned_t<T>>;
template <typename T>
T wrap_add(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(WrapType<T>(a) + WrapType<T>(b));
  else
    return a + b;
}
template <typename T>
T wrap_sub(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(WrapType<T>(a) - WrapType<T>(b));
  else
    return a - b;
}
template <typename T>
T wrap_mul(T a, T b) {
  if constexpr (std::is_integral_v<T>)
    return static_cast<T>(WrapType<T>(a) * WrapType<T>(b));
  else
    return a * b;
}
template <typename T>
T wrap_neg(T a) {
  return wrap_sub(T(0), a);
}

// Numeric conversion without undefined behaviour: float to integer truncates toward
// zero, saturates out-of-range values and maps NaN to 0; integer to integer wraps;
// anything to bool is "nonzero" (NaN is true); bool is 0 or 1.
template <typename To, typename From>
To convert(From v) {
  if constexpr (std::is_same_v<To, From>) {
    return v;
  } else if constexpr (std::is_same_v<To, bool>) {
    return v != From(0);
  } else if constexpr (std::is_floating_point_v<From> && std::is_integral_v<To>) {
    const double d = static_cast<double>(v);
    if (std::isnan(d)) return To(0);
    // 2^digits is max + 1 for every integer type, and is exact in double.
    constexpr double kUpper = static_cast<double>(std::numeric_limits<To>::max()) + 1.0;
    constexpr double kLower = std::is_signed_v<To> ? -kUpper : 0.0;
    if (d >= kUpper) return std::numeric_limits<To>::max();
    if (d <= kLower - 1.0) return std::numeric_limits<To>::lowest();
    return static_cast<To>(d);
  } else {
    return static_cast<To>(v);
  }
}

// Walks an output of shape `out`, to which K input shapes broadcast, in runs of
// consecutive output elements. Size-1 dimensions are dropped and neighbouring
// dimensions that are contiguous in every input are merged, so a run is as long as
// possible. For each run it calls run(out_offset, in_offsets, in_steps, length): input k
// starts at in_offsets[k] and advances by in_steps[k] (0 where it is broadcast, else 1).
template <size_t K, typename Run>
void for_each_run(const Shape& out, const std::array<const Shape*, K>& ins, Run&& run) {
  const int64_t total = shape_numel(out);
  if (total == 0) return;
  using Strides = std::array<int64_t, K>;
  std::array<std::vector<int64_t>, K> in_strides;
  for (size_t k = 0; k < K; ++k) {
    in_strides[k].assign(out.size(), 0);
    const Shape& s = *ins[k];
    const size_t lead = out.size() - s.size();
    int64_t stride = 1;
    for (size_t d = s.size(); d-- > 0;) {
      if (s[d] != 1) in_strides[k][lead + d] = stride;
      stride *= s[d];
    }
  }
  std::vector<int64_t> sizes;  // collapsed dimensions, innermost first
  std::vector<Strides> strides;
  for (size_t d = out.size(); d-- > 0;) {
    if (out[d] == 1) continue;
    Strides s;
    for (size_t k = 0; k < K; ++k) s[k] = in_strides[k][d];
    if (!sizes.empty()) {
      bool contiguous = true;
      for (size_t k = 0; k < K; ++k) contiguous &= s[k] == strides.back()[k] * sizes.back();
      if (contiguous) {
        sizes.back() *= out[d];
        continue;
      }
    }
    sizes.push_back(out[d]);
    strides.push_back(s);
  }
  if (sizes.empty()) {  // every dimension is 1
    sizes.push_back(1);
    strides.push_back(Strides{});
  }
  const int64_t length = sizes[0];
  const Strides step = strides[0];
  std::vector<int64_t> index(sizes.size(), 0);
  Strides offsets{};
  for (int64_t o = 0; o < total; o += length) {
    run(o, offsets, step, length);
    for (size_t d = 1; d < sizes.size(); ++d) {
      for (size_t k = 0; k < K; ++k) offsets[k] += strides[d][k];
      if (++index[d] < sizes[d]) break;
      for (size_t k = 0; k < K; ++k) offsets[k] -= strides[d][k] * sizes[d];
      index[d] = 0;
    }
  }
}

// y[i] = f(a[i]) over same-shaped tensors.
template <typename O, typename I, typename F>
void unary_map(const Tensor& x, Tensor& y, F&& f) {
  const I* px = x.data<I>();
  O* py = y.data<O>();
  const int64_t n = y.numel();
  for (int64_t i = 0; i < n; ++i) py[i] = f(px[i]);
}

// y = f(a, b) with a and b broadcast to y's shape. Same shapes and scalar operands take
// straight loops; other shapes go through for_each_run.
template <typename O, typename A, typename B, typename F>
void binary_map(const Tensor& a, const Tensor& b, Tensor& y, F&& f) {
  const A* pa = a.data<A>();
  const B* pb = b.data<B>();
  O* py = y.data<O>();
  const int64_t n = y.numel();
  // An input with as many elements as the output is laid out exactly like it.
  if (a.numel() == n && b.numel() == n) {
    for (int64_t i = 0; i < n; ++i) py[i] = f(pa[i], pb[i]);
    return;
  }
  if (a.numel() == n && b.numel() == 1) {
    const B s = pb[0];
    for (int64_t i = 0; i < n; ++i) py[i] = f(pa[i], s);
    return;
  }
  if (a.numel() == 1 && b.numel() == n) {
    const A s = pa[0];
    for (int64_t i = 0; i < n; ++i) py[i] = f(s, pb[i]);
    return;
  }
  for_each_run<2>(y.shape(), {&a.shape(), &b.shape()},
                  [&](int64_t o, const auto& off, const auto& step, int64_t len) {
                    const A* x = pa + off[0];
                    const B* z = pb + off[1];
                    O* w = py + o;
                    if (step[0] && step[1]) {
                      for (int64_t i = 0; i < len; ++i) w[i] = f(x[i], z[i]);
                    } else if (step[0]) {
                      const B s = *z;
                      for (int64_t i = 0; i < len; ++i) w[i] = f(x[i], s);
                    } else if (step[1]) {
                      const A s = *x;
                      for (int64_t i = 0; i < len; ++i) w[i] = f(s, z[i]);
                    } else {
                      const O v = f(*x, *z);
                      for (int64_t i = 0; i < len; ++i) w[i] = v;
                    }
                  });
}

// Copies x broadcast to y's shape (same dtype T).
template <typename T>
void broadcast_copy(const Tensor& x, Tensor& y) {
  const T* px = x.data<T>();
  T* py = y.data<T>();
  for_each_run<1>(y.shape(), {&x.shape()},
                  [&](int64_t o, const auto& off, const auto& step, int64_t len) {
                    if (step[0]) {
                      for (int64_t i = 0; i < len; ++i) py[o + i] = px[off[0] + i];
                    } else {
                      for (int64_t i = 0; i < len; ++i) py[o + i] = px[off[0]];
                    }
                  });
}

// Opsets before 7 broadcast only input 1 onto input 0, and only when the attribute
// broadcast=1: input 1 aligns with input 0 starting at `axis` (suffix matching without
// it); one element always broadcasts. Returns the shape input 1 is read with, so that
// numpy broadcasting then gives the legacy result; fails (naming the node) when the
// shapes do not fit. From opset 7 on, returns b unchanged.
Shape legacy_rhs_shape(const ir::Node& node, int64_t opset, const Shape& a, const Shape& b);

// Output shape of a two-input broadcasting op (numpy rules; legacy rules before opset 7).
Shape binary_output_shape(const InferContext& ctx);

// Input 1 of a two-input op as the kernel reads it (legacy reshape applied).
Tensor binary_rhs(const KernelContext& ctx);

// Builds the OpDef of an operator that applies Op elementwise to one input.
// Op provides: static constexpr unsigned kTypes (accepted input types); a constructor
// from const ir::Node& (reading attributes) or a default one; and
// template <typename T> auto operator()(T) const, whose result type is the output's.
template <typename Op>
Op make_functor(const ir::Node& node) {
  if constexpr (std::is_constructible_v<Op, const ir::Node&>)
    return Op(node);
  else
    return Op{};
}

template <typename Op>
OpDef unary_def(std::string op_type) {
  OpDef def;
  def.op_type = std::move(op_type);
  def.infer = [](InferContext& ctx) {
    require_types(ctx, 0, Op::kTypes);
    make_functor<Op>(ctx.node());  // reads (and checks) the attributes
    DType out = ctx.dtype(0);
    visit_types<Op::kTypes>(out, [&](auto tag) {
      using T = decltype(tag);
      out = dtype_of<decltype(std::declval<const Op&>()(T{}))>();
    });
    ctx.set_output(0, out, ctx.shape(0));
  };
  def.ref = [](KernelContext& ctx) {
    const Op op = make_functor<Op>(ctx.node());
    const Tensor& x = ctx.input(0);
    visit_types<Op::kTypes>(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using O = decltype(op(T{}));
      unary_map<O, T>(x, ctx.output(0), [&](T v) { return op(v); });
    });
  };
  return def;
}

// Builds the OpDef of a two-input broadcasting operator whose inputs share one dtype.
// Op provides kTypes and template <typename T> auto operator()(T, T) const.
template <typename Op>
OpDef binary_def(std::string op_type) {
  OpDef def;
  def.op_type = std::move(op_type);
  def.min_inputs = 2;
  def.max_inputs = 2;
  def.infer = [](InferContext& ctx) {
    require_types(ctx, 0, Op::kTypes);
    ctx.require_same_dtype(0, 1);
    DType out = ctx.dtype(0);
    visit_types<Op::kTypes>(out, [&](auto tag) {
      using T = decltype(tag);
      out = dtype_of<decltype(std::declval<const Op&>()(T{}, T{}))>();
    });
    ctx.set_output(0, out, binary_output_shape(ctx));
  };
  def.ref = [](KernelContext& ctx) {
    const Tensor& a = ctx.input(0);
    const Tensor b = binary_rhs(ctx);
    visit_types<Op::kTypes>(a.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using O = decltype(Op{}(T{}, T{}));
      binary_map<O, T, T>(a, b, ctx.output(0), Op{});
    });
  };
  return def;
}

}  // namespace frugal::ops::elementwise
