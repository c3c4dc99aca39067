// Reverse-mode autograd over an ir::Graph. TrainGraph takes an inference graph, finds its
// trainable initializers, runs the forward in training mode keeping every value (the
// tape), and the backward over the nodes in reverse. A node on the path from a
// trainable tensor to the output whose op type has no backward is refused at
// construction, naming the node.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"
#include "frugal/train/grad_op.h"

namespace frugal::train {

// The classes of tensors a precision policy gives formats to.
enum class TensorClass : uint8_t { kWeight, kActivation, kError, kGradient };

// Called on a tensor of a class, in place (quantizing it); `value` names the graph value.
using TensorHook = std::function<void(TensorClass cls, const std::string& value, Tensor& t)>;

struct GraphOptions {
  KernelChoice kernels = kDefaultKernels;
  // Emulated GEMM accumulation (the policy's ACC class) for Conv/Gemm/MatMul, forward and
  // backward; fast kernels only. nullopt: binary32 sgemm.
  std::optional<kernels::emu::Accumulator> accumulator;
  bool input_grad = false;  // also compute the gradient of the graph input (gradient checks)
  uint64_t seed = 0;        // Dropout masks
  float bn_momentum = -1;   // < 0: each BatchNormalization's own attribute
};

// Trainable initializers of a graph: float initializers read by Conv, Gemm, MatMul,
// Add, Sub or Mul, and BatchNormalization's scale and bias (not its running statistics).
std::vector<std::string> trainable_initializers(const ir::Graph& graph);

class TrainGraph {
 public:
  // The graph must have one float32 input and one output. Initializers are copied.
  explicit TrainGraph(ir::Graph graph, GraphOptions options = {});

  const std::vector<std::string>& params() const { return params_; }
  Tensor& param(const std::string& name);
  const Tensor& grad(const std::string& name) const;
  const std::string& input_name() const { return input_; }
  const std::string& output_name() const { return output_; }
  // The graph with the current weights and running statistics as initializers, in
  // inference form (the same nodes as the input graph).
  const ir::Graph& graph() const { return graph_; }
  const GraphOptions& options() const { return options_; }

  // Runs the graph. In training mode the tape is kept for backward(); `step` draws fresh
  // Dropout masks per iteration.
  Tensor forward(const Tensor& input, bool training, uint64_t step = 0);
  // Gradients of every parameter (overwritten) from the output's gradient, after a
  // training forward.
  void backward(const Tensor& d_output);
  const Tensor& input_grad() const { return input_grad_; }
  // After a training forward: the first value, in node order, holding a NaN or an
  // infinity ("" when all are finite); weights are checked first.
  std::string first_non_finite() const;

  void set_hook(TensorHook hook) { hook_ = std::move(hook); }

 private:
  ir::Graph graph_;
  GraphOptions options_;
  std::string input_, output_;
  std::vector<std::string> params_;
  std::map<std::string, bool> requires_grad_;
  std::vector<std::unique_ptr<GradOp>> ops_;  // per node; null: forward-only (no grad flows)
  std::vector<bool> backward_node_;           // node needs a backward
  std::map<std::string, Tensor> values_;      // the tape of the last forward
  std::map<std::string, Tensor> grads_;       // parameter gradients
  Tensor input_grad_;
  bool taped_ = false;
  TensorHook hook_;
};

// Mean softmax cross-entropy of logits [N, C] against labels [N] (int64 in [0, C)), its
// gradient with respect to the logits, and the number of correct top-1 predictions.
struct LossResult {
  double loss = 0;
  Tensor d_logits;
  int64_t correct = 0;
};
LossResult softmax_cross_entropy(const Tensor& logits, const Tensor& labels,
                                 float grad_scale = 1.0f);

}  // namespace frugal::train
