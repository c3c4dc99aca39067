// The cuda:int8 variant: Gemm, MatMul and Conv as int8 GEMMs on cuBLASLt.
//
// Gemm/MatMul: Y = alpha * A W + beta * C with A quantized at run time to int8, symmetric
// per tensor, by the scale of its calibrated range (BackendConfig::ranges: --calibration,
// or a QDQ model's activation pairs); W quantized once per output channel (symmetric,
// max |w| / 127: host_plan.h, quantize_per_channel); the product accumulated in int32 by
// cuBLASLt (CUBLAS_COMPUTE_32I, in the "TN" layout of int8 tensor-core GEMMs: W stored as
// [N, K]); and the int32 result turned back into float32 by the epilogue kernel,
// y = acc * (alpha sx sw[n]) + beta C[n], followed by the node's post-ops.
//
// Conv with one group (1-D or 2-D): the same GEMM over the im2col matrix (im2col.h), built and
// quantized by one kernel: A [N*OH*OW, K_pad] int8, K = C kh kw padded with zero columns to
// a multiple of 4; W [M, K_pad]; the int32 result is channels last, [N*OH*OW, M], and the
// epilogue reads it in that order while writing y NCHW, y = acc * sx sw[m] + bias[m], then
// the post-ops (residual sum included).
//
// Grouped and depthwise Conv (groups > 1): no GEMM (a depthwise one would be thousands of
// 1-row GEMMs); x is quantized as above into the scratch buffer, then one thread per output
// element sums its (C / groups) kh kw taps in int32 (launch_grouped_conv_int8, the taps
// located by im2col.h's grouped_conv_source); the int32 result is NCHW and goes through the
// same epilogue.
//
// A value outside its calibrated range saturates at +-127 steps.
#include <algorithm>
#include <cmath>
#include <optional>

#include "frugal/core/tensor.h"
#include "frugal/kernels/cuda/cublaslt_api.h"
#include "frugal/kernels/cuda/cuda_build.h"
#include "frugal/kernels/cuda/host_plan.h"

namespace frugal::kernels::cuda {
namespace {

constexpr size_t kWorkspace = size_t{32} << 20;
constexpr size_t kAlign = 256;
constexpr float kQmax = 127.f;

size_t aligned(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

// Scale of the node's activation input: its calibrated range's largest magnitude / 127.
float activation_scale(const Build& b) {
  const std::string& name = b.node().inputs[0];
  const auto it = b.config.ranges.find(name);
  if (it == b.config.ranges.end())
    decline("no calibrated range for '" + name + "' (--calibration, or a QDQ model)");
  const float amax = std::max(std::fabs(it->second.min), std::fabs(it->second.max));
  if (!(amax > 0) || !std::isfinite(amax))
    decline("the range of '" + name + "' is empty or not finite");
  return amax / kQmax;
}

Int8Weights quantize(const float* w, int64_t n, int64_t k, int64_t k_pad, bool trans) {
  try {
    return quantize_per_channel(w, n, k, k_pad, trans);
  } catch (const UserError& e) {
    decline(e.what());
  }
}

// D [M, N] int32 (row-major) = A [M, K] int8 times W [N, K] int8 transposed, on cuBLASLt;
// A, D and the workspace in the device's scratch buffer, in that order.
class Int8Matmul {
 public:
  Int8Matmul(const CudaDevice& device, int64_t m, int64_t n, int64_t k)
      : device_(device), m_(m), n_(n), k_(k) {
    const LtApi& api = lt();
    check_blas(api.desc_create(&mm_.desc, CUBLAS_COMPUTE_32I, CUDA_R_32I),
               "cublasLtMatmulDescCreate");
    const cublasOperation_t t = CUBLAS_OP_T, no = CUBLAS_OP_N;
    mm_.set(CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof(t));
    mm_.set(CUBLASLT_MATMUL_DESC_TRANSB, &no, sizeof(no));
    const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    // Column-major views: W [N, K] row-major is K x N (ld K), taken transposed; A [M, K]
    // row-major is K x M (ld K); D [M, N] row-major is N x M (ld N).
    check_blas(api.layout_create(&mm_.first, CUDA_R_8I, u(k), u(n), k),
               "cublasLtMatrixLayoutCreate");
    check_blas(api.layout_create(&mm_.second, CUDA_R_8I, u(k), u(m), k),
               "cublasLtMatrixLayoutCreate");
    check_blas(api.layout_create(&mm_.d, CUDA_R_32I, u(n), u(m), n), "cublasLtMatrixLayoutCreate");
    // Every operand is 256-byte aligned (scratch offsets, cudaMalloc'd weights): the default.
    if (!mm_.choose(device.cublaslt(), kWorkspace, 0, algo_))
      decline("cuBLASLt has no int8 algorithm for " + std::to_string(m) + "x" + std::to_string(k) +
              "x" + std::to_string(n));
    device.reserve_scratch(a_bytes() + d_bytes() + kWorkspace);
  }
  int8_t* a() const { return static_cast<int8_t*>(device_.scratch()); }
  const int32_t* d() const {
    return reinterpret_cast<const int32_t*>(static_cast<char*>(device_.scratch()) + a_bytes());
  }
  void run(const void* weights) const {
    char* scratch = static_cast<char*>(device_.scratch());
    void* d = scratch + a_bytes();
    const int32_t one = 1, zero = 0;
    check_blas(lt().matmul(device_.cublaslt(), mm_.desc, &one, weights, mm_.first, scratch,
                           mm_.second, &zero, d, mm_.d, d, mm_.d, &algo_.algo,
                           scratch + a_bytes() + d_bytes(), kWorkspace, device_.stream()),
               "cublasLtMatmul (int8)");
  }

 private:
  size_t a_bytes() const { return aligned(static_cast<size_t>(m_ * k_)); }
  size_t d_bytes() const { return aligned(static_cast<size_t>(m_ * n_) * sizeof(int32_t)); }

  const CudaDevice& device_;
  int64_t m_, n_, k_;
  LtMatmul mm_;  // first operand W, second A
  cublasLtMatmulHeuristicResult_t algo_{};
};

// The part both kernels share: the quantized weights on the device, the epilogue's per
// channel scale sx sw[n] (times alpha) and bias, and the residual sum's input.
class Int8Kernel : public CudaKernel {
 protected:
  Int8Kernel(const Build& b, size_t sum_index)
      : CudaKernel(b), epilogue_(epilogue_of(b)), sum_index_(sum_index), sx_(activation_scale(b)) {}

  void set_weights(const Int8Weights& w, float alpha, const std::vector<float>& bias) {
    weights_ = device().upload(w.q.data(), w.q.size());
    std::vector<float> scale(w.scale.size());
    for (size_t j = 0; j < scale.size(); ++j) scale[j] = alpha * sx_ * w.scale[j];
    scale_ = device().upload(scale.data(), scale.size() * sizeof(float));
    epilogue_.scale = static_cast<const float*>(scale_.get());
    if (!bias.empty()) {
      bias_ = device().upload(bias.data(), bias.size() * sizeof(float));
      epilogue_.bias = static_cast<const float*>(bias_.get());
    }
  }
  // A Conv's constant weights quantized per output channel, [m, k_stored] (ONNX's weight
  // [M, C / groups, kh, kw] is [M, k] row-major: the "trans" layout), its constant bias, and
  // the epilogue's NCHW geometry.
  void set_conv_weights(const Build& b, const Im2col& g, int64_t m, int64_t k_stored) {
    if (!b.constant(1)) decline("weights not constant");
    if (b.has_input(2) && !b.constant(2)) decline("bias not constant");
    std::vector<float> bias;
    if (b.has_input(2)) {
      const Tensor& c = *b.constant(2);
      bias.assign(c.data<float>(), c.data<float>() + c.numel());
    }
    set_weights(quantize(b.constant(1)->data<float>(), m, g.k, k_stored, true), 1.f, bias);
    epilogue_.channels = m;
    epilogue_.inner = g.oh * g.ow;
  }
  void finish(ops::KernelContext& ctx, const int32_t* d, int64_t n) {
    if (sum_index_) epilogue_.sum = in(ctx, sum_index_);
    launch_epilogue(out(ctx), d, Storage::kI32, n, epilogue_, stream());
    check_launch("epilogue");
  }

  Epilogue epilogue_;
  size_t sum_index_;
  float sx_;
  std::shared_ptr<void> weights_, scale_, bias_;
};

class Int8GemmKernel final : public Int8Kernel {
 public:
  Int8GemmKernel(const Build& b, const GemmShape& s, size_t sum_index)
      : Int8Kernel(b, sum_index), s_(s) {
    if (s.trans_a) decline("transA not implemented in int8");
    // cuBLASLt's int8 kernels need 4-byte aligned rows of A and W.
    if (s.k % kInt8KMultiple != 0)
      decline("K = " + std::to_string(s.k) + " is not a multiple of 4");
    if (!b.constant(1)) decline("B not constant (weights expected)");
    set_weights(quantize(b.constant(1)->data<float>(), s.n, s.k, s.k, s.trans_b), s.alpha,
                gemm_bias(b, s));
    epilogue_.channels = s.n;
    epilogue_.inner = 1;
    mm_.emplace(device(), s.m, s.n, s.k);
    impl_ = "cuda:cublaslt:int8";
  }
  void run(ops::KernelContext& ctx) override {
    launch_quantize(mm_->a(), in(ctx, 0), s_.m * s_.k, sx_, stream());
    check_launch("quantize");
    mm_->run(weights_.get());
    finish(ctx, mm_->d(), s_.m * s_.n);
  }

 private:
  GemmShape s_;
  std::optional<Int8Matmul> mm_;
};

class Int8ConvKernel final : public Int8Kernel {
 public:
  Int8ConvKernel(const Build& b, const Im2col& g, size_t sum_index)
      : Int8Kernel(b, sum_index), g_(g), m_(b.in_shape(1)[0]) {
    set_conv_weights(b, g, m_, g.k_pad);
    epilogue_.channels_last_src = true;
    mm_.emplace(device(), g.rows(), m_, g.k_pad);
    impl_ = "cuda:im2col+cublaslt:int8";
  }
  void run(ops::KernelContext& ctx) override {
    launch_im2col_quantize(mm_->a(), in(ctx, 0), g_, sx_, stream());
    check_launch("im2col_quantize");
    mm_->run(weights_.get());
    finish(ctx, mm_->d(), g_.rows() * m_);
  }

 private:
  Im2col g_;
  int64_t m_;
  std::optional<Int8Matmul> mm_;
};

// Groups > 1: quantize x, sum the taps per output element, then the epilogue. Scratch:
// the quantized x, then the int32 result.
class Int8GroupedConvKernel final : public Int8Kernel {
 public:
  Int8GroupedConvKernel(const Build& b, const Im2col& g, size_t sum_index)
      : Int8Kernel(b, sum_index),
        g_(g),
        m_(b.in_shape(1)[0]),
        x_numel_(shape_numel(b.in_shape(0))),
        x_bytes_(aligned(static_cast<size_t>(x_numel_))) {
    set_conv_weights(b, g, m_, g.k);  // the direct sums need no padding of k
    device().reserve_scratch(x_bytes_ + static_cast<size_t>(g.rows() * m_) * sizeof(int32_t));
    impl_ = g.groups == b.in_shape(0)[1] && g.groups == m_ ? "cuda:depthwise:int8"
                                                           : "cuda:grouped:int8";
  }
  void run(ops::KernelContext& ctx) override {
    auto* qx = static_cast<int8_t*>(device().scratch());
    auto* d = reinterpret_cast<int32_t*>(static_cast<char*>(device().scratch()) + x_bytes_);
    launch_quantize(qx, in(ctx, 0), x_numel_, sx_, stream());
    check_launch("quantize");
    launch_grouped_conv_int8(d, qx, static_cast<const int8_t*>(weights_.get()), g_, m_, stream());
    check_launch("grouped_conv_int8");
    finish(ctx, d, g_.rows() * m_);
  }

 private:
  Im2col g_;
  int64_t m_, x_numel_;
  size_t x_bytes_;
};

}  // namespace

std::unique_ptr<Kernel> make_int8_gemm(const Build& b, const GemmShape& s, size_t sum_index) {
  return std::make_unique<Int8GemmKernel>(b, s, sum_index);
}

std::unique_ptr<Kernel> make_int8_conv(const Build& b) {
  if (b.node().op_type != "Conv") decline("int8 runs Conv, not " + b.node().op_type);
  Im2col g;
  const std::string why = im2col_of(b.node(), b.in_shape(0), b.in_shape(1), b.out_shape(), g);
  if (!why.empty()) decline(why);
  if (g.groups > 1) return std::make_unique<Int8GroupedConvKernel>(b, g, sum_index_of(b));
  return std::make_unique<Int8ConvKernel>(b, g, sum_index_of(b));
}

}  // namespace frugal::kernels::cuda
