// Sparse-weight kernels of the cpu backend: Gemm, MatMul (constant 2-D weights) and 2-D
// Conv (any group, stride, padding, dilation; a 1x1 stride-1 unpadded Conv reads its input
// in place, others unfold it first, im2col) whose constant weights are stored in a
// SparseMatrix (sparse_format.h) and multiplied with sparse_matmul.h. Plain row-major
// tensors at the boundary; bias fused, "frugal.post_ops" applied after the product.
// Threads: the cpu backend's (threads.h), over output rows split by stored work.
#pragma once

#include <memory>
#include <string>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/sparse_format.h"

namespace frugal::kernels::cpu {

// Why a node keeps its dense kernel (empty when off), and whether the dense kernel's name
// should carry it: auto mode kept a pruned layer dense, which info --plan explains.
struct SparseDecline {
  std::string why;
  bool note_on_dense = false;
};

// The sparse kernel for the node under `setting`, or null when the node keeps its dense
// kernel: sparse is off, the operator or case has no sparse kernel, or (auto) the cost
// model predicts dense faster; `declined` then says why.
std::unique_ptr<kernels::Kernel> make_sparse(const Build& b, const SparseSetting& setting,
                                             SparseDecline& declined);

}  // namespace frugal::kernels::cpu
