// Optimizers (SGD with momentum/Nesterov and weight decay, Adam, AdamW), learning-rate
// schedules and loss scaling. Update rules follow PyTorch's torch.optim definitions so
// that hand-computed steps and PyTorch runs agree.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"

namespace frugal::train {

// kKfac: SGD (with momentum) applied to K-FAC's preconditioned gradients (train/kfac.h).
enum class OptimizerKind : uint8_t { kSgd, kAdam, kAdamW, kKfac };
OptimizerKind parse_optimizer(const std::string& name);  // sgd | adam | adamw | kfac
// The learning rate of the default recipe for an optimizer (when --lr is not given):
// 0.05 for SGD with momentum, 0.002 for Adam and AdamW (docs/training.md "Default recipe"),
// 0.02 for K-FAC.
float default_lr(OptimizerKind k);
std::string optimizer_name(OptimizerKind k);

struct OptimizerConfig {
  OptimizerKind kind = OptimizerKind::kSgd;
  float momentum = 0.0f;      // SGD
  bool nesterov = false;      // SGD
  float weight_decay = 0.0f;  // L2 added to the gradient (SGD, Adam); decoupled (AdamW)
  float beta1 = 0.9f, beta2 = 0.999f, eps = 1e-8f;  // Adam, AdamW
};

class Optimizer {
 public:
  explicit Optimizer(OptimizerConfig config) : config_(config) {}
  const OptimizerConfig& config() const { return config_; }

  // Starts an iteration (Adam's bias correction counts iterations).
  void begin_step() { ++steps_; }
  // Updates `param` in place from `grad` at learning rate `lr`; state is kept per name.
  void update(const std::string& name, Tensor& param, const Tensor& grad, float lr);

  // Momentum buffers / moments per parameter, for checkpoints and the precision policy
  // (which rounds them to the master format).
  std::map<std::string, std::vector<Tensor>>& state() { return state_; }
  int64_t steps() const { return steps_; }
  void set_steps(int64_t s) { steps_ = s; }

 private:
  OptimizerConfig config_;
  std::map<std::string, std::vector<Tensor>> state_;
  int64_t steps_ = 0;
};

// Learning rate as a function of training progress. Spec grammar:
//   [warmup:W,]BASE          W: linear warm-up over W epochs (fractional allowed)
//   BASE = const | cosine | onecycle | step:E1+E2+...[:GAMMA]
// cosine: lr * (1 + cos(pi t / T)) / 2 over the whole run; onecycle: from lr/25 up to lr
// over the first 30% then down to lr/25e4, both cosine (PyTorch's OneCycleLR defaults);
// step: multiplied by GAMMA (default 0.1) at each listed epoch.
class LrSchedule {
 public:
  // Throws UserError naming the spec and the grammar for a bad string.
  static LrSchedule parse(const std::string& spec);
  // `epoch_progress`: epochs done, fractional (epoch + (iteration + 1) / iterations).
  float lr(float base_lr, double epoch_progress, int64_t total_epochs) const;
  const std::string& spec() const { return spec_; }

 private:
  enum class Base { kConst, kCosine, kOneCycle, kStep };
  std::string spec_ = "const";
  Base base_ = Base::kConst;
  double warmup_ = 0;
  std::vector<int64_t> milestones_;
  double gamma_ = 0.1;
};

// Loss scaling for narrow gradient formats: the loss gradient is multiplied by scale()
// before the backward and the parameter gradients divided by it after. Dynamic scaling
// halves the scale and skips the step when a gradient is not finite, and doubles it after
// `growth_interval` finite steps in a row.
class LossScaler {
 public:
  static LossScaler none() { return LossScaler(1.0f, false); }
  static LossScaler fixed(float scale) { return LossScaler(scale, false); }
  static LossScaler dynamic(float initial = 65536.0f, int64_t growth_interval = 1000) {
    LossScaler s(initial, true);
    s.growth_interval_ = growth_interval;
    return s;
  }
  // "none", "dynamic", or a number (static scale). Throws UserError otherwise.
  static LossScaler parse(const std::string& spec);

  float scale() const { return scale_; }
  bool is_dynamic() const { return dynamic_; }
  // After a backward: true when the step should be applied (gradients finite).
  bool update(bool grads_finite);
  int64_t good_steps() const { return good_steps_; }
  void restore(float scale, int64_t good_steps) {
    scale_ = scale;
    good_steps_ = good_steps;
  }

 private:
  LossScaler(float scale, bool dynamic) : scale_(scale), dynamic_(dynamic) {}
  float scale_;
  bool dynamic_;
  int64_t growth_interval_ = 1000;
  int64_t good_steps_ = 0;
};

}  // namespace frugal::train
