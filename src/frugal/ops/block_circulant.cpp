// frugal.BlockCirculant's shape inference, cost and reference kernel (the direct product,
// accumulated in double): the oracle of the FFT kernels. ops/block_circulant.h.
#include "frugal/ops/block_circulant.h"

#include "frugal/ops/op.h"

namespace frugal::ops {

CirculantBlocks circulant_blocks(const Shape& weight, const ir::Node& node) {
  CirculantBlocks s{weight.at(0), weight.at(1), weight.at(2)};
  s.in = node.attr_int("in_features", s.padded_in());
  s.out = node.attr_int("out_features", s.padded_out());
  return s;
}

FeatureLayout feature_layout(const Shape& x, int64_t axis) {
  const auto rank = static_cast<int64_t>(x.size());
  if (axis < 0) axis += rank;
  FeatureLayout l;
  l.features = x.at(static_cast<size_t>(axis));
  for (int64_t d = 0; d < axis; ++d) l.outer *= x[static_cast<size_t>(d)];
  for (int64_t d = axis + 1; d < rank; ++d) l.inner *= x[static_cast<size_t>(d)];
  return l;
}

std::vector<float> circulant_dense(const float* w, const CirculantBlocks& s) {
  std::vector<float> m(static_cast<size_t>(s.out * s.in));
  for (int64_t r = 0; r < s.out; ++r)
    for (int64_t c = 0; c < s.in; ++c)
      m[static_cast<size_t>(r * s.in + c)] = w[s.weight_index(r, c)];
  return m;
}

namespace {

void check_features(const InferContext& ctx, const char* what, int64_t n, int64_t padded,
                    int64_t b) {
  if (n <= padded - b || n > padded)
    ctx.fail(std::string(what) + " " + std::to_string(n) + " does not fit the blocks: " +
             std::to_string(padded / b) + " blocks of " + std::to_string(b) + " cover " +
             std::to_string(padded - b + 1) + " to " + std::to_string(padded));
}

void infer_block_circulant(InferContext& ctx) {
  ctx.require_dtype(0, {DType::kF32});
  ctx.require_same_dtype(0, 1);
  const Shape& x = ctx.shape(0);
  const Shape& w = ctx.shape(1);
  if (w.size() != 3) ctx.fail("weight has shape " + shape_str(w) + ", expected [P, Q, b]");
  const CirculantBlocks s = circulant_blocks(w, ctx.node());
  if (s.b < 2 || (s.b & (s.b - 1)) != 0)
    ctx.fail("block size " + std::to_string(s.b) + " is not a power of two >= 2");
  check_features(ctx, "in_features", s.in, s.padded_in(), s.b);
  check_features(ctx, "out_features", s.out, s.padded_out(), s.b);
  if (x.empty()) ctx.fail("input X is a scalar");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", -1), static_cast<int64_t>(x.size()));
  if (x[static_cast<size_t>(axis)] != s.in)
    ctx.fail("input X " + shape_str(x) + " has " + std::to_string(x[static_cast<size_t>(axis)]) +
             " features on axis " + std::to_string(axis) + ", the layer expects " +
             std::to_string(s.in));
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    if (ctx.shape(2) != Shape{s.out})
      ctx.fail("bias has shape " + shape_str(ctx.shape(2)) + ", expected [" +
               std::to_string(s.out) + "]");
  }
  Shape y = x;
  y[static_cast<size_t>(axis)] = s.out;
  ctx.set_output(0, DType::kF32, y);
}

void ref_block_circulant(KernelContext& ctx) {
  const Tensor& X = ctx.input(0);
  const CirculantBlocks s = circulant_blocks(ctx.input(1).shape(), ctx.node());
  const FeatureLayout l = feature_layout(X.shape(), ctx.node().attr_int("axis", -1));
  const float* x = X.data<float>();
  const float* w = ctx.input(1).data<float>();
  const float* bias = ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
  float* y = ctx.output(0).data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t t = 0; t < l.inner; ++t) {
      const float* xs = x + o * s.in * l.inner + t;
      float* ys = y + o * s.out * l.inner + t;
      for (int64_t r = 0; r < s.out; ++r) {
        double acc = bias ? bias[r] : 0.0;
        for (int64_t c = 0; c < s.in; ++c)
          acc += double(w[s.weight_index(r, c)]) * double(xs[c * l.inner]);
        ys[r * l.inner] = static_cast<float>(acc);
      }
    }
}

// The direct product's multiply-accumulates (what the reference kernel does; the FFT
// kernels do O(b log b) per block and row instead of b^2).
Work cost_block_circulant(const CostContext& c) {
  const CirculantBlocks s = circulant_blocks(c.in[1], c.node);
  const FeatureLayout l = feature_layout(c.in[0], c.node.attr_int("axis", -1));
  return Work{.macs = l.outer * l.inner * s.out * s.in};
}

}  // namespace

FRUGAL_REGISTER_OP(BlockCirculant, OpDef{.op_type = kBlockCirculant,
                                         .domain = kFrugalDomain,
                                         .min_inputs = 2,
                                         .max_inputs = 3,
                                         .infer = infer_block_circulant,
                                         .ref = ref_block_circulant,
                                         .cost = cost_block_circulant});

}  // namespace frugal::ops
