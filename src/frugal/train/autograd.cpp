#include "frugal/train/autograd.h"

#include <cmath>
#include <set>

#include "frugal/ops/op.h"

namespace frugal::train {
namespace {

bool takes_trainable(const std::string& op_type, size_t input_index) {
  if (op_type == "BatchNormalization") return input_index == 1 || input_index == 2;
  return op_type == "Conv" || op_type == "Gemm" || op_type == "MatMul" || op_type == "Add" ||
         op_type == "Sub" || op_type == "Mul" || op_type == "BlockCirculant";
}

}  // namespace

std::vector<std::string> trainable_initializers(const ir::Graph& graph) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  for (const ir::Node& n : graph.nodes)
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      const std::string& v = n.inputs[i];
      const Tensor* t = graph.initializer(v);
      if (!t || t->dtype() != DType::kF32 || !takes_trainable(n.op_type, i)) continue;
      if (seen.insert(v).second) out.push_back(v);
    }
  return out;
}

TrainGraph::TrainGraph(ir::Graph graph, GraphOptions options)
    : graph_(std::move(graph)), options_(options) {
  graph_.validate_and_sort();
  if (graph_.inputs.size() != 1 || graph_.outputs.size() != 1)
    throw UserError("training needs a model with one input and one output (this one has " +
                    std::to_string(graph_.inputs.size()) + " and " +
                    std::to_string(graph_.outputs.size()) + ")");
  input_ = graph_.inputs[0].name;
  output_ = graph_.outputs[0].name;
  if (graph_.inputs[0].dtype != DType::kF32)
    throw UnsupportedError("training needs a float32 input; '" + input_ + "' is " +
                           std::string(dtype_name(graph_.inputs[0].dtype)));
  for (auto& [name, t] : graph_.initializers) t = t.clone();  // the trainer owns its weights
  params_ = trainable_initializers(graph_);
  for (const auto& p : params_) requires_grad_[p] = true;
  if (options_.input_grad) requires_grad_[input_] = true;

  // Forward pass over requires-grad, then backward pass over "reaches the output".
  const size_t count = graph_.nodes.size();
  std::vector<bool> carries(count, false);
  for (size_t k = 0; k < count; ++k) {
    const ir::Node& n = graph_.nodes[k];
    for (const auto& v : n.inputs)
      if (!v.empty() && requires_grad_.count(v)) carries[k] = true;
    if (carries[k])
      for (const auto& v : n.outputs)
        if (!v.empty()) requires_grad_[v] = true;
  }
  std::set<std::string> reaches{output_};
  backward_node_.assign(count, false);
  for (size_t k = count; k-- > 0;) {
    const ir::Node& n = graph_.nodes[k];
    bool feeds = false;
    for (const auto& v : n.outputs)
      if (reaches.count(v)) feeds = true;
    if (!feeds) continue;
    for (const auto& v : n.inputs)
      if (!v.empty()) reaches.insert(v);
    backward_node_[k] = carries[k];
  }
  if (options_.accumulator && options_.kernels == KernelChoice::kReference)
    throw UserError(
        "--format ACC=...: emulated accumulators run on the fast kernels; drop --kernels ref");
  const KernelConfig kernel_config(options_.kernels, options_.accumulator);
  ops_.resize(count);
  for (size_t k = 0; k < count; ++k) {
    const ir::Node& n = graph_.nodes[k];
    // ONNX operators by type, frugal's own (ops/block_circulant.h) as "frugal.TYPE".
    const bool onnx = n.domain.empty() || n.domain == "ai.onnx";
    const GradOpFactory* f = find_grad_op(onnx ? n.op_type : n.domain + "." + n.op_type);
    if (!f) {
      if (backward_node_[k])
        throw UnsupportedError(n.describe() + ": op type " + n.op_type +
                               " has no backward, so this model cannot be trained (ops with one: " +
                               [] {
                                 std::string s;
                                 for (const auto& t : grad_op_types())
                                   s += (s.empty() ? "" : " ") + t;
                                 return s;
                               }() +
                               ")");
      continue;
    }
    ops_[k] = (*f)(n, graph_.opset(n.domain), kernel_config);
  }
  for (const auto& p : params_) grads_[p] = Tensor(DType::kF32, graph_.initializers.at(p).shape());
}

Tensor& TrainGraph::param(const std::string& name) {
  auto it = graph_.initializers.find(name);
  if (it == graph_.initializers.end()) throw UserError("no parameter named '" + name + "'");
  return it->second;
}

const Tensor& TrainGraph::grad(const std::string& name) const {
  auto it = grads_.find(name);
  if (it == grads_.end()) throw UserError("no gradient for '" + name + "'");
  return it->second;
}

Tensor TrainGraph::forward(const Tensor& input, bool training, uint64_t step) {
  if (input.dtype() != DType::kF32) throw UserError("input '" + input_ + "' must be float32");
  values_.clear();
  for (const auto& [name, t] : graph_.initializers) values_[name] = t;
  if (hook_)
    for (const auto& p : params_) {
      Tensor w = graph_.initializers.at(p).clone();
      hook_(TensorClass::kWeight, p, w);
      values_[p] = w;
    }
  values_[input_] = input;
  ForwardState st{training, options_.seed, step, 0, options_.bn_momentum};
  for (size_t k = 0; k < graph_.nodes.size(); ++k) {
    const ir::Node& n = graph_.nodes[k];
    std::vector<Tensor> in(n.inputs.size());
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      auto it = values_.find(n.inputs[i]);
      if (it == values_.end())
        throw UserError(n.describe() + ": input '" + n.inputs[i] + "' has no value");
      in[i] = it->second;
    }
    st.node_index = k;
    std::vector<Tensor> out;
    if (ops_[k]) {
      for (const Tensor& t : in)
        if (t.defined() && t.dtype() != DType::kF32 && n.op_type != "Reshape" &&
            n.op_type != "Squeeze" && n.op_type != "Unsqueeze" && n.op_type != "Clip" &&
            n.op_type != "Dropout")
          throw UnsupportedError(n.describe() + ": training supports float32 tensors only");
      out = ops_[k]->forward(in, st);
    } else {
      out = ops::evaluate(n, graph_.opset(n.domain), in);
    }
    for (size_t o = 0; o < n.outputs.size() && o < out.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      if (hook_ && out[o].dtype() == DType::kF32)
        hook_(TensorClass::kActivation, n.outputs[o], out[o]);
      values_[n.outputs[o]] = out[o];
    }
  }
  auto it = values_.find(output_);
  if (it == values_.end()) throw UserError("output '" + output_ + "' was not computed");
  taped_ = training;
  Tensor result = it->second;
  if (!training) values_.clear();
  return result;
}

void TrainGraph::backward(const Tensor& d_output) {
  if (!taped_) throw InternalError("TrainGraph::backward without a training forward");
  std::map<std::string, Tensor> g;
  g[output_] = d_output;
  for (size_t k = graph_.nodes.size(); k-- > 0;) {
    if (!backward_node_[k]) continue;
    const ir::Node& n = graph_.nodes[k];
    std::vector<Tensor> in(n.inputs.size()), out(n.outputs.size()), dout(n.outputs.size());
    bool any = false;
    for (size_t o = 0; o < n.outputs.size(); ++o) {
      if (n.outputs[o].empty()) continue;
      out[o] = values_.at(n.outputs[o]);
      auto it = g.find(n.outputs[o]);
      if (it != g.end()) {
        dout[o] = it->second;
        // An error is complete once its consumers have all run: round it now.
        if (hook_) hook_(TensorClass::kError, n.outputs[o], dout[o]);
        any = true;
        g.erase(it);
      } else {
        dout[o] = Tensor(DType::kF32, out[o].shape());
      }
    }
    if (!any) continue;
    std::vector<bool> need(n.inputs.size(), false);
    for (size_t i = 0; i < n.inputs.size(); ++i) {
      if (n.inputs[i].empty()) continue;
      in[i] = values_.at(n.inputs[i]);
      need[i] = requires_grad_.count(n.inputs[i]) != 0;
    }
    std::vector<Tensor> din = ops_[k]->backward(in, out, dout, need);
    for (size_t i = 0; i < n.inputs.size() && i < din.size(); ++i) {
      if (!need[i] || !din[i].defined()) continue;
      const std::string& v = n.inputs[i];
      auto it = g.find(v);
      if (it == g.end()) {
        g[v] = din[i];
      } else {
        Tensor sum = it->second.clone();
        accumulate(sum, din[i]);
        it->second = sum;
      }
    }
  }
  for (auto& [name, t] : grads_) {
    auto it = g.find(name);
    t = it != g.end() ? it->second : Tensor(DType::kF32, t.shape());
    if (hook_) hook_(TensorClass::kGradient, name, t);
  }
  auto it = g.find(input_);
  input_grad_ = it != g.end() ? it->second : Tensor();
  values_.clear();
  taped_ = false;
}

namespace {
bool all_finite(const Tensor& t) {
  if (t.dtype() != DType::kF32) return true;
  for (float v : t.span<float>())
    if (!std::isfinite(v)) return false;
  return true;
}
}  // namespace

std::string TrainGraph::first_non_finite() const {
  for (const auto& p : params_)
    if (!all_finite(graph_.initializers.at(p))) return "weight '" + p + "'";
  for (const ir::Node& n : graph_.nodes)
    for (const auto& v : n.outputs) {
      auto it = values_.find(v);
      if (it != values_.end() && !all_finite(it->second))
        return "'" + v + "' (output of " + n.describe() + ")";
    }
  return "";
}

LossResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels, float grad_scale) {
  if (logits.rank() != 2)
    throw UserError("the loss needs logits of shape [N, classes], got " +
                    shape_str(logits.shape()));
  const int64_t n = logits.dim(0), c = logits.dim(1);
  const std::vector<int64_t> lab = labels.to_int64();
  if (static_cast<int64_t>(lab.size()) != n)
    throw UserError("the loss got " + std::to_string(lab.size()) + " labels for " +
                    std::to_string(n) + " logits rows");
  LossResult r;
  r.d_logits = Tensor(DType::kF32, logits.shape());
  const float* z = logits.data<float>();
  float* d = r.d_logits.data<float>();
  double total = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (lab[i] < 0 || lab[i] >= c)
      throw UserError("label " + std::to_string(lab[i]) + " is outside the model's " +
                      std::to_string(c) + " classes");
    const float* row = z + i * c;
    int64_t arg = 0;
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > row[arg]) arg = j;
    if (arg == lab[i]) ++r.correct;
    const double mx = row[arg];
    double sum = 0;
    for (int64_t j = 0; j < c; ++j) sum += std::exp(static_cast<double>(row[j]) - mx);
    const double log_sum = std::log(sum) + mx;
    total += log_sum - row[lab[i]];
    for (int64_t j = 0; j < c; ++j) {
      const double p = std::exp(static_cast<double>(row[j]) - log_sum);
      d[i * c + j] = static_cast<float>((p - (j == lab[i] ? 1.0 : 0.0)) * grad_scale / n);
    }
  }
  r.loss = n ? total / n : 0.0;
  return r;
}

}  // namespace frugal::train
