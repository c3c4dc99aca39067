// frugal.BlockCirculant on the cpu backend: the FFT products of kernels/circulant_fft.h
// (FFTW by default; the node's attribute fft="own" picks frugal's radix-2 transform), the
// weight's spectra computed once when the weight is constant. Threads: the cpu backend's,
// over rows (samples x positions), one CirculantFft (its own buffers and FFT plans) per
// thread; FFTW plans are made under fft.cpp's planner lock. A single row runs on one.
#include <algorithm>
#include <memory>
#include <vector>

#include "frugal/kernels/circulant_fft.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

class CirculantKernel final : public kernels::Kernel {
 public:
  CirculantKernel(const Build& b, FftLibrary lib)
      : s_(ops::circulant_blocks(b.in_shape(1), b.node())),
        rows_(s_, ops::feature_layout(b.in_shape(0), b.node().attr_int("axis", -1))),
        inner_(ops::feature_layout(b.in_shape(0), b.node().attr_int("axis", -1)).inner),
        lib_(lib) {
    if (const Tensor* w = b.constant(1))
      constant_weights_.assign(w->data<float>(), w->data<float>() + w->numel());
    add_ffts(1);
  }

  void run(ops::KernelContext& ctx) override {
    const int64_t threads = std::min<int64_t>(num_threads(), rows_.rows());
    add_ffts(threads);
    if (constant_weights_.empty())
      for (auto& f : ffts_) f->set_weights(ctx.input(1).data<float>());
    float* y = ctx.output(0).data<float>();
    Slices job{this, rows_.x_rows(ctx.input(0).data<float>()), rows_.y_rows(y), rows_.rows()};
    parallel_run(
        static_cast<int>(threads),
        [](void* d, int t, int T) {
          const auto* j = static_cast<const Slices*>(d);
          const int64_t r0 = j->rows * t / T, r1 = j->rows * (t + 1) / T;
          j->self->ffts_[static_cast<size_t>(t)]->forward(
              j->x + r0 * j->self->s_.padded_in(), j->y + r0 * j->self->s_.padded_out(), r1 - r0);
        },
        &job);
    rows_.finish_y(y);
    if (ctx.has_input(2)) add_bias(ctx.input(2).data<float>(), ctx.output(0).numel(), y);
  }
  std::string impl() const override { return "cpu:circulant-fft:" + to_string(lib_); }

 private:
  void add_bias(const float* bias, int64_t numel, float* y) const {
    const int64_t per_bias = inner_, period = s_.out * inner_;
    for (int64_t i = 0; i < numel; ++i) y[i] += bias[(i % period) / per_bias];
  }

  struct Slices {
    CirculantKernel* self;
    const float* x;
    float* y;
    int64_t rows;
  };
  // FFT products up to `count` threads, with the constant weight's spectra.
  void add_ffts(int64_t count) {
    while (static_cast<int64_t>(ffts_.size()) < count) {
      ffts_.push_back(std::make_unique<CirculantFft>(s_, lib_));
      if (!constant_weights_.empty()) ffts_.back()->set_weights(constant_weights_.data());
    }
  }

  ops::CirculantBlocks s_;
  CirculantRows rows_;
  int64_t inner_;
  FftLibrary lib_;
  std::vector<float> constant_weights_;  // [P, Q, b] when constant: spectra for new threads
  std::vector<std::unique_ptr<CirculantFft>> ffts_;  // one per thread
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_block_circulant(const Build& b) {
  if (b.precision != Precision::kF32) decline("bf16 not implemented (the FFT runs in float32)");
  return std::make_unique<CirculantKernel>(
      b, parse_fft_library(b.node().attr_string("fft", "fftw"), b.node().describe() + " fft"));
}

}  // namespace frugal::kernels::cpu
