#include "frugal/train/binarize_train.h"

#include <algorithm>
#include <cmath>

#include "frugal/core/error.h"
#include "frugal/runtime/session.h"
#include "frugal/train/ste_mask.h"

namespace frugal::train {

Tensor binary_activation(const Tensor& x, std::vector<uint8_t>* blocked) {
  const int64_t n = x.rank() > 0 ? x.dim(0) : 1;
  const int64_t per = n ? x.numel() / n : 0;
  Tensor y(DType::kF32, x.shape());
  const float* src = x.data<float>();
  float* dst = y.data<float>();
  if (blocked) blocked->assign(static_cast<size_t>(x.numel()), 0);
  for (int64_t s = 0; s < n; ++s) {
    const float* xs = src + s * per;
    double sum = 0;
    for (int64_t i = 0; i < per; ++i) sum += std::abs(xs[i]);
    const float beta = per ? static_cast<float>(sum / static_cast<double>(per)) : 0.0f;
    for (int64_t i = 0; i < per; ++i) {
      const float v = xs[i];
      dst[s * per + i] = v > 0 ? beta : v < 0 ? -beta : 0.0f;
      if (blocked && !(std::abs(v) <= 1.0f)) (*blocked)[static_cast<size_t>(s * per + i)] = 1;
    }
  }
  return y;
}

BinarizeTrain::BinarizeTrain(compress::BinarizeSpec spec, bool clip, const ir::Graph& model)
    : spec_(std::move(spec)), clip_(clip) {
  for (const compress::PrunableLayer& l : compress::binarized_layers(model, spec_)) {
    weights_[l.weight] = l;
    if (spec_.acts && compress::takes_binary_acts(model.nodes[static_cast<size_t>(l.node)]))
      act_layers_.insert(l.name);
  }
  const std::string first_last =
      spec_.all ? "" : " (first and last stay float; :all includes them)";
  if (weights_.empty())
    throw UserError("--binarize '" + spec_.str() +
                    "': the model has no Conv/Gemm/MatMul layer to binarize" + first_last);
  if (spec_.acts && act_layers_.empty())
    throw UserError("--binarize '" + spec_.str() +
                    "': no binarized Conv or Gemm layer to take binary activations" + first_last);
}

ir::Graph BinarizeTrain::training_graph(ir::Graph model) {
  act_values_.clear();
  std::map<std::string, std::string> ste_of;  // x -> "<x>_ste", one Identity per value
  for (ir::Node& n : model.nodes) {
    if (!act_layers_.count(n.name)) continue;
    auto [it, fresh] = ste_of.try_emplace(n.inputs[0]);
    if (fresh) {
      it->second = model.unique_name(n.inputs[0] + "_ste");
      act_values_[it->second] = n.inputs[0];
    }
    n.inputs[0] = it->second;
  }
  for (const auto& [x, ste] : ste_of) {
    ir::Node id;
    id.name = model.unique_name(ste);
    id.op_type = "Identity";
    id.inputs = {x};
    id.outputs = {ste};
    model.nodes.push_back(std::move(id));
  }
  model.validate_and_sort();
  return model;
}

ir::Graph BinarizeTrain::float_model(const ir::Graph& trained) const {
  ir::Graph g = trained;
  std::erase_if(g.nodes, [&](const ir::Node& n) {
    return n.op_type == "Identity" && n.outputs.size() == 1 && act_values_.count(n.outputs[0]);
  });
  for (ir::Node& n : g.nodes)
    for (std::string& in : n.inputs)
      if (auto it = act_values_.find(in); it != act_values_.end()) in = it->second;
  return g;
}

compress::BinarizeResult BinarizeTrain::export_binarized(const ir::Graph& trained) const {
  return compress::binarize(float_model(trained), spec_);
}

void BinarizeTrain::apply(TensorClass cls, const std::string& value, Tensor& t) {
  if (t.dtype() != DType::kF32) return;
  switch (cls) {
    case TensorClass::kWeight: {
      auto it = weights_.find(value);
      if (it == weights_.end()) return;
      const compress::PrunableLayer& l = it->second;
      const compress::BinaryWeight b = compress::binarize_weight(t, l, spec_.ternary);
      Tensor w(DType::kF32, t.shape());
      for (int64_t r = 0; r < l.rows; ++r)
        for (int64_t c = 0; c < l.cols; ++c)
          w.data<float>()[l.offset(r, c)] =
              b.alpha.data<float>()[r] * b.signs.data<float>()[l.offset(r, c)];
      t = w;
      return;
    }
    case TensorClass::kActivation:
      if (act_values_.count(value)) t = binary_activation(t, &masks_[value]);
      return;
    case TensorClass::kError: {
      if (auto m = masks_.find(value); m != masks_.end()) zero_blocked(t, m->second);
      return;
    }
    case TensorClass::kGradient:
      return;
  }
}

void BinarizeTrain::after_step(const std::string& name, Tensor& w) const {
  if (!clip_ || !weights_.count(name)) return;
  for (float& v : w.span<float>()) v = std::clamp(v, -1.0f, 1.0f);
}

double BinarizeTrain::accuracy(const ir::Graph& trained, const Dataset& data,
                               std::span<const int64_t> indices, int64_t batch, int threads) const {
  const ir::Graph exported = export_binarized(trained).graph;
  runtime::SessionOptions o;
  o.backends = {"auto"};
  o.threads = threads;
  o.origin = "the --binarize export";
  // One session per batch size: the full batches and the last, shorter one.
  std::map<int64_t, std::unique_ptr<runtime::Session>> sessions;
  int64_t correct = 0;
  Tensor images, labels;
  const auto n = static_cast<int64_t>(indices.size());
  for (int64_t b = 0; b < n; b += batch) {
    const int64_t cnt = std::min(batch, n - b);
    data.get_batch(indices.subspan(static_cast<size_t>(b), static_cast<size_t>(cnt)), images,
                   labels);
    auto& s = sessions[cnt];
    if (!s) {
      o.infer.input_shapes[exported.inputs[0].name] = images.shape();
      s = std::make_unique<runtime::Session>(exported, o);
    }
    correct += softmax_cross_entropy(s->run({images})[0], labels).correct;
  }
  return n ? static_cast<double>(correct) / static_cast<double>(n) : 0.0;
}

std::string BinarizeTrain::describe() const {
  return spec_.str() + " (" + std::to_string(weights_.size()) + " layers binarized, " +
         std::to_string(act_layers_.size()) + " with binary inputs; straight-through estimator" +
         (clip_ ? ", shadow weights clipped to [-1, 1]" : "") + ")";
}

}  // namespace frugal::train
