#include "frugal/train/kfac.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "frugal/ops/conv_geometry.h"
#include "frugal/train/grad_kernels.h"

namespace frugal::train {
namespace {

const std::vector<std::string> kParts = {"stats", "factors", "inverse", "update"};
// Stochastic-rounding streams of the four parts.
constexpr uint64_t kSalt = 0x4B46414300000000ull;  // "KFAC"

ConvGeom2d conv_geometry(const ir::Node& node, const Tensor& x, const Shape& w) {
  const ops::WindowGeometry g =
      ops::sliding_window(node, {x.dim(2), x.dim(3)}, {w[2], w[3]}, false);
  return ConvGeom2d{x.dim(1),       x.dim(2),     x.dim(3),       w[2],           w[3],
                    g.strides[0],   g.strides[1], g.dilations[0], g.dilations[1], g.pad_begin[0],
                    g.pad_begin[1], g.out[0],     g.out[1]};
}

// C = A B, row-major, binary32 sgemm.
Tensor matmul(const Tensor& a, const Tensor& b) {
  Tensor c(DType::kF32, {a.dim(0), b.dim(1)});
  gemm(KernelConfig{}, false, false, a.dim(0), b.dim(1), a.dim(1), 1.0f, a.data<float>(), a.dim(1),
       b.data<float>(), b.dim(1), 0.0f, c.data<float>(), b.dim(1));
  return c;
}

double dot(const Tensor& a, const Tensor& b) {
  double s = 0;
  const float* x = a.data<float>();
  const float* y = b.data<float>();
  for (int64_t i = 0; i < a.numel(); ++i) s += static_cast<double>(x[i]) * y[i];
  return s;
}

double mean_diagonal(const Tensor& m) {
  double s = 0;
  for (int64_t i = 0; i < m.dim(0); ++i) s += m.data<float>()[i * m.dim(0) + i];
  return s / static_cast<double>(m.dim(0));
}

void require(bool ok, const std::string& what) {
  if (!ok) throw UserError(what);
}

}  // namespace

void validate(const KfacOptions& o) {
  require(o.damping > 0 && std::isfinite(o.damping),
          "--kfac-damping must be a positive number (Tikhonov damping), got " +
              std::to_string(o.damping));
  require(o.decay >= 0 && o.decay < 1, "--kfac-decay must be in [0, 1)");
  require(o.cov_every >= 1, "--kfac-cov-every must be at least 1");
  require(o.inv_every >= 1, "--kfac-inv-every must be at least 1");
  require(o.adapt_every >= 0, "--kfac-adapt-every must be >= 0 (0: fixed damping)");
  require(o.kl_clip >= 0 && std::isfinite(o.kl_clip),
          "--kfac-kl-clip must be >= 0 (0: no clipping)");
  parse_part_precisions(o.format, o.rounding, 0, kParts, "--kfac-format", "--kfac-rounding");
}

Tensor covariance(const Tensor& rows, double divisor) {
  const int64_t r = rows.dim(0), k = rows.dim(1);
  Tensor c(DType::kF32, {k, k});
  gemm(KernelConfig{}, true, false, k, k, r, static_cast<float>(1.0 / divisor), rows.data<float>(),
       k, rows.data<float>(), k, 0.0f, c.data<float>(), k);
  return c;
}

Tensor damped_inverse(const Tensor& m, double d, const std::string& what) {
  const int64_t n = m.dim(0);
  const auto idx = [n](int64_t i, int64_t j) { return static_cast<size_t>(i * n + j); };
  std::vector<double> l(static_cast<size_t>(n * n), 0.0);
  const float* src = m.data<float>();
  // Cholesky M + dI = L L^T (symmetrized: the factors are symmetric up to rounding).
  for (int64_t j = 0; j < n; ++j) {
    double diag = 0.5 * (src[idx(j, j)] + src[idx(j, j)]) + d;
    for (int64_t k = 0; k < j; ++k) diag -= l[idx(j, k)] * l[idx(j, k)];
    if (!(diag > 0))
      throw UserError("K-FAC: the damped factor " + what +
                      " is not positive definite (rounded factors lose definiteness); raise "
                      "--kfac-damping or widen factors= in --kfac-format");
    l[idx(j, j)] = std::sqrt(diag);
    for (int64_t i = j + 1; i < n; ++i) {
      double v = 0.5 * (static_cast<double>(src[idx(i, j)]) + src[idx(j, i)]);
      for (int64_t k = 0; k < j; ++k) v -= l[idx(i, k)] * l[idx(j, k)];
      l[idx(i, j)] = v / l[idx(j, j)];
    }
  }
  // inv = L^-T L^-1: solve column by column.
  Tensor out(DType::kF32, {n, n});
  std::vector<double> y(static_cast<size_t>(n));
  for (int64_t c = 0; c < n; ++c) {
    for (int64_t i = 0; i < n; ++i) {  // L y = e_c
      double v = i == c ? 1.0 : 0.0;
      for (int64_t k = 0; k < i; ++k) v -= l[idx(i, k)] * y[static_cast<size_t>(k)];
      y[static_cast<size_t>(i)] = v / l[idx(i, i)];
    }
    for (int64_t i = n; i-- > 0;) {  // L^T x = y
      double v = y[static_cast<size_t>(i)];
      for (int64_t k = i + 1; k < n; ++k) v -= l[idx(k, i)] * y[static_cast<size_t>(k)];
      y[static_cast<size_t>(i)] = v / l[idx(i, i)];
    }
    for (int64_t i = 0; i < n; ++i)
      out.data<float>()[idx(i, c)] = static_cast<float>(y[static_cast<size_t>(i)]);
  }
  return out;
}

Kfac::Kfac(const ir::Graph& graph, const std::vector<std::string>& params, KfacOptions options,
           uint64_t seed)
    : options_(std::move(options)), damping_(options_.damping) {
  validate(options_);
  precision_ = parse_part_precisions(options_.format, options_.rounding, seed, kParts,
                                     "--kfac-format", "--kfac-rounding");
  auto trainable = [&](const std::string& v) {
    return std::find(params.begin(), params.end(), v) != params.end();
  };
  for (const ir::Node& n : graph.nodes) {
    const bool conv = n.op_type == "Conv", gemm_op = n.op_type == "Gemm";
    if (!(conv || gemm_op) || n.inputs.size() < 2 || !trainable(n.inputs[1])) continue;
    if (conv && n.attr_int("group", 1) != 1) continue;  // grouped: base optimizer
    if (gemm_op && n.attr_int("transA", 0) != 0) continue;
    Layer l;
    l.node = n.name.empty() ? n.outputs[0] : n.name;
    l.input = n.inputs[0];
    l.output = n.outputs[0];
    l.weight = n.inputs[1];
    l.conv = conv;
    l.trans_b = gemm_op && n.attr_int("transB", 0) != 0;
    if (n.inputs.size() > 2 && trainable(n.inputs[2])) {
      const Tensor& b = graph.initializers.at(n.inputs[2]);
      const Shape& w = graph.initializers.at(n.inputs[1]).shape();
      const int64_t out = conv || l.trans_b ? w[0] : w[1];
      if (b.numel() == out) l.bias = n.inputs[2];  // a broadcast bias stays with the base
    }
    if (conv) l.node_def = n;
    l.weight_shape = graph.initializers.at(n.inputs[1]).shape();
    const size_t i = layers_.size();
    value_owner_[l.input].push_back(i);
    value_owner_[l.output].push_back(i);
    layers_.push_back(std::move(l));
  }
}

std::string Kfac::describe() const {
  auto fmt = [&](const std::string& part) {
    const ClassPrecision& c = precision_.at(part);
    return part + "=" +
           (c.format ? numeric::to_string(*c.format) + "/" + numeric::to_string(c.rounding)
                     : std::string("fp32"));
  };
  char b[256];
  std::snprintf(b, sizeof b,
                "%zu layers, damping %g (%s), decay %g, factors every %lld, inverses every %lld, "
                "kl-clip %g",
                layers_.size(), static_cast<double>(options_.damping),
                options_.adapt_every ? "adaptive" : "fixed", static_cast<double>(options_.decay),
                static_cast<long long>(options_.cov_every),
                static_cast<long long>(options_.inv_every), static_cast<double>(options_.kl_clip));
  return std::string(b) + "; " + fmt("stats") + " " + fmt("factors") + " " + fmt("inverse") + " " +
         fmt("update");
}

bool Kfac::begin_step(uint64_t step) {
  step_ = step;
  capture_ = step % static_cast<uint64_t>(options_.cov_every) == 0;
  return capture_;
}

bool Kfac::wants(const std::string& value) const {
  return capture_ && value_owner_.count(value) != 0;
}

void Kfac::capture(const std::string& value, const Tensor& t, bool gradient) {
  auto it = value_owner_.find(value);
  if (!capture_ || it == value_owner_.end()) return;
  for (size_t i : it->second) {
    Layer& l = layers_[i];
    if (!gradient && value == l.input) l.in_value = t;
    if (gradient && value == l.output) l.out_grad = t;
  }
}

Tensor Kfac::input_rows(const Layer& l) const {
  const Tensor& x = l.in_value;
  const int64_t extra = l.bias.empty() ? 0 : 1;
  Tensor rows;
  if (!l.conv) {
    const int64_t n = x.dim(0), k = x.numel() / n;
    rows = Tensor(DType::kF32, {n, k + extra});
    for (int64_t r = 0; r < n; ++r) {
      float* dst = rows.data<float>() + r * (k + extra);
      std::copy_n(x.data<float>() + r * k, k, dst);
      if (extra) dst[k] = 1.0f;
    }
  } else {
    const ConvGeom2d g = conv_geometry(l.node_def, x, l.weight_shape);
    const int64_t n = x.dim(0), k = g.col_rows(), t = g.col_cols();
    rows = Tensor(DType::kF32, {n * t, k + extra});
    std::vector<float> col(static_cast<size_t>(k * t));
    for (int64_t b = 0; b < n; ++b) {
      im2col(g, x.data<float>() + b * x.dim(1) * x.dim(2) * x.dim(3), col.data());
      for (int64_t p = 0; p < t; ++p) {
        float* dst = rows.data<float>() + (b * t + p) * (k + extra);
        for (int64_t c = 0; c < k; ++c) dst[c] = col[static_cast<size_t>(c * t + p)];
        if (extra) dst[k] = 1.0f;
      }
    }
  }
  round_tensor(precision_.at("stats"), l.node + "/a", rows, step_, kSalt);
  return rows;
}

Tensor Kfac::output_rows(const Layer& l, float loss_scale) const {
  const Tensor& d = l.out_grad;
  const int64_t n = d.dim(0), o = d.dim(1);
  const int64_t t = l.conv ? d.dim(2) * d.dim(3) : 1;
  const float s = static_cast<float>(n) / loss_scale;  // per-example gradients of a mean loss
  Tensor rows(DType::kF32, {n * t, o});
  const float* src = d.data<float>();
  float* dst = rows.data<float>();
  for (int64_t b = 0; b < n; ++b)
    for (int64_t c = 0; c < o; ++c)
      for (int64_t p = 0; p < t; ++p) dst[(b * t + p) * o + c] = s * src[(b * o + c) * t + p];
  round_tensor(precision_.at("stats"), l.node + "/g", rows, step_, kSalt + 1);
  return rows;
}

void Kfac::refresh_factors() {
  const bool first = !factors_ready_;
  for (size_t i = 0; i < layers_.size(); ++i) {
    Layer& l = layers_[i];
    if (!l.in_value.defined() || !l.out_grad.defined())
      throw InternalError("K-FAC: layer " + l.node + " has no captured statistics");
    const Tensor a_rows = input_rows(l), g_rows = output_rows(l, loss_scale_);
    const double n = static_cast<double>(l.out_grad.dim(0));
    Tensor a = covariance(a_rows, static_cast<double>(a_rows.dim(0)));
    Tensor g = covariance(g_rows, n);
    if (!first) {  // moving averages
      const float keep = options_.decay, take = 1.0f - options_.decay;
      for (int64_t k = 0; k < a.numel(); ++k)
        a.data<float>()[k] = keep * l.a.data<float>()[k] + take * a.data<float>()[k];
      for (int64_t k = 0; k < g.numel(); ++k)
        g.data<float>()[k] = keep * l.g.data<float>()[k] + take * g.data<float>()[k];
    }
    round_tensor(precision_.at("factors"), l.node + "/A", a, step_, kSalt + 2);
    round_tensor(precision_.at("factors"), l.node + "/G", g, step_, kSalt + 3);
    l.a = a;
    l.g = g;
    l.in_value = Tensor();
    l.out_grad = Tensor();
  }
  factors_ready_ = true;
  capture_ = false;  // later forwards of the step (damping adaptation) are not statistics
}

void Kfac::refresh_inverses() {
  const double sqrt_l = std::sqrt(static_cast<double>(damping_));
  for (Layer& l : layers_) {
    // Factored Tikhonov damping: pi balances the two factors' scales.
    const double ta = mean_diagonal(l.a), tg = mean_diagonal(l.g);
    const double pi = ta > 0 && tg > 0 ? std::sqrt(ta / tg) : 1.0;
    l.a_inv = damped_inverse(l.a, pi * sqrt_l, "A of " + l.node);
    l.g_inv = damped_inverse(l.g, sqrt_l / pi, "G of " + l.node);
    round_tensor(precision_.at("inverse"), l.node + "/Ainv", l.a_inv, step_, kSalt + 4);
    round_tensor(precision_.at("inverse"), l.node + "/Ginv", l.g_inv, step_, kSalt + 5);
  }
  inverses_ready_ = true;
}

Tensor Kfac::gradient_matrix(const Layer& l, const TensorLookup& grads) const {
  const Tensor& dw = grads(l.weight);
  const int64_t out = l.conv || l.trans_b ? dw.dim(0) : dw.dim(1);
  const int64_t in = dw.numel() / out, extra = l.bias.empty() ? 0 : 1;
  Tensor m(DType::kF32, {out, in + extra});
  const float* w = dw.data<float>();
  float* dst = m.data<float>();
  for (int64_t o = 0; o < out; ++o)
    for (int64_t k = 0; k < in; ++k)
      dst[o * (in + extra) + k] = l.conv || l.trans_b ? w[o * in + k] : w[k * out + o];
  if (extra)
    for (int64_t o = 0; o < out; ++o) dst[o * (in + 1) + in] = grads(l.bias).data<float>()[o];
  return m;
}

void Kfac::scatter_update(const Layer& l, const Tensor& v,
                          std::map<std::string, Tensor*>& grads) const {
  Tensor& dw = *grads.at(l.weight);
  Tensor w(DType::kF32, dw.shape());
  const int64_t out = v.dim(0), in = w.numel() / out, cols = v.dim(1);
  for (int64_t o = 0; o < out; ++o)
    for (int64_t k = 0; k < in; ++k)
      w.data<float>()[l.conv || l.trans_b ? o * in + k : k * out + o] =
          v.data<float>()[o * cols + k];
  dw = w;
  if (!l.bias.empty()) {
    Tensor& db = *grads.at(l.bias);
    Tensor b(DType::kF32, db.shape());
    for (int64_t o = 0; o < out; ++o) b.data<float>()[o] = v.data<float>()[o * cols + in];
    db = b;
  }
}

void Kfac::precondition(std::map<std::string, Tensor*>& grads, float lr, float loss_scale) {
  loss_scale_ = loss_scale;
  if (capture_) refresh_factors();
  if (!factors_ready_) return;  // resumed between refreshes without factors: plain step
  if (!inverses_ready_ || step_ % static_cast<uint64_t>(options_.inv_every) == 0)
    refresh_inverses();
  std::vector<Tensor> updates;
  double vg = 0;
  for (const Layer& l : layers_) {
    const Tensor m =
        gradient_matrix(l, [&](const std::string& p) -> const Tensor& { return *grads.at(p); });
    Tensor v = matmul(matmul(l.g_inv, m), l.a_inv);
    round_tensor(precision_.at("update"), l.node + "/V", v, step_, kSalt + 6);
    vg += dot(v, m);
    updates.push_back(v);
  }
  const double lr2 = static_cast<double>(lr) * lr;
  float nu = 1.0f;
  if (options_.kl_clip > 0 && vg * lr2 > 0)
    nu = static_cast<float>(std::min(1.0, std::sqrt(options_.kl_clip / (vg * lr2))));
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (nu != 1.0f)
      for (float& x : updates[i].span<float>()) x *= nu;
    scatter_update(layers_[i], updates[i], grads);
  }
}

bool Kfac::adapt_due(uint64_t step) const {
  return options_.adapt_every > 0 && factors_ready_ &&
         step % static_cast<uint64_t>(options_.adapt_every) == 0;
}

double Kfac::quadratic_model(const std::map<std::string, Tensor>& grads,
                             const std::map<std::string, Tensor>& delta) const {
  double m = 0;
  for (const auto& [name, d] : delta) m += dot(grads.at(name), d);
  for (const Layer& l : layers_) {
    const Tensor dm =
        gradient_matrix(l, [&](const std::string& p) -> const Tensor& { return delta.at(p); });
    m += 0.5 * dot(dm, matmul(matmul(l.g, dm), l.a));
  }
  return m;
}

void Kfac::adapt(double loss_before, double loss_after, double model_change) {
  const double omega = std::pow(19.0 / 20.0, static_cast<double>(options_.adapt_every));
  const double rho = model_change < 0 ? (loss_after - loss_before) / model_change : -1.0;
  double l = damping_;
  if (rho > 0.75) l *= omega;
  if (rho < 0.25) l /= omega;
  // Bounds keep the damped factors well conditioned and the step from vanishing.
  damping_ = static_cast<float>(std::clamp(l, 1e-6, 1.0));
}

std::map<std::string, Tensor> Kfac::state() const {
  std::map<std::string, Tensor> s;
  Tensor d(DType::kF32, {1});
  d.data<float>()[0] = damping_;
  s["kfac/damping"] = d;
  for (const Layer& l : layers_) {
    const std::string p = "kfac/" + l.node + "/";
    if (l.a.defined()) s[p + "A"] = l.a;
    if (l.g.defined()) s[p + "G"] = l.g;
    if (l.a_inv.defined()) s[p + "Ainv"] = l.a_inv;
    if (l.g_inv.defined()) s[p + "Ginv"] = l.g_inv;
  }
  return s;
}

void Kfac::restore(const std::map<std::string, Tensor>& s) {
  auto get = [&](const std::string& k) {
    auto it = s.find(k);
    return it == s.end() ? Tensor() : it->second;
  };
  const Tensor d = get("kfac/damping");
  if (d.defined() && d.numel() == 1) damping_ = d.data<float>()[0];
  factors_ready_ = inverses_ready_ = !layers_.empty();
  for (Layer& l : layers_) {
    const std::string p = "kfac/" + l.node + "/";
    l.a = get(p + "A");
    l.g = get(p + "G");
    l.a_inv = get(p + "Ainv");
    l.g_inv = get(p + "Ginv");
    factors_ready_ = factors_ready_ && l.a.defined() && l.g.defined();
    inverses_ready_ = inverses_ready_ && l.a_inv.defined() && l.g_inv.defined();
  }
}

std::pair<Tensor, Tensor> Kfac::factors(size_t layer) const {
  return {layers_.at(layer).a, layers_.at(layer).g};
}

std::pair<Tensor, Tensor> Kfac::inverses(size_t layer) const {
  return {layers_.at(layer).a_inv, layers_.at(layer).g_inv};
}

}  // namespace frugal::train
