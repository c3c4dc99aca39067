// Activation functions: Relu, LeakyRelu, PRelu, Elu, Selu, Celu, Sigmoid, HardSigmoid,
// HardSwish, Softplus, Softsign, ThresholdedRelu, Mish, Gelu (opset 20; the fusion passes also
// put it in older graphs). Attribute defaults per the ONNX spec.
#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"
#include "frugal/ops/elementwise.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

// log(1 + e^x) without overflow for large x.
template <typename T>
T softplus(T x) {
  return x > T(0) ? x + std::log1p(std::exp(-x)) : std::log1p(std::exp(x));
}

struct ReluOp {
  static constexpr unsigned kTypes = kSignedTypes;
  template <typename T>
  T operator()(T x) const {
    return x < T(0) ? T(0) : x;
  }  // NaN passes through
};
struct LeakyReluOp {
  static constexpr unsigned kTypes = kFloatTypes;
  float alpha;
  explicit LeakyReluOp(const ir::Node& n) : alpha(n.attr_float("alpha", 0.01f)) {}
  template <typename T>
  T operator()(T x) const {
    return x < T(0) ? T(alpha) * x : x;
  }
};
struct EluOp {
  static constexpr unsigned kTypes = kFloatTypes;
  float alpha;
  explicit EluOp(const ir::Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const {
    return x < T(0) ? T(alpha) * std::expm1(x) : x;
  }
};
struct SeluOp {
  static constexpr unsigned kTypes = kFloatTypes;
  float alpha, gamma;
  explicit SeluOp(const ir::Node& n)
      : alpha(n.attr_float("alpha", 1.67326319217681884765625f)),
        gamma(n.attr_float("gamma", 1.05070102214813232421875f)) {}
  template <typename T>
  T operator()(T x) const {
    return x > T(0) ? T(gamma) * x : T(gamma) * T(alpha) * std::expm1(x);
  }
};
struct CeluOp {
  static constexpr unsigned kTypes = kFloatTypes;
  float alpha;
  explicit CeluOp(const ir::Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const {
    const T a = T(alpha);
    return std::max(T(0), x) + std::min(T(0), a * std::expm1(x / a));
  }
};
struct SigmoidOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    // For very negative x, exp(-x) overflows to inf and the quotient is exactly 0.
    return T(1) / (T(1) + std::exp(-x));
  }
};
struct HardSigmoidOp {
  static constexpr unsigned kTypes = kFloatTypes;
  float alpha, beta;
  explicit HardSigmoidOp(const ir::Node& n)
      : alpha(n.attr_float("alpha", 0.2f)), beta(n.attr_float("beta", 0.5f)) {}
  template <typename T>
  T operator()(T x) const {
    return std::max(T(0), std::min(T(1), T(alpha) * x + T(beta)));
  }
};
struct HardSwishOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return x * std::max(T(0), std::min(T(1), x / T(6) + T(0.5)));
  }
};
struct SoftplusOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return softplus(x);
  }
};
struct SoftsignOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return x / (T(1) + std::abs(x));
  }
};
struct ThresholdedReluOp {
  static constexpr unsigned kTypes = kFloatTypes;
  float alpha;
  explicit ThresholdedReluOp(const ir::Node& n) : alpha(n.attr_float("alpha", 1.0f)) {}
  template <typename T>
  T operator()(T x) const {
    return x > T(alpha) ? x : T(0);
  }
};
struct MishOp {
  static constexpr unsigned kTypes = kFloatTypes;
  template <typename T>
  T operator()(T x) const {
    return x * std::tanh(softplus(x));
  }
};

// PRelu: y = x < 0 ? slope * x : x, with slope broadcast onto x (unidirectionally from
// opset 7). Opset 6 instead applies a 1-D slope of x.dim(1) values per channel.
Shape prelu_slope_shape(int64_t opset, const Shape& x, const Shape& slope) {
  if (opset < 7 && slope.size() == 1 && x.size() >= 2 && slope[0] == x[1] && slope[0] != 1) {
    Shape s(x.size() - 1, 1);
    s[0] = slope[0];
    return s;
  }
  return slope;
}

void infer_prelu(InferContext& ctx) {
  require_types(ctx, 0, kNumericTypes);
  ctx.require_same_dtype(0, 1);
  const Shape& x = ctx.shape(0);
  const Shape slope = prelu_slope_shape(ctx.opset(), x, ctx.shape(1));
  if (broadcast_shapes(ctx, {x, slope}) != x)
    ctx.fail("slope " + shape_str(ctx.shape(1)) + " does not broadcast to input " + shape_str(x));
  ctx.set_output(0, ctx.dtype(0), x);
}

void ref_prelu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const Tensor& s = ctx.input(1);
  const Shape shape = prelu_slope_shape(ctx.opset(), x.shape(), s.shape());
  const Tensor slope = shape == s.shape() ? s : s.reshaped(shape);
  visit_types<kNumericTypes>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    binary_map<T, T, T>(x, slope, ctx.output(0),
                        [](T v, T a) { return v < T(0) ? wrap_mul(a, v) : v; });
  });
}

// x * Phi(x): exact with erf, or the tanh approximation (approximate = "tanh").
struct GeluOp {
  static constexpr unsigned kTypes = kFloatTypes;
  bool tanh_form = false;
  explicit GeluOp(const ir::Node& n) {
    const std::string a = n.attr_string("approximate", "none");
    if (a != "none" && a != "tanh")
      throw UserError("node '" + n.name + "' (Gelu): approximate must be none or tanh, not '" + a +
                      "'");
    tanh_form = a == "tanh";
  }
  template <typename T>
  T operator()(T x) const {
    if (tanh_form)
      return T(0.5) * x * (T(1) + std::tanh(T(0.7978845608028654) * (x + T(0.044715) * x * x * x)));
    return T(0.5) * x * (T(1) + std::erf(x * T(0.7071067811865476)));
  }
};

}  // namespace

FRUGAL_REGISTER_OP(Relu, unary_def<ReluOp>("Relu"));
FRUGAL_REGISTER_OP(LeakyRelu, unary_def<LeakyReluOp>("LeakyRelu"));
FRUGAL_REGISTER_OP(Elu, unary_def<EluOp>("Elu"));
FRUGAL_REGISTER_OP(Selu, unary_def<SeluOp>("Selu"));
FRUGAL_REGISTER_OP(Celu, unary_def<CeluOp>("Celu"));
FRUGAL_REGISTER_OP(Sigmoid, unary_def<SigmoidOp>("Sigmoid"));
FRUGAL_REGISTER_OP(HardSigmoid, unary_def<HardSigmoidOp>("HardSigmoid"));
FRUGAL_REGISTER_OP(HardSwish, unary_def<HardSwishOp>("HardSwish"));
FRUGAL_REGISTER_OP(Softplus, unary_def<SoftplusOp>("Softplus"));
FRUGAL_REGISTER_OP(Softsign, unary_def<SoftsignOp>("Softsign"));
FRUGAL_REGISTER_OP(ThresholdedRelu, unary_def<ThresholdedReluOp>("ThresholdedRelu"));
FRUGAL_REGISTER_OP(Mish, unary_def<MishOp>("Mish"));
FRUGAL_REGISTER_OP(Gelu, unary_def<GeluOp>("Gelu"));
FRUGAL_REGISTER_OP(PRelu, OpDef{.op_type = "PRelu",
                                .min_inputs = 2,
                                .max_inputs = 2,
                                .infer = infer_prelu,
                                .ref = ref_prelu});

}  // namespace frugal::ops
