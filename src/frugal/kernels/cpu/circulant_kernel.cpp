// frugal.BlockCirculant on the cpu backend: the FFT products of kernels/circulant_fft.h
// (FFTW by default; the node's attribute fft="own" picks frugal's radix-2 transform), the
// weight's spectra computed once when the weight is constant. One thread.
#include "frugal/kernels/circulant_fft.h"
#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {
namespace {

class CirculantKernel final : public kernels::Kernel {
 public:
  CirculantKernel(const Build& b, FftLibrary lib)
      : s_(ops::circulant_blocks(b.in_shape(1), b.node())),
        fft_(s_, lib),
        rows_(s_, ops::feature_layout(b.in_shape(0), b.node().attr_int("axis", -1))),
        inner_(ops::feature_layout(b.in_shape(0), b.node().attr_int("axis", -1)).inner),
        lib_(lib) {
    if (const Tensor* w = b.constant(1)) {
      fft_.set_weights(w->data<float>());
      constant_weights_ = true;
    }
  }

  void run(ops::KernelContext& ctx) override {
    if (!constant_weights_) fft_.set_weights(ctx.input(1).data<float>());
    float* y = ctx.output(0).data<float>();
    fft_.forward(rows_.x_rows(ctx.input(0).data<float>()), rows_.y_rows(y), rows_.rows());
    rows_.finish_y(y);
    if (ctx.has_input(2)) add_bias(ctx.input(2).data<float>(), ctx.output(0).numel(), y);
  }
  std::string impl() const override { return "cpu:circulant-fft:" + to_string(lib_); }

 private:
  void add_bias(const float* bias, int64_t numel, float* y) const {
    const int64_t per_bias = inner_, period = s_.out * inner_;
    for (int64_t i = 0; i < numel; ++i) y[i] += bias[(i % period) / per_bias];
  }

  ops::CirculantBlocks s_;
  CirculantFft fft_;
  CirculantRows rows_;
  int64_t inner_;
  FftLibrary lib_;
  bool constant_weights_ = false;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_block_circulant(const Build& b) {
  if (b.precision != Precision::kF32) decline("bf16 not implemented (the FFT runs in float32)");
  return std::make_unique<CirculantKernel>(
      b, parse_fft_library(b.node().attr_string("fft", "fftw"), b.node().describe() + " fft"));
}

}  // namespace frugal::kernels::cpu
