// Binary and ternary training with the straight-through estimator (frugal train
// --binarize binary|ternary[:all][:acts[:packed]], the spec of frugal compress --binarize).
//
// - Shadow weights: the float initializers stay what the optimizer updates (and what a
//   checkpoint holds). Every forward replaces each binarized layer's weight by alpha * S
//   computed from the current shadow weight (compress::binarize_weight: XNOR-Net sign with
//   per-channel alpha = mean |W|, or TWN's ternary threshold). The gradient the backward
//   computes for that value is dL/dW_b, and it is applied to the shadow weight unchanged:
//   the straight-through estimator of BinaryConnect (Courbariaux et al., 2015) and XNOR-Net
//   (Rastegari et al., 2016). `clip`: after each step the shadow weights of the binarized
//   layers are clipped to [-1, 1] (BinaryConnect); off by default (docs/training.md).
// - Binary activations (`:acts`): the input of each binarized Conv/Gemm becomes
//   beta * sign(x), beta = mean |x| per sample, exactly the Abs/ReduceMean/Sign/Mul the
//   export writes. Its gradient is the clipped STE of BNN (Hubara et al., 2016): the error
//   passes where |x| <= 1 and is zero elsewhere (beta is treated as a constant). The
//   training graph reads that input through an Identity node ("<x>_ste") so that other
//   readers of x (a residual branch) keep the float value, as in the export.
// - BatchNorm stays in training (batch statistics); the binarized layer is the Conv before
//   it, whose alpha then only rescales what BN normalizes (as the export keeps it: a Mul by
//   alpha before the BN).
// - Export: compress::binarize(float model, spec): the file frugal compress --binarize
//   writes from the shadow weights. Evaluations run that graph, so the accuracy a run
//   reports is the exported file's.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "frugal/compress/binarize_layers.h"
#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"
#include "frugal/train/autograd.h"
#include "frugal/train/data/dataset.h"

namespace frugal::train {

class BinarizeTrain {
 public:
  // Selects the layers of `model` (the float model) binarize() would convert. Throws
  // UserError naming --binarize when there are none, or none takes binary activations.
  BinarizeTrain(compress::BinarizeSpec spec, bool clip, const ir::Graph& model);

  // `model` with an Identity in front of each layer whose input is binarized.
  ir::Graph training_graph(ir::Graph model);
  // The float model again (shadow weights), without those Identity nodes.
  ir::Graph float_model(const ir::Graph& trained) const;
  // What frugal compress --binarize SPEC writes from the trained shadow weights.
  compress::BinarizeResult export_binarized(const ir::Graph& trained) const;

  // The tensor hook: weights (alpha * S), binarized inputs (beta * sign(x)), their errors
  // (clipped STE). May replace `t` with a new tensor; never writes into a shared one.
  void apply(TensorClass cls, const std::string& value, Tensor& t);
  // After an optimizer step on parameter `name`: clip to [-1, 1] when enabled.
  void after_step(const std::string& name, Tensor& w) const;

  // Top-1 accuracy of the exported model on `indices` of `data` (batches of `batch`).
  double accuracy(const ir::Graph& trained, const Dataset& data, std::span<const int64_t> indices,
                  int64_t batch, int threads) const;

  const compress::BinarizeSpec& spec() const { return spec_; }
  bool clip() const { return clip_; }
  std::string describe() const;

 private:
  compress::BinarizeSpec spec_;
  bool clip_ = false;
  std::map<std::string, compress::PrunableLayer> weights_;  // weight initializer -> layer
  std::set<std::string> act_layers_;                        // layers reading beta * sign(x)
  std::map<std::string, std::string> act_values_;           // "<x>_ste" value -> x (training graph)
  // STE masks of the last forward (1 where |x| > 1), read by the backward that follows it.
  std::map<std::string, std::vector<uint8_t>> masks_;
};

// beta * sign(x), beta = mean |x| over each sample (all axes but the first); sign(0) = 0.
// `blocked`, when given, gets 1 where |x| > 1 (the clipped STE's zeroed gradient).
Tensor binary_activation(const Tensor& x, std::vector<uint8_t>* blocked = nullptr);

}  // namespace frugal::train
