#include "frugal/train/qat.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "frugal/core/error.h"
#include "frugal/core/strings.h"
#include "frugal/ir/subgraph.h"
#include "frugal/ops/quantize_math.h"
#include "frugal/train/ste_mask.h"

namespace frugal::train {
namespace {

int64_t parse_epochs(const std::string& text, const std::string& where) {
  if (text.empty() || text.size() > 6 || text.find_first_not_of("0123456789") != std::string::npos)
    throw UserError(where + ": '" + text + "' is not a whole number of epochs");
  return std::stoll(text);
}

using compress::detail::Layout;
using compress::detail::layout_of;

const ir::Node* node_named(const ir::Graph& g, const std::string& name) {
  for (const auto& n : g.nodes)
    if (n.name == name) return &n;
  return nullptr;
}

}  // namespace

QatSpec QatSpec::parse(const std::string& text) {
  const std::string where = "--qat '" + text + "'";
  QatSpec s;
  std::string rest;
  for (const std::string& p : split(text, ',')) {
    if (p.rfind("start=", 0) == 0) {
      s.start = parse_epochs(p.substr(6), where + ": start");
    } else if (p.rfind("freeze=", 0) == 0) {
      s.freeze = parse_epochs(p.substr(7), where + ": freeze");
    } else {
      rest += (rest.empty() ? "" : ",") + p;
    }
  }
  if (rest.empty())
    throw UserError(where +
                    ": no format (int8[:per-channel|per-tensor][,sym|asym]"
                    "[,calib=minmax|percentile[:P]][,start=E][,freeze=E])");
  s.quant = compress::parse_quant_spec(rest, "--qat");
  if (s.quant.kind != compress::QuantSpec::Kind::kStatic8)
    throw UserError(where + ": QAT trains static int8 (int8[:per-channel|per-tensor]), not '" +
                    split(rest, ',')[0] + "'");
  if (s.quant.calib.method != runtime::CalibMethod::kMinMax &&
      s.quant.calib.method != runtime::CalibMethod::kPercentile)
    throw UserError(where + ": calib=" + runtime::calibration_method_name(s.quant.calib) +
                    " is not available while training (minmax or percentile[:P])");
  if (s.quant.samples > 0)
    throw UserError(where + ": samples= does not apply (every training batch updates the ranges)");
  if (s.quant.cle || s.quant.bias_correct)
    throw UserError(where +
                    ": cle and bias-correct are post-training repairs; QAT trains the "
                    "weights instead");
  if (s.freeze >= 0 && s.freeze < s.start)
    throw UserError(where + ": freeze=" + std::to_string(s.freeze) + " is before start=" +
                    std::to_string(s.start) + " (the ranges would never follow the quantized net)");
  return s;
}

std::string QatSpec::name() const {
  std::string n = compress::quant_spec_name(quant);
  if (start > 0) n += ",start=" + std::to_string(start);
  if (freeze >= 0) n += ",freeze=" + std::to_string(freeze);
  return n;
}

QatState::QatState(QatSpec spec, const ir::Graph& model, const std::vector<std::string>& params)
    : spec_(std::move(spec)) {
  // The export decides what is quantized: run it once with placeholder ranges for every
  // value and read back the activations it quantizes and the layers it converts.
  const ir::Graph prepared = compress::prepare_for_quantization(model);
  runtime::RangesFile placeholder;
  for (const auto& in : prepared.inputs) placeholder.ranges[in.name] = {-1.0f, 1.0f};
  for (const auto& n : prepared.nodes)
    for (const auto& o : n.outputs)
      if (!o.empty()) placeholder.ranges[o] = {-1.0f, 1.0f};
  compress::QuantResult probe;
  try {
    probe = compress::quantize_with_ranges(model, spec_.quant, placeholder);
  } catch (const UserError& e) {
    throw UserError("--qat: " + std::string(e.what()));
  }
  for (const auto& n : probe.graph.nodes)
    if (n.op_type == "QuantizeLinear" && !n.inputs.empty()) acts_.insert(n.inputs[0]);

  const std::set<std::string> trainable(params.begin(), params.end());
  for (const auto& lq : probe.layers) {
    if (lq.precision.rfind("int8", 0) != 0) continue;
    const ir::Node* n = node_named(model, lq.node);
    const ir::Node* pn = node_named(prepared, lq.node);
    if (!n || !pn || !n->has_input(1) || !trainable.count(n->inputs[1])) continue;
    std::string why;
    const auto site = compress::detail::weight_site(model, *n, why);
    if (!site) continue;
    WeightSite w;
    w.node = n->name;
    w.axis = site->out_axis;
    w.input = n->inputs[0];
    const int64_t r = ir::sole_reader(model, n->outputs[0], ir::GraphOutputs::kIgnored,
                                      ir::DoubleRead::kTwoReaders);
    if (r >= 0) {
      const ir::Node& bn = model.nodes[static_cast<size_t>(r)];
      // Folded at export when the prepared node now writes the BN's output.
      if (bn.op_type == "BatchNormalization" && bn.inputs.size() >= 5 && !bn.outputs.empty() &&
          pn->outputs[0] == bn.outputs[0]) {
        w.bn_scale = bn.inputs[1];
        w.bn_var = bn.inputs[4];
        w.bn_eps = bn.attr_float("epsilon", 1e-5f);
      }
    }
    const int64_t out_channels = model.initializer(site->weight)->dim(site->out_axis);
    if (w.bn_scale.empty() && n->op_type != "MatMul" && n->has_input(2) &&
        trainable.count(n->inputs[2]) && acts_.count(w.input) &&
        (n->op_type == "Conv" || n->attr_float("beta", 1.0f) == 1.0f)) {
      const Tensor* b = model.initializer(n->inputs[2]);
      if (b && b->rank() == 1 && b->numel() == out_channels) w.bias = n->inputs[2];
    }
    if (!w.bias.empty()) biases_[w.bias] = site->weight;
    weights_[site->weight] = w;
  }
  if (weights_.empty())
    throw UserError(
        "--qat: the model has no Conv/Gemm/MatMul with a trainable float32 "
        "weight that int8 quantization would convert");
}

void QatState::begin_forward(bool training, int64_t epoch) {
  training_ = training;
  active_ = epoch >= spec_.start;
  observing_ = training && (spec_.freeze < 0 || epoch < spec_.freeze);
  masks_.clear();
  weight_scales_.clear();
}

Tensor QatState::input(const std::string& name, const Tensor& x) {
  if (x.dtype() != DType::kF32) return x;
  if (observing_) {
    observe(name, x);
    if (x.rank() > 0) observed_samples_ += x.dim(0);
  }
  if (!active_ || !acts_.count(name)) return x;
  return fake_quant_activation(name, x, false);
}

void QatState::apply(TensorClass cls, const std::string& value, Tensor& t, const ir::Graph& model) {
  if (t.dtype() != DType::kF32) return;
  switch (cls) {
    case TensorClass::kWeight:
      if (!active_) return;
      if (auto w = weights_.find(value); w != weights_.end()) {
        t = fake_quant_weight(value, w->second, t, model);
      } else if (auto b = biases_.find(value); b != biases_.end()) {
        t = fake_quant_bias(weights_.at(b->second), b->second, t);
      }
      return;
    case TensorClass::kActivation:
      if (observing_) observe(value, t);
      if (active_ && acts_.count(value)) t = fake_quant_activation(value, t, training_);
      return;
    case TensorClass::kError: {
      if (auto m = masks_.find(value); m != masks_.end()) zero_blocked(t, m->second);
      return;
    }
    case TensorClass::kGradient:
      return;
  }
}

Tensor QatState::fake_quant_weight(const std::string& name, const WeightSite& s, const Tensor& w,
                                   const ir::Graph& model) {
  const int64_t axis = spec_.quant.per_channel ? s.axis : -1;
  if (s.bn_scale.empty() || spec_.quant.per_channel) {
    // Per channel, quantizing W s (s > 0 or < 0 per channel) gives the same integers as W.
    const compress::WeightQuant wq = compress::quantize_weight(w, axis);
    weight_scales_[name] = wq.scales;
    return compress::dequantize_weight(wq, axis);
  }
  // Per tensor after a BatchNorm: quantize the folded weight (the one the export writes)
  // and unfold it, so that node + BN in inference equals the exported folded node.
  const Tensor* gamma = model.initializer(s.bn_scale);
  const Tensor* var = model.initializer(s.bn_var);
  const Layout l = layout_of(w.shape(), s.axis);
  if (!gamma || !var || gamma->numel() != l.channels || var->numel() != l.channels) {
    const compress::WeightQuant wq = compress::quantize_weight(w, axis);
    return compress::dequantize_weight(wq, axis);
  }
  std::vector<double> k(static_cast<size_t>(l.channels));
  for (int64_t c = 0; c < l.channels; ++c)
    k[static_cast<size_t>(c)] =
        static_cast<double>(gamma->data<float>()[c]) /
        std::sqrt(static_cast<double>(var->data<float>()[c]) + static_cast<double>(s.bn_eps));
  Tensor folded(DType::kF32, w.shape());
  const float* src = w.data<float>();
  float* f = folded.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c)
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t e = (o * l.channels + c) * l.inner + i;
        f[e] = static_cast<float>(static_cast<double>(src[e]) * k[static_cast<size_t>(c)]);
      }
  const compress::WeightQuant wq = compress::quantize_weight(folded, -1);
  const Tensor dq = compress::dequantize_weight(wq, -1);
  Tensor out(DType::kF32, w.shape());
  const float* q = dq.data<float>();
  float* d = out.data<float>();
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t c = 0; c < l.channels; ++c) {
      const double kc = k[static_cast<size_t>(c)];
      for (int64_t i = 0; i < l.inner; ++i) {
        const int64_t e = (o * l.channels + c) * l.inner + i;
        // A channel BN multiplies by 0 contributes nothing: leave its weight as it is.
        d[e] = kc != 0.0 && std::isfinite(kc) ? static_cast<float>(static_cast<double>(q[e]) / kc)
                                              : src[e];
      }
    }
  return out;
}

Tensor QatState::fake_quant_bias(const WeightSite& s, const std::string& weight,
                                 const Tensor& b) const {
  auto ws = weight_scales_.find(weight);
  auto r = ranges_.find(s.input);
  if (ws == weight_scales_.end() || r == ranges_.end() || !r->second.seen) return b;
  const compress::ActivationParams ap = compress::activation_params(
      kernels::ValueRange{r->second.min, r->second.max}, spec_.quant.symmetric);
  // The int32 grid of the export: scale = input scale x weight scale, zero point 0.
  Tensor out(DType::kF32, b.shape());
  const float* src = b.data<float>();
  float* d = out.data<float>();
  const bool per_tensor = ws->second.size() == 1;
  for (int64_t c = 0; c < b.numel(); ++c) {
    const float sc = ap.scale * ws->second[per_tensor ? 0 : static_cast<size_t>(c)];
    const double qv = std::clamp(std::nearbyint(static_cast<double>(src[c]) / sc),
                                 static_cast<double>(std::numeric_limits<int32_t>::min() + 1),
                                 static_cast<double>(std::numeric_limits<int32_t>::max()));
    d[c] = static_cast<float>(static_cast<int64_t>(static_cast<int32_t>(qv))) * sc;
  }
  return out;
}

void QatState::observe(const std::string& value, const Tensor& t) {
  const std::span<const float> v = t.span<float>();
  kernels::ValueRange batch;
  if (spec_.quant.calib.method == runtime::CalibMethod::kMinMax) {
    float lo = std::numeric_limits<float>::infinity(), hi = -lo;
    for (float x : v)
      if (std::isfinite(x)) {
        lo = std::min(lo, x);
        hi = std::max(hi, x);
      }
    if (!(lo <= hi)) return;
    batch = {lo, hi};
  } else {
    const runtime::Histogram h = runtime::make_histogram(v, spec_.quant.calib.bins);
    if (h.finite == 0) return;
    batch = runtime::select_range(h, spec_.quant.calib);
  }
  QatRange& r = ranges_[value];
  if (!r.seen) {
    r = {batch.min, batch.max, true};
    return;
  }
  const float m = spec_.momentum;
  r.min = m * r.min + (1.0f - m) * batch.min;
  r.max = m * r.max + (1.0f - m) * batch.max;
}

Tensor QatState::fake_quant_activation(const std::string& value, const Tensor& t, bool keep_mask) {
  auto it = ranges_.find(value);
  if (it == ranges_.end() || !it->second.seen) return t;
  const bool sym = spec_.quant.symmetric;
  const compress::ActivationParams p =
      compress::activation_params(kernels::ValueRange{it->second.min, it->second.max}, sym);
  const float s = p.scale, z = static_cast<float>(p.zero_point);
  const float qmin = sym ? -128.0f : 0.0f, qmax = sym ? 127.0f : 255.0f;
  Tensor out(DType::kF32, t.shape());
  const float* x = t.data<float>();
  float* y = out.data<float>();
  const int64_t n = t.numel();
  std::vector<uint8_t>* mask = nullptr;
  if (keep_mask) {
    mask = &masks_[value];
    mask->assign(static_cast<size_t>(n), 0);
  }
  // QuantizeLinear then DequantizeLinear, with the reference kernels' arithmetic
  // (ops/quantize.cpp): round half to even of x / s in float32, + z, saturate.
  for (int64_t i = 0; i < n; ++i) {
    const float r = ops::quant::round_half_even(x[i] / s) + z;
    int64_t q;
    if (sym)
      q = ops::quant::round_saturate<int8_t>(r);
    else
      q = ops::quant::round_saturate<uint8_t>(r);
    y[i] = static_cast<float>(q - p.zero_point) * s;
    if (mask && !(r >= qmin && r <= qmax)) (*mask)[static_cast<size_t>(i)] = 1;
  }
  return out;
}

runtime::RangesFile QatState::ranges_file() const {
  runtime::RangesFile f;
  f.method = "qat-ema:" + runtime::calibration_method_name(spec_.quant.calib);
  f.samples = observed_samples_;
  for (const auto& [name, r] : ranges_)
    if (r.seen) f.ranges[name] = kernels::ValueRange{r.min, r.max};
  return f;
}

compress::QuantResult QatState::export_int8(const ir::Graph& model) const {
  return compress::quantize_with_ranges(model, spec_.quant, ranges_file());
}

std::string QatState::describe() const {
  int64_t folded = 0;
  for (const auto& [w, s] : weights_) folded += s.bn_scale.empty() ? 0 : 1;
  return spec_.name() + " (" + std::to_string(weights_.size()) + " layers, " +
         std::to_string(folded) + " with BatchNorm folded at export, " +
         std::to_string(acts_.size()) + " activations; ranges: EMA of batch " +
         runtime::calibration_method_name(spec_.quant.calib) + ")";
}

}  // namespace frugal::train
