// Kernel factories of the cpu backend, one per operator family. Each builds its kernel
// from the node's inferred shapes, or declines (throws Declined) with a precise reason.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "frugal/kernels/cpu/onednn_kernel.h"

namespace frugal::kernels::cpu {

// Number precision the compute-heavy primitives (Conv, ConvTranspose, Gemm, MatMul) run
// in; tensors at kernel boundaries stay float32 either way.
enum class Precision { kF32, kBF16 };

// Native (non-plain) output layouts of the kernels built so far, by value name.
using NativeLayouts = std::map<std::string, dnnl::memory::desc>;

// What a factory sees: the node, the backend's context and the precision, and the native
// layouts of the kernels already built (a kernel whose primitive may read any layout reads
// its input in its producer's, so that the Session can drop the reorders between them).
struct Build {
  const kernels::NodeView& view;
  std::shared_ptr<Context> context;
  Precision precision;
  const NativeLayouts* native = nullptr;

  const ir::Node& node() const { return view.node; }
  bool has_input(size_t i) const { return i < view.inputs.size() && view.inputs[i]; }
  bool has_output(size_t i) const { return i < view.outputs.size() && view.outputs[i]; }
  const Shape& in_shape(size_t i) const;
  const Shape& out_shape(size_t i) const;
  DType in_dtype(size_t i) const { return view.inputs.at(i)->dtype; }
  // Contents known at compile time (weights), or null.
  const Tensor* constant(size_t i) const;
  // The native layout input `i`'s producer writes (a hint), or null when plain/unknown.
  const dnnl::memory::desc* hint(size_t i) const;
  // Data type of the compute-heavy primitives' source and weights.
  dnnl::memory::data_type compute_type() const;
};

using Factory = std::unique_ptr<kernels::Kernel> (*)(const Build&);

std::unique_ptr<kernels::Kernel> make_conv(const Build& b);
std::unique_ptr<kernels::Kernel> make_conv_transpose(const Build& b);
// ONNX Runtime's dynamic quantization (integer_kernels.cpp).
std::unique_ptr<kernels::Kernel> make_dynamic_quantize_linear(const Build& b);
std::unique_ptr<kernels::Kernel> make_matmul_integer(const Build& b);
std::unique_ptr<kernels::Kernel> make_conv_integer(const Build& b);
// Cast between the dtypes ref converts (cast_kernel.cpp).
std::unique_ptr<kernels::Kernel> make_cast(const Build& b);
std::unique_ptr<kernels::Kernel> make_gemm(const Build& b);
std::unique_ptr<kernels::Kernel> make_matmul(const Build& b);
std::unique_ptr<kernels::Kernel> make_max_pool(const Build& b);
std::unique_ptr<kernels::Kernel> make_average_pool(const Build& b);
std::unique_ptr<kernels::Kernel> make_global_average_pool(const Build& b);
std::unique_ptr<kernels::Kernel> make_global_max_pool(const Build& b);
std::unique_ptr<kernels::Kernel> make_batch_norm(const Build& b);
// Constant statistics: one scale-shift pass with its post-ops; else make_batch_norm.
std::unique_ptr<kernels::Kernel> make_batch_norm_inference(const Build& b);
std::unique_ptr<kernels::Kernel> make_layer_norm(const Build& b);
std::unique_ptr<kernels::Kernel> make_lrn(const Build& b);
std::unique_ptr<kernels::Kernel> make_softmax(const Build& b);
std::unique_ptr<kernels::Kernel> make_log_softmax(const Build& b);
std::unique_ptr<kernels::Kernel> make_relu(const Build& b);
std::unique_ptr<kernels::Kernel> make_clip(const Build& b);
std::unique_ptr<kernels::Kernel> make_sigmoid(const Build& b);
std::unique_ptr<kernels::Kernel> make_hard_swish(const Build& b);
std::unique_ptr<kernels::Kernel> make_gelu(const Build& b);
std::unique_ptr<kernels::Kernel> make_hard_sigmoid(const Build& b);
std::unique_ptr<kernels::Kernel> make_add(const Build& b);
std::unique_ptr<kernels::Kernel> make_mul(const Build& b);
std::unique_ptr<kernels::Kernel> make_sub(const Build& b);
std::unique_ptr<kernels::Kernel> make_div(const Build& b);
std::unique_ptr<kernels::Kernel> make_concat(const Build& b);
std::unique_ptr<kernels::Kernel> make_transpose(const Build& b);
std::unique_ptr<kernels::Kernel> make_split(const Build& b);
std::unique_ptr<kernels::Kernel> make_reshape(const Build& b);  // Reshape, Flatten, (Un)Squeeze
std::unique_ptr<kernels::Kernel> make_lstm(const Build& b);
std::unique_ptr<kernels::Kernel> make_gru(const Build& b);
std::unique_ptr<kernels::Kernel> make_rnn(const Build& b);
std::unique_ptr<kernels::Kernel> make_binary_gemm(const Build& b);  // ops/binary_layer.h
std::unique_ptr<kernels::Kernel> make_binary_conv(const Build& b);
std::unique_ptr<kernels::Kernel> make_attention(const Build& b);  // frugal's Attention
// frugal.BlockCirculant (ops/block_circulant.h), FFT-based.
std::unique_ptr<kernels::Kernel> make_block_circulant(const Build& b);

}  // namespace frugal::kernels::cpu
