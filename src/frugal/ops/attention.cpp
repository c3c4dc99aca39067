// Attention (domain "frugal"): scaled dot-product attention as one node, what the
// fuse_attention pass (passes/fuse_patterns.h) makes of the MatMul, scale, mask Add,
// Softmax, MatMul chain that exporters write:
//   Y = Softmax(scale * Q Kᵀ + Mask, last axis) V
// Q is [..., Tq, d], V [..., Tk, dv], K [..., Tk, d], or K^T [..., d, Tk] when the
// attribute k_transposed is 1 (the exporter's own transposed K, when no Transpose could be
// absorbed). The leading dimensions of Q, K and V are equal; the optional float Mask
// broadcasts to [..., Tq, Tk] (numpy rules). Y is [..., Tq, dv].
#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

// The problem's sizes, from the three operand shapes.
struct Dims {
  Shape batch;  // the leading dimensions
  int64_t tq = 0, tk = 0, d = 0, dv = 0;
  int64_t batches() const { return shape_numel(batch); }
};

template <typename Ctx>
Dims attention_dims(const Ctx& ctx, const Shape& q, const Shape& k, const Shape& v) {
  if (q.size() < 2 || k.size() != q.size() || v.size() != q.size())
    ctx.fail("Q, K and V must have the same rank >= 2, not " + shape_str(q) + ", " + shape_str(k) +
             ", " + shape_str(v));
  const size_t r = q.size();
  const bool kt = ctx.node().attr_int("k_transposed", 0) != 0;
  Dims s{Shape(q.begin(), q.end() - 2), q[r - 2], kt ? k[r - 1] : k[r - 2], q[r - 1], v[r - 1]};
  const bool same_batch = std::equal(s.batch.begin(), s.batch.end(), k.begin()) &&
                          std::equal(s.batch.begin(), s.batch.end(), v.begin());
  if (!same_batch || (kt ? k[r - 2] : k[r - 1]) != s.d || v[r - 2] != s.tk)
    ctx.fail("Q " + shape_str(q) + (kt ? ", K^T " : ", K ") + shape_str(k) + " and V " +
             shape_str(v) + " do not form an attention");
  return s;
}

Shape scores_shape(const Dims& s) {
  Shape sc = s.batch;
  sc.push_back(s.tq);
  sc.push_back(s.tk);
  return sc;
}

void infer_attention(InferContext& ctx) {
  for (size_t i = 0; i < 4; ++i)
    if (ctx.has_input(i)) ctx.require_dtype(i, {DType::kF32});
  const Dims s = attention_dims(ctx, ctx.shape(0), ctx.shape(1), ctx.shape(2));
  if (ctx.has_input(3)) {
    const Shape& m = ctx.shape(3);
    const Shape sc = scores_shape(s);
    bool fits = m.size() <= sc.size();
    for (size_t i = 0; fits && i < m.size(); ++i) {
      const int64_t md = m[m.size() - 1 - i];
      fits = md == 1 || md == sc[sc.size() - 1 - i];
    }
    if (!fits)
      ctx.fail("Mask " + shape_str(m) + " does not broadcast to the scores " + shape_str(sc));
  }
  Shape y = s.batch;
  y.push_back(s.tq);
  y.push_back(s.dv);
  ctx.set_output(0, DType::kF32, y);
}

// One (batch, query row): scores in double, softmax, then the weighted sum of V's rows.
void attention_row(const float* q, const float* k, const float* v, const float* mask, const Dims& s,
                   bool kt, double scale, std::vector<double>& p, float* y) {
  double best = -INFINITY;
  for (int64_t j = 0; j < s.tk; ++j) {
    double dot = 0;
    for (int64_t c = 0; c < s.d; ++c) dot += double(q[c]) * (kt ? k[c * s.tk + j] : k[j * s.d + c]);
    p[j] = scale * dot + (mask ? double(mask[j]) : 0.0);
    best = std::max(best, p[j]);
  }
  double sum = 0;
  for (int64_t j = 0; j < s.tk; ++j) sum += p[j] = std::exp(p[j] - best);
  for (int64_t c = 0; c < s.dv; ++c) {
    double acc = 0;
    for (int64_t j = 0; j < s.tk; ++j) acc += p[j] * v[j * s.dv + c];
    y[c] = static_cast<float>(acc / sum);
  }
}

void ref_attention(KernelContext& ctx) {
  const Tensor &Q = ctx.input(0), &K = ctx.input(1), &V = ctx.input(2);
  const Dims s = attention_dims(ctx, Q.shape(), K.shape(), V.shape());
  const bool kt = ctx.node().attr_int("k_transposed", 0) != 0;
  const double scale = ctx.node().attr_float("scale", 1.0f);
  Tensor mask;
  if (ctx.has_input(3)) {
    mask = Tensor(DType::kF32, scores_shape(s));
    elementwise::broadcast_copy<float>(ctx.input(3), mask);
  }
  std::vector<double> p(static_cast<size_t>(s.tk));
  float* y = ctx.output(0).data<float>();
  for (int64_t b = 0; b < s.batches(); ++b)
    for (int64_t i = 0; i < s.tq; ++i)
      attention_row(Q.data<float>() + (b * s.tq + i) * s.d, K.data<float>() + b * s.tk * s.d,
                    V.data<float>() + b * s.tk * s.dv,
                    mask.defined() ? mask.data<float>() + (b * s.tq + i) * s.tk : nullptr, s, kt,
                    scale, p, y + (b * s.tq + i) * s.dv);
}

// The two products, plus the scale, mask and softmax per score (about 5 operations).
Work cost_attention(const CostContext& c) {
  const Shape &q = c.in[0], &v = c.in[2];
  const int64_t batches_tq = shape_numel(q) / q.back();
  const int64_t tk = v[v.size() - 2];
  Work w;
  w.macs = batches_tq * tk * (q.back() + v.back());
  w.flops = 5 * batches_tq * tk;
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(Attention, OpDef{.op_type = "Attention",
                                    .domain = "frugal",
                                    .min_inputs = 3,
                                    .max_inputs = 4,
                                    .infer = infer_attention,
                                    .ref = ref_attention,
                                    .cost = cost_attention});

}  // namespace frugal::ops
