// RMSNormalization as one loop per row: the sum of squares in 16 float lanes (the compiler
// keeps them in one vector register; the lanes are added in double at the end), then
// y = x * (1 / sqrt(mean + epsilon)) * scale. oneDNN 2.6's layer normalization always
// subtracts the mean, so the chain exporters write (square, mean, add, sqrt, reciprocal,
// two multiplies) ran as seven passes over the tensor before fuse_layer_norm made it one
// node. Rows are shared among the backend's threads.
#include <algorithm>
#include <cmath>
#include <vector>

#include "frugal/kernels/cpu/rms_norm.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/elementwise.h"

namespace frugal::kernels::cpu {
namespace {

class RmsNormKernel final : public kernels::Kernel {
 public:
  RmsNormKernel(int64_t rows, int64_t size, float epsilon, std::vector<float> scale)
      : rows_(rows), size_(size), epsilon_(epsilon), scale_(std::move(scale)) {}

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    float* y = ctx.output(0).data<float>();
    const int64_t by_size = std::max<int64_t>(1, rows_ * size_ / min_floats_per_thread());
    const int threads = static_cast<int>(std::min({int64_t{num_threads()}, rows_, by_size}));
    parallel_split(threads, rows_, [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) row(x + r * size_, y + r * size_);
    });
  }
  std::string impl() const override { return "loop:rms_norm"; }

 private:
  void row(const float* x, float* y) const {
    constexpr int64_t kLanes = 16;
    float lanes[kLanes] = {};
    int64_t i = 0;
    for (; i + kLanes <= size_; i += kLanes)
      for (int64_t j = 0; j < kLanes; ++j) lanes[j] += x[i + j] * x[i + j];
    double squares = 0;
    for (; i < size_; ++i) squares += double(x[i]) * x[i];
    for (float l : lanes) squares += l;
    const float inv =
        static_cast<float>(1.0 / std::sqrt(squares / static_cast<double>(size_) + epsilon_));
    const float* w = scale_.data();
    for (int64_t k = 0; k < size_; ++k) y[k] = x[k] * inv * w[k];
  }

  int64_t rows_, size_;
  double epsilon_;
  std::vector<float> scale_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_rms_norm(const Build& b) {
  const Shape& x = b.in_shape(0);
  const int64_t rank = static_cast<int64_t>(x.size());
  int64_t axis = b.node().attr_int("axis", -1);
  if (axis < 0) axis += rank;
  const Shape normalized(x.begin() + axis, x.end());
  const Tensor* s = b.constant(1);
  if (!s) decline("Scale known only at run time not implemented");
  Tensor scale(DType::kF32, normalized);
  ops::elementwise::broadcast_copy<float>(*s, scale);
  const int64_t size = shape_numel(normalized);
  return std::make_unique<RmsNormKernel>(
      size == 0 ? 0 : shape_numel(x) / size, size, b.node().attr_float("epsilon", 1e-5f),
      std::vector<float>(scale.data<float>(), scale.data<float>() + size));
}

}  // namespace frugal::kernels::cpu
