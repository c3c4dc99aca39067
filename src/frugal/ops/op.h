// One operator = one place: its shape inference, its cost and its reference kernel
// live together in src/frugal/ops/<name>.cpp and register themselves here (the ncnn
// habit, STYLE.md). Optimized, sparse, emulated and CUDA kernels live under
// kernels/ and are tested against these reference kernels.
//
// Layering: ops sits between ir and kernels (core -> numeric -> ir -> ops -> kernels).
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/ir/graph.h"

namespace frugal::ops {

// What is known about a value before running: dtype, shape, and maybe its contents.
struct TensorInfo {
  DType dtype = DType::kUndefined;
  std::optional<Shape> shape;   // nullopt: depends on data only known at run time
  std::optional<Tensor> value;  // contents known at compile time (initializer, folded)
};

// Thrown by InferContext when an output shape depends on an input's run-time contents
// (e.g. Reshape whose shape is a graph input). The session then infers that node at run time.
struct DataDependentShape {};

// Throws UserError when a tensor of this shape could never be allocated here (size
// overflows, or exceeds physical memory), naming the value. Checked at compile time so a
// forged shape fails before any run.
void check_fits_in_memory(const std::string& value, DType dtype, const Shape& shape);

class InferContext {
 public:
  InferContext(const ir::Node& node, int64_t opset, std::vector<const TensorInfo*> inputs);

  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  DType dtype(size_t i) const;
  // The input's shape; throws DataDependentShape when it is only known at run time.
  const Shape& shape(size_t i) const;
  int64_t rank(size_t i) const { return static_cast<int64_t>(shape(i).size()); }
  // Compile-time contents, or null.
  const Tensor* value(size_t i) const;
  // Contents needed to infer the output shape; throws DataDependentShape when unknown.
  const Tensor& require_value(size_t i) const;

  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t i) const { return i < node_.outputs.size() && !node_.outputs[i].empty(); }
  void set_output(size_t i, DType dtype, Shape shape);
  void set_output_value(size_t i, Tensor value);  // contents known now (Shape, Constant)
  std::vector<TensorInfo>& outputs() { return outputs_; }

  // Errors that name the node: fail() for an inconsistent model, unsupported() for
  // something valid that frugal does not implement (a dtype, a mode, an attribute value).
  [[noreturn]] void fail(const std::string& why) const;
  [[noreturn]] void unsupported(const std::string& why) const;

  // Normalises a possibly negative axis against `rank`; fails if out of range.
  int64_t axis(int64_t axis, int64_t rank) const;
  // Inputs that must all have this same dtype (or fail naming the input).
  void require_same_dtype(size_t a, size_t b) const;
  // Accepts only the listed dtypes for input i, else unsupported().
  void require_dtype(size_t i, std::initializer_list<DType> allowed) const;

 private:
  const ir::Node& node_;
  int64_t opset_;
  std::vector<const TensorInfo*> inputs_;
  std::vector<TensorInfo> outputs_;
};

// Reference kernels get their inputs and preallocated outputs (shapes from inference).
class KernelContext {
 public:
  KernelContext(const ir::Node& node, int64_t opset, std::vector<const Tensor*> inputs,
                std::vector<Tensor*> outputs)
      : node_(node), opset_(opset), inputs_(std::move(inputs)), outputs_(std::move(outputs)) {}
  const ir::Node& node() const { return node_; }
  int64_t opset() const { return opset_; }
  size_t num_inputs() const { return inputs_.size(); }
  bool has_input(size_t i) const { return i < inputs_.size() && inputs_[i] != nullptr; }
  const Tensor& input(size_t i) const;
  size_t num_outputs() const { return outputs_.size(); }
  bool has_output(size_t i) const { return i < outputs_.size() && outputs_[i] != nullptr; }
  Tensor& output(size_t i) const;
  [[noreturn]] void fail(const std::string& why) const;

 private:
  const ir::Node& node_;
  int64_t opset_;
  std::vector<const Tensor*> inputs_;
  std::vector<Tensor*> outputs_;
};

// Arithmetic work of one node, for the static cost analysis. Parameters and bytes are
// derived generically from the shapes (see cost.h); an op reports only its arithmetic.
struct Work {
  int64_t macs = 0;   // multiply-accumulates (Conv, Gemm, MatMul)
  int64_t flops = 0;  // other arithmetic operations (elementwise, reductions)
  // Trainable parameters among the node's constant inputs; -1: all constant inputs count.
  // (BatchNormalization counts scale and bias, not its running statistics, as torchvision does.)
  int64_t params = -1;
};
struct CostContext {
  const ir::Node& node;
  std::vector<Shape> in;  // empty Shape for omitted inputs
  std::vector<Shape> out;
};

using InferFn = std::function<void(InferContext&)>;
using RefKernel = std::function<void(KernelContext&)>;
using CostFn = std::function<Work(const CostContext&)>;

struct OpDef {
  std::string op_type;
  std::string domain;  // "" = ONNX default domain
  int min_inputs = 1;
  int max_inputs = 1;  // -1: variadic
  int min_outputs = 1;
  int max_outputs = 1;
  InferFn infer;
  RefKernel ref;
  CostFn cost;        // null: flops = number of output elements
  bool foldable = true;  // may be evaluated at compile time when all inputs are constant
};

void register_op(OpDef def);
// Null when the op is unknown. "ai.onnx" is treated as "".
const OpDef* find_op(std::string_view domain, std::string_view op_type);
std::vector<const OpDef*> all_ops();  // sorted by op type

// Runs one node on concrete inputs with its reference kernel (inference then kernel).
// Omitted optional inputs are passed as undefined tensors. Used by constant folding and tests.
std::vector<Tensor> evaluate(const ir::Node& node, int64_t opset, const std::vector<Tensor>& inputs);

}  // namespace frugal::ops

// Registers an OpDef from a static initializer: FRUGAL_REGISTER_OP(Relu, make_relu());
#define FRUGAL_REGISTER_OP(ident, ...) \
  static const bool frugal_op_registered_##ident = (::frugal::ops::register_op(__VA_ARGS__), true)
