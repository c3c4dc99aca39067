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
  // The mask flattened as [mn, mq, mk]: batch j reads mask matrix (j / mask_every) % mn.
  // Its leading dimensions are 1s (the mask repeats: Swin's relative position bias, one
  // per head, for every window), then the batch's own (mn their product), then 1s (each
  // matrix serves `mask_every` consecutive batches: one mask per sequence for every head).
  // mq, mk are Tq or 1, Tk or 1.
  bool has_mask = false;
  int64_t mn = 1, mq = 1, mk = 1, mask_every = 1;
};

void flatten_mask(const Shape& batch, Shape mask, Problem& p) {
  mask.insert(mask.begin(), batch.size() + 2 - std::min(mask.size(), batch.size() + 2), 1);
  p.mq = mask[batch.size()];
  p.mk = mask[batch.size() + 1];
  size_t split = batch.size();
  while (split > 0 && mask[split - 1] == 1) --split;
  size_t from = 0;
  while (from < split && mask[from] == 1) ++from;
  p.mask_every = 1;
  p.mn = 1;
  for (size_t i = 0; i < batch.size(); ++i) {
    if (i >= from && i < split && mask[i] != batch[i])
      decline("mask " + shape_str(mask) + " broadcasts inside the batch dimensions");
    if (i >= split) p.mask_every *= batch[i];
    if (i >= from && i < split) p.mn *= batch[i];
  }
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

// The batches per chunk: the most whose scores fit kChunkScoreBytes, dividing n, and
// reading the masks as one block: within a run sharing one mask matrix (mask_every > 1);
// else mask matrices in a row, c dividing mn, or, when the mask is a constant that
// repeats (`tileable`), c a multiple of mn (the kernel then holds c / mn copies of it).
int64_t chunk_of(const Problem& p, bool tileable) {
  const int64_t limit = std::max<int64_t>(1, kChunkScoreBytes / (4 * p.tq * p.tk));
  auto reads_mask_as_block = [&](int64_t c) {
    if (!p.has_mask) return true;
    if (p.mask_every > 1) return p.mask_every % c == 0;
    return p.mn % c == 0 || (tileable && c % p.mn == 0);
  };
  int64_t c = 1;
  for (int64_t i = 1; i <= std::min(limit, p.n); ++i)
    if (p.n % i == 0 && reads_mask_as_block(i)) c = i;
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

// A constant mask [mn, mq, mk] repeated `copies` times, for chunks of copies x mn batches.
Tensor tiled_mask(const Tensor& mask, const Problem& p, int64_t copies) {
  Tensor t(DType::kF32, {copies * p.mn, p.mq, p.mk});
  for (int64_t i = 0; i < copies; ++i)
    std::copy_n(mask.data<float>(), mask.numel(), t.data<float>() + i * mask.numel());
  return t;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_attention(const Build& b) {
  const Problem p = problem_of(b);
  const Tensor* constant_mask = p.has_mask ? b.constant(3) : nullptr;
  const int64_t c = chunk_of(p, constant_mask != nullptr && p.mn < p.n);
  const bool tiled = p.has_mask && p.mask_every == 1 && c > p.mn;
  const Primitives pr =
      primitives_of(p, c, b.node().attr_float("scale", 1.0f), b.context->engine());
  auto k = std::make_unique<OnednnKernel>(b.context);
  const dnnl::memory q = k->bind_input(0, plain_md(b.in_shape(0), dt::f32));
  const dnnl::memory kk = k->bind_input(1, plain_md(b.in_shape(1), dt::f32));
  const dnnl::memory v = k->bind_input(2, plain_md(b.in_shape(2), dt::f32));
  dnnl::memory m;
  if (tiled)
    m = k->constant_as(tiled_mask(*constant_mask, p, c / p.mn), pr.m, pr.m);
  else if (p.has_mask)
    m = k->bind_input(3, plain_md(b.in_shape(3), dt::f32));
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
      const int64_t mj = tiled ? 0 : (j / p.mask_every) % p.mn;
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
  k->add_note("chunks of " + std::to_string(c) + (tiled ? ", mask tiled" : ""));
  return k;
}

}  // namespace frugal::kernels::cpu
