// The data a compress pipeline asks for (compress/pipeline.h), from data-set specs: the
// accuracy scorer over a labelled set (top-1 of its first `limit` samples) and the
// quantizer's calibration batches (evenly spaced samples of a data set, NPY files or seeded
// random inputs). `frugal compress`, `frugal quantize` and C++ callers share it.
#pragma once

#include <cstdint>
#include <string>

#include "frugal/compress/pipeline.h"

namespace frugal::measure {

struct CompressData {
  std::string data;         // labelled set: accuracy (fashion-mnist: its test split)
  std::string calib_data;   // calibration set (default: fashion-mnist's train split, else data)
  std::string calibration;  // instead of a set: a.npy,b.npy | random:N[:SEED]
  int64_t limit = 0;        // score the first N samples only (0: all)
  std::string datasets_root = "/usr/share/datasets";
};

// Sets ctx.score (with `data`) and ctx.calibration (with any calibration source) for
// `model`, loaded from ctx.origin. UserError for a bad option or a set that does not fit.
void attach_data(compress::PipelineContext& ctx, const ir::Graph& model, const CompressData& d);

}  // namespace frugal::measure
