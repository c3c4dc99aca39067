// Fused post-operations of the cpu backend's Conv, ConvTranspose, Gemm and MatMul kernels:
// the node's "frugal.post_ops" (defined, with the sum operand's place, in ops/post_ops.h)
// as a oneDNN post-op chain. Eltwise entries map to eltwise post-ops; "sum" to a binary
// add that reads the sum operand from its own buffer, so the output never aliases it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

#include "frugal/kernels/cpu/onednn_kernel.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cpu {

using ops::kPostOpsAttr;
using ops::sum_operand_index;

// A oneDNN post-op chain and the inputs its binary post-ops read.
class PostOpChain {
 public:
  // Appends `src1` (input `input`, described by `md`) combined with `alg`.
  void add_binary(dnnl::algorithm alg, size_t input, const dnnl::memory::desc& md);
  // The same, the input bound as `boundary` and read as `md` (reordered when they differ).
  void add_binary(dnnl::algorithm alg, size_t input, const dnnl::memory::desc& boundary,
                  const dnnl::memory::desc& md);
  void add_eltwise(dnnl::algorithm alg, float alpha, float beta);
  // Appends the node's "frugal.post_ops" (declines unknown entries or a bad sum operand).
  // `dst` is the output shape; `sum_layout`, when given, the layout to read a full-size
  // sum operand in (its producer's native one).
  void add_node_post_ops(const kernels::NodeView& view, const Shape& dst,
                         const dnnl::memory::desc* sum_layout = nullptr);
  // Like add_node_post_ops, but a full-size sum operand becomes oneDNN's in-place `sum`
  // post-op (dst += result), for primitives whose fast implementations take no binary
  // post-op (brgconv in oneDNN 2.6 falls back to gemm with one): the kernel must copy the
  // operand into dst first (copy_sum_operand).
  void add_node_post_ops_sum_in_place(const kernels::NodeView& view, const Shape& dst);
  // Adds that copy as a step of `kernel` (call before adding the primitive's step): the
  // operand read in dst's layout, written into `dst`. No-op without an in-place sum.
  void copy_sum_operand(OnednnKernel& kernel, const kernels::NodeView& view,
                        const dnnl::memory& dst) const;
  // Lets add_node_post_ops* leave the node's trailing swish and sigmoid entries out of the
  // oneDNN chain, for add_own_tail to apply after the primitive (where the AVX-512 loops
  // run: dw_isa_available()). oneDNN 2.6's eltwise injector inside brgconv costs about
  // 0.8 ns per element for swish on the EPYC, frugal's loop over the output about 0.25
  // (bench/RESULTS.md, "Swish after the convolution"). FRUGAL_NO_OWN_TAIL=1 keeps
  // oneDNN's (to compare). Call before add_node_post_ops*.
  void allow_own_tail();
  // Adds the step applying those entries in place to `dst` (all of its buffer, any layout:
  // a blocked layout's zero padding stays zero), split over the backend's threads; run it
  // after the primitive's step. No-op when there are none.
  void add_own_tail(OnednnKernel& kernel, const dnnl::memory& dst) const;
  bool empty() const { return ops_.len() == 0; }
  const dnnl::post_ops& ops() const { return ops_; }
  // Binds the binary operands into `args` of the primitive using this chain.
  void bind(OnednnKernel& kernel, Args& args) const;

 private:
  void add_sum_operand(const kernels::NodeView& view, const Shape& dst,
                       const dnnl::memory::desc* layout);
  bool in_place_allowed_ = false;
  bool own_tail_allowed_ = false;
  std::vector<ops::PostOp> own_tail_;   // applied by add_own_tail's loop, in order
  std::optional<size_t> in_place_sum_;  // input index of an in-place sum operand
  struct Operand {
    int position;
    size_t input;
    dnnl::memory::desc boundary, md;
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
