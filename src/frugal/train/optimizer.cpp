#include "frugal/train/optimizer.h"

#include <cmath>
#include <numbers>
#include <sstream>

namespace frugal::train {

OptimizerKind parse_optimizer(const std::string& name) {
  if (name == "sgd") return OptimizerKind::kSgd;
  if (name == "adam") return OptimizerKind::kAdam;
  if (name == "adamw") return OptimizerKind::kAdamW;
  if (name == "kfac") return OptimizerKind::kKfac;
  throw UserError("--optimizer: unknown optimizer '" + name + "' (sgd, adam, adamw, kfac)");
}

float default_lr(OptimizerKind k) {
  if (k == OptimizerKind::kKfac) return 0.02f;
  return k == OptimizerKind::kSgd ? 0.05f : 0.002f;
}

std::string optimizer_name(OptimizerKind k) {
  switch (k) {
    case OptimizerKind::kSgd:
      return "sgd";
    case OptimizerKind::kAdam:
      return "adam";
    case OptimizerKind::kAdamW:
      return "adamw";
    case OptimizerKind::kKfac:
      return "kfac";
  }
  return "?";
}

void Optimizer::update(const std::string& name, Tensor& param, const Tensor& grad, float lr) {
  FRUGAL_CHECK(param.numel() == grad.numel(), "optimizer: gradient size of " + name);
  const int64_t n = param.numel();
  float* p = param.data<float>();
  const float* g = grad.data<float>();
  std::vector<Tensor>& st = state_[name];
  const OptimizerConfig& c = config_;
  if (c.kind == OptimizerKind::kSgd || c.kind == OptimizerKind::kKfac) {
    const bool use_momentum = c.momentum != 0.0f;
    if (use_momentum && st.empty()) st.push_back(Tensor(DType::kF32, param.shape()));
    float* buf = use_momentum ? st[0].data<float>() : nullptr;
    for (int64_t i = 0; i < n; ++i) {
      float d = g[i] + c.weight_decay * p[i];
      if (buf) {
        buf[i] = c.momentum * buf[i] + d;
        d = c.nesterov ? d + c.momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
    return;
  }
  if (st.empty()) {
    st.push_back(Tensor(DType::kF32, param.shape()));
    st.push_back(Tensor(DType::kF32, param.shape()));
  }
  float* m = st[0].data<float>();
  float* v = st[1].data<float>();
  const double t = static_cast<double>(std::max<int64_t>(steps_, 1));
  const double bc1 = 1.0 - std::pow(static_cast<double>(c.beta1), t);
  const double bc2 = 1.0 - std::pow(static_cast<double>(c.beta2), t);
  const bool decoupled = c.kind == OptimizerKind::kAdamW;
  const float step_size = static_cast<float>(lr / bc1);
  const float sqrt_bc2 = static_cast<float>(std::sqrt(bc2));
  for (int64_t i = 0; i < n; ++i) {
    float d = g[i];
    if (decoupled)
      p[i] *= 1.0f - lr * c.weight_decay;
    else
      d += c.weight_decay * p[i];
    m[i] = c.beta1 * m[i] + (1.0f - c.beta1) * d;
    v[i] = c.beta2 * v[i] + (1.0f - c.beta2) * d * d;
    p[i] -= step_size * m[i] / (std::sqrt(v[i]) / sqrt_bc2 + c.eps);
  }
}

namespace {
[[noreturn]] void bad_schedule(const std::string& spec, const std::string& why) {
  throw UserError("--schedule-lr: invalid schedule '" + spec + "': " + why +
                  " (grammar: [warmup:EPOCHS,]const|cosine|onecycle|step:E1+E2[:GAMMA])");
}
double parse_number(const std::string& spec, const std::string& s) {
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    bad_schedule(spec, "'" + s + "' is not a number");
  }
  if (used != s.size() || !std::isfinite(v) || v < 0)
    bad_schedule(spec, "'" + s + "' is not a number >= 0");
  return v;
}
}  // namespace

LrSchedule LrSchedule::parse(const std::string& spec) {
  LrSchedule s;
  s.spec_ = spec;
  std::string base = spec;
  if (base.rfind("warmup:", 0) == 0) {
    const size_t comma = base.find(',');
    if (comma == std::string::npos) bad_schedule(spec, "warmup needs a base schedule after ','");
    s.warmup_ = parse_number(spec, base.substr(7, comma - 7));
    base = base.substr(comma + 1);
  }
  if (base == "const")
    s.base_ = Base::kConst;
  else if (base == "cosine")
    s.base_ = Base::kCosine;
  else if (base == "onecycle")
    s.base_ = Base::kOneCycle;
  else if (base.rfind("step:", 0) == 0) {
    s.base_ = Base::kStep;
    std::string rest = base.substr(5);
    const size_t colon = rest.find(':');
    if (colon != std::string::npos) {
      s.gamma_ = parse_number(spec, rest.substr(colon + 1));
      rest = rest.substr(0, colon);
    }
    std::stringstream ss(rest);
    std::string item;
    while (std::getline(ss, item, '+')) {
      const double e = parse_number(spec, item);
      if (e != std::floor(e)) bad_schedule(spec, "milestone '" + item + "' is not a whole epoch");
      s.milestones_.push_back(static_cast<int64_t>(e));
    }
    if (s.milestones_.empty()) bad_schedule(spec, "step needs at least one milestone epoch");
  } else {
    bad_schedule(spec, "unknown schedule '" + base + "'");
  }
  return s;
}

float LrSchedule::lr(float base_lr, double t, int64_t total_epochs) const {
  const double total = static_cast<double>(std::max<int64_t>(total_epochs, 1));
  const double pi = std::numbers::pi;
  double lr = base_lr;
  switch (base_) {
    case Base::kConst:
      break;
    case Base::kCosine:
      lr = base_lr * 0.5 * (1.0 + std::cos(pi * std::min(t, total) / total));
      break;
    case Base::kOneCycle: {
      const double peak = 0.3 * total, start = base_lr / 25.0, end = start / 1e4;
      if (t <= peak)
        lr = base_lr + (start - base_lr) * 0.5 * (1.0 + std::cos(pi * t / peak));
      else
        lr = end + (base_lr - end) * 0.5 *
                       (1.0 + std::cos(pi * std::min(t - peak, total - peak) / (total - peak)));
      break;
    }
    case Base::kStep: {
      // The epoch now running: t lies in (epoch, epoch + 1].
      const int64_t epoch = static_cast<int64_t>(std::ceil(t)) - 1;
      for (int64_t m : milestones_)
        if (epoch >= m) lr *= gamma_;
      break;
    }
  }
  if (warmup_ > 0 && t < warmup_) lr *= t / warmup_;
  return static_cast<float>(lr);
}

LossScaler LossScaler::parse(const std::string& spec) {
  if (spec == "none" || spec.empty()) return none();
  if (spec == "dynamic") return dynamic();
  size_t used = 0;
  float v = 0;
  try {
    v = std::stof(spec, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != spec.size() || !(v > 0) || !std::isfinite(v))
    throw UserError("--loss-scale: '" + spec + "' is not none, dynamic or a positive number");
  return fixed(v);
}

bool LossScaler::update(bool grads_finite) {
  if (!dynamic_) return grads_finite;
  if (!grads_finite) {
    scale_ = std::max(scale_ * 0.5f, 1.0f / 65536.0f);
    good_steps_ = 0;
    return false;
  }
  if (++good_steps_ >= growth_interval_) {
    scale_ = std::min(scale_ * 2.0f, 65536.0f * 65536.0f);
    good_steps_ = 0;
  }
  return true;
}

}  // namespace frugal::train
