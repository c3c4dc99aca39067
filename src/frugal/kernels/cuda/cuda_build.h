// What the cuda backend's kernel factories share: the node being built and its
// precision (Build), the decline mechanism, and CudaKernel, the base that uploads the
// constant inputs it reads on the GPU once at plan time and hands out device pointers at
// run time (constants stay host tensors in the plan; every other value a cuda kernel sees
// lives in the device arena).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "frugal/kernels/backend.h"
#include "frugal/kernels/cuda/cuda_device.h"
#include "frugal/kernels/cuda/cuda_kernels.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cuda {

// Number format of the compute-heavy kernels (Conv, Gemm, MatMul), float32 accumulation
// in all but int8 (int32); values between kernels stay float32. int8 runs Gemm and MatMul
// only (cuda_int8.cpp).
enum class Precision { kF32, kTF32, kF16, kBF16, kI8 };
const char* precision_name(Precision p);
// Storage of the operands under `p` (fp32 and tf32 keep float32).
Storage storage_of(Precision p);
size_t storage_size(Storage s);

struct Declined {
  std::string why;
};
[[noreturn]] inline void decline(std::string why) {
  throw Declined{std::move(why)};
}

struct Build {
  const NodeView& view;
  Precision precision;
  const CudaDevice& device;
  const BackendConfig& config;  // activation ranges (int8)

  const ir::Node& node() const { return view.node; }
  bool has_input(size_t i) const { return i < view.inputs.size() && view.inputs[i]; }
  const Shape& in_shape(size_t i) const { return *view.inputs.at(i)->shape; }
  const Shape& out_shape(size_t i = 0) const { return *view.outputs.at(i)->shape; }
  // Contents known at plan time (weights), or null.
  const Tensor* constant(size_t i) const;
};

class CudaKernel : public Kernel {
 public:
  // Uploads the constant inputs the kernel reads on the GPU (host_plan.h says which).
  explicit CudaKernel(const Build& b);
  std::string impl() const override { return impl_; }

 protected:
  const CudaDevice& device() const { return device_; }
  cudaStream_t stream() const { return device_.stream(); }
  // Input i on the device: its uploaded copy when constant, else the arena value.
  const float* in(const ops::KernelContext& ctx, size_t i) const;
  const void* in_raw(const ops::KernelContext& ctx, size_t i) const;
  float* out(ops::KernelContext& ctx, size_t o = 0) const;
  // Uploaded constant input i (null when not constant).
  const void* constant_ptr(size_t i) const;
  // Frees the uploaded copy of constant input i once the kernel no longer reads it (float
  // weights after their fp16/bf16 conversion).
  void drop_constant(size_t i) { constants_.at(i).reset(); }
  std::string impl_ = "cuda";

 private:
  const CudaDevice& device_;
  std::vector<std::shared_ptr<void>> constants_;
  std::vector<bool> host_only_;  // constant inputs not uploaded
};

// The node's post-ops (ops/post_ops.h) as the epilogue kernel's list; declines more than
// kMaxPostOps, or a sum operand that does not have the output's shape.
Epilogue epilogue_of(const Build& b);

using Factory = std::unique_ptr<Kernel> (*)(const Build&);
std::unique_ptr<Kernel> make_conv(const Build& b);  // Conv, ConvTranspose
std::unique_ptr<Kernel> make_gemm(const Build& b);
std::unique_ptr<Kernel> make_matmul(const Build& b);

// Y[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C (MatMul: alpha 1, no C).
struct GemmShape {
  int64_t m = 0, n = 0, k = 0;
  bool trans_a = false, trans_b = false;
  float alpha = 1, beta = 1;
};
// Gemm's beta C as one value per output column (C: [N], [1, N] or a scalar; empty without
// C or for MatMul); declines a C that is not constant or not such a row.
std::vector<float> gemm_bias(const Build& b, const GemmShape& s);
// The input the node's residual-sum post-op adds (0: none).
size_t sum_index_of(const Build& b);
// Gemm/MatMul of the cuda:int8 variant (cuda_int8.cpp).
std::unique_ptr<Kernel> make_int8_gemm(const Build& b, const GemmShape& s, size_t sum_index);
// Conv of the cuda:int8 variant: im2col and one int8 GEMM, or direct int32 sums for groups > 1
// (cuda_int8.cpp).
std::unique_ptr<Kernel> make_int8_conv(const Build& b);
std::unique_ptr<Kernel> make_max_pool(const Build& b);
std::unique_ptr<Kernel> make_average_pool(const Build& b);
std::unique_ptr<Kernel> make_global_average_pool(const Build& b);
std::unique_ptr<Kernel> make_global_max_pool(const Build& b);
std::unique_ptr<Kernel> make_batch_norm(const Build& b);
std::unique_ptr<Kernel> make_unary(const Build& b);    // Relu, Sigmoid, Clip, Tanh, Gelu, ...
std::unique_ptr<Kernel> make_binary(const Build& b);   // Add, Sub, Mul, Div
std::unique_ptr<Kernel> make_softmax(const Build& b);  // Softmax, LogSoftmax
std::unique_ptr<Kernel> make_layer_norm(const Build& b);
std::unique_ptr<Kernel> make_attention(const Build& b);  // Attention (domain frugal)
std::unique_ptr<Kernel> make_concat(const Build& b);
std::unique_ptr<Kernel> make_split(const Build& b);
std::unique_ptr<Kernel> make_resize(const Build& b);  // Resize, Upsample
std::unique_ptr<Kernel> make_transpose(const Build& b);
std::unique_ptr<Kernel> make_gather(const Build& b);   // constant or run-time indices
std::unique_ptr<Kernel> make_reshape(const Build& b);  // Reshape, Flatten, Squeeze, Unsqueeze

}  // namespace frugal::kernels::cuda
