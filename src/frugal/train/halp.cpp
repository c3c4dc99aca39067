#include "frugal/train/halp.h"

#include <cmath>
#include <cstdio>

#include "frugal/train/precision.h"

namespace frugal::train {
namespace {

constexpr uint64_t kOffsetSalt = 0x48414C5000000000ull;  // "HALP": rounding stream

double norm2(const Tensor& t) {
  double s = 0;
  for (float v : t.span<float>()) s += static_cast<double>(v) * v;
  return std::sqrt(s);
}

std::string bytes_str(double b) {
  char buf[32];
  if (b >= 1e6)
    std::snprintf(buf, sizeof buf, "%.2f MB", b / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%.1f kB", b / 1e3);
  return buf;
}

}  // namespace

HalpSpec HalpSpec::parse(const std::string& spec) {
  HalpSpec s;
  const size_t colon = spec.find(':');
  auto number = [&](const std::string& text, const char* what) {
    size_t used = 0;
    long long v = 0;
    try {
      v = std::stoll(text, &used);
    } catch (const std::exception&) {
      used = 0;
    }
    if (used == 0 || used != text.size())
      throw UserError("--halp: '" + spec + "': " + what + " '" + text +
                      "' is not a whole number (grammar: BITS[:EPOCH_LEN])");
    return v;
  };
  const long long bits = number(spec.substr(0, colon), "BITS");
  if (bits < 2 || bits > 16)
    throw UserError("--halp: BITS must be 2 to 16, got " + std::to_string(bits));
  s.bits = static_cast<int>(bits);
  if (colon != std::string::npos) {
    const long long len = number(spec.substr(colon + 1), "EPOCH_LEN");
    if (len < 1) throw UserError("--halp: EPOCH_LEN must be at least 1 inner step");
    s.epoch_len = len;
  }
  return s;
}

Halp::Halp(HalpSpec spec, float mu, const std::vector<std::string>& params,
           numeric::Rounding rounding)
    : spec_(spec), mu_(mu), params_(params), rounding_(rounding) {
  if (!(mu > 0) || !std::isfinite(mu)) throw UserError("--halp-mu must be a positive number");
}

void Halp::recentre(const std::map<std::string, const Tensor*>& weights,
                    const std::map<std::string, Tensor>& full_grad, int64_t samples,
                    int64_t forward_macs) {
  const double levels = std::ldexp(1.0, spec_.bits - 1) - 1.0;
  for (const auto& p : params_) {
    centre_[p] = weights.at(p)->clone();
    full_grad_[p] = full_grad.at(p).clone();
    offset_[p] = Tensor(DType::kF32, centre_[p].shape());
    scale_[p] = static_cast<float>(norm2(full_grad_[p]) / (mu_ * levels));
    traffic_.host_to_accel_bytes += 8 * centre_[p].numel() + 4;
    traffic_.accel_to_host_bytes += (centre_[p].numel() * spec_.bits + 7) / 8;
  }
  ++traffic_.outer_epochs;
  traffic_.host_macs += 3 * forward_macs * samples;
}

void Halp::inner_step(std::map<std::string, Tensor*>& weights,
                      const std::map<std::string, const Tensor*>& grad_at_weights,
                      const std::map<std::string, const Tensor*>& grad_at_centre, float lr,
                      int64_t batch, int64_t forward_macs) {
  for (const auto& p : params_) {
    Tensor& z = offset_.at(p);
    const float* g1 = grad_at_weights.at(p)->data<float>();
    const float* g0 = grad_at_centre.at(p)->data<float>();
    const float* gt = full_grad_.at(p).data<float>();
    float* zd = z.data<float>();
    for (int64_t i = 0; i < z.numel(); ++i) zd[i] = zd[i] - lr * ((g1[i] - g0[i]) + gt[i]);
    const float delta = scale_.at(p);
    if (delta > 0) {
      const ClassPrecision grid{numeric::int_format(spec_.bits, true, delta), rounding_};
      round_tensor(grid, p, z, static_cast<uint64_t>(inner_), kOffsetSalt);
    } else {
      for (int64_t i = 0; i < z.numel(); ++i) zd[i] = 0.0f;  // no gradient: no grid
    }
    Tensor& w = *weights.at(p);
    const float* c = centre_.at(p).data<float>();
    float* wd = w.data<float>();
    for (int64_t i = 0; i < w.numel(); ++i) wd[i] = c[i] + zd[i];
  }
  ++inner_;
  traffic_.accel_macs += 2 * 3 * forward_macs * batch;
}

std::string Halp::describe(const std::string& accel_format) const {
  const double e = static_cast<double>(std::max<int64_t>(traffic_.outer_epochs, 1));
  const double total = static_cast<double>(traffic_.host_macs + traffic_.accel_macs);
  const double host_share = total > 0 ? static_cast<double>(traffic_.host_macs) / total : 0;
  char b[320];
  std::snprintf(b, sizeof b,
                "%d-bit offsets, %lld outer epochs, %lld inner steps; per outer epoch host->"
                "accelerator %s, accelerator->host %s; MACs fp32 (host) %.1f%%, %s "
                "(accelerator) %.1f%%",
                spec_.bits, static_cast<long long>(traffic_.outer_epochs),
                static_cast<long long>(inner_),
                bytes_str(static_cast<double>(traffic_.host_to_accel_bytes) / e).c_str(),
                bytes_str(static_cast<double>(traffic_.accel_to_host_bytes) / e).c_str(),
                100.0 * host_share, accel_format.c_str(), 100.0 * (1.0 - host_share));
  return b;
}

std::map<std::string, Tensor> Halp::state() const {
  std::map<std::string, Tensor> s;
  for (const auto& p : params_) {
    if (!centre_.count(p)) continue;
    s["halp/centre/" + p] = centre_.at(p);
    s["halp/grad/" + p] = full_grad_.at(p);
    s["halp/offset/" + p] = offset_.at(p);
    Tensor sc(DType::kF32, {1});
    sc.data<float>()[0] = scale_.at(p);
    s["halp/scale/" + p] = sc;
  }
  Tensor counters(DType::kI64, {6});
  int64_t* c = counters.data<int64_t>();
  c[0] = inner_;
  c[1] = traffic_.outer_epochs;
  c[2] = traffic_.host_to_accel_bytes;
  c[3] = traffic_.accel_to_host_bytes;
  c[4] = traffic_.host_macs;
  c[5] = traffic_.accel_macs;
  s["halp/counters"] = counters;
  return s;
}

void Halp::restore(const std::map<std::string, Tensor>& s) {
  auto it = s.find("halp/counters");
  if (it == s.end() || it->second.numel() != 6 || it->second.dtype() != DType::kI64)
    throw UserError("--resume: the checkpoint's HALP section is corrupt");
  const int64_t* c = it->second.data<int64_t>();
  inner_ = c[0];
  traffic_ = HalpTraffic{c[1], c[2], c[3], c[4], c[5]};
  for (const auto& p : params_) {
    auto ce = s.find("halp/centre/" + p);
    if (ce == s.end()) continue;
    centre_[p] = ce->second;
    full_grad_[p] = s.at("halp/grad/" + p);
    offset_[p] = s.at("halp/offset/" + p);
    scale_[p] = s.at("halp/scale/" + p).data<float>()[0];
  }
}

}  // namespace frugal::train
