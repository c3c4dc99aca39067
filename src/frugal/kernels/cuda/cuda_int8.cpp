// int8 Gemm and MatMul on cuBLASLt (the cuda:int8 variant): Y = alpha * A W + beta * C with
// A quantized at run time to int8, symmetric per tensor, by the scale of its calibrated
// range (BackendConfig::ranges: --calibration, or a QDQ model's activation pairs); W
// quantized once per output channel (symmetric, max |w| / 127); the product accumulated in
// int32 by cuBLASLt (CUBLAS_COMPUTE_32I, in the "TN" layout of int8 tensor-core GEMMs: W
// stored as [N, K]); and the int32 result turned back into float32 by the epilogue kernel,
// y = acc * (alpha sx sw[n]) + beta C[n], followed by the node's post-ops. A value outside
// its calibrated range saturates at +-127 steps.
#include <algorithm>
#include <cmath>

#include "frugal/core/tensor.h"
#include "frugal/kernels/cuda/cublaslt_api.h"
#include "frugal/kernels/cuda/cuda_build.h"

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

class Int8GemmKernel final : public CudaKernel {
 public:
  Int8GemmKernel(const Build& b, const GemmShape& s, size_t sum_index)
      : CudaKernel(b),
        s_(s),
        epilogue_(epilogue_of(b)),
        sum_index_(sum_index),
        sx_(activation_scale(b)) {
    if (s.trans_a) decline("transA not implemented in int8");
    // cuBLASLt's int8 kernels need 4-byte aligned rows of A and W.
    if (s.k % 4 != 0) decline("K = " + std::to_string(s.k) + " is not a multiple of 4");
    if (!b.constant(1)) decline("B not constant (weights expected)");
    quantize_weights(b);
    describe();
    impl_ = "cuda:cublaslt:int8";
  }
  void run(ops::KernelContext& ctx) override {
    char* scratch = static_cast<char*>(device().scratch());
    auto* a = reinterpret_cast<int8_t*>(scratch);
    void* d = scratch + a_bytes();
    launch_quantize(a, in(ctx, 0), s_.m * s_.k, sx_, stream());
    check_launch("quantize");
    const int32_t one = 1, zero = 0;
    // cuBLASLt operands: first = W ([N, K], transposed), second = A; D = Y^T in int32.
    check_blas(lt().matmul(device().cublaslt(), mm_.desc, &one, weights_.get(), mm_.first, a,
                           mm_.second, &zero, d, mm_.d, d, mm_.d, &algo_.algo,
                           scratch + a_bytes() + d_bytes(), kWorkspace, stream()),
               "cublasLtMatmul (int8)");
    if (sum_index_) epilogue_.sum = in(ctx, sum_index_);
    launch_epilogue(out(ctx), d, Storage::kI32, s_.m * s_.n, epilogue_, stream());
    check_launch("epilogue");
  }

 private:
  size_t a_bytes() const { return aligned(static_cast<size_t>(s_.m * s_.k)); }
  size_t d_bytes() const { return aligned(static_cast<size_t>(s_.m * s_.n) * sizeof(int32_t)); }

  // W as int8 [N, K] with one scale per output channel n; the epilogue's scale is
  // alpha sx sw[n] and its bias beta C[n].
  void quantize_weights(const Build& b) {
    const Tensor& wt = *b.constant(1);
    const float* w = wt.data<float>();
    const auto n = static_cast<size_t>(s_.n), k = static_cast<size_t>(s_.k);
    auto at = [&](size_t kk, size_t nn) { return s_.trans_b ? w[nn * k + kk] : w[kk * n + nn]; };
    std::vector<int8_t> q(n * k);
    std::vector<float> scale(n), bias(n, 0.f);
    for (size_t nn = 0; nn < n; ++nn) {
      float amax = 0;
      for (size_t kk = 0; kk < k; ++kk) amax = std::max(amax, std::fabs(at(kk, nn)));
      if (!std::isfinite(amax)) decline("weights not finite");
      const float sw = amax > 0 ? amax / kQmax : 1.f;
      for (size_t kk = 0; kk < k; ++kk)
        q[nn * k + kk] =
            static_cast<int8_t>(std::clamp(std::nearbyint(at(kk, nn) / sw), -kQmax, kQmax));
      scale[nn] = s_.alpha * sx_ * sw;
    }
    weights_ = device().upload(q.data(), q.size());
    scale_ = device().upload(scale.data(), n * sizeof(float));
    epilogue_.scale = static_cast<const float*>(scale_.get());
    if (b.node().op_type == "Gemm" && b.has_input(2)) {
      const Tensor* c = b.constant(2);
      if (!c) decline("C not constant");
      const int64_t numel = shape_numel(c->shape());
      if (numel != 1 && (numel != s_.n || c->shape().back() != s_.n))
        decline("C of shape " + shape_str(c->shape()) + " (a row vector of N expected)");
      for (size_t nn = 0; nn < n; ++nn) bias[nn] = s_.beta * c->data<float>()[numel == 1 ? 0 : nn];
      bias_ = device().upload(bias.data(), n * sizeof(float));
      epilogue_.bias = static_cast<const float*>(bias_.get());
    }
    epilogue_.channels = s_.n;
    epilogue_.inner = 1;
  }

  void describe() {
    const LtApi& api = lt();
    check_blas(api.desc_create(&mm_.desc, CUBLAS_COMPUTE_32I, CUDA_R_32I),
               "cublasLtMatmulDescCreate");
    const cublasOperation_t t = CUBLAS_OP_T, n = CUBLAS_OP_N;
    mm_.set(CUBLASLT_MATMUL_DESC_TRANSA, &t, sizeof(t));
    mm_.set(CUBLASLT_MATMUL_DESC_TRANSB, &n, sizeof(n));
    const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    // Column-major views: W [N, K] row-major is K x N (ld K), taken transposed; A [M, K]
    // row-major is K x M (ld K); D [M, N] row-major is N x M (ld N).
    check_blas(api.layout_create(&mm_.first, CUDA_R_8I, u(s_.k), u(s_.n), s_.k),
               "cublasLtMatrixLayoutCreate");
    check_blas(api.layout_create(&mm_.second, CUDA_R_8I, u(s_.k), u(s_.m), s_.k),
               "cublasLtMatrixLayoutCreate");
    check_blas(api.layout_create(&mm_.d, CUDA_R_32I, u(s_.n), u(s_.m), s_.n),
               "cublasLtMatrixLayoutCreate");
    // Every operand is 256-byte aligned (scratch offsets, cudaMalloc'd weights): the default.
    if (!mm_.choose(device().cublaslt(), kWorkspace, 0, algo_))
      decline("cuBLASLt has no int8 algorithm for " + std::to_string(s_.m) + "x" +
              std::to_string(s_.k) + "x" + std::to_string(s_.n));
    // Operands and result in scratch (256-byte aligned, as cuBLASLt assumes), then workspace.
    device().reserve_scratch(a_bytes() + d_bytes() + kWorkspace);
  }

  GemmShape s_;
  Epilogue epilogue_;
  size_t sum_index_;
  float sx_;
  std::shared_ptr<void> weights_, scale_, bias_;
  LtMatmul mm_;  // first operand W, second A
  cublasLtMatmulHeuristicResult_t algo_{};
};

}  // namespace

std::unique_ptr<Kernel> make_int8_gemm(const Build& b, const GemmShape& s, size_t sum_index) {
  return std::make_unique<Int8GemmKernel>(b, s, sum_index);
}

}  // namespace frugal::kernels::cuda
