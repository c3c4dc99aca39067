#include "frugal/kernels/cpu/post_ops.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {

size_t own_input_count(const kernels::NodeView& view) {
  try {
    return ops::own_input_count(view.node);
  } catch (const UserError& e) {
    decline(e.what());
  }
}

Shape with_rank(const Shape& s, size_t rank) {
  Shape r(rank > s.size() ? rank - s.size() : 0, 1);
  r.insert(r.end(), s.begin(), s.end());
  return r;
}

void PostOpChain::add_binary(dnnl::algorithm alg, size_t input, const dnnl::memory::desc& md) {
  add_binary(alg, input, md, md);
}

void PostOpChain::add_binary(dnnl::algorithm alg, size_t input, const dnnl::memory::desc& boundary,
                             const dnnl::memory::desc& md) {
  operands_.push_back({ops_.len(), input, boundary, md});
  ops_.append_binary(alg, md);
}

void PostOpChain::add_eltwise(dnnl::algorithm alg, float alpha, float beta) {
  ops_.append_eltwise(1.0f, alg, alpha, beta);
}

void PostOpChain::add_node_post_ops(const kernels::NodeView& view, const Shape& dst,
                                    const dnnl::memory::desc* sum_layout) {
  if (!ops::has_post_ops(view.node)) return;
  std::vector<ops::PostOp> list;
  try {
    list = ops::post_ops_of(view.node);
  } catch (const UserError& e) {
    decline(e.what());
  }
  using K = ops::PostOp::Kind;
  if (own_tail_allowed_ && dw_isa_available()) {
    size_t keep = list.size();
    while (keep > 0 && (list[keep - 1].kind == K::kSwish || list[keep - 1].kind == K::kSigmoid))
      --keep;
    own_tail_.assign(list.begin() + static_cast<std::ptrdiff_t>(keep), list.end());
    list.resize(keep);
  }
  for (const ops::PostOp& op : list) {
    switch (op.kind) {
      case K::kRelu:
        add_eltwise(dnnl::algorithm::eltwise_relu, 0.0f, 0.0f);
        break;
      case K::kLeakyRelu:
        add_eltwise(dnnl::algorithm::eltwise_relu, op.a, 0.0f);
        break;
      case K::kClip:
        // ONNX gives HI everywhere when LO > HI; oneDNN's clip does that with LO lowered.
        add_eltwise(dnnl::algorithm::eltwise_clip, op.a < op.b ? op.a : op.b, op.b);
        break;
      case K::kSigmoid:
        add_eltwise(dnnl::algorithm::eltwise_logistic, 0.0f, 0.0f);
        break;
      case K::kHardSwish:
        add_eltwise(dnnl::algorithm::eltwise_hardswish, 0.0f, 0.0f);
        break;
      case K::kSwish:
        add_eltwise(dnnl::algorithm::eltwise_swish, 1.0f, 0.0f);
        break;  // x * sigmoid(1 x)
      case K::kGelu:
        add_eltwise(dnnl::algorithm::eltwise_gelu_erf, 0.0f, 0.0f);
        break;
      case K::kGeluTanh:
        add_eltwise(dnnl::algorithm::eltwise_gelu_tanh, 0.0f, 0.0f);
        break;
      case K::kHardSigmoid:
        add_eltwise(dnnl::algorithm::eltwise_linear, op.a, op.b);
        add_eltwise(dnnl::algorithm::eltwise_clip, 0.0f, 1.0f);
        break;
      case K::kLinear:
        add_eltwise(dnnl::algorithm::eltwise_linear, op.a, op.b);
        break;
      case K::kSum:
        add_sum_operand(view, dst, sum_layout);
        break;
    }
  }
}

void PostOpChain::add_sum_operand(const kernels::NodeView& view, const Shape& dst,
                                  const dnnl::memory::desc* layout) {
  const size_t index = sum_operand_index(view.node.op_type);
  if (view.inputs.size() != index + 1 || !view.inputs[index] || !view.inputs[index]->shape)
    decline(std::string(kPostOpsAttr) + " 'sum' needs the sum operand as input " +
            std::to_string(index) + " (the last one)");
  const ops::TensorInfo& s = *view.inputs[index];
  if (s.dtype != DType::kF32)
    decline("sum operand is " + std::string(dtype_name(s.dtype)) + "; only float32 is supported");
  if (s.shape->size() > dst.size())
    decline("sum operand " + shape_str(*s.shape) + " has a higher rank than the output " +
            shape_str(dst));
  const Shape shape = with_rank(*s.shape, dst.size());
  for (size_t d = 0; d < dst.size(); ++d)
    if (shape[d] != dst[d] && shape[d] != 1)
      decline("sum operand " + shape_str(*s.shape) + " does not broadcast to the output " +
              shape_str(dst));
  if (in_place_allowed_ && shape == dst) {
    ops_.append_sum(1.0f);
    in_place_sum_ = index;
    return;
  }
  const dnnl::memory::desc plain = plain_md(shape, dnnl::memory::data_type::f32);
  const bool native = layout && shape == dst && layout->dims() == dnnl::memory::dims(dst);
  add_binary(dnnl::algorithm::binary_add, index, plain, native ? *layout : plain);
}

void PostOpChain::add_node_post_ops_sum_in_place(const kernels::NodeView& view, const Shape& dst) {
  in_place_allowed_ = true;
  add_node_post_ops(view, dst);
  in_place_allowed_ = false;
}

void PostOpChain::copy_sum_operand(OnednnKernel& kernel, const kernels::NodeView& view,
                                   const dnnl::memory& dst) const {
  if (!in_place_sum_) return;
  const Shape& shape = *view.inputs[*in_place_sum_]->shape;
  // Read in dst's layout: when the operand's producer writes that layout, the Session
  // drops this conversion and the copy reads the producer's buffer directly.
  const dnnl::memory operand = kernel.input_as(
      *in_place_sum_, plain_md(shape, dnnl::memory::data_type::f32), dst.get_desc());
  kernel.add_copy(operand, dst);
  kernel.allow_output_over_input(*in_place_sum_);
}

void PostOpChain::allow_own_tail() {
  const char* off = std::getenv("FRUGAL_NO_OWN_TAIL");
  own_tail_allowed_ = !(off && std::strcmp(off, "1") == 0);
}

void PostOpChain::add_own_tail(OnednnKernel& kernel, const dnnl::memory& dst) const {
  if (own_tail_.empty()) return;
  kernel.add_function_step(
      [dst, ops = own_tail_] {
        float* v = static_cast<float*>(dst.get_data_handle());
        const int64_t n = static_cast<int64_t>(dst.get_desc().get_size() / sizeof(float));
        constexpr int64_t kChunk = 4096;  // floats: 16 KiB, whole vectors
        parallel_split(num_threads(), (n + kChunk - 1) / kChunk, [&](int64_t begin, int64_t end) {
          const int64_t lo = begin * kChunk, hi = std::min(n, end * kChunk);
          if (hi > lo) dw_post_ops_avx512(v + lo, hi - lo, ops);
        });
      },
      kernel.impl());
  std::string names;
  for (const ops::PostOp& op : own_tail_)
    names += (names.empty() ? "" : "+") + ops::post_op_entry(op);
  kernel.add_note(names + " by own loop");
}

void PostOpChain::bind(OnednnKernel& kernel, Args& args) const {
  for (const auto& o : operands_)
    args[DNNL_ARG_ATTR_MULTIPLE_POST_OP(o.position) | DNNL_ARG_SRC_1] =
        kernel.input_as(o.input, o.boundary, o.md);
}

}  // namespace frugal::kernels::cpu
