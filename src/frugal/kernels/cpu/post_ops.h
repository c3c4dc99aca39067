// Fused post-operations of the cpu backend's Conv, ConvTranspose, Gemm and MatMul kernels.
//
// A fusion pass marks a node with the string list attribute "frugal.post_ops", applied in
// order to the node's result:
//   "relu"                 max(x, 0)
//   "clip:LO:HI"           min(max(x, LO), HI)  (e.g. "clip:0:6" for ReLU6)
//   "sigmoid"              1 / (1 + exp(-x))
//   "hardswish"            x * min(max(x / 6 + 0.5, 0), 1)
//   "hardsigmoid:A:B"      min(max(A * x + B, 0), 1)
//   "sum"                  x + S, S the node's sum operand
// The sum operand (a residual branch) is an extra input appended after the op's own
// inputs, at index sum_operand_index(op_type) (omitted own inputs are empty names); it has
// the output's shape or broadcasts to it with dimensions of size 1.
#pragma once

#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "frugal/kernels/cpu/onednn_kernel.h"

namespace frugal::kernels::cpu {

inline constexpr const char* kPostOpsAttr = "frugal.post_ops";

// Input index of the sum operand: 3 for Conv, ConvTranspose and Gemm, 2 for MatMul.
size_t sum_operand_index(const std::string& op_type);

// A oneDNN post-op chain and the inputs its binary post-ops read.
class PostOpChain {
 public:
  // Appends `src1` (input `input`, described by `md`) combined with `alg`.
  void add_binary(dnnl::algorithm alg, size_t input, const dnnl::memory::desc& md);
  void add_eltwise(dnnl::algorithm alg, float alpha, float beta);
  // Appends the node's "frugal.post_ops" (declines unknown entries or a bad sum operand).
  // `dst` is the output shape.
  void add_node_post_ops(const kernels::NodeView& view, const Shape& dst);
  bool empty() const { return ops_.len() == 0; }
  const dnnl::post_ops& ops() const { return ops_; }
  // Binds the binary operands into `args` of the primitive using this chain.
  void bind(OnednnKernel& kernel, Args& args) const;

 private:
  struct Operand {
    int position;
    size_t input;
    dnnl::memory::desc md;
  };
  dnnl::post_ops ops_;
  std::vector<Operand> operands_;
};

// The input count of a node before its sum operand: the node's inputs minus the operand
// when it carries a "sum" post-op.
size_t own_input_count(const kernels::NodeView& view);

// Shape `s` with leading 1s up to `rank`.
Shape with_rank(const Shape& s, size_t rank);

}  // namespace frugal::kernels::cpu
