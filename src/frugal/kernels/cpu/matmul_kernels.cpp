// Gemm and MatMul on oneDNN's matmul primitive. Constant B is reordered once into the
// primitive's preferred layout (with Gemm's alpha folded in); Gemm's C is the primitive's
// bias when constant, else a binary post-op.
#include <algorithm>
#include <cstdlib>
#include <optional>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/kernels/cpu/squeeze_excite.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

Tensor scaled(const Tensor& t, float factor) {
  Tensor s = t.clone();
  for (float& v : s.span<float>()) v *= factor;
  return s;
}

// A constant 2-D weight under an activation of rank >= 3 ([B, T, K] x [K, N]) runs as one
// 2-D GEMM of [B*T, K] x [K, N]: oneDNN 2.6 offers its blocked weight layout only to 2-D
// matmuls, and with plain weights its brgemm matmul repacks them at every run. The sum
// operand must then have a 2-D view too: the full output, or one row broadcast ([N]).
// FRUGAL_NO_MATMUL_ROWS=1 keeps the batched form, for A/B measurements.
bool rows_enabled() {
  const char* off = std::getenv("FRUGAL_NO_MATMUL_ROWS");
  return !off || std::string(off) != "1";
}

struct RowsView {
  Shape a, w, y;                       // 2-D shapes
  std::optional<ops::TensorInfo> sum;  // the sum operand's 2-D view
  // The node with that view as its sum operand (`sum` pointed to once in place).
  kernels::NodeView view(const kernels::NodeView& node) const {
    kernels::NodeView v = node;
    if (sum) v.inputs.back() = &*sum;
    return v;
  }
};

std::optional<RowsView> as_rows(const Build& b) {
  const Shape& a = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  if (!b.constant(1) || w.size() != 2 || a.size() < 3) return std::nullopt;
  RowsView r;
  int64_t rows = 1;
  for (size_t d = 0; d + 1 < a.size(); ++d) rows *= a[d];
  r.a = {rows, a.back()};
  r.w = w;
  r.y = {rows, w[1]};
  const size_t index = sum_operand_index(b.node().op_type);
  const bool has_sum = b.view.inputs.size() > index && b.has_input(index);
  if (!has_sum) return r;
  const ops::TensorInfo& s = *b.view.inputs[index];
  if (!s.shape) return std::nullopt;
  const Shape full = with_rank(*s.shape, a.size());
  Shape y = a;
  y.back() = w[1];
  int64_t lead = 1;
  for (size_t d = 0; d + 1 < full.size(); ++d) lead *= full[d];
  if (full.back() != w[1] || (full != y && lead != 1)) return std::nullopt;
  r.sum = s;
  r.sum->shape = Shape{full == y ? rows : 1, w[1]};
  return r;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_gemm(const Build& b) {
  if (auto gemv = make_gemv(b)) return gemv;
  const ir::Node& n = b.node();
  const bool trans_a = n.attr_int("transA", 0) != 0;
  const bool trans_b = n.attr_int("transB", 0) != 0;
  const float alpha = n.attr_float("alpha", 1.0f);
  const float beta = n.attr_float("beta", 1.0f);
  const Shape& y = b.out_shape(0);
  const int64_t m = y[0], nn = y[1];
  const int64_t k = trans_a ? b.in_shape(0)[0] : b.in_shape(0)[1];

  // A and B as they lie in memory, transposition expressed by strides.
  const dnnl::memory::desc a_boundary(
      {m, k}, dt::f32, trans_a ? dnnl::memory::dims{1, m} : dnnl::memory::dims{k, 1});
  const dnnl::memory::desc b_boundary(
      {k, nn}, dt::f32, trans_b ? dnnl::memory::dims{1, k} : dnnl::memory::dims{nn, 1});
  const bool f32 = b.compute_type() == dt::f32;
  const dnnl::memory::desc src = f32 ? a_boundary : dnnl::memory::desc({m, k}, dt::bf16, tag::ab);

  // alpha goes into constant weights; otherwise it scales the product.
  Tensor weights;
  float scale = alpha;
  if (const Tensor* bc = b.constant(1)) {
    weights = alpha == 1.0f ? *bc : scaled(*bc, alpha);
    scale = 1.0f;
  }
  const dnnl::memory::desc wei =
      weights.defined() ? dnnl::memory::desc({k, nn}, b.compute_type(), tag::any)
                        : (f32 ? b_boundary : dnnl::memory::desc({k, nn}, dt::bf16, tag::ab));
  const dnnl::memory::desc dst = plain_md(y, dt::f32);

  // C: the bias (beta folded in) when constant and nothing scales the product after it;
  // else added by a post-op as beta * (scale / beta * AB + C).
  const bool has_c = own_input_count(b.view) > 2 && b.has_input(2) && beta != 0.0f;
  const Shape c_shape = has_c ? with_rank(b.in_shape(2), 2) : Shape{};
  Tensor bias;
  PostOpChain chain;
  if (has_c && b.constant(2) && scale == 1.0f) {
    bias = beta == 1.0f ? *b.constant(2) : scaled(*b.constant(2), beta);
  } else if (has_c) {
    scale /= beta;
    chain.add_binary(dnnl::algorithm::binary_add, 2, plain_md(c_shape, dt::f32));
    if (beta != 1.0f) chain.add_eltwise(dnnl::algorithm::eltwise_linear, beta, 0.0f);
  }
  chain.add_node_post_ops(b.view, y);

  dnnl::primitive_attr attr = scratchpad_attr();
  if (scale != 1.0f) attr.set_output_scales(0, {scale});
  if (!chain.empty()) attr.set_post_ops(chain.ops());
  const dnnl::memory::desc bias_md =
      bias.defined() ? plain_md(c_shape, dt::f32) : dnnl::memory::desc();
  const dnnl::matmul::desc d = bias.defined() ? dnnl::matmul::desc(src, wei, bias_md, dst)
                                              : dnnl::matmul::desc(src, wei, dst);
  const dnnl::matmul::primitive_desc pd(d, attr, b.context->engine());

  auto kernel = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = kernel->input_as(0, a_boundary, pd.src_desc());
  args[DNNL_ARG_WEIGHTS] = weights.defined()
                               ? kernel->constant_as(weights, b_boundary, pd.weights_desc())
                               : kernel->input_as(1, b_boundary, pd.weights_desc());
  if (bias.defined()) args[DNNL_ARG_BIAS] = kernel->constant_as(bias, bias_md, pd.bias_desc());
  args[DNNL_ARG_DST] = kernel->output_as(0, dst, pd.dst_desc());
  chain.bind(*kernel, args);
  kernel->add_step(pd, dnnl::matmul(pd), std::move(args));
  return kernel;
}

std::unique_ptr<kernels::Kernel> make_matmul(const Build& b) {
  const Shape& a = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  if ((a.size() == 1 || w.size() == 1) && b.node().has_attr(kPostOpsAttr))
    decline("post-ops on a MatMul with a 1-D operand not implemented");
  // numpy's vectors as matrices: A [K] is 1 x K, B [K] is K x 1; then equal ranks.
  Shape a2 = a.size() == 1 ? Shape{1, a[0]} : a;
  Shape w2 = w.size() == 1 ? Shape{w[0], 1} : w;
  const size_t rank = std::max(a2.size(), w2.size());
  if (rank > DNNL_MAX_NDIMS)
    decline("rank " + std::to_string(rank) + " above oneDNN's " + std::to_string(DNNL_MAX_NDIMS));
  a2 = with_rank(a2, rank);
  w2 = with_rank(w2, rank);
  Shape y2(rank);
  for (size_t d = 0; d + 2 < rank; ++d) y2[d] = std::max(a2[d], w2[d]);
  y2[rank - 2] = a2[rank - 2];
  y2[rank - 1] = w2[rank - 1];
  std::optional<RowsView> rows = rows_enabled() ? as_rows(b) : std::nullopt;
  if (rows) {
    a2 = rows->a;
    w2 = rows->w;
    y2 = rows->y;
  }

  const dnnl::memory::desc a_boundary = plain_md(a2, dt::f32);
  const dnnl::memory::desc w_boundary = plain_md(w2, dt::f32);
  const dnnl::memory::desc dst = plain_md(y2, dt::f32);
  PostOpChain chain;
  chain.add_node_post_ops(rows ? rows->view(b.view) : b.view, y2);
  dnnl::primitive_attr attr = scratchpad_attr();
  if (!chain.empty()) attr.set_post_ops(chain.ops());

  const Tensor* constant_w = b.constant(1);
  auto make_pd = [&](bool any_weights) {
    const dnnl::memory::desc wei = any_weights ? dnnl::memory::desc(w2, b.compute_type(), tag::any)
                                               : plain_md(w2, b.compute_type());
    return dnnl::matmul::primitive_desc(
        dnnl::matmul::desc(plain_md(a2, b.compute_type()), wei, dst), attr, b.context->engine());
  };
  dnnl::matmul::primitive_desc pd;
  if (constant_w) {
    // A preferred layout is not offered for every batch shape: then plain weights.
    try {
      pd = make_pd(true);
    } catch (const dnnl::error&) {
      pd = make_pd(false);
    }
  } else {
    pd = make_pd(false);
  }

  auto kernel = std::make_unique<OnednnKernel>(b.context);
  Args args;
  args[DNNL_ARG_SRC] = kernel->input_as(0, a_boundary, pd.src_desc());
  args[DNNL_ARG_WEIGHTS] =
      constant_w ? kernel->graph_constant_as(*constant_w, w_boundary, pd.weights_desc())
                 : kernel->input_as(1, w_boundary, pd.weights_desc());
  args[DNNL_ARG_DST] = kernel->output_as(0, dst, pd.dst_desc());
  chain.bind(*kernel, args);
  kernel->add_step(pd, dnnl::matmul(pd), std::move(args));
  return kernel;
}

}  // namespace frugal::kernels::cpu
