// frugal.SqueezeExcite on the cpu backend (squeeze_excite.h). MobileNetV3 and
// EfficientNet at batch 1 ran each block as five kernels (GlobalAveragePool, two 1x1
// Convs of one pixel, their activations fused, and a broadcast Mul), each a oneDNN call and
// at two threads a wake-up: here one kernel, the passes over X shared among the backend's
// threads only when X is large enough to pay for the wake-up.
#include <algorithm>
#include <cstring>
#include <vector>

#include "frugal/kernels/cpu/channels_last.h"
#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/squeeze_excite.h"
#include "frugal/kernels/cpu/squeeze_excite_loops.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/squeeze_excite.h"

namespace frugal::kernels::cpu {

const SeLoops& se_loops_baseline() {
  static const SeLoops loops{se_pool, se_dense_rows, se_dense_cols, se_scale, nullptr};
  return loops;
}

namespace {

class SqueezeExciteKernel final : public kernels::Kernel, public ChannelsLastIo {
 public:
  struct Weights {
    std::vector<float> w1, b1;   // [Cr][C], [Cr] (empty: no bias)
    std::vector<float> w2t, b2;  // W2 transposed, [Cr][C]; [C]
    std::vector<ops::PostOp> inner, gate;
  };

  SqueezeExciteKernel(const Shape& x, int64_t cr, Weights w, const SeLoops& loops)
      : ChannelsLastIo(x), x_(x), cr_(cr), w_(std::move(w)), loops_(loops) {}

  // Three passes, each shared among the backend's threads when its work pays for their
  // wake-up: the channel sums (parts of each image's positions), the gates (one image
  // each), the scaling (positions).
  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int64_t n = x_[0], c = x_[1], hw = positions(), image = c * hw;
    const int64_t parts = threads_for(image);  // per image
    std::vector<double> sums(static_cast<size_t>(n * parts * c));
    parallel_split(threads_for(n * image), n * parts, [&](int64_t begin, int64_t end) {
      for (int64_t i = begin; i < end; ++i)
        pool(x + (i / parts) * image, hw * (i % parts) / parts, hw * (i % parts + 1) / parts,
             sums.data() + i * c);
    });
    std::vector<float> g(static_cast<size_t>(n * c));
    const bool gates_apart = n > 1 && n * c * cr_ >= kMinMacsPerThread;
    parallel_split(gates_apart ? num_threads() : 1, n, [&](int64_t begin, int64_t end) {
      for (int64_t b = begin; b < end; ++b)
        gate(sums.data() + b * parts * c, parts, g.data() + b * c);
    });
    parallel_split(threads_for(n * image), hw, [&](int64_t p0, int64_t p1) {
      for (int64_t b = 0; b < n; ++b)
        loops_.scale(x + b * image, g.data() + b * c, hw, c, in_channels_last_, out_channels_last_,
                     p0, p1, y + b * image);
    });
  }
  std::string impl() const override { return "loop:squeeze_excite"; }

 private:
  // Positions summed in float before the sum joins the double total.
  static constexpr int64_t kPoolChunk = 256;
  // The gates of a batch are shared among the threads from this many multiply-accumulates
  // (a few microseconds of work).
  static constexpr int64_t kMinMacsPerThread = int64_t{1} << 15;

  int64_t positions() const { return shape_numel(x_) / (x_[0] * x_[1]); }
  static int threads_for(int64_t floats) {
    return static_cast<int>(
        std::clamp<int64_t>(floats / min_floats_per_thread(), 1, int64_t{num_threads()}));
  }

  // Positions [p0, p1) of one image summed per channel into `total` (float sums over
  // chunks, double across them).
  void pool(const float* x, int64_t p0, int64_t p1, double* total) const {
    const int64_t c = x_[1], hw = positions();
    std::vector<float> chunk(static_cast<size_t>(c));
    for (int64_t p = p0; p < p1; p += kPoolChunk) {
      loops_.pool(x, hw, c, in_channels_last_, p, std::min(p1, p + kPoolChunk), chunk.data());
      for (int64_t ch = 0; ch < c; ++ch) total[ch] += chunk[static_cast<size_t>(ch)];
    }
  }

  // One image's gate g[C] from its `parts` partial channel sums: the mean, the two products
  // and their activations.
  void gate(const double* sums, int64_t parts, float* g) const {
    const int64_t c = x_[1], hw = positions();
    std::vector<float> mean(static_cast<size_t>(c)), h(static_cast<size_t>(cr_));
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0;
      for (int64_t t = 0; t < parts; ++t) s += sums[t * c + ch];
      mean[static_cast<size_t>(ch)] = static_cast<float>(s / double(hw));
    }
    loops_.dense_rows(w_.w1.data(), w_.b1.empty() ? nullptr : w_.b1.data(), mean.data(), cr_, c,
                      h.data());
    activate(w_.inner, h.data(), cr_);
    loops_.dense_cols(w_.w2t.data(), w_.b2.empty() ? nullptr : w_.b2.data(), h.data(), c, cr_, g);
    activate(w_.gate, g, c);
  }

  void activate(const std::vector<ops::PostOp>& ops, float* v, int64_t n) const {
    if (ops.empty()) return;
    if (loops_.post_ops && dw_post_ops_cover(ops)) {
      loops_.post_ops(v, n, ops);
      return;
    }
    Tensor t(DType::kF32, {n});
    std::memcpy(t.data<float>(), v, static_cast<size_t>(n) * sizeof(float));
    ops::apply_post_ops(ops, t, nullptr);
    std::memcpy(v, t.data<float>(), static_cast<size_t>(n) * sizeof(float));
  }

  Shape x_;
  int64_t cr_;
  Weights w_;
  const SeLoops& loops_;
};

std::vector<float> floats_of(const Tensor& t) {
  const float* d = t.data<float>();
  return std::vector<float>(d, d + t.numel());
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_squeeze_excite(const Build& b) {
  const Tensor *w1 = b.constant(1), *w2 = b.constant(3);
  const Tensor* b1 = b.has_input(2) ? b.constant(2) : nullptr;
  const Tensor* b2 = b.has_input(4) ? b.constant(4) : nullptr;
  if (!w1 || !w2 || (b.has_input(2) && !b1) || (b.has_input(4) && !b2))
    decline("weights or biases known only at run time not supported");
  const Shape& x = b.in_shape(0);
  const int64_t c = x[1], cr = w1->shape()[0];
  SqueezeExciteKernel::Weights w;
  w.w1 = floats_of(*w1);
  w.w2t.resize(static_cast<size_t>(c * cr));
  const float* w2d = w2->data<float>();
  for (int64_t o = 0; o < c; ++o)
    for (int64_t i = 0; i < cr; ++i) w.w2t[static_cast<size_t>(i * c + o)] = w2d[o * cr + i];
  if (b1) w.b1 = floats_of(*b1);
  if (b2) w.b2 = floats_of(*b2);
  w.inner = ops::squeeze_excite_activations(b.node(), "inner");
  w.gate = ops::squeeze_excite_activations(b.node(), "gate");
  const SeLoops& loops = dw_isa_available() ? se_loops_avx512() : se_loops_baseline();
  return std::make_unique<SqueezeExciteKernel>(x, cr, std::move(w), loops);
}

}  // namespace frugal::kernels::cpu
