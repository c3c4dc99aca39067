// frugal.BinaryGemm and frugal.BinaryConv (ops/binary_layer.h): shape inference, cost and
// the reference kernels, which multiply signs one by one (no packing of the activations),
// so that the popcount kernels are checked against a plain reading of the definition.
#include "frugal/ops/binary_layer.h"

#include <cmath>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/op.h"

namespace frugal::ops {
namespace binary {

ActScale act_scale_of(const ir::Node& node) {
  const std::string s = node.attr_string("act_scale", "tensor");
  if (s == "tensor") return ActScale::kTensor;
  if (s == "row") return ActScale::kRow;
  if (s == "none") return ActScale::kNone;
  throw UserError("node '" + node.name + "' (" + node.op_type + "): act_scale '" + s +
                  "' must be tensor, row or none");
}

const char* act_scale_name(ActScale s) {
  return s == ActScale::kTensor ? "tensor" : (s == ActScale::kRow ? "row" : "none");
}

}  // namespace binary

namespace {

using binary::ActScale;

// The packed weight rows: signs, and the mask (all ones when the input is absent).
struct PackedWeights {
  const uint64_t* sign = nullptr;
  const uint64_t* mask = nullptr;
  int64_t words = 0;
  int weight(int64_t m, int64_t k) const {
    const uint64_t bit = uint64_t{1} << (k % 64);
    const int64_t at = m * words + k / 64;
    if (mask && !(mask[at] & bit)) return 0;
    return (sign[at] & bit) ? -1 : 1;
  }
};

PackedWeights weights_of(const KernelContext& ctx) {
  PackedWeights w;
  w.sign = ctx.input(binary::kSignInput).data<uint64_t>();
  w.words = ctx.input(binary::kSignInput).dim(1);
  if (ctx.has_input(binary::kMaskInput)) w.mask = ctx.input(binary::kMaskInput).data<uint64_t>();
  return w;
}

// Checks W_sign, alpha, B and W_mask against M x words(k) (shared by both ops).
void infer_weights(InferContext& ctx, int64_t k) {
  ctx.require_dtype(binary::kSignInput, {DType::kU64});
  const Shape& w = ctx.shape(binary::kSignInput);
  const Shape want_w{w.empty() ? 0 : w[0], binary::words(k)};
  if (w.size() != 2 || w != want_w)
    ctx.fail("W_sign has shape " + shape_str(w) + ", expected [M, " +
             std::to_string(binary::words(k)) + "] (" + std::to_string(k) + " bits per row)");
  for (size_t i : {binary::kAlphaInput, binary::kBiasInput}) {
    if (!ctx.has_input(i)) continue;
    ctx.require_dtype(i, {DType::kF32});
    if (ctx.shape(i) != Shape{w[0]})
      ctx.fail("input " + std::to_string(i) + " has shape " + shape_str(ctx.shape(i)) +
               ", expected [" + std::to_string(w[0]) + "]");
  }
  if (!ctx.has_input(binary::kAlphaInput)) ctx.fail("alpha (input 2) is required");
  if (ctx.has_input(binary::kMaskInput)) {
    ctx.require_dtype(binary::kMaskInput, {DType::kU64});
    if (ctx.shape(binary::kMaskInput) != w)
      ctx.fail("W_mask has shape " + shape_str(ctx.shape(binary::kMaskInput)) + ", expected " +
               shape_str(w));
  }
  binary::act_scale_of(ctx.node());
}

float bias_of(const KernelContext& ctx, int64_t m) {
  return ctx.has_input(binary::kBiasInput) ? ctx.input(binary::kBiasInput).data<float>()[m] : 0.0f;
}

void infer_binary_gemm(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32});
  const Shape& x = ctx.shape(0);
  if (x.size() != 2) ctx.fail("input X has shape " + shape_str(x) + ", expected [N, K]");
  infer_weights(ctx, x[1]);
  ctx.set_output(0, DType::kF32, {x[0], ctx.shape(binary::kSignInput)[0]});
}

void ref_binary_gemm(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const int64_t N = X.dim(0), K = X.dim(1), M = ctx.output(0).dim(1);
  const PackedWeights w = weights_of(ctx);
  const float* alpha = ctx.input(binary::kAlphaInput).data<float>();
  const ActScale scale = binary::act_scale_of(ctx.node());
  float* y = ctx.output(0).data<float>();
  for (int64_t n = 0; n < N; ++n) {
    const float* xn = X.data<float>() + n * K;
    const float beta = binary::sample_scale(scale, xn, K);  // "row" is the sample's row here
    for (int64_t m = 0; m < M; ++m) {
      int64_t dot = 0;
      for (int64_t k = 0; k < K; ++k) dot += binary::sign_of(xn[k]) * w.weight(m, k);
      y[n * M + m] = binary::output(alpha[m], beta, dot, bias_of(ctx, m));
    }
  }
}

std::vector<int64_t> spatial_of(const Shape& s) {
  return {s.begin() + 2, s.end()};
}

void infer_binary_conv(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32});
  const Shape& x = ctx.shape(0);
  if (x.size() < 3 || x.size() > 5)
    ctx.fail("input X has shape " + shape_str(x) + ", expected N x C x D1 [x D2 [x D3]]");
  const std::vector<int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  if (kernel.size() != x.size() - 2)
    ctx.fail("kernel_shape needs " + std::to_string(x.size() - 2) + " values for X " +
             shape_str(x));
  const int64_t group = ctx.node().attr_int("group", 1);
  if (group <= 0 || x[1] % group != 0)
    ctx.fail("group " + std::to_string(group) + " does not divide the " + std::to_string(x[1]) +
             " channels of X");
  int64_t k = x[1] / group;
  for (int64_t d : kernel) k *= d;
  infer_weights(ctx, k);
  const int64_t M = ctx.shape(binary::kSignInput)[0];
  if (M % group != 0)
    ctx.fail(std::to_string(M) + " output channels, not a multiple of group " +
             std::to_string(group));
  const WindowGeometry g = sliding_window(ctx.node(), spatial_of(x), kernel, false);
  Shape y{x[0], M};
  y.insert(y.end(), g.out.begin(), g.out.end());
  ctx.set_output(0, DType::kF32, y);
}

void ref_binary_conv(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const std::vector<int64_t> kernel = ctx.node().attr_ints("kernel_shape");
  const WindowGeometry g =
      as_3d(ctx.node(), sliding_window(ctx.node(), spatial_of(X.shape()), kernel, false));
  const int64_t N = X.dim(0), C = X.dim(1), M = ctx.output(0).dim(1);
  const int64_t group = ctx.node().attr_int("group", 1), Cg = C / group, Mg = M / group;
  const int64_t P = g.out_numel(), Pin = g.in_numel();
  const PackedWeights w = weights_of(ctx);
  const float* alpha = ctx.input(binary::kAlphaInput).data<float>();
  const ActScale scale = binary::act_scale_of(ctx.node());
  const int64_t K = Cg * g.kernel_numel();
  float* y = ctx.output(0).data<float>();
  for (int64_t n = 0; n < N; ++n) {
    const float* xn = X.data<float>() + n * C * Pin;
    const float beta_tensor = binary::sample_scale(scale, xn, C * Pin);
    for (int64_t gi = 0; gi < group; ++gi)
      for (int64_t p = 0; p < P; ++p) {
        const int64_t od = p / (g.out[1] * g.out[2]), oh = (p / g.out[2]) % g.out[1],
                      ow = p % g.out[2];
        // The receptive field's signs (0 in the padding), in k order.
        std::vector<int> sx(static_cast<size_t>(K), 0);
        double sum = 0;
        int64_t k = 0;
        for (int64_t c = gi * Cg; c < (gi + 1) * Cg; ++c)
          for (int64_t kd = 0; kd < g.kernel[0]; ++kd)
            for (int64_t kh = 0; kh < g.kernel[1]; ++kh)
              for (int64_t kw = 0; kw < g.kernel[2]; ++kw, ++k) {
                const int64_t id = od * g.strides[0] - g.pad_begin[0] + kd * g.dilations[0];
                const int64_t ih = oh * g.strides[1] - g.pad_begin[1] + kh * g.dilations[1];
                const int64_t iw = ow * g.strides[2] - g.pad_begin[2] + kw * g.dilations[2];
                if (id < 0 || id >= g.in[0] || ih < 0 || ih >= g.in[1] || iw < 0 || iw >= g.in[2])
                  continue;
                const float v = xn[c * Pin + (id * g.in[1] + ih) * g.in[2] + iw];
                sx[static_cast<size_t>(k)] = binary::sign_of(v);
                sum += std::abs(v);
              }
        const float beta = scale == ActScale::kRow ? binary::mean_abs(sum, K) : beta_tensor;
        for (int64_t m = gi * Mg; m < (gi + 1) * Mg; ++m) {
          int64_t dot = 0;
          for (k = 0; k < K; ++k) dot += sx[static_cast<size_t>(k)] * w.weight(m, k);
          y[(n * M + m) * P + p] = binary::output(alpha[m], beta, dot, bias_of(ctx, m));
        }
      }
  }
}

// One MAC per weight bit and output, and one parameter per weight, as for the float
// layer it replaces.
Work cost_binary(const CostContext& c) {
  Work w;
  const int64_t k = c.node.op_type == binary::kGemm
                        ? c.in[0][1]
                        : c.in[0][1] / c.node.attr_int("group", 1) *
                              shape_numel(c.node.attr_ints("kernel_shape"));
  w.macs = shape_numel(c.out[0]) * k;
  w.flops = 2 * shape_numel(c.out[0]);  // scale and bias
  // Weights (one per bit, not per uint64 word), alpha and the bias.
  const int64_t m = c.out[0][1];
  w.params =
      m * k + m + (c.in.size() > binary::kBiasInput && !c.in[binary::kBiasInput].empty() ? m : 0);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(BinaryGemm, OpDef{.op_type = binary::kGemm,
                                     .domain = binary::kDomain,
                                     .min_inputs = 3,
                                     .max_inputs = 5,
                                     .infer = infer_binary_gemm,
                                     .ref = ref_binary_gemm,
                                     .cost = cost_binary});
FRUGAL_REGISTER_OP(BinaryConv, OpDef{.op_type = binary::kConv,
                                     .domain = binary::kDomain,
                                     .min_inputs = 3,
                                     .max_inputs = 5,
                                     .infer = infer_binary_conv,
                                     .ref = ref_binary_conv,
                                     .cost = cost_binary});

}  // namespace frugal::ops
