// Precision policy of training: a number format and a rounding per tensor class —
// weights (W), activations (A), activation gradients / errors (E), weight gradients (G),
// master weights and optimizer state (M) — applied with numeric::quantize over each
// tensor's span. Unset classes stay binary32.
//
//   --format  W=e4m3,A=e4m3,E=e5m2,G=e5m2,M=fp32     (M=W: no master copy; the weights
//                                                     are updated in place in W's format,
//                                                     Wang et al. 2018)
//   --rounding W=stochastic,default=nearest          (nearest | stochastic | any
//                                                     numeric rounding name: rne, rz, sr...)
//   ACC=fp16[:chunk=K][:comp]  GEMM accumulators of Conv/Gemm/MatMul, forward and backward,
//                              through kernels::emu::emu_gemm; rounds to nearest-even unless
//                              --rounding ACC=MODE names a deterministic mode ("default"
//                              does not apply to ACC). ACC=fp32: the plain sgemm path.
//
// Precision schedules change the forward formats (W and A) between iterations:
//   piecewise  "0:e5m2,3:e4m3,8:bf16"   format from the given epoch on
//   cyclic     "cyclic:e4m1..e4m6[:cycles=N]"  mantissa bits cycle from min to max with
//              a cosine, N cycles over the run (Fu et al., CPT, ICLR 2021)
//   adaptive   "adaptive:e4m1..e4m6[:patience=P]"  start at the narrowest; widen the
//              mantissa by one bit after P epochs (default 1) whose train loss did not
//              improve on the best so far by at least 1%.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/numeric/format.h"
#include "frugal/numeric/rounding.h"
#include "frugal/train/autograd.h"

namespace frugal::train {

struct ClassPrecision {
  std::optional<numeric::NumberFormat> format;  // nullopt: binary32, untouched
  numeric::Rounding rounding;
};

// A rounding name of --rounding: nearest | stochastic (seeded with `seed`) | any numeric
// rounding name (rne, rz, sr...). Throws UserError on a bad name.
numeric::Rounding parse_rounding_name(const std::string& name, uint64_t seed);

// Rounds `t` (binary32) in place to `p`'s format (nothing without one). `value` and `salt`
// choose the stochastic-rounding stream and `step` its counters, so every tensor of every
// iteration draws fresh bits and the result does not depend on thread count.
void round_tensor(const ClassPrecision& p, const std::string& value, Tensor& t, uint64_t step,
                  uint64_t salt);

// Formats and roundings of named parts outside the tensor classes (K-FAC's stats, factors,
// inverse, update), with the grammar of --format and --rounding: "PART=FORMAT,..." and
// "PART=MODE,...,default=MODE". Every part in `parts` gets an entry (binary32 when not
// named). Throws UserError naming `format_option` / `rounding_option` for a bad item.
std::map<std::string, ClassPrecision> parse_part_precisions(const std::string& format_spec,
                                                            const std::string& rounding_spec,
                                                            uint64_t seed,
                                                            const std::vector<std::string>& parts,
                                                            const std::string& format_option,
                                                            const std::string& rounding_option);

class PrecisionPolicy {
 public:
  // Empty specs give the all-fp32 policy. Throws UserError naming the option and key.
  static PrecisionPolicy parse(const std::string& format_spec, const std::string& rounding_spec,
                               uint64_t seed);

  bool active() const;
  bool master_in_weight_format() const { return master_is_weight_; }
  const ClassPrecision& of(TensorClass c) const;
  const ClassPrecision& master() const { return m_; }
  // The emulated accumulator of the training GEMMs; nullopt: binary32 (oneDNN sgemm).
  const std::optional<kernels::emu::Accumulator>& accumulator() const { return acc_; }
  // Replaces the forward formats (schedules); nullopt keeps binary32.
  void set_forward_format(const std::optional<numeric::NumberFormat>& f);

  // Rounds `t` in place for tensor class `cls`. `step` and the value's name choose the
  // stochastic-rounding stream, so every tensor of every iteration draws fresh bits and the
  // result does not depend on thread count.
  void apply(TensorClass cls, const std::string& value, Tensor& t, uint64_t step) const;
  void apply_master(const std::string& value, Tensor& t, uint64_t step) const;
  std::string describe() const;

 private:
  ClassPrecision w_, a_, e_, g_, m_;
  std::optional<kernels::emu::Accumulator> acc_;
  bool master_is_weight_ = false;
  uint64_t seed_ = 0;
};

class PrecisionSchedule {
 public:
  // Empty spec: no schedule. Throws UserError naming --precision-schedule and the grammar.
  static PrecisionSchedule parse(const std::string& spec);
  bool active() const { return kind_ != Kind::kNone; }
  // Forward format of a step that starts at `epoch_progress` (epochs done, fractional: step
  // i of n in epoch e starts at e + i / n, in [e, e + 1), and belongs to epoch e).
  numeric::NumberFormat format_at(double epoch_progress, int64_t total_epochs) const;
  // Adaptive: called with each finished epoch's train loss.
  void end_epoch(double train_loss);
  const std::string& spec() const { return spec_; }
  // Adaptive state, for checkpoints.
  int adaptive_bits() const { return adaptive_bits_; }
  double best_loss() const { return best_loss_; }
  int stalled() const { return stalled_; }
  void restore(int bits, double best, int stalled) {
    adaptive_bits_ = bits;
    best_loss_ = best;
    stalled_ = stalled;
  }

 private:
  enum class Kind { kNone, kPiecewise, kCyclic, kAdaptive };
  Kind kind_ = Kind::kNone;
  std::string spec_;
  std::vector<std::pair<int64_t, numeric::NumberFormat>> pieces_;
  numeric::NumberFormat lo_, hi_;
  int cycles_ = 8, patience_ = 1;
  int adaptive_bits_ = 0;
  double best_loss_ = 1e300;
  int stalled_ = 0;
};

// The forward formats one epoch used under a precision schedule, for its log line: one
// name, or "MIN..MAX" (by significand width) when a cyclic schedule varied it.
class FormatRange {
 public:
  void add(const numeric::NumberFormat& f);
  std::string describe() const;  // "" when nothing was added

 private:
  std::optional<numeric::NumberFormat> lo_, hi_;
};

}  // namespace frugal::train
