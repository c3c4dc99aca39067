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
#include "frugal/kernels/cpu/sparse_kernels.h"
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

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int64_t n = x_[0], c = x_[1], hw = positions();
    std::vector<float> g(static_cast<size_t>(n * c));
    for (int64_t b = 0; b < n; ++b) gate(x + b * c * hw, g.data() + b * c);
    Scale s{this, x, g.data(), y};
    sparse_parallel(threads_for(shape_numel(x_)), &Scale::part, &s);
  }
  std::string impl() const override { return "loop:squeeze_excite"; }


 private:
  // A thread takes at least this many elements of X, as the scale-shift pass (1 MiB): at
  // batch 1 most blocks then stay on one thread, where a wake-up would cost more than
  // the pass.
  static constexpr int64_t kMinFloatsPerThread = int64_t{1} << 18;
  // Positions summed in float before the sum joins the double total.
  static constexpr int64_t kPoolChunk = 256;

  int64_t positions() const { return shape_numel(x_) / (x_[0] * x_[1]); }
  int threads_for(int64_t floats) const {
    return static_cast<int>(
        std::clamp<int64_t>(floats / kMinFloatsPerThread, 1, int64_t{num_threads()}));
  }

  // One image's gate g[C]: the mean over the positions, the two products and activations.
  void gate(const float* x, float* g) const {
    const int64_t c = x_[1], hw = positions();
    Pool pool{this, x, std::vector<double>(static_cast<size_t>(c) * num_threads(), 0.0)};
    const int parts = threads_for(c * hw);
    pool.parts = parts;
    sparse_parallel(parts, &Pool::part, &pool);
    std::vector<float> mean(static_cast<size_t>(c)), h(static_cast<size_t>(cr_));
    for (int64_t ch = 0; ch < c; ++ch) {
      double s = 0;
      for (int t = 0; t < parts; ++t) s += pool.totals[static_cast<size_t>(t * c + ch)];
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

  // The channel sums of one image, positions split among `parts` threads.
  struct Pool {
    const SqueezeExciteKernel* k;
    const float* x;
    std::vector<double> totals;  // [part][C]
    int parts = 1;
    static void part(void* d, int t, int T) {
      auto* p = static_cast<Pool*>(d);
      const SqueezeExciteKernel& k = *p->k;
      const int64_t c = k.x_[1], hw = k.positions();
      std::vector<float> sums(static_cast<size_t>(c));
      double* total = p->totals.data() + static_cast<size_t>(t) * c;
      for (int64_t p0 = hw * t / T, end = hw * (t + 1) / T; p0 < end; p0 += kPoolChunk) {
        k.loops_.pool(p->x, hw, c, k.in_channels_last_, p0, std::min(end, p0 + kPoolChunk),
                      sums.data());
        for (int64_t ch = 0; ch < c; ++ch) total[ch] += sums[static_cast<size_t>(ch)];
      }
    }
  };

  // Y = X * g over all images, positions split among the threads.
  struct Scale {
    const SqueezeExciteKernel* k;
    const float* x;
    const float* g;
    float* y;
    static void part(void* d, int t, int T) {
      const auto* s = static_cast<const Scale*>(d);
      const SqueezeExciteKernel& k = *s->k;
      const int64_t c = k.x_[1], hw = k.positions(), image = c * hw;
      for (int64_t b = 0; b < k.x_[0]; ++b)
        k.loops_.scale(s->x + b * image, s->g + b * c, hw, c, k.in_channels_last_,
                       k.out_channels_last_, hw * t / T, hw * (t + 1) / T, s->y + b * image);
    }
  };

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
