// Gemm and MatMul on cuBLASLt: Y[M,N] = alpha * op(A)[M,K] op(B)[K,N] + beta * C, with B a
// constant (weights) and C a constant row vector, which becomes cuBLASLt's bias epilogue
// (RELU_BIAS when the only post-op is relu; other post-ops and the residual sum run in the
// epilogue kernel). MatMul takes A of any rank against a 2-D constant B (leading
// dimensions folded into M). cuBLASLt is column-major: the row-major product is computed
// as Y^T = op(B)^T op(A)^T, so B is cuBLASLt's first operand. Under fp16/bf16, A is
// converted into scratch at run time and B at plan time; D stays float32.
#include "frugal/core/tensor.h"
#include "frugal/kernels/cuda/cublaslt_api.h"
#include "frugal/kernels/cuda/cuda_build.h"

namespace frugal::kernels::cuda {
namespace {

constexpr size_t kWorkspace = size_t{32} << 20;
constexpr size_t kAlign = 256;

cudaDataType_t blas_type(Storage s) {
  return s == Storage::kF16 ? CUDA_R_16F : s == Storage::kBF16 ? CUDA_R_16BF : CUDA_R_32F;
}

class GemmKernel final : public CudaKernel {
 public:
  GemmKernel(const Build& b, const GemmShape& s, size_t sum_index)
      : CudaKernel(b),
        s_(s),
        storage_(storage_of(b.precision)),
        epilogue_(epilogue_of(b)),
        sum_index_(sum_index) {
    if (!b.constant(1)) decline("B not constant (weights expected)");
    prepare_bias(b);
    prepare_weights(b);
    // relu alone fuses into cuBLASLt's epilogue; anything else runs after it.
    fused_relu_ = epilogue_.count == 1 && epilogue_.ops[0].kind == DevicePostOp::kRelu;
    if (fused_relu_) epilogue_.count = 0;
    describe(b.precision);
    impl_ =
        "cuda:cublaslt:" + std::string(precision_name(b.precision)) + (fused_relu_ ? "+relu" : "");
  }
  void run(ops::KernelContext& ctx) override {
    const void* a = in_raw(ctx, 0);
    char* scratch = static_cast<char*>(device().scratch());
    if (storage_ != Storage::kF32) {
      launch_convert(scratch, storage_, static_cast<const float*>(a), s_.m * s_.k, stream());
      check_launch("convert");
      a = scratch;
    }
    float* y = out(ctx);
    const float alpha = s_.alpha, beta = 0.f;
    // cuBLASLt operands: first = B (weights), second = A (activations); D = Y^T.
    check_blas(lt().matmul(device().cublaslt(), mm_.desc, &alpha, weights(), mm_.first, a,
                           mm_.second, &beta, y, mm_.d, y, mm_.d, &algo_.algo, scratch + a_bytes(),
                           kWorkspace, stream()),
               "cublasLtMatmul");
    if (epilogue_.count > 0) {
      if (sum_index_) epilogue_.sum = in(ctx, sum_index_);
      launch_epilogue(y, y, Storage::kF32, s_.m * s_.n, epilogue_, stream());
      check_launch("epilogue");
    }
  }

 private:
  const void* weights() const { return lp_weights_ ? lp_weights_.get() : constant_ptr(1); }
  size_t a_bytes() const {
    if (storage_ == Storage::kF32) return 0;
    const size_t n = static_cast<size_t>(s_.m * s_.k) * storage_size(storage_);
    return (n + kAlign - 1) / kAlign * kAlign;
  }

  void prepare_bias(const Build& b) {
    const std::vector<float> bias = gemm_bias(b, s_);
    if (!bias.empty()) bias_ = device().upload(bias.data(), bias.size() * sizeof(float));
  }

  void prepare_weights(const Build& b) {
    if (storage_ == Storage::kF32) return;
    const int64_t n = s_.k * s_.n;
    lp_weights_ = device().allocate(static_cast<size_t>(n) * storage_size(storage_));
    launch_convert(lp_weights_.get(), storage_, static_cast<const float*>(constant_ptr(1)), n,
                   stream());
    check_launch("convert weights");
    device().synchronize();
    drop_constant(1);
  }

  void describe(Precision precision) {
    const LtApi& api = lt();
    const cublasComputeType_t compute =
        precision == Precision::kTF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
    check_blas(api.desc_create(&mm_.desc, compute, CUDA_R_32F), "cublasLtMatmulDescCreate");
    // First operand: B as stored row-major is B^T column-major ([N,K] when not transposed).
    const cublasOperation_t op_first = s_.trans_b ? CUBLAS_OP_T : CUBLAS_OP_N;
    const cublasOperation_t op_second = s_.trans_a ? CUBLAS_OP_T : CUBLAS_OP_N;
    mm_.set(CUBLASLT_MATMUL_DESC_TRANSA, &op_first, sizeof(op_first));
    mm_.set(CUBLASLT_MATMUL_DESC_TRANSB, &op_second, sizeof(op_second));
    cublasLtEpilogue_t epi = CUBLASLT_EPILOGUE_DEFAULT;
    if (bias_) {
      epi = fused_relu_ ? CUBLASLT_EPILOGUE_RELU_BIAS : CUBLASLT_EPILOGUE_BIAS;
      const void* bias = bias_.get();
      mm_.set(CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias, sizeof(bias));
      const cudaDataType_t bias_type = CUDA_R_32F;
      mm_.set(CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof(bias_type));
    } else if (fused_relu_) {
      epi = CUBLASLT_EPILOGUE_RELU;
    }
    mm_.set(CUBLASLT_MATMUL_DESC_EPILOGUE, &epi, sizeof(epi));
    const cudaDataType_t t = blas_type(storage_);
    const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    // Stored shapes, column-major view: rows are the row-major inner dimension.
    if (s_.trans_b)
      check_blas(api.layout_create(&mm_.first, t, u(s_.k), u(s_.n), s_.k),
                 "cublasLtMatrixLayoutCreate");
    else
      check_blas(api.layout_create(&mm_.first, t, u(s_.n), u(s_.k), s_.n),
                 "cublasLtMatrixLayoutCreate");
    if (s_.trans_a)
      check_blas(api.layout_create(&mm_.second, t, u(s_.m), u(s_.k), s_.m),
                 "cublasLtMatrixLayoutCreate");
    else
      check_blas(api.layout_create(&mm_.second, t, u(s_.k), u(s_.m), s_.k),
                 "cublasLtMatrixLayoutCreate");
    check_blas(api.layout_create(&mm_.d, CUDA_R_32F, u(s_.n), u(s_.m), s_.n),
               "cublasLtMatrixLayoutCreate");
    // Arena values are aligned to kTensorAlignment only (cuBLASLt assumes 256 bytes unless
    // told), so that the algorithm chosen works at every offset the planner gives.
    if (!mm_.choose(device().cublaslt(), kWorkspace, kTensorAlignment, algo_))
      decline("cuBLASLt has no algorithm for " + std::to_string(s_.m) + "x" + std::to_string(s_.k) +
              "x" + std::to_string(s_.n) + " in " + precision_name(precision));
    device().reserve_scratch(a_bytes() + kWorkspace);
  }

  GemmShape s_;
  Storage storage_;
  Epilogue epilogue_;
  size_t sum_index_;  // 0: no sum post-op
  bool fused_relu_ = false;
  std::shared_ptr<void> bias_, lp_weights_;
  LtMatmul mm_;  // first operand B (weights), second A
  cublasLtMatmulHeuristicResult_t algo_{};
};

std::unique_ptr<Kernel> make_gemm_kernel(const Build& b, const GemmShape& s) {
  if (b.precision == Precision::kI8) return make_int8_gemm(b, s, sum_index_of(b));
  return std::make_unique<GemmKernel>(b, s, sum_index_of(b));
}

}  // namespace

std::vector<float> gemm_bias(const Build& b, const GemmShape& s) {
  if (!b.has_input(2) || b.node().op_type != "Gemm") return {};
  const Tensor* c = b.constant(2);
  if (!c) decline("C not constant");
  const int64_t numel = shape_numel(c->shape());
  if (numel != 1 && (numel != s.n || c->shape().back() != s.n))
    decline("C of shape " + shape_str(c->shape()) + " (a row vector of N expected)");
  std::vector<float> bias(static_cast<size_t>(s.n));
  const float* src = c->data<float>();
  for (int64_t j = 0; j < s.n; ++j) bias[static_cast<size_t>(j)] = s.beta * src[numel == 1 ? 0 : j];
  return bias;
}

size_t sum_index_of(const Build& b) {
  for (const auto& p : ops::post_ops_of(b.node()))
    if (p.kind == ops::PostOp::Kind::kSum) return ops::sum_operand_index(b.node().op_type);
  return 0;
}

std::unique_ptr<Kernel> make_gemm(const Build& b) {
  const ir::Node& n = b.node();
  GemmShape s;
  s.trans_a = n.attr_int("transA", 0) != 0;
  s.trans_b = n.attr_int("transB", 0) != 0;
  s.alpha = n.attr_float("alpha", 1.f);
  s.beta = n.attr_float("beta", 1.f);
  const Shape& a = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  s.m = s.trans_a ? a[1] : a[0];
  s.k = s.trans_a ? a[0] : a[1];
  s.n = s.trans_b ? w[0] : w[1];
  return make_gemm_kernel(b, s);
}

std::unique_ptr<Kernel> make_matmul(const Build& b) {
  const Shape& a = b.in_shape(0);
  const Shape& w = b.in_shape(1);
  if (w.size() != 2) decline("B of rank " + std::to_string(w.size()) + " (2-D weights expected)");
  if (a.size() < 2) decline("A of rank " + std::to_string(a.size()));
  GemmShape s;
  s.k = a.back();
  s.m = shape_numel(a) / s.k;
  s.n = w[1];
  return make_gemm_kernel(b, s);
}

}  // namespace frugal::kernels::cuda
