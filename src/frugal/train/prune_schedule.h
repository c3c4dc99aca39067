// Pruning while training (frugal train --prune SPEC[:OPTIONS]): magnitude masks recomputed
// on a schedule and applied after every optimizer step, so that a pruned weight stays
// exactly zero (its optimizer state is zeroed too: momentum or Adam moments cannot revive it).
//
// Gradual pruning follows Zhu & Gupta (2017), "To prune, or not to prune": between
// steps t0 and t0 + n dt the target sparsity is
//     s_t = s_f + (s_i - s_f) (1 - (t - t0) / (n dt))^3
// and the masks are recomputed every dt steps (t counts optimizer steps, i.e. iterations;
// start= and end= are given in epochs and converted with the iterations per epoch).
//
// Options after the prune spec (compress/prune.h), e.g. 0.9:schedule=cubic,start=1,end=8:
//   schedule=oneshot|cubic   oneshot (default): the target at step `start` and kept after
//   start=E, end=E           epochs (fractions allowed; default 0 and, for cubic, the last)
//   every=N                  iterations between mask updates (default 100; end is always one)
//   initial=S                s_i (default 0)
// The spec `keep` prunes nothing new: the zeros the model has before its first step stay
// zero (fine-tuning a model pruned by frugal compress).
//
// Resuming is bit-identical: the mask of a layer being pruned is the set of its non-zero
// weights after each step (a function of the weights, which the checkpoint holds), and the
// schedule is a function of the step.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frugal/compress/prune.h"
#include "frugal/ir/graph.h"

namespace frugal::train {

struct PruneScheduleSpec {
  compress::PruneSpec target;
  bool cubic = false;
  double start = 0, end = -1;  // epochs; end < 0: the last epoch (cubic) or start (oneshot)
  int64_t every = 100;
  double initial = 0;
  // Throws UserError naming --prune and the bad part.
  static PruneScheduleSpec parse(const std::string& text);
};

class PruneSchedule {
 public:
  // `params` are the trainable tensors' names; every prunable layer's weight must be one.
  PruneSchedule(const std::string& spec, const std::string& exclude, const ir::Graph& model,
                const std::vector<std::string>& params, int64_t iters_per_epoch, int64_t epochs);

  using WeightFn = std::function<Tensor&(const std::string&)>;
  using StateMap = std::map<std::string, std::vector<Tensor>>;
  // After optimizer step `step` (0-based): recompute the masks when the schedule says so,
  // then zero the masked weights (and their optimizer state, when given).
  void after_step(int64_t step, const WeightFn& weight, StateMap* state);
  // Before the first step of a resumed run that has done `steps_done` steps.
  void resume(int64_t steps_done, const WeightFn& weight);

  // Target sparsity factor at `step` for a final sparsity s_f.
  double sparsity_at(int64_t step, double final_sparsity) const;
  bool is_update_step(int64_t step) const;
  int64_t start_step() const { return start_step_; }
  int64_t end_step() const { return end_step_; }
  // "0.9 cubic from step 938 to 7504 every 100" and the current weight sparsity.
  std::string describe() const;
  // Fraction of zeros over the layers being pruned, as last applied.
  double current_sparsity() const;

 private:
  void apply(const WeightFn& weight, StateMap* state);
  PruneScheduleSpec spec_;
  std::vector<compress::PrunableLayer> layers_;
  compress::Masks masks_;  // empty until the first update (or resume after it)
  int64_t start_step_ = 0, end_step_ = 0;
};

}  // namespace frugal::train
