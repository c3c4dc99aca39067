#include "frugal/kernels/cpu/sparse_kernels.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/kernels/cpu/sparse_matmul.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cpu {

namespace {

// ---- work split and the parallel product ----

// Rows [r0, r1) cut into T parts of about equal stored work (values or blocks, plus one per
// row), at block-row boundaries; part t.
std::pair<int64_t, int64_t> row_share(const SparseMatrix& a, int64_t r0, int64_t r1, int t, int T) {
  const int64_t R = a.block_rows;
  const int64_t u0 = r0 / R, u1 = (r1 + R - 1) / R;
  auto work = [&](int64_t u) { return static_cast<int64_t>(a.ptr[u] - a.ptr[u0]) + (u - u0); };
  const int64_t total = work(u1);
  auto cut = [&](int i) -> int64_t {
    if (i <= 0) return u0;
    if (i >= T) return u1;
    const int64_t target = total * i / T;
    int64_t lo = u0, hi = u1;  // first u with work(u) >= target
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (work(mid) >= target)
        hi = mid;
      else
        lo = mid + 1;
    }
    return lo;
  };
  return {std::min(r1, std::max(r0, cut(t) * R)), std::min(r1, cut(t + 1) * R)};
}

struct Product {
  const SparseMatrix* a;
  SparseIsa isa;
  int64_t r0, r1;
  const float* b;
  int64_t ldb, cols;
  float* c;
  int64_t ldc;
  const float* bias;
};

// Below this many multiply-adds a second thread costs more than it saves.
constexpr int64_t kMinParallelWork = 32 * 1024;

void run_product(Product p, int threads) {
  const SparseMatrix& a = *p.a;
  const int64_t R = a.block_rows;
  const int64_t stored = a.ptr[(p.r1 + R - 1) / R] - a.ptr[p.r0 / R];
  const int64_t work =
      stored * (a.format == SparseFormat::kCsr || a.format == SparseFormat::kBitmap ? 1 : 16 * R) *
      p.cols;
  if (threads <= 1 || work < kMinParallelWork) {
    sparse_matmul(p.isa, a, p.r0, p.r1, p.b, p.ldb, p.cols, p.c, p.ldc, p.bias);
    return;
  }
  parallel_run(
      threads,
      [](void* d, int t, int T) {
        const Product& q = *static_cast<const Product*>(d);
        const auto [lo, hi] = row_share(*q.a, q.r0, q.r1, t, T);
        sparse_matmul(q.isa, *q.a, lo, hi, q.b, q.ldb, q.cols, q.c, q.ldc, q.bias);
      },
      &p);
}

// ---- post-ops ----

struct NoSparse {
  std::string why;
};
[[noreturn]] void no_sparse(std::string why) {
  throw NoSparse{std::move(why)};
}

class PostOpList {
 public:
  explicit PostOpList(const Build& b) {
    if (!ops::has_post_ops(b.node())) return;
    try {
      list_ = ops::post_ops_of(b.node());
    } catch (const UserError& e) {
      no_sparse(e.what());
    }
    if (ops::has_sum(list_)) {
      sum_index_ = ops::sum_operand_index(b.node().op_type);
      if (!b.has_input(*sum_index_)) no_sparse("post-op 'sum' without its operand");
    }
  }
  // Applies the list to `y` in order (the sum operand broadcast by ops' reference when its
  // shape differs from y's).
  void apply(ops::KernelContext& ctx) const {
    if (list_.empty()) return;
    Tensor& y = ctx.output(0);
    const Tensor* sum = sum_index_ ? &ctx.input(*sum_index_) : nullptr;
    if (sum && sum->shape() != y.shape()) {
      ops::apply_post_ops(list_, y, sum);
      return;
    }
    float* d = y.data<float>();
    const int64_t n = y.numel();
    using K = ops::PostOp::Kind;
    for (const ops::PostOp& p : list_) {
      switch (p.kind) {
        case K::kRelu:
          for (int64_t i = 0; i < n; ++i) d[i] = d[i] > 0.0f ? d[i] : 0.0f;
          break;
        case K::kLeakyRelu:
          for (int64_t i = 0; i < n; ++i) d[i] = d[i] >= 0.0f ? d[i] : p.a * d[i];
          break;
        case K::kClip:
          for (int64_t i = 0; i < n; ++i) d[i] = std::min(std::max(d[i], p.a), p.b);
          break;
        case K::kSigmoid:
          for (int64_t i = 0; i < n; ++i) d[i] = 1.0f / (1.0f + std::exp(-d[i]));
          break;
        case K::kHardSwish:
          for (int64_t i = 0; i < n; ++i)
            d[i] = d[i] * std::min(std::max(d[i] / 6.0f + 0.5f, 0.0f), 1.0f);
          break;
        case K::kHardSigmoid:
          for (int64_t i = 0; i < n; ++i) d[i] = std::min(std::max(p.a * d[i] + p.b, 0.0f), 1.0f);
          break;
        case K::kLinear:
          for (int64_t i = 0; i < n; ++i) d[i] = p.a * d[i] + p.b;
          break;
        case K::kSwish:
          for (int64_t i = 0; i < n; ++i) d[i] = d[i] / (1.0f + std::exp(-d[i]));
          break;
        case K::kGelu:
        case K::kGeluTanh:
          ops::apply_post_ops({p}, y, nullptr);  // ops' definition, erf or tanh per element
          break;
        case K::kSum: {
          const float* s = sum->data<float>();
          for (int64_t i = 0; i < n; ++i) d[i] += s[i];
          break;
        }
      }
    }
  }
  bool empty() const { return list_.empty(); }

 private:
  std::vector<ops::PostOp> list_;
  std::optional<size_t> sum_index_;
};

std::string two_decimals(double s) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f", s);
  return buf;
}

class SparseKernel : public kernels::Kernel {
 public:
  SparseKernel(const Build& b, const SparseChoice& choice, const float* dense, int64_t rows,
               int64_t cols)
      : post_(b),
        isa_(best_sparse_isa()),
        a_(encode_sparse(*choice.format, dense, rows, cols, cols)),
        impl_("sparse:" + std::string(sparse_format_name(*choice.format)) + ":" +
              sparse_isa_name(isa_) + " s=" + two_decimals(choice.sparsity) + " (" + choice.reason +
              ")") {}
  std::string impl() const override { return impl_; }

 protected:
  PostOpList post_;
  SparseIsa isa_;
  SparseMatrix a_;
  std::string impl_;
};

// ---- Gemm and MatMul: Y [M, N] = X [M, K] W [K, N] (+ bias), computed as Y^T = W^T X^T ----

class SparseGemmKernel final : public SparseKernel {
 public:
  SparseGemmKernel(const Build& b, const SparseChoice& choice, const std::vector<float>& wt,
                   int64_t m, int64_t k, int64_t n, bool x_transposed, std::vector<float> bias)
      : SparseKernel(b, choice, wt.data(), n, k),
        m_(m),
        k_(k),
        n_(n),
        x_transposed_(x_transposed),
        bias_(std::move(bias)) {
    if (m_ > 1) {
      if (!x_transposed_) xt_.resize(k_ * m_);
      ct_.resize(n_ * m_);
    }
  }

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const float* bias = bias_.empty() ? nullptr : bias_.data();
    const int threads = num_threads();
    if (m_ == 1) {
      run_product({&a_, isa_, 0, n_, x, 1, 1, y, 1, bias}, threads);
    } else {
      const float* xt = x;
      if (!x_transposed_) {
        for (int64_t i = 0; i < m_; ++i)
          for (int64_t kk = 0; kk < k_; ++kk) xt_[kk * m_ + i] = x[i * k_ + kk];
        xt = xt_.data();
      }
      run_product({&a_, isa_, 0, n_, xt, m_, m_, ct_.data(), m_, bias}, threads);
      for (int64_t i = 0; i < m_; ++i)
        for (int64_t j = 0; j < n_; ++j) y[i * n_ + j] = ct_[j * m_ + i];
    }
    post_.apply(ctx);
  }

 private:
  int64_t m_, k_, n_;
  bool x_transposed_;
  std::vector<float> bias_, xt_, ct_;
};

// ---- Conv: Y[n, g] = W[g] im2col(X[n, g]) (+ bias) ----

struct ConvGeometry {
  int64_t batch, group, cg, mg, h, w, oh, ow, kh, kw, sh, sw, ph, pw, dh, dw;
  int64_t taps() const { return kh * kw; }
  int64_t k() const { return cg * kh * kw; }
  int64_t p() const { return oh * ow; }
  bool direct() const {
    return kh == 1 && kw == 1 && sh == 1 && sw == 1 && ph == 0 && pw == 0 && oh == h && ow == w;
  }
};

// Rows [k0, k1) of the unfolded input of one image and group: x is [cg, h, w], out is
// [cg * kh * kw, oh * ow] (row k: channel k / taps, tap (k / kw) % kh, k % kw).
void im2col(const ConvGeometry& g, const float* x, int64_t k0, int64_t k1, float* out) {
  for (int64_t k = k0; k < k1; ++k) {
    const int64_t c = k / g.taps(), ki = (k / g.kw) % g.kh, kj = k % g.kw;
    const float* xc = x + c * g.h * g.w;
    float* o = out + k * g.p();
    // Output columns whose input column lies inside: ox in [lo, hi).
    const int64_t off = kj * g.dw - g.pw;
    int64_t lo = off >= 0 ? 0 : (-off + g.sw - 1) / g.sw;
    int64_t hi = g.w - off <= 0 ? 0 : (g.w - off + g.sw - 1) / g.sw;
    lo = std::min(lo, g.ow);
    hi = std::max(lo, std::min(hi, g.ow));
    for (int64_t oy = 0; oy < g.oh; ++oy) {
      const int64_t iy = oy * g.sh - g.ph + ki * g.dh;
      float* orow = o + oy * g.ow;
      if (iy < 0 || iy >= g.h) {
        std::fill_n(orow, g.ow, 0.0f);
        continue;
      }
      const float* xrow = xc + iy * g.w + off;
      std::fill_n(orow, lo, 0.0f);
      if (g.sw == 1) {
        std::copy(xrow + lo, xrow + hi, orow + lo);
      } else {
        for (int64_t ox = lo; ox < hi; ++ox) orow[ox] = xrow[ox * g.sw];
      }
      std::fill(orow + hi, orow + g.ow, 0.0f);
    }
  }
}

class SparseConvKernel final : public SparseKernel {
 public:
  SparseConvKernel(const Build& b, const SparseChoice& choice, const float* w,
                   const ConvGeometry& g, std::vector<float> bias)
      : SparseKernel(b, choice, w, g.group * g.mg, g.k()), g_(g), bias_(std::move(bias)) {
    // One unfolding buffer per thread when groups run in parallel, else one.
    slots_ = g_.direct() ? 0 : by_jobs() ? std::max(1, num_threads()) : 1;
    cols_.resize(static_cast<size_t>(slots_) * g_.k() * g_.p());
  }

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int threads = num_threads();
    if (by_jobs() && threads > 1) {
      Jobs jobs{this, x, y, std::min(threads, std::max(slots_, 1))};
      parallel_run(jobs.threads, run_jobs, &jobs);
    } else {
      for (int64_t n = 0; n < g_.batch; ++n)
        for (int64_t grp = 0; grp < g_.group; ++grp) run_one(x, y, n, grp, 0, threads);
    }
    post_.apply(ctx);
  }

 private:
  // Groups of few rows (depthwise) run one image-group per thread instead of splitting rows.
  bool by_jobs() const { return g_.group > 1 && g_.mg < 16; }

  struct Jobs {
    SparseConvKernel* self;
    const float* x;
    float* y;
    int threads;
  };
  static void run_jobs(void* d, int t, int T) {
    const Jobs& j = *static_cast<const Jobs*>(d);
    const ConvGeometry& g = j.self->g_;
    const int64_t total = g.batch * g.group;
    for (int64_t job = t; job < total; job += T)
      j.self->run_one(j.x, j.y, job / g.group, job % g.group, g.direct() ? 0 : t, 1);
  }

  void run_one(const float* x, float* y, int64_t n, int64_t grp, int slot, int threads) {
    const ConvGeometry& g = g_;
    const float* xg = x + (n * g.group + grp) * g.cg * g.h * g.w;
    const float* b = xg;
    if (!g.direct()) {
      float* cols = cols_.data() + static_cast<int64_t>(slot) * g.k() * g.p();
      struct Unfold {
        const ConvGeometry* g;
        const float* x;
        float* out;
      } u{&g, xg, cols};
      if (threads > 1 && g.k() * g.p() >= kMinParallelWork) {
        parallel_run(
            threads,
            [](void* d, int t, int T) {
              const Unfold& u = *static_cast<const Unfold*>(d);
              const int64_t k = u.g->k();
              im2col(*u.g, u.x, k * t / T, k * (t + 1) / T, u.out);
            },
            &u);
      } else {
        im2col(g, xg, 0, g.k(), cols);
      }
      b = cols;
    }
    float* yn = y + n * g.group * g.mg * g.p();
    run_product({&a_, isa_, grp * g.mg, (grp + 1) * g.mg, b, g.p(), g.p(), yn, g.p(),
                 bias_.empty() ? nullptr : bias_.data()},
                threads);
  }

  ConvGeometry g_;
  std::vector<float> bias_;
  int slots_ = 0;
  std::vector<float> cols_;
};

// ---- factories ----

const Tensor& constant_weights(const Build& b) {
  const Tensor* w = b.constant(1);
  if (!w) no_sparse("weights are not constant");
  return *w;
}

SparseChoice choose(const Build& b, const SparseSetting& setting, SparseLayer layer,
                    SparseDecline& why) {
  layer.threads = num_threads();
  SparseChoice c = choose_sparse(layer, setting);
  // A dense layer (no zeros) needs no explanation; a pruned one kept dense does.
  if (!c.format && c.sparsity > 0) {
    why.why = c.reason;
    why.note_on_dense = c.kept_dense;
  }
  return c;
}

std::unique_ptr<kernels::Kernel> sparse_gemm(const Build& b, const SparseSetting& setting,
                                             SparseDecline& why) {
  const ir::Node& n = b.node();
  const bool trans_a = n.attr_int("transA", 0) != 0;
  const bool trans_b = n.attr_int("transB", 0) != 0;
  const float alpha = n.attr_float("alpha", 1.0f);
  const float beta = n.attr_float("beta", 1.0f);
  const Tensor& w = constant_weights(b);
  const Shape& y = b.out_shape(0);
  const int64_t m = y[0], nn = y[1];
  const int64_t k = trans_a ? b.in_shape(0)[0] : b.in_shape(0)[1];
  // W^T [N, K] with alpha folded in.
  std::vector<float> wt(nn * k);
  const float* wd = w.data<float>();
  for (int64_t j = 0; j < nn; ++j)
    for (int64_t kk = 0; kk < k; ++kk)
      wt[j * k + kk] = alpha * (trans_b ? wd[j * k + kk] : wd[kk * nn + j]);
  std::vector<float> bias;
  if (own_input_count(b.view) > 2 && b.has_input(2) && beta != 0.0f) {
    const Tensor* c = b.constant(2);
    if (!c) no_sparse("C is not constant");
    const Shape& cs = c->shape();
    const bool per_column = c->numel() == nn && (cs.size() == 1 || (cs.size() == 2 && cs[0] == 1));
    if (c->numel() != 1 && !per_column)
      no_sparse("C of shape " + shape_str(cs) + " is not a scalar or a row of N");
    bias.resize(nn);
    for (int64_t j = 0; j < nn; ++j) bias[j] = beta * c->data<float>()[c->numel() == 1 ? 0 : j];
  }
  SparseLayer layer{.dense = wt.data(), .rows = nn, .cols = k, .columns = m};
  const SparseChoice choice = choose(b, setting, layer, why);
  if (!choice.format) return nullptr;
  return std::make_unique<SparseGemmKernel>(b, choice, wt, m, k, nn, trans_a, std::move(bias));
}

std::unique_ptr<kernels::Kernel> sparse_matmul_node(const Build& b, const SparseSetting& setting,
                                                    SparseDecline& why) {
  const Shape& a = b.in_shape(0);
  const Shape& ws = b.in_shape(1);
  if (ws.size() != 2) no_sparse("weights of rank " + std::to_string(ws.size()) + " (2-D only)");
  const Tensor& w = constant_weights(b);
  const int64_t k = ws[0], nn = ws[1];
  int64_t m = 1;
  for (size_t d = 0; d + 1 < a.size(); ++d) m *= a[d];
  std::vector<float> wt(nn * k);
  const float* wd = w.data<float>();
  for (int64_t j = 0; j < nn; ++j)
    for (int64_t kk = 0; kk < k; ++kk) wt[j * k + kk] = wd[kk * nn + j];
  SparseLayer layer{.dense = wt.data(), .rows = nn, .cols = k, .columns = m};
  const SparseChoice choice = choose(b, setting, layer, why);
  if (!choice.format) return nullptr;
  return std::make_unique<SparseGemmKernel>(b, choice, wt, m, k, nn, false, std::vector<float>{});
}

std::unique_ptr<kernels::Kernel> sparse_conv(const Build& b, const SparseSetting& setting,
                                             SparseDecline& why) {
  const ir::Node& n = b.node();
  const Shape& x = b.in_shape(0);
  const Shape& ws = b.in_shape(1);
  const Shape& y = b.out_shape(0);
  if (x.size() != 4) no_sparse(std::to_string(x.size()) + "-D input (2-D convolutions only)");
  const Tensor& w = constant_weights(b);
  std::vector<float> bias;
  if (b.has_input(2) && own_input_count(b.view) > 2) {
    const Tensor* c = b.constant(2);
    if (!c) no_sparse("bias is not constant");
    bias.assign(c->data<float>(), c->data<float>() + c->numel());
  }
  const ops::WindowGeometry wg = ops::sliding_window(n, {x[2], x[3]}, {ws[2], ws[3]}, false);
  ConvGeometry g{};
  g.batch = x[0];
  g.group = n.attr_int("group", 1);
  g.cg = x[1] / g.group;
  g.mg = ws[0] / g.group;
  g.h = x[2];
  g.w = x[3];
  g.oh = y[2];
  g.ow = y[3];
  g.kh = ws[2];
  g.kw = ws[3];
  g.sh = wg.strides[0];
  g.sw = wg.strides[1];
  g.ph = wg.pad_begin[0];
  g.pw = wg.pad_begin[1];
  g.dh = wg.dilations[0];
  g.dw = wg.dilations[1];
  SparseLayer layer{.dense = w.data<float>(),
                    .rows = ws[0],
                    .cols = g.k(),
                    .columns = g.p(),
                    .products = g.batch * g.group,
                    .group_rows = g.mg,
                    .im2col = !g.direct(),
                    .boundary = g.cg * g.h * g.w + g.mg * g.p()};
  const SparseChoice choice = choose(b, setting, layer, why);
  if (!choice.format) return nullptr;
  return std::make_unique<SparseConvKernel>(b, choice, w.data<float>(), g, std::move(bias));
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_sparse(const Build& b, const SparseSetting& setting,
                                             SparseDecline& why) {
  why = {};
  if (setting.mode == SparseMode::kOff) return nullptr;
  if (b.precision != Precision::kF32) {
    why.why = "sparse kernels compute in float32 only";
    return nullptr;
  }
  const std::string& op = b.node().op_type;
  try {
    if (op == "Gemm") return sparse_gemm(b, setting, why);
    if (op == "MatMul") return sparse_matmul_node(b, setting, why);
    if (op == "Conv") return sparse_conv(b, setting, why);
  } catch (const NoSparse& e) {
    why.why = e.why;
  }
  return nullptr;
}

}  // namespace frugal::kernels::cpu
