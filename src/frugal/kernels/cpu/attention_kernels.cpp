// Attention (ops/attention.cpp) on oneDNN: per chunk of the flattened batch (heads), the
// scores S = Q Kᵀ with the scale as the matmul's output scale, the mask added in place,
// the softmax in place, then S V into the output. K is read through strides (no Transpose
// copy), and S lives in one chunk-sized buffer that stays in cache between the three steps
// instead of a [batch, heads, Tq, Tk] tensor written and read back by three kernels.
#include <algorithm>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using dims = dnnl::memory::dims;

// Scores per chunk kept under this size, so that S stays in L2 between the steps.
constexpr int64_t kChunkScoreBytes = 1 << 20;

struct Problem {
  int64_t n = 1;  // flattened leading dimensions
  int64_t tq = 0, tk = 0, d = 0, dv = 0;
  bool k_transposed = false;
  // The mask flattened as [mn, mq, mk]: mn is n (one mask per batch) or 1 (one mask per
  // `mask_every` consecutive batches); mq, mk are Tq or 1, Tk or 1.
  bool has_mask = false;
  int64_t mn = 1, mq = 1, mk = 1, mask_every = 1;
};

// The mask's leading dimensions must be the batch's up to some axis and 1 after it, so
// that each run of `mask_every` flattened batches shares one mask matrix.
void flatten_mask(const Shape& batch, Shape mask, Problem& p) {
  mask.insert(mask.begin(), batch.size() + 2 - std::min(mask.size(), batch.size() + 2), 1);
  p.mq = mask[batch.size()];
  p.mk = mask[batch.size() + 1];
  size_t split = batch.size();
  while (split > 0 && mask[split - 1] == 1) --split;
  p.mask_every = 1;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i < split && mask[i] != batch[i])
      decline("mask " + shape_str(mask) + " broadcasts inside the batch dimensions");
    if (i >= split) p.mask_every *= batch[i];
  }
  p.mn = p.mask_every == 1 ? p.n : p.n / p.mask_every;
}

Problem problem_of(const Build& b) {
  const Shape& q = b.in_shape(0);
  const Shape& v = b.in_shape(2);
  const size_t r = q.size();
  Problem p;
  const Shape batch(q.begin(), q.end() - 2);
  p.n = shape_numel(batch);
  p.tq = q[r - 2];
  p.d = q[r - 1];
  p.tk = v[r - 2];
  p.dv = v[r - 1];
  p.k_transposed = b.node().attr_int("k_transposed", 0) != 0;
  p.has_mask = b.has_input(3);
  if (p.has_mask) flatten_mask(batch, b.in_shape(3), p);
  return p;
}

// The largest chunk of batches whose scores fit kChunkScoreBytes and that never splits a
// run sharing one mask matrix (or, one mask per batch, any divisor of n).
int64_t chunk_of(const Problem& p) {
  const int64_t limit = std::max<int64_t>(1, kChunkScoreBytes / (4 * p.tq * p.tk));
  const int64_t within = p.has_mask && p.mask_every > 1 ? p.mask_every : p.n;
  int64_t c = 1;
  for (int64_t i = 1; i <= std::min(limit, within); ++i)
    if (within % i == 0) c = i;
  return c;
}

dnnl::memory::desc plain3(int64_t a, int64_t b, int64_t c) {
  return dnnl::memory::desc(dims{a, b, c}, dt::f32, dims{b * c, c, 1});
}

struct Primitives {
  dnnl::matmul::primitive_desc scores, values;
  dnnl::binary::primitive_desc mask;
  dnnl::softmax_v2_forward::primitive_desc softmax;
  dnnl::memory::desc q, kt, v, s, y, m;
};

Primitives primitives_of(const Problem& p, int64_t c, float scale, const dnnl::engine& e) {
  Primitives r;
  r.q = plain3(c, p.tq, p.d);
  // Kᵀ [c, d, Tk] read from K [c, Tk, d] through its strides when not given transposed.
  r.kt = p.k_transposed ? plain3(c, p.d, p.tk)
                        : dnnl::memory::desc(dims{c, p.d, p.tk}, dt::f32, dims{p.tk * p.d, 1, p.d});
  r.v = plain3(c, p.tk, p.dv);
  r.s = plain3(c, p.tq, p.tk);
  r.y = plain3(c, p.tq, p.dv);
  dnnl::primitive_attr scaled = scratchpad_attr();
  scaled.set_output_scales(0, {scale});
  r.scores = {dnnl::matmul::desc(r.q, r.kt, r.s), scaled, e};
  if (p.has_mask) {
    r.m = plain3(p.mask_every > 1 ? 1 : c, p.mq, p.mk);
    r.mask = {dnnl::binary::desc(dnnl::algorithm::binary_add, r.s, r.m, r.s), scratchpad_attr(), e};
  }
  r.softmax = {dnnl::softmax_v2_forward::desc(dnnl::prop_kind::forward_inference,
                                              dnnl::algorithm::softmax_accurate, r.s, r.s, 2),
               scratchpad_attr(), e};
  r.values = {dnnl::matmul::desc(r.s, r.v, r.y), scratchpad_attr(), e};
  return r;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_attention(const Build& b) {
  const Problem p = problem_of(b);
  const int64_t c = chunk_of(p);
  const Primitives pr =
      primitives_of(p, c, b.node().attr_float("scale", 1.0f), b.context->engine());
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory q = k->bind_input(0, plain_md(b.in_shape(0), dt::f32));
  const dnnl::memory kk = k->bind_input(1, plain_md(b.in_shape(1), dt::f32));
  const dnnl::memory v = k->bind_input(2, plain_md(b.in_shape(2), dt::f32));
  const dnnl::memory m =
      p.has_mask ? k->bind_input(3, plain_md(b.in_shape(3), dt::f32)) : dnnl::memory();
  const dnnl::memory y = k->bind_output(0, plain_md(b.out_shape(0), dt::f32));
  const dnnl::memory s = k->buffer(pr.s);
  const dnnl::matmul scores(pr.scores), values(pr.values);
  const dnnl::softmax_v2_forward softmax(pr.softmax);
  const dnnl::binary mask = p.has_mask ? dnnl::binary(pr.mask) : dnnl::binary();
  for (int64_t j = 0; j < p.n; j += c) {
    auto at = [&](int64_t batch, int64_t rows, int64_t cols) {
      return static_cast<size_t>(batch * rows * cols) * sizeof(float);
    };
    k->add_step(pr.scores, scores,
                {{DNNL_ARG_SRC, k->view_of(q, pr.q, at(j, p.tq, p.d))},
                 {DNNL_ARG_WEIGHTS, k->view_of(kk, pr.kt, at(j, p.tk, p.d))},
                 {DNNL_ARG_DST, s}});
    if (p.has_mask) {
      const int64_t mj = p.mask_every > 1 ? j / p.mask_every : j;
      k->add_step(pr.mask, mask,
                  {{DNNL_ARG_SRC_0, s},
                   {DNNL_ARG_SRC_1, k->view_of(m, pr.m, at(mj, p.mq, p.mk))},
                   {DNNL_ARG_DST, s}},
                  false);
    }
    k->add_step(pr.softmax, softmax, {{DNNL_ARG_SRC, s}, {DNNL_ARG_DST, s}}, false);
    k->add_step(pr.values, values,
                {{DNNL_ARG_SRC, s},
                 {DNNL_ARG_WEIGHTS, k->view_of(v, pr.v, at(j, p.tk, p.dv))},
                 {DNNL_ARG_DST, k->view_of(y, pr.y, at(j, p.tq, p.dv))}},
                false);
  }
  k->add_note("chunks of " + std::to_string(c));
  return k;
}

}  // namespace frugal::kernels::cpu
