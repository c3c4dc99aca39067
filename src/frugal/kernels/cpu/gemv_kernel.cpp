// Gemm of one row by constant weights, y[1, N] = x[1, K] Wᵀ + bias (transB = 1, the layout
// torchvision's classifiers export), as N dot products streaming W once in its own
// layout, the rows shared among the backend's threads when W is large. oneDNN 2.6 runs
// it as a brgemm matmul on its blocked weights; at batch 1 the classifier of MobileNetV3
// (960x1280 and 1280x1000, 10 MB of weights) is memory-bound either way
// (bench/RESULTS.md, "Squeeze-excitation blocks as one node"). FRUGAL_NO_GEMV=1 keeps
// oneDNN (to compare). The dot loop is SqueezeExcite's (squeeze_excite.h).
#include <cstdlib>
#include <cstring>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/squeeze_excite.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

class GemvKernel final : public kernels::Kernel {
 public:
  GemvKernel(int64_t k, int64_t n, std::vector<float> w, std::vector<float> bias,
             std::vector<ops::PostOp> post, const SeLoops& loops)
      : k_(k),
        n_(n),
        w_(std::move(w)),
        bias_(std::move(bias)),
        post_(std::move(post)),
        loops_(loops) {}

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int threads = n_ * k_ >= kMinMacsPerThread ? num_threads() : 1;
    parallel_split(threads, n_, [&](int64_t o0, int64_t o1) {
      loops_.dense_rows(w_.data() + o0 * k_, bias_.empty() ? nullptr : bias_.data() + o0, x,
                        o1 - o0, k_, y + o0);
      if (!post_.empty() && loops_.post_ops) loops_.post_ops(y + o0, o1 - o0, post_);
    });
    if (!post_.empty() && !loops_.post_ops) ops::apply_post_ops(post_, ctx.output(0), nullptr);
  }
  std::string impl() const override { return "loop:gemv"; }

 private:
  // Rows are shared among the threads from this many multiply-accumulates (1 MiB of
  // weights).
  static constexpr int64_t kMinMacsPerThread = int64_t{1} << 18;
  int64_t k_, n_;
  std::vector<float> w_, bias_;
  std::vector<ops::PostOp> post_;
  const SeLoops& loops_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_gemv(const Build& b) {
  if (const char* off = std::getenv("FRUGAL_NO_GEMV"); off && std::strcmp(off, "1") == 0)
    return nullptr;
  const ir::Node& n = b.node();
  const Tensor* w = b.constant(1);
  if (b.out_shape(0).size() != 2 || b.out_shape(0)[0] != 1 || !w || w->dtype() != DType::kF32 ||
      b.compute_type() != dnnl::memory::data_type::f32 || n.attr_int("transA", 0) != 0 ||
      n.attr_int("transB", 0) != 1 || n.attr_float("alpha", 1.0f) != 1.0f ||
      ops::own_input_count(n) > 3)
    return nullptr;
  const int64_t nn = w->shape()[0], k = w->shape()[1];
  std::vector<float> bias;
  if (ops::own_input_count(n) == 3 && b.has_input(2)) {
    const Tensor* c = b.constant(2);
    if (!c || c->numel() != nn || n.attr_float("beta", 1.0f) != 1.0f) return nullptr;
    bias.assign(c->data<float>(), c->data<float>() + nn);
  }
  const std::vector<ops::PostOp> post = ops::post_ops_of(n);
  if (!dw_post_ops_cover(post)) return nullptr;  // sum, GELU: oneDNN's
  const float* wd = w->data<float>();
  const SeLoops& loops = dw_isa_available() ? se_loops_avx512() : se_loops_baseline();
  return std::make_unique<GemvKernel>(k, nn, std::vector<float>(wd, wd + nn * k), std::move(bias),
                                      post, loops);
}

}  // namespace frugal::kernels::cpu
