// BatchNormalization in training: batch statistics over N, H, W per channel, running
// statistics updated in place (running = momentum * running + (1 - momentum) * batch, the
// ONNX convention; the running variance takes the unbiased batch variance, as PyTorch
// does). Inference mode (evaluation, export) uses the running statistics, so the trained
// graph is exported unchanged in inference form.
#include <cmath>

#include "frugal/train/grad_op.h"

namespace frugal::train {
namespace {

class BatchNormGrad final : public GradOp {
 public:
  explicit BatchNormGrad(const ir::Node& node)
      : node_(node),
        epsilon_(node.attr_float("epsilon", 1e-5f)),
        momentum_(node.attr_float("momentum", 0.9f)) {}

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState& st) override {
    const Tensor& x = in[0];
    if (x.rank() < 2 || in.size() < 5)
      throw UserError(node_.describe() + ": needs X of rank >= 2 and 5 inputs");
    const int64_t n = x.dim(0), c = x.dim(1);
    const int64_t inner = c == 0 || n == 0 ? 0 : x.numel() / (n * c);
    for (size_t i = 1; i < 5; ++i)
      if (in[i].numel() != c)
        throw UserError(node_.describe() + ": input " + std::to_string(i) + " has " +
                        std::to_string(in[i].numel()) + " values for " + std::to_string(c) +
                        " channels");
    const float* xd = x.data<float>();
    const float* gamma = in[1].data<float>();
    const float* beta = in[2].data<float>();
    Tensor rm = in[3], rv = in[4];  // shared storage: updated in place
    float* run_mean = rm.data<float>();
    float* run_var = rv.data<float>();
    Tensor y(DType::kF32, x.shape());
    float* yd = y.data<float>();
    mean_.assign(static_cast<size_t>(c), 0.0f);
    invstd_.assign(static_cast<size_t>(c), 0.0f);
    training_ = st.training;
    const float momentum = st.bn_momentum >= 0 ? st.bn_momentum : momentum_;
    const int64_t count = n * inner;
    for (int64_t ch = 0; ch < c; ++ch) {
      double mean, var;
      if (st.training) {
        double s = 0, s2 = 0;
        for (int64_t b = 0; b < n; ++b) {
          const float* p = xd + (b * c + ch) * inner;
          for (int64_t i = 0; i < inner; ++i) s += p[i];
        }
        mean = count ? s / static_cast<double>(count) : 0.0;
        for (int64_t b = 0; b < n; ++b) {
          const float* p = xd + (b * c + ch) * inner;
          for (int64_t i = 0; i < inner; ++i) s2 += (p[i] - mean) * (p[i] - mean);
        }
        var = count ? s2 / static_cast<double>(count) : 0.0;
        const double unbiased = count > 1 ? s2 / static_cast<double>(count - 1) : var;
        run_mean[ch] = static_cast<float>(momentum * run_mean[ch] + (1.0 - momentum) * mean);
        run_var[ch] = static_cast<float>(momentum * run_var[ch] + (1.0 - momentum) * unbiased);
      } else {
        mean = run_mean[ch];
        var = run_var[ch];
      }
      const float invstd = static_cast<float>(1.0 / std::sqrt(var + epsilon_));
      mean_[ch] = static_cast<float>(mean);
      invstd_[ch] = invstd;
      const float a = gamma[ch] * invstd, b0 = beta[ch] - a * static_cast<float>(mean);
      for (int64_t b = 0; b < n; ++b) {
        const float* p = xd + (b * c + ch) * inner;
        float* q = yd + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) q[i] = a * p[i] + b0;
      }
    }
    std::vector<Tensor> out{y};
    for (size_t i = 1; i < node_.outputs.size(); ++i) out.push_back(in[2 + i].clone());
    return out;
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    const Tensor& x = in[0];
    const int64_t n = x.dim(0), c = x.dim(1);
    const int64_t inner = c == 0 || n == 0 ? 0 : x.numel() / (n * c);
    const double count = static_cast<double>(n * inner);
    const float* xd = x.data<float>();
    const float* dy = dout[0].data<float>();
    const float* gamma = in[1].data<float>();
    std::vector<Tensor> din(in.size());
    if (need[0]) din[0] = Tensor(DType::kF32, x.shape());
    if (need[1]) din[1] = Tensor(DType::kF32, in[1].shape());
    if (need[2]) din[2] = Tensor(DType::kF32, in[2].shape());
    for (int64_t ch = 0; ch < c; ++ch) {
      const double mean = mean_[ch], invstd = invstd_[ch];
      double sum_dy = 0, sum_dy_xhat = 0;
      for (int64_t b = 0; b < n; ++b) {
        const float* p = xd + (b * c + ch) * inner;
        const float* g = dy + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          sum_dy += g[i];
          sum_dy_xhat += g[i] * (p[i] - mean) * invstd;
        }
      }
      if (need[1]) din[1].data<float>()[ch] = static_cast<float>(sum_dy_xhat);
      if (need[2]) din[2].data<float>()[ch] = static_cast<float>(sum_dy);
      if (!need[0]) continue;
      float* dx = din[0].data<float>();
      const double gi = gamma[ch] * invstd;
      // Training: the batch statistics depend on x too (the two correction terms).
      const double k1 = training_ && count > 0 ? sum_dy / count : 0.0;
      const double k2 = training_ && count > 0 ? sum_dy_xhat / count : 0.0;
      for (int64_t b = 0; b < n; ++b) {
        const float* p = xd + (b * c + ch) * inner;
        const float* g = dy + (b * c + ch) * inner;
        float* q = dx + (b * c + ch) * inner;
        for (int64_t i = 0; i < inner; ++i) {
          const double xhat = (p[i] - mean) * invstd;
          q[i] = static_cast<float>(gi * (g[i] - k1 - xhat * k2));
        }
      }
    }
    return din;
  }

 private:
  ir::Node node_;
  float epsilon_, momentum_;
  bool training_ = true;
  std::vector<float> mean_, invstd_;
};

}  // namespace

FRUGAL_REGISTER_GRAD_OP(BatchNormalization, "BatchNormalization",
                        [](const ir::Node& n, int64_t, const KernelConfig&) {
                          return std::make_unique<BatchNormGrad>(n);
                        });

}  // namespace frugal::train
