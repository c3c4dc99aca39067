// `frugal study`, frugal's main job on an embedded default: train a small CNN on
// Fashion-MNIST (cached by the digest of its training command), sweep it and a few zoo
// models over the backends and precisions this build runs, store every point, and write
// the report.
#pragma once

#include <cstdio>
#include <string>
#include <vector>

#include "frugal/explore/spec.h"
#include "frugal/explore/sweep.h"

namespace frugal::explore {

struct StudyOptions {
  bool quick = false;       // the under-3-minutes variant (tests use it)
  std::string out_dir = "study";
  std::string frugal_exe;   // the binary whose subcommands do the work
  std::string cache_dir;    // trained, zoo and transformed models
  bool progress = false;
  std::FILE* log = stderr;
};

struct StudyResult {
  std::string db_path, report_path;
  std::string model_note;             // how the CNN was obtained (trained, cached, or the zoo fallback)
  std::vector<std::string> dropped;   // engines this build could not run, with the reason
  size_t points = 0;
  SweepSummary sweep;
  double wall_s = 0;
};

// The embedded spec; {cnn_file} and {cnn_name} are filled in by run_study.
std::string study_spec_yaml(bool quick);
// The training command (without -o) of the study's CNN.
std::vector<std::string> study_train_args(bool quick);

StudyResult run_study(const StudyOptions& options);

}  // namespace frugal::explore
