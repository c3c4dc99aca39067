// Conv and ConvTranspose on cuDNN (the legacy convolution API of cuDNN 9: descriptors,
// cudnnFind, cudnnConvolutionForward and, for ConvTranspose, cudnnConvolutionBackwardData:
// the transposed convolution is the gradient of a convolution with respect to its input,
// and ConvTranspose's weight [C_in, C_out/g, k...] is that convolution's filter as it
// stands), NCHW, any group count (depthwise included), strides, dilations and symmetric
// pads, 1-D to 3-D. The algorithm is timed once per shape and direction by cudnnFind and
// cached on the device. Bias, folded
// BatchNorm and fused post-ops run in the epilogue kernel after the convolution; under
// fp16/bf16 the input is converted into scratch first and the epilogue reads the
// low-precision result, so values between kernels stay float32.
#include <algorithm>

#include "frugal/kernels/cuda/cuda_build.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cuda {
namespace {

constexpr size_t kAlign = 256;
constexpr size_t kMaxWorkspace = size_t{1} << 30;  // algorithms needing more are skipped

size_t aligned(size_t n) {
  return (n + kAlign - 1) / kAlign * kAlign;
}

cudnnDataType_t cudnn_type(Storage s) {
  return s == Storage::kF16    ? CUDNN_DATA_HALF
         : s == Storage::kBF16 ? CUDNN_DATA_BFLOAT16
                               : CUDNN_DATA_FLOAT;
}

// Strictly float32 (FMA) for fp32; tensor cores for tf32, fp16 and bf16.
cudnnMathType_t math_type(Precision p) {
  return p == Precision::kF32 ? CUDNN_FMA_MATH : CUDNN_TENSOR_OP_MATH;
}

std::vector<int> as_int(const std::vector<int64_t>& v) {
  return std::vector<int>(v.begin(), v.end());
}

std::vector<int> packed_strides(const std::vector<int>& dims) {
  std::vector<int> s(dims.size(), 1);
  for (size_t d = dims.size() - 1; d-- > 0;) s[d] = s[d + 1] * dims[d + 1];
  return s;
}

struct Descriptors {
  cudnnTensorDescriptor_t x = nullptr, y = nullptr;
  cudnnFilterDescriptor_t w = nullptr;
  cudnnConvolutionDescriptor_t conv = nullptr;
  Descriptors() {
    check(cudnnCreateTensorDescriptor(&x), "cudnnCreateTensorDescriptor");
    check(cudnnCreateTensorDescriptor(&y), "cudnnCreateTensorDescriptor");
    check(cudnnCreateFilterDescriptor(&w), "cudnnCreateFilterDescriptor");
    check(cudnnCreateConvolutionDescriptor(&conv), "cudnnCreateConvolutionDescriptor");
  }
  ~Descriptors() {
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  Descriptors(const Descriptors&) = delete;
  Descriptors& operator=(const Descriptors&) = delete;
};

// The convolution's shapes with at least two spatial dimensions (cuDNN's minimum): a 1-D
// convolution gets a leading spatial dimension of 1.
struct ConvShape {
  std::vector<int> x, w, y, pads, strides, dilations;
  int groups = 1;
  bool transposed = false;  // ConvTranspose: x is the convolution's dy, y its dx
  std::string key(Precision p) const {
    std::string k = std::string(precision_name(p)) + (transposed ? "|T" : "");
    for (const auto* v : {&x, &w, &y, &pads, &strides, &dilations}) {
      k += "|";
      for (int d : *v) k += std::to_string(d) + ",";
    }
    return k + "|g" + std::to_string(groups);
  }
};

ConvShape conv_shape(const Build& b) {
  const Shape& xs = b.in_shape(0);
  const Shape& ws = b.in_shape(1);
  if (xs.size() < 3 || xs.size() > 5) decline("input of rank " + std::to_string(xs.size()));
  const std::vector<int64_t> in(xs.begin() + 2, xs.end()), kernel(ws.begin() + 2, ws.end());
  const bool transposed = b.node().op_type == "ConvTranspose";
  const ops::WindowGeometry g = transposed ? ops::transposed_window(b.node(), in, kernel)
                                           : ops::sliding_window(b.node(), in, kernel, false);
  if (g.pad_begin != g.pad_end) decline("asymmetric pads (cuDNN pads both sides equally)");
  for (int64_t p : g.pad_begin)
    if (p < 0) decline("output_shape larger than the full transposed result");
  ConvShape s;
  s.transposed = transposed;
  s.x = as_int(xs);
  s.w = as_int(ws);
  s.y = as_int(b.out_shape());
  s.pads = as_int(g.pad_begin);
  s.strides = as_int(g.strides);
  s.dilations = as_int(g.dilations);
  s.groups = static_cast<int>(b.node().attr_int("group", 1));
  if (xs.size() == 3) {
    for (auto* v : {&s.x, &s.w, &s.y}) v->insert(v->begin() + 2, 1);
    s.pads.insert(s.pads.begin(), 0);
    s.strides.insert(s.strides.begin(), 1);
    s.dilations.insert(s.dilations.begin(), 1);
  }
  return s;
}

class ConvKernel final : public CudaKernel {
 public:
  ConvKernel(const Build& b, const ConvShape& s)
      : CudaKernel(b),
        precision_(b.precision),
        storage_(storage_of(b.precision)),
        epilogue_(epilogue_of(b)),
        x_numel_(shape_numel(b.in_shape(0))),
        y_numel_(shape_numel(b.out_shape())),
        transposed_(s.transposed) {
    if (!b.constant(1)) decline("weights not constant");
    if (b.has_input(2) && !b.constant(2)) decline("bias not constant");
    describe(s);
    prepare_weights(b);
    epilogue_.bias = b.has_input(2) ? static_cast<const float*>(constant_ptr(2)) : nullptr;
    epilogue_.channels = s.y[1];
    epilogue_.inner = static_cast<int64_t>(y_numel_ / (static_cast<int64_t>(s.y[0]) * s.y[1]));
    choose_algorithm(s);
    impl_ = std::string(transposed_ ? "cuda:cudnn-bwd-data:" : "cuda:cudnn:") +
            precision_name(precision_) + ":algo" + std::to_string(algo_.algo);
  }

  void run(ops::KernelContext& ctx) override {
    const size_t lp = storage_size(storage_);
    char* scratch = static_cast<char*>(device().scratch());
    const void* x = in_raw(ctx, 0);
    void* y = out(ctx);
    if (storage_ != Storage::kF32) {
      launch_convert(scratch, storage_, static_cast<const float*>(x), x_numel_, stream());
      check_launch("convert");
      x = scratch;
      y = scratch + aligned(static_cast<size_t>(x_numel_) * lp);
    }
    void* workspace = scratch + operand_bytes();
    const float one = 1.f, zero = 0.f;
    if (transposed_)
      check(cudnnConvolutionBackwardData(device().cudnn(), &one, d_.w, weights(), d_.x, x, d_.conv,
                                         static_cast<cudnnConvolutionBwdDataAlgo_t>(algo_.algo),
                                         workspace, algo_.workspace, &zero, d_.y, y),
            "cudnnConvolutionBackwardData");
    else
      check(cudnnConvolutionForward(device().cudnn(), &one, d_.x, x, d_.w, weights(), d_.conv,
                                    static_cast<cudnnConvolutionFwdAlgo_t>(algo_.algo), workspace,
                                    algo_.workspace, &zero, d_.y, y),
            "cudnnConvolutionForward");
    if (storage_ != Storage::kF32 || epilogue_.bias || epilogue_.count > 0) {
      if (sum_index_) epilogue_.sum = in(ctx, sum_index_);
      launch_epilogue(out(ctx), y, storage_, y_numel_, epilogue_, stream());
      check_launch("epilogue");
    }
  }

 private:
  const void* weights() const { return lp_weights_ ? lp_weights_.get() : constant_ptr(1); }
  // Low-precision input and output in scratch, before the cuDNN workspace.
  size_t operand_bytes() const {
    if (storage_ == Storage::kF32) return 0;
    const size_t lp = storage_size(storage_);
    return aligned(static_cast<size_t>(x_numel_) * lp) +
           aligned(static_cast<size_t>(y_numel_) * lp);
  }

  void describe(const ConvShape& s) {
    const cudnnDataType_t t = cudnn_type(storage_);
    const int nd = static_cast<int>(s.x.size());
    check(cudnnSetTensorNdDescriptor(d_.x, t, nd, s.x.data(), packed_strides(s.x).data()),
          "cudnnSetTensorNdDescriptor(x)");
    check(cudnnSetTensorNdDescriptor(d_.y, t, nd, s.y.data(), packed_strides(s.y).data()),
          "cudnnSetTensorNdDescriptor(y)");
    check(cudnnSetFilterNdDescriptor(d_.w, t, CUDNN_TENSOR_NCHW, nd, s.w.data()),
          "cudnnSetFilterNdDescriptor");
    check(cudnnSetConvolutionNdDescriptor(d_.conv, nd - 2, s.pads.data(), s.strides.data(),
                                          s.dilations.data(), CUDNN_CROSS_CORRELATION,
                                          CUDNN_DATA_FLOAT),
          "cudnnSetConvolutionNdDescriptor");
    check(cudnnSetConvolutionGroupCount(d_.conv, s.groups), "cudnnSetConvolutionGroupCount");
    check(cudnnSetConvolutionMathType(d_.conv, math_type(precision_)),
          "cudnnSetConvolutionMathType");
    // The forward convolution's output: y's for Conv; for ConvTranspose, the convolution
    // of y (its dx) must give back x (its dy), which holds when output_padding < stride.
    std::vector<int> fwd(s.y.size());
    check(cudnnGetConvolutionNdForwardOutputDim(d_.conv, transposed_ ? d_.y : d_.x, d_.w, nd,
                                                fwd.data()),
          "cudnnGetConvolutionNdForwardOutputDim");
    if (fwd != (transposed_ ? s.x : s.y))
      decline("cuDNN's convolution shapes differ from the inferred ones");
  }

  void prepare_weights(const Build& b) {
    for (const auto& p : ops::post_ops_of(b.node()))
      if (p.kind == ops::PostOp::Kind::kSum) sum_index_ = ops::sum_operand_index("Conv");
    if (storage_ == Storage::kF32) return;
    const int64_t n = shape_numel(b.in_shape(1));
    lp_weights_ = device().allocate(static_cast<size_t>(n) * storage_size(storage_));
    launch_convert(lp_weights_.get(), storage_, static_cast<const float*>(constant_ptr(1)), n,
                   stream());
    check_launch("convert weights");
    device().synchronize();
    drop_constant(1);
  }

  // The fastest algorithm cudnnFind measured for this shape (once per shape and device),
  // among those whose workspace fits kMaxWorkspace.
  void choose_algorithm(const ConvShape& s) {
    const std::string key = s.key(precision_);
    auto& cache = device().conv_algos();
    if (auto it = cache.find(key); it != cache.end()) {
      algo_ = it->second;
    } else {
      const bool found = transposed_ ? find_backward_data() : find_forward();
      if (!found)
        decline("cuDNN has no algorithm for this convolution in " +
                std::string(precision_name(precision_)));
      cache[key] = algo_;
    }
    device().reserve_scratch(operand_bytes() + algo_.workspace);
  }

  // The fastest of cudnnFind's results (sorted by time) whose workspace fits.
  template <typename Perf>
  bool take_fastest(const std::vector<Perf>& perf, int returned) {
    for (int i = 0; i < returned; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= kMaxWorkspace) {
        algo_ = {static_cast<int>(perf[i].algo), perf[i].memory, perf[i].time};
        return true;
      }
    return false;
  }

  bool find_forward() {
    int count = 0;
    check(cudnnGetConvolutionForwardAlgorithmMaxCount(device().cudnn(), &count),
          "cudnnGetConvolutionForwardAlgorithmMaxCount");
    std::vector<cudnnConvolutionFwdAlgoPerf_t> perf(static_cast<size_t>(std::max(count, 1)));
    int returned = 0;
    check(
        cudnnFindConvolutionForwardAlgorithm(device().cudnn(), d_.x, d_.w, d_.conv, d_.y,
                                             static_cast<int>(perf.size()), &returned, perf.data()),
        "cudnnFindConvolutionForwardAlgorithm");
    return take_fastest(perf, returned);
  }

  bool find_backward_data() {
    int count = 0;
    check(cudnnGetConvolutionBackwardDataAlgorithmMaxCount(device().cudnn(), &count),
          "cudnnGetConvolutionBackwardDataAlgorithmMaxCount");
    std::vector<cudnnConvolutionBwdDataAlgoPerf_t> perf(static_cast<size_t>(std::max(count, 1)));
    int returned = 0;
    check(cudnnFindConvolutionBackwardDataAlgorithm(device().cudnn(), d_.w, d_.x, d_.conv, d_.y,
                                                    static_cast<int>(perf.size()), &returned,
                                                    perf.data()),
          "cudnnFindConvolutionBackwardDataAlgorithm");
    return take_fastest(perf, returned);
  }

  Precision precision_;
  Storage storage_;
  Epilogue epilogue_;
  int64_t x_numel_, y_numel_;
  bool transposed_;
  size_t sum_index_ = 0;  // 0: no sum post-op
  Descriptors d_;
  ConvAlgo algo_;
  std::shared_ptr<void> lp_weights_;
};

}  // namespace

std::unique_ptr<Kernel> make_conv(const Build& b) {
  if (!b.has_input(1)) decline("no weights");
  if (b.precision == Precision::kI8) return make_int8_conv(b);
  return std::make_unique<ConvKernel>(b, conv_shape(b));
}

}  // namespace frugal::kernels::cuda
