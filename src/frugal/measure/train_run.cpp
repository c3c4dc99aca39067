#include "frugal/measure/train_run.h"

#include "frugal/core/error.h"

namespace frugal::measure {

train::TrainConfig train_config(train::TrainConfig c, const TrainNames& n) {
  c.optimizer.kind = train::parse_optimizer(n.optimizer);
  if (!n.lr_given) c.lr = train::default_lr(c.optimizer.kind);
  c.optimizer.nesterov = n.nesterov;
  if (n.nesterov && c.optimizer.momentum == 0.0f)
    throw UserError("--nesterov needs --momentum > 0");
  c.augment = train::Augment::parse(n.augment);
  if (n.kernels == "fast")
    c.kernels = train::kDefaultKernels;
  else if (n.kernels == "onednn")
    c.kernels = train::KernelChoice::kOneDnn;
  else if (n.kernels == "gemm")
    c.kernels = train::KernelChoice::kFast;
  else if (n.kernels == "ref")
    c.kernels = train::KernelChoice::kReference;
  else
    throw UserError("--kernels: '" + n.kernels + "' is not fast, onednn, gemm or ref");
  if (c.threads < 1) throw UserError("--threads must be at least 1");
  return c;
}

nlohmann::json epoch_json(const train::EpochStats& s) {
  nlohmann::json j{{"epoch", s.epoch},
                   {"train_loss", s.train_loss},
                   {"train_accuracy", s.train_accuracy},
                   {"seconds", s.seconds},
                   {"images_per_second", s.images_per_second},
                   {"lr", s.lr},
                   {"loss_scale", s.loss_scale},
                   {"skipped_steps", s.skipped_steps}};
  if (s.val_accuracy) j["val_accuracy"] = *s.val_accuracy;
  if (s.test_accuracy) j["test_accuracy"] = *s.test_accuracy;
  if (s.full_train_loss) j["full_train_loss"] = *s.full_train_loss;
  if (!s.warning.empty()) j["warning"] = s.warning;
  if (!s.forward_format.empty()) j["forward_format"] = s.forward_format;
  return j;
}

nlohmann::json train_summary(const train::Trainer& trainer, const train::TrainConfig& c,
                             const std::string& model, const nlohmann::json& epochs) {
  nlohmann::json summary{{"model", model},
                         {"data", trainer.describe_data()},
                         {"precision", trainer.policy().describe()},
                         {"seed", c.seed},
                         {"threads", c.threads},
                         {"batch", c.batch},
                         {"epochs", epochs}};
  if (!trainer.halp_summary().empty()) summary["halp"] = trainer.halp_summary();
  return summary;
}

}  // namespace frugal::measure
