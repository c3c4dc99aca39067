// How far an output is from its reference (an fp32 run): the figures `frugal compare`
// reports, accumulated over any number of output tensors (samples).
//   SQNR      10 log10(sum ref^2 / sum (test - ref)^2) in dB over every element seen
//             (+inf when the outputs are equal, -inf for a zero reference with noise)
//   max abs   max |test - ref|
//   max rel   max |test - ref| / |ref| over elements with ref != 0
//   top-1     rows (along the last axis) whose largest element has the same index
// NaN in either tensor counts as infinite error.
#pragma once

#include <cstdint>

#include "frugal/core/tensor.h"

namespace frugal::kernels::emu {

struct OutputError {
  double sqnr_db = 0;
  double max_abs_error = 0;
  double max_rel_error = 0;
  int64_t top1_agree = 0;
  int64_t top1_rows = 0;
  int64_t elements = 0;
  double signal_energy = 0;  // sum ref^2
  double noise_energy = 0;   // sum (test - ref)^2
};

class OutputErrorMeter {
 public:
  // Same shape required (UserError otherwise); float tensors (f32, f64).
  void add(const Tensor& reference, const Tensor& test);
  OutputError result() const;

 private:
  OutputError e_;
};

}  // namespace frugal::kernels::emu
