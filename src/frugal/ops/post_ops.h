// Post-operations fused into a node: the string list attribute "frugal.post_ops" that the
// fusion passes (passes/) put on Conv, ConvTranspose, Gemm, MatMul and BatchNormalization,
// applied in order to the node's result:
//   "relu"               max(x, 0)
//   "leakyrelu:A"        x >= 0 ? x : A * x
//   "clip:LO:HI"         min(max(x, LO), HI)  (e.g. "clip:0:6" for ReLU6)
//   "sigmoid"            1 / (1 + exp(-x))
//   "hardswish"          x * min(max(x / 6 + 0.5, 0), 1)
//   "swish"              x * sigmoid(x) = x / (1 + exp(-x))  (SiLU)
//   "hardsigmoid:A:B"    min(max(A * x + B, 0), 1)
//   "linear:A:B"         A * x + B  (a Mul by and Add of one-element constants after it)
//   "gelu"               x * Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))  (Gelu, exact form)
//   "gelutanh"           0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))  (Gelu, tanh form)
//   "sum"                x + S, S the node's sum operand
// The sum operand (a residual branch) is an extra input after the op's own inputs, at
// index sum_operand_index(op_type) (omitted own inputs are empty names); it broadcasts to
// the output unidirectionally (numpy rules, the output's shape wins).
//
// The definitions live in ops so that shape inference accepts a fused node and every
// backend (ref included) can run it: the base operator's kernel, then these post-ops.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "frugal/ops/op.h"

namespace frugal::ops {

inline constexpr const char* kPostOpsAttr = "frugal.post_ops";

struct PostOp {
  enum class Kind {
    kRelu,
    kLeakyRelu,
    kClip,
    kSigmoid,
    kHardSwish,
    kHardSigmoid,
    kSum,
    kSwish,
    kGelu,
    kGeluTanh,
    kLinear
  };
  Kind kind;
  float a = 0, b = 0;  // LeakyRelu's alpha; Clip's LO, HI; HardSigmoid's and linear's A, B
};

// True for the operators that may carry post-ops.
bool accepts_post_ops(std::string_view op_type);
// Input index of the sum operand: 3 for Conv, ConvTranspose and Gemm, 2 for MatMul, 5 for
// BatchNormalization.
size_t sum_operand_index(std::string_view op_type);

bool has_post_ops(const ir::Node& node);
// The node's post-ops; throws UserError naming the node for a malformed entry.
std::vector<PostOp> post_ops_of(const ir::Node& node);
bool has_sum(const std::vector<PostOp>& ops);
// The attribute entry of one post-op ("clip:0:6"); floats printed exactly.
std::string post_op_entry(const PostOp& op);

// The node as its operator defines it: without the attribute and the sum operand.
ir::Node base_node(const ir::Node& node);
// Number of the node's inputs before its sum operand.
size_t own_input_count(const ir::Node& node);

// Infers `ctx`'s node: the base operator's inference, then the checks of the post-ops
// (an operator that takes none, a sum operand of another dtype or that does not
// broadcast to the output fail naming the node).
void infer_with_post_ops(const OpDef& def, InferContext& ctx);

// Applies `ops` in place to `y` (float32 or float64); `sum` is the sum operand (null when
// there is none).
void apply_post_ops(const std::vector<PostOp>& ops, Tensor& y, const Tensor* sum);

}  // namespace frugal::ops
