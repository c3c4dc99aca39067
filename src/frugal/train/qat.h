// Quantization-aware training (frugal train --qat): the forward pass of every Conv, Gemm
// and MatMul that static int8 quantization would quantize (compress/quantize.h) sees
// fake-quantized weights and activations on exactly the grid the QDQ export writes, and the
// backward pass is the straight-through estimator.
//
//   --qat int8[:per-channel|per-tensor][,sym|asym][,calib=minmax|percentile[:P]]
//             [,start=E][,freeze=E]
//
// - Weights: symmetric int8, q in [-127, 127], one scale per output channel (default) or
//   per tensor, from the current weight's max |w| every step (compress::quantize_weight).
//   Gradient: identity (nothing is clipped: the scale covers the largest weight).
// - Activations: the values the QDQ export quantizes (inputs of the quantized nodes and
//   their outputs, after a sole following Relu, graph outputs excluded), per tensor, u8
//   asymmetric (default) or s8 symmetric (compress::activation_params). Ranges are
//   calibrated from the data: every training step measures each float value's range in the
//   batch (min/max, or the percentile clip of runtime::select_range) and keeps an exponential
//   moving average (the first batch sets it; then r = 0.99 r + 0.01 r_batch), frozen after
//   `freeze=E` epochs. Gradient: passed where the input lies inside the representable range
//   [(qmin - z) s, (qmax - z) s], zero outside.
// - Biases of quantized nodes whose input is quantized are rounded to the int32 grid of the
//   export (scale = input scale x weight scale), so that a model without BatchNorm trains on
//   the exported arithmetic.
// - BatchNorm: kept during training (batch statistics) and folded at export. A Conv/Gemm
//   read only by a BatchNormalization quantizes the *folded* weight W s (s = gamma /
//   sqrt(running_var + eps) per output channel) and feeds FQ(W s) / s to the node, so that
//   node + BN in inference mode equals the exported folded node up to float rounding. Per
//   channel, FQ(W s) / s = FQ(W) exactly in real arithmetic, and FQ(W) is used.
// - start=E: float training for the first E epochs (ranges are observed), fake
//   quantization after. freeze=E: ranges stop moving after E epochs (default: never).
//
// The ranges are part of a checkpoint; export writes the QDQ model with the learned ranges
// (compress::quantize_with_ranges) and the ranges file (runtime::save_ranges). The trainer's
// evaluations run that exported QDQ graph, so the accuracy a run reports is the file's.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "frugal/compress/quantize.h"
#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"
#include "frugal/runtime/calibrate.h"
#include "frugal/train/autograd.h"

namespace frugal::train {

struct QatSpec {
  compress::QuantSpec quant;  // static int8; calib minmax or percentile
  int64_t start = 0;          // epochs of float training before fake quantization
  int64_t freeze = -1;        // epochs after which the ranges stop moving (-1: never)
  float momentum = 0.99f;     // EMA of the batch ranges
  // "" : no QAT. UserError "--qat 'TEXT': reason" for a bad spec.
  static QatSpec parse(const std::string& text);
  std::string name() const;
};

// One float value's running range.
struct QatRange {
  float min = 0, max = 0;
  bool seen = false;
};

class QatState {
 public:
  // `model`: the inference graph being trained (names of values and parameters);
  // `params`: its trainable initializers. Throws UserError naming --qat when the model has
  // nothing to quantize or cannot be exported (per-channel on opset < 13).
  QatState(QatSpec spec, const ir::Graph& model, const std::vector<std::string>& params);

  // Before each forward: training (observe ranges, keep STE masks) or inference; epoch is
  // the 0-based epoch of the run (start=/freeze=).
  void begin_forward(bool training, int64_t epoch);
  // The graph input, fake-quantized when the export quantizes it.
  Tensor input(const std::string& name, const Tensor& x);
  // The tensor hook: weights and biases (fake quantization, with BN folding from `model`,
  // the current graph), activations (observe, fake-quantize, keep the STE mask), errors
  // (the STE mask). May replace `t` with a new tensor; never writes into a shared one.
  void apply(TensorClass cls, const std::string& value, Tensor& t, const ir::Graph& model);

  bool fake_quant_active() const { return active_; }
  const QatSpec& spec() const { return spec_; }
  const std::set<std::string>& quantized_activations() const { return acts_; }
  const std::map<std::string, QatRange>& ranges() const { return ranges_; }
  int64_t observed_samples() const { return observed_samples_; }
  void restore(std::map<std::string, QatRange> ranges, int64_t observed_samples) {
    ranges_ = std::move(ranges);
    observed_samples_ = observed_samples;
  }
  // The ranges seen so far, in the frugal.ranges/1 form.
  runtime::RangesFile ranges_file() const;
  // The QDQ int8 model of `model` (inference form) with the learned ranges.
  compress::QuantResult export_int8(const ir::Graph& model) const;
  std::string describe() const;

 private:
  struct WeightSite {
    std::string node;
    int64_t axis = 0;           // output-channel axis of the weight
    std::string input;          // the node's data input (activation)
    std::string bias;           // bias rounded to the export's int32 grid ("" : none)
    std::string bn_scale, bn_var;  // BatchNormalization folded into the node at export
    float bn_eps = 1e-5f;
  };
  Tensor fake_quant_weight(const std::string& name, const WeightSite& s, const Tensor& w,
                           const ir::Graph& model);
  Tensor fake_quant_bias(const WeightSite& s, const std::string& weight, const Tensor& b) const;
  void observe(const std::string& value, const Tensor& t);
  Tensor fake_quant_activation(const std::string& value, const Tensor& t, bool keep_mask);

  QatSpec spec_;
  std::set<std::string> acts_;                     // activations the export quantizes
  std::map<std::string, WeightSite> weights_;      // weight initializer -> its node
  std::map<std::string, std::string> biases_;      // bias initializer -> weight initializer
  std::map<std::string, std::vector<float>> weight_scales_;  // this forward's, per weight
  std::map<std::string, QatRange> ranges_;
  std::map<std::string, std::vector<uint8_t>> masks_;  // STE: 1 where the input was clipped
  int64_t observed_samples_ = 0;
  bool training_ = false, active_ = false, observing_ = false;
};

}  // namespace frugal::train
