// K-FAC (Martens & Grosse 2015; KFC for convolutions, Grosse & Martens 2016): the gradient
// of every Gemm and Conv layer is preconditioned with the inverse of a Kronecker-factored
// approximation of its Fisher block, F ≈ A ⊗ G, before the base optimizer (SGD with
// momentum) applies it. Other parameters (BatchNormalization, lone Add biases, grouped
// convolutions, Gemm with transA) take the plain gradient.
//
// Per layer, with ā the layer input (with a 1 appended for the bias) and g the per-example
// gradient of the loss with respect to the layer output (N * dL/dy for a mean loss over N):
//   Gemm  A = mean_n ā ā^T                     G = mean_n g g^T
//   Conv  A = mean_{n,t} ā_t ā_t^T (patches)   G = mean_n sum_t g_t g_t^T   (t: positions)
// Both factors are exponential moving averages (decay), refreshed every `cov_every` steps.
// Every `inv_every` steps the damped inverses (A + pi sqrt(l) I)^-1 and (G + sqrt(l)/pi I)^-1
// are formed (factored Tikhonov damping, pi^2 = (tr A / dim A) / (tr G / dim G)); the update
// of a layer's [W | b] (as [out, in]) is V = G^-1 [W | b]-gradient A^-1. KL clipping scales
// every V by min(1, sqrt(kl_clip / (lr^2 sum <V, grad>))). With `adapt_every` > 0 the
// damping l follows the Levenberg-Marquardt rule of Martens & Grosse (sec. 6.5): every
// `adapt_every` steps the reduction ratio rho = (L(w + d) - L(w)) / M(d), M the K-FAC
// quadratic model, multiplies l by omega = (19/20)^adapt_every when rho > 3/4 and divides
// it by omega when rho < 1/4.
//
// Each part has a number format (`--kfac-format`, parsed as --format): `stats` rounds the
// captured inputs and output gradients, `factors` the moving averages, `inverse` the damped
// inverses (computed in binary64 from the rounded factors, then rounded: the storage format
// of the inverse, not the arithmetic of the factorization), `update` the preconditioned
// gradient.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"
#include "frugal/train/precision.h"

namespace frugal::train {

struct KfacOptions {
  float damping = 1e-3f;    // Tikhonov l (the starting value when adaptive)
  int64_t adapt_every = 5;  // Levenberg-Marquardt adaptation of l every N steps; 0: fixed
  float decay = 0.95f;      // moving average of the factors
  int64_t cov_every = 1;    // factors refreshed every N steps
  int64_t inv_every = 20;   // inverses every N steps
  float kl_clip = 1e-3f;    // 0: no clipping
  std::string format;       // --kfac-format stats=,factors=,inverse=,update=
  std::string rounding;     // --kfac-rounding PART=MODE,default=MODE
};

// Throws UserError naming the option for a damping <= 0, a decay outside [0, 1), a period
// < 1 (adapt_every < 0), a negative kl_clip, or a bad format or rounding.
void validate(const KfacOptions& o);

class Kfac {
 public:
  // The layers K-FAC preconditions: Gemm and Conv nodes whose weight is in `params`.
  Kfac(const ir::Graph& graph, const std::vector<std::string>& params, KfacOptions options,
       uint64_t seed);

  const KfacOptions& options() const { return options_; }
  size_t layers() const { return layers_.size(); }
  std::string describe() const;

  // Statistics of a training step: begin_step tells whether this step refreshes the
  // factors; then the trainer hands every captured value (layer inputs after the forward's
  // rounding, output gradients after the backward's).
  bool begin_step(uint64_t step);
  // `gradient`: t is the loss gradient of `value` (else its value).
  bool wants(const std::string& value) const;
  void capture(const std::string& value, const Tensor& t, bool gradient);

  // Updates factors and inverses when due, then replaces the gradient of every K-FAC
  // parameter in `grads` (by parameter name) by its clipped preconditioned update.
  // `loss_scale` divides the captured output gradients.
  void precondition(std::map<std::string, Tensor*>& grads, float lr, float loss_scale);

  // Levenberg-Marquardt damping: whether step `step` measures rho, the quadratic model
  // M(d) = <grad, d> + 1/2 sum_layers <d, G d A> of a parameter change `delta` (by name),
  // and the new damping from the two losses.
  bool adapt_due(uint64_t step) const;
  double quadratic_model(const std::map<std::string, Tensor>& grads,
                         const std::map<std::string, Tensor>& delta) const;
  void adapt(double loss_before, double loss_after, double model_change);
  float damping() const { return damping_; }

  // Everything a checkpoint needs to resume bit-identically: factors, inverses, damping.
  std::map<std::string, Tensor> state() const;
  void restore(const std::map<std::string, Tensor>& state);

  // One layer's factors (tests): A then G; empty before the first refresh.
  std::pair<Tensor, Tensor> factors(size_t layer) const;
  // Its damped inverses, as used by precondition (tests).
  std::pair<Tensor, Tensor> inverses(size_t layer) const;

  struct Layer {
    std::string node, input, output, weight, bias;  // bias "": none (or not trainable)
    bool conv = false, trans_b = true;
    ir::Node node_def;  // Conv: the node (its geometry attributes)
    Shape weight_shape;
    Tensor a, g, a_inv, g_inv;  // factors and damped inverses
    Tensor in_value, out_grad;  // captured this step
  };
  const Layer& layer(size_t i) const { return layers_[i]; }
  // The captured statistics as rows, rounded to the stats format: ā of every example (Gemm)
  // or every example and output position (Conv), [rows, in (+1)]; and the per-example output
  // gradients g, [rows, out]. g_rows^T a_rows / N is the layer's [W | b] gradient.
  Tensor input_rows(const Layer& l) const;
  Tensor output_rows(const Layer& l, float loss_scale) const;

 private:
  void refresh_factors();
  void refresh_inverses();
  using TensorLookup = std::function<const Tensor&(const std::string&)>;
  // A layer's [W | b] (gradient, or step) as [out, in (+1)].
  Tensor gradient_matrix(const Layer& l, const TensorLookup& grads) const;
  void scatter_update(const Layer& l, const Tensor& v, std::map<std::string, Tensor*>& grads) const;

  KfacOptions options_;
  std::map<std::string, ClassPrecision> precision_;
  std::vector<Layer> layers_;
  std::map<std::string, std::vector<size_t>> value_owner_;  // captured value -> layers
  float damping_;
  uint64_t step_ = 0;
  bool capture_ = false, factors_ready_ = false, inverses_ready_ = false;
  int64_t refreshes_ = 0;
  float loss_scale_ = 1;
};

// rows^T rows / divisor: a factor from statistics rows.
Tensor covariance(const Tensor& rows, double divisor);
// The damped inverse (M + d I)^-1 of a symmetric positive definite M (binary64 Cholesky);
// UserError naming `what` when M + d I is not positive definite.
Tensor damped_inverse(const Tensor& m, double d, const std::string& what = "factor");

}  // namespace frugal::train
