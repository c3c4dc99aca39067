// frugal train's named options and its JSON, shared by `frugal train` and frugal.train:
// the optimizer, kernels and augmentation given by name become a train::TrainConfig, and
// each epoch and the run become JSON (the CLI's --json summary, Python's history).
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "frugal/train/trainer.h"

namespace frugal::measure {

struct TrainNames {
  std::string optimizer = "sgd";  // --optimizer: sgd | adam | adamw
  bool lr_given = false;          // false: the optimizer's default learning rate
  bool nesterov = false;          // --nesterov
  std::string augment;            // --augment: crop:PAD,flip | none
  std::string kernels = "fast";   // --kernels: fast | onednn | gemm | ref
};

// `config` completed from the names (UserError naming the flag).
train::TrainConfig train_config(train::TrainConfig config, const TrainNames& names);

nlohmann::json epoch_json(const train::EpochStats& s);

// The run: model, data, precision policy, seed, threads, batch and the epochs so far.
nlohmann::json train_summary(const train::Trainer& trainer, const train::TrainConfig& config,
                             const std::string& model, const nlohmann::json& epochs);

}  // namespace frugal::measure
