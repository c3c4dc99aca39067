// `frugal study`, frugal's main job on an embedded default: train three CNNs on
// Fashion-MNIST (cached by the digest of their training commands), sweep them and three zoo
// models over every compress method, the CPU precisions and thread counts, cuda where
// present, host-core and modeled Edge-TPU pipelines; store every point, write the report
// that opens with the answers (explore/answers.h).
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "frugal/explore/spec.h"
#include "frugal/explore/sweep.h"

namespace frugal::explore {

struct StudyOptions {
  bool quick = false;  // the under-2-minutes variant (tests use it)
  std::string out_dir = "study";
  std::string frugal_exe;  // the binary whose subcommands do the work
  std::string cache_dir;   // trained, zoo and transformed models
  bool progress = false;
  std::FILE* log = stderr;
};

struct StudyResult {
  std::string db_path, report_path;
  std::vector<std::string>
      model_notes;                   // how each trained model was obtained (trained now or cached)
  std::vector<std::string> dropped;  // engines this build could not run, with the reason
  size_t points = 0;
  SweepSummary sweep;
  double wall_s = 0;
};

// The embedded spec, built from the compress pipeline's methods (compress/methods.h);
// {MODEL_file} stands for a trained model's cached file, filled in by run_study.
std::string study_spec_yaml(bool quick);
// The training command (without -o) of a trained model of the study.
std::vector<std::string> study_train_args(const std::string& zoo, int epochs, bool quick);

StudyResult run_study(const StudyOptions& options);

}  // namespace frugal::explore
