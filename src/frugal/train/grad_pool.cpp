// MaxPool, AveragePool (2-D) and GlobalAveragePool in training. The loops (kFast and
// kReference): MaxPool keeps the index of each window's maximum (the first on ties) and
// routes the gradient there. kOneDnn: oneDNN's pooling primitives, forward_training and
// backward (max pooling through oneDNN's workspace), built once per input shape and thread
// count; the loops where the primitive's semantics differ (AveragePool counting padding
// whose last ceil_mode window passes the end padding) and with an emulated accumulator
// (ACC runs stay on the kernels they were measured and tested with).
#include <limits>
#include <optional>

#include "frugal/ops/conv_geometry.h"
#include "frugal/train/grad_op.h"
#include "frugal/train/onednn_train.h"

namespace frugal::train {
namespace {

struct PoolShape {
  int64_t planes, h, w;
  ops::WindowGeometry g;
};

PoolShape pool_shape(const ir::Node& node, const Tensor& x) {
  if (x.rank() != 4)
    throw UnsupportedError(node.describe() + ": training supports 2-D pooling only (input " +
                           shape_str(x.shape()) + ")");
  const std::vector<int64_t> kernel = node.attr_ints("kernel_shape");
  if (kernel.size() != 2) throw UserError(node.describe() + ": kernel_shape must have 2 values");
  PoolShape s{x.dim(0) * x.dim(1), x.dim(2), x.dim(3), {}};
  s.g = ops::sliding_window(node, {s.h, s.w}, kernel, node.attr_int("ceil_mode", 0) != 0);
  return s;
}

Shape out_shape(const Tensor& x, const PoolShape& s) {
  return {x.dim(0), x.dim(1), s.g.out[0], s.g.out[1]};
}

bool use_onednn(const KernelConfig& k) {
  return k.choice == KernelChoice::kOneDnn && !k.acc;
}

// The pooling primitives of one node, by input shape, mode and thread count.
class PoolingPrimitives {
 public:
  explicit PoolingPrimitives(dnnl::algorithm alg) : alg_(alg) {}

  // Null where the primitive does not compute what the loops do.
  PoolPrimitives* get(const Tensor& x, const ops::WindowGeometry& g, bool training) {
    PoolPrimitiveShape p;
    p.algorithm = alg_;
    p.x = x.shape();
    p.y = {x.dim(0), x.dim(1), g.out[0], g.out[1]};
    p.kernel = g.kernel;
    p.strides = g.strides;
    p.pad_l = g.pad_begin;
    p.pad_r = g.pad_end;
    for (size_t d = 0; d < 2; ++d) {
      p.dilations.push_back(g.dilations[d] - 1);
      // oneDNN sizes the output rounding down: ceil_mode's last window becomes right padding,
      // excluded from maxima and from exclude-padding averages as ONNX excludes it.
      const int64_t needed =
          (g.out[d] - 1) * g.strides[d] + g.effective_kernel(d) - g.in[d] - g.pad_begin[d];
      if (needed > p.pad_r[d]) {
        if (alg_ == dnnl::algorithm::pooling_avg_include_padding) return nullptr;
        p.pad_r[d] = needed;
      }
    }
    std::vector<int64_t> key = x.shape();
    key.push_back(training ? 1 : 0);
    key.push_back(onednn_threads());
    return &cache_.get(key, [&] { return PoolPrimitives(p, training); });
  }

 private:
  dnnl::algorithm alg_;
  PrimitiveCache<PoolPrimitives> cache_;
};

class MaxPoolGrad final : public GradOp {
 public:
  MaxPoolGrad(const ir::Node& node, const KernelConfig& k) : node_(node) {
    if (node.outputs.size() > 1 && !node.outputs[1].empty())
      throw UnsupportedError(node.describe() + ": the Indices output has no backward");
    if (use_onednn(k)) onednn_.emplace(dnnl::algorithm::pooling_max);
  }

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState& st) override {
    const PoolShape s = pool_shape(node_, in[0]);
    Tensor y(DType::kF32, out_shape(in[0], s));
    const float* x = in[0].data<float>();
    float* yd = y.data<float>();
    if (PoolPrimitives* p = onednn_ ? onednn_->get(in[0], s.g, st.training) : nullptr) {
      p->forward(x, yd);
      return {y};
    }
    const auto& g = s.g;
    argmax_.assign(static_cast<size_t>(y.numel()), -1);
    int64_t o = 0;
    for (int64_t p = 0; p < s.planes; ++p)
      for (int64_t oy = 0; oy < g.out[0]; ++oy)
        for (int64_t ox = 0; ox < g.out[1]; ++ox, ++o) {
          float best = -std::numeric_limits<float>::infinity();
          int64_t at = -1;
          for (int64_t i = 0; i < g.kernel[0]; ++i) {
            const int64_t iy = oy * g.strides[0] - g.pad_begin[0] + i * g.dilations[0];
            if (iy < 0 || iy >= s.h) continue;
            for (int64_t j = 0; j < g.kernel[1]; ++j) {
              const int64_t ix = ox * g.strides[1] - g.pad_begin[1] + j * g.dilations[1];
              if (ix < 0 || ix >= s.w) continue;
              const int64_t idx = (p * s.h + iy) * s.w + ix;
              if (at < 0 || x[idx] > best) {
                best = x[idx];
                at = idx;
              }
            }
          }
          yd[o] = best;
          argmax_[static_cast<size_t>(o)] = at;
        }
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout, const std::vector<bool>&) override {
    Tensor dx(DType::kF32, in[0].shape());
    float* d = dx.data<float>();
    const float* dy = dout[0].data<float>();
    if (PoolPrimitives* p =
            onednn_ ? onednn_->get(in[0], pool_shape(node_, in[0]).g, true) : nullptr) {
      p->backward(dy, d);
      return {dx};
    }
    for (int64_t o = 0; o < dout[0].numel(); ++o)
      if (argmax_[static_cast<size_t>(o)] >= 0) d[argmax_[static_cast<size_t>(o)]] += dy[o];
    return {dx};
  }

 private:
  ir::Node node_;
  std::vector<int64_t> argmax_;
  std::optional<PoolingPrimitives> onednn_;
};

class AveragePoolGrad final : public GradOp {
 public:
  AveragePoolGrad(const ir::Node& node, const KernelConfig& k)
      : node_(node), include_pad_(node.attr_int("count_include_pad", 0) != 0) {
    if (use_onednn(k))
      onednn_.emplace(include_pad_ ? dnnl::algorithm::pooling_avg_include_padding
                                   : dnnl::algorithm::pooling_avg_exclude_padding);
  }

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState& st) override {
    const PoolShape s = pool_shape(node_, in[0]);
    Tensor y(DType::kF32, out_shape(in[0], s));
    if (PoolPrimitives* p = onednn_ ? onednn_->get(in[0], s.g, st.training) : nullptr) {
      p->forward(in[0].data<float>(), y.data<float>());
      return {y};
    }
    visit(s, [&](int64_t o, int64_t idx, float inv) {
      y.data<float>()[o] += in[0].data<float>()[idx] * inv;
    });
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout, const std::vector<bool>&) override {
    const PoolShape s = pool_shape(node_, in[0]);
    Tensor dx(DType::kF32, in[0].shape());
    float* d = dx.data<float>();
    const float* dy = dout[0].data<float>();
    if (PoolPrimitives* p = onednn_ ? onednn_->get(in[0], s.g, true) : nullptr) {
      p->backward(dy, d);
      return {dx};
    }
    visit(s, [&](int64_t o, int64_t idx, float inv) { d[idx] += dy[o] * inv; });
    return {dx};
  }

 private:
  // f(output index, input index, 1 / divisor) for every input element of every window.
  template <typename F>
  void visit(const PoolShape& s, F&& f) const {
    const auto& g = s.g;
    int64_t o = 0;
    for (int64_t p = 0; p < s.planes; ++p)
      for (int64_t oy = 0; oy < g.out[0]; ++oy)
        for (int64_t ox = 0; ox < g.out[1]; ++ox, ++o) {
          int64_t valid = 0, padded = 0;
          for (int64_t i = 0; i < g.kernel[0]; ++i)
            for (int64_t j = 0; j < g.kernel[1]; ++j) {
              const int64_t iy = oy * g.strides[0] - g.pad_begin[0] + i * g.dilations[0];
              const int64_t ix = ox * g.strides[1] - g.pad_begin[1] + j * g.dilations[1];
              if (iy < s.h + g.pad_end[0] && ix < s.w + g.pad_end[1]) ++padded;
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) ++valid;
            }
          const int64_t divisor = include_pad_ ? padded : valid;
          if (divisor == 0) continue;
          const float inv = 1.0f / static_cast<float>(divisor);
          for (int64_t i = 0; i < g.kernel[0]; ++i)
            for (int64_t j = 0; j < g.kernel[1]; ++j) {
              const int64_t iy = oy * g.strides[0] - g.pad_begin[0] + i * g.dilations[0];
              const int64_t ix = ox * g.strides[1] - g.pad_begin[1] + j * g.dilations[1];
              if (iy >= 0 && iy < s.h && ix >= 0 && ix < s.w) f(o, (p * s.h + iy) * s.w + ix, inv);
            }
        }
  }

  ir::Node node_;
  bool include_pad_;
  std::optional<PoolingPrimitives> onednn_;
};

class GlobalAveragePoolGrad final : public GradOp {
 public:
  explicit GlobalAveragePoolGrad(const KernelConfig& k) {
    if (use_onednn(k)) onednn_.emplace(dnnl::algorithm::pooling_avg_exclude_padding);
  }

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState& st) override {
    const Tensor& x = in[0];
    Shape ys = x.shape();
    for (size_t d = 2; d < ys.size(); ++d) ys[d] = 1;
    Tensor y(DType::kF32, ys);
    if (PoolPrimitives* p = primitives(x, st.training)) {
      p->forward(x.data<float>(), y.data<float>());
      return {y};
    }
    const int64_t planes = y.numel(), inner = planes ? x.numel() / planes : 0;
    const float* xd = x.data<float>();
    for (int64_t p = 0; p < planes; ++p) {
      double s = 0;
      for (int64_t i = 0; i < inner; ++i) s += xd[p * inner + i];
      y.data<float>()[p] = inner ? static_cast<float>(s / static_cast<double>(inner)) : 0.0f;
    }
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout, const std::vector<bool>&) override {
    Tensor dx(DType::kF32, in[0].shape());
    const int64_t planes = dout[0].numel(), inner = planes ? dx.numel() / planes : 0;
    const float* dy = dout[0].data<float>();
    float* d = dx.data<float>();
    if (PoolPrimitives* p = primitives(in[0], true)) {
      p->backward(dy, d);
      return {dx};
    }
    const float inv = inner ? 1.0f / static_cast<float>(inner) : 0.0f;
    for (int64_t p = 0; p < planes; ++p)
      for (int64_t i = 0; i < inner; ++i) d[p * inner + i] = dy[p] * inv;
    return {dx};
  }

 private:
  // A window over the whole (non-empty, 2-D) image; null otherwise (the loops).
  PoolPrimitives* primitives(const Tensor& x, bool training) {
    if (!onednn_ || x.rank() != 4 || x.dim(2) < 1 || x.dim(3) < 1) return nullptr;
    ops::WindowGeometry g;
    g.in = g.kernel = {x.dim(2), x.dim(3)};
    g.strides = g.dilations = g.out = {1, 1};
    g.pad_begin = g.pad_end = {0, 0};
    return onednn_->get(x, g, training);
  }

  std::optional<PoolingPrimitives> onednn_;
};

}  // namespace

FRUGAL_REGISTER_GRAD_OP(MaxPool, "MaxPool", [](const ir::Node& n, int64_t, const KernelConfig& k) {
  return std::make_unique<MaxPoolGrad>(n, k);
});
FRUGAL_REGISTER_GRAD_OP(AveragePool, "AveragePool",
                        [](const ir::Node& n, int64_t, const KernelConfig& k) {
                          return std::make_unique<AveragePoolGrad>(n, k);
                        });
FRUGAL_REGISTER_GRAD_OP(GlobalAveragePool, "GlobalAveragePool",
                        [](const ir::Node&, int64_t, const KernelConfig& k) {
                          return std::make_unique<GlobalAveragePoolGrad>(k);
                        });

}  // namespace frugal::train
