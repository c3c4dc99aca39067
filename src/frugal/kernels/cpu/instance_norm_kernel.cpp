// InstanceNormalization (style transfer, GAN generators) as an own loop over plain float32
// tensors: each (sample, channel) plane normalized by its own mean and population variance
// (two passes, as the reference kernel: no cancellation from E[x^2] - E[x]^2), then scaled
// and shifted per channel; planes shared by the backend's threads. Scale and bias are read
// at run time (constant or not).
#include <algorithm>
#include <cmath>

#include "frugal/kernels/cpu/resize_factories.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

constexpr int kLanes = 16;  // independent partial sums, so that the compiler vectorizes

// Sum of f(x[i]) over i < n, in kLanes float partial sums added in double.
template <typename F>
__attribute__((always_inline)) inline double lane_sum(const float* x, int64_t n, F f) {
  float acc[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int j = 0; j < kLanes; ++j) acc[j] += f(x[i + j]);
  double total = 0;
  for (; i < n; ++i) total += f(x[i]);
  for (float a : acc) total += a;
  return total;
}

__attribute__((target_clones("avx512f", "default"))) void normalize_plane(const float* x, float* y,
                                                                          int64_t n, float scale,
                                                                          float bias,
                                                                          float epsilon) {
  const double mean = lane_sum(x, n, [](float v) { return v; }) / static_cast<double>(n);
  const float m = static_cast<float>(mean);
  const double var =
      lane_sum(x, n, [m](float v) { return (v - m) * (v - m); }) / static_cast<double>(n);
  const float a = static_cast<float>(scale / std::sqrt(var + epsilon));
  // (x - m) first: folding the mean into the shift cancels badly when it is large.
  for (int64_t i = 0; i < n; ++i) y[i] = (x[i] - m) * a + bias;
}

class InstanceNormKernel final : public kernels::Kernel {
 public:
  InstanceNormKernel(const Shape& x, float epsilon)
      : channels_(x[1]),
        planes_(x[0] * x[1]),
        plane_(shape_numel(x) / std::max<int64_t>(planes_, 1)),
        epsilon_(epsilon) {}

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    const float* scale = ctx.input(1).data<float>();
    const float* bias = ctx.input(2).data<float>();
    float* y = ctx.output(0).data<float>();
    const int threads = static_cast<int>(std::clamp<int64_t>(
        planes_ * plane_ / min_floats_per_thread(), 1, std::min<int64_t>(num_threads(), planes_)));
    parallel_split(threads, planes_, [&](int64_t begin, int64_t end) {
      for (int64_t p = begin; p < end; ++p) {
        const int64_t c = p % channels_;
        normalize_plane(x + p * plane_, y + p * plane_, plane_, scale[c], bias[c], epsilon_);
      }
    });
  }
  std::string impl() const override { return "loop:instance_norm"; }

 private:
  int64_t channels_, planes_, plane_;
  float epsilon_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_instance_norm(const Build& b) {
  return std::make_unique<InstanceNormKernel>(b.in_shape(0), b.node().attr_float("epsilon", 1e-5f));
}

}  // namespace frugal::kernels::cpu
