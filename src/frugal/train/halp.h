// HALP (De Sa et al. 2018, "High-Accuracy Low-Precision Training"): SVRG with bit
// centering, split between a full-precision host and a low-precision accelerator.
//
// Outer epoch (host, binary32): the centre w~ takes the current weights, the full gradient
// g~ = grad f(w~) is computed over all training samples, and each parameter tensor's grid
// is rescaled to  delta = |g~| / (mu (2^(b-1) - 1))  (|.|: the tensor's 2-norm), so the
// offset z, which the paper bounds by |g~| / mu, fits b-bit signed integers. z starts at 0.
// Inner steps (accelerator, `epoch_len` of them):
//   z <- Q_delta( z - lr (grad f_i(w~ + z) - grad f_i(w~) + g~) )
// where Q_delta rounds to the grid {k delta : |k| <= 2^(b-1) - 1} (saturating) with the
// emulator's rounding (stochastic by default, as in the paper); the model runs with
// weights w~ + z. Deviation from the paper: one scale per parameter tensor instead of one
// for the whole vector (layers' gradients differ by orders of magnitude).
//
// Traffic per outer epoch: host -> accelerator the centre and the full gradient (4 bytes
// per parameter each) and the scales; accelerator -> host the offset (b bits per parameter).
// The data set is held by both and not counted. MACs: a training pass over a sample is
// counted as 3 forward passes (forward, backward data, backward weights); the host does one
// per training sample per outer epoch, the accelerator two per sample per inner step.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/numeric/rounding.h"

namespace frugal::train {

struct HalpSpec {
  int bits = 8;
  int64_t epoch_len = 0;  // inner steps per outer epoch; 0: one pass over the data
  // "BITS[:EPOCH_LEN]"; throws UserError naming --halp (bits outside 2..16, bad length).
  static HalpSpec parse(const std::string& spec);
};

struct HalpTraffic {
  int64_t outer_epochs = 0;
  int64_t host_to_accel_bytes = 0, accel_to_host_bytes = 0;  // totals
  int64_t host_macs = 0, accel_macs = 0;                     // totals
};

class Halp {
 public:
  // `mu`: the strong-convexity constant of the grid's range (> 0).
  Halp(HalpSpec spec, float mu, const std::vector<std::string>& params, numeric::Rounding rounding);

  const HalpSpec& spec() const { return spec_; }
  // Whether inner step `inner` (counted from the run's start) begins an outer epoch.
  bool recentre_due(int64_t epoch_len) const { return inner_ % epoch_len == 0; }
  int64_t inner_steps() const { return inner_; }

  // Host: the centre becomes `weights` (= old centre + offset), the full gradient is
  // stored, grids rescaled, offsets zeroed. `samples`, `forward_macs`: for the MAC count.
  void recentre(const std::map<std::string, const Tensor*>& weights,
                const std::map<std::string, Tensor>& full_grad, int64_t samples,
                int64_t forward_macs);
  // Accelerator: one inner step from the gradients at w~ + z and at w~ on the same batch;
  // writes w~ + z into `weights`.
  void inner_step(std::map<std::string, Tensor*>& weights,
                  const std::map<std::string, const Tensor*>& grad_at_weights,
                  const std::map<std::string, const Tensor*>& grad_at_centre, float lr,
                  int64_t batch, int64_t forward_macs);

  const Tensor& centre(const std::string& p) const { return centre_.at(p); }
  const Tensor& offset(const std::string& p) const { return offset_.at(p); }
  float scale(const std::string& p) const { return scale_.at(p); }
  const HalpTraffic& traffic() const { return traffic_; }
  // "8 bits, 3 outer epochs; per outer epoch host->accelerator 246.1 kB, ..."
  std::string describe(const std::string& accel_format) const;

  std::map<std::string, Tensor> state() const;
  void restore(const std::map<std::string, Tensor>& state);

 private:
  HalpSpec spec_;
  float mu_;
  std::vector<std::string> params_;
  numeric::Rounding rounding_;
  std::map<std::string, Tensor> centre_, full_grad_, offset_;
  std::map<std::string, float> scale_;
  int64_t inner_ = 0;
  HalpTraffic traffic_;
};

}  // namespace frugal::train
