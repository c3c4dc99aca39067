// Training-mode operators: each op type that training supports has a GradOp with a
// forward (training or inference mode, saving what its backward needs) and a backward
// (output gradients -> input gradients). Op files (grad_*.cpp) register a factory per op
// type, as ops/ does for inference; an op type without one has no backward and a model
// that needs it is refused before training starts.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"
#include "frugal/train/grad_kernels.h"

namespace frugal::train {

struct ForwardState {
  bool training = true;
  uint64_t seed = 0;  // Dropout masks: Philox(seed, stream = node index)
  uint64_t step = 0;  // iteration counter, so each step draws fresh masks
  uint64_t node_index = 0;
  float bn_momentum = -1;  // < 0: the node's attribute (ONNX default 0.9)
};

class GradOp {
 public:
  virtual ~GradOp() = default;
  // Computes the outputs (float32) from the inputs; omitted inputs are undefined tensors.
  // In training mode an op may keep what its backward needs and update running state
  // (BatchNormalization's statistics, which are its inputs 3 and 4, updated in place).
  virtual std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState& st) = 0;
  // Gradients of the inputs whose `need` flag is set (others left undefined), from the
  // inputs, the outputs of the last training forward, and the outputs' gradients.
  virtual std::vector<Tensor> backward(const std::vector<Tensor>& in,
                                       const std::vector<Tensor>& out,
                                       const std::vector<Tensor>& dout,
                                       const std::vector<bool>& need) = 0;
};

using GradOpFactory =
    std::function<std::unique_ptr<GradOp>(const ir::Node& node, int64_t opset, const KernelConfig& k)>;

void register_grad_op(const std::string& op_type, GradOpFactory factory);
// Null when the op type has no backward.
const GradOpFactory* find_grad_op(const std::string& op_type);
std::vector<std::string> grad_op_types();  // sorted

}  // namespace frugal::train

#define FRUGAL_REGISTER_GRAD_OP(ident, op_type, ...) \
  static const bool frugal_grad_registered_##ident = \
      (::frugal::train::register_grad_op(op_type, __VA_ARGS__), true)
