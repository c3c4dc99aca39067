// Elementwise ops in training: activations (Relu, LeakyRelu, Clip, HardSwish, Sigmoid,
// HardSigmoid), broadcasting Add/Sub/Mul, and seeded Dropout.
#include <cmath>

#include "frugal/core/rng.h"
#include "frugal/ops/util.h"
#include "frugal/train/grad_op.h"

namespace frugal::train {
namespace {

// y = f(x) with dy/dx = df(x, y); both pure functions of one element.
template <typename Fwd, typename Deriv>
class UnaryGrad final : public GradOp {
 public:
  UnaryGrad(Fwd f, Deriv d) : f_(f), d_(d) {}
  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    Tensor y(DType::kF32, in[0].shape());
    const float* x = in[0].data<float>();
    float* yd = y.data<float>();
    for (int64_t i = 0; i < y.numel(); ++i) yd[i] = f_(x[i]);
    return {y};
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>& out,
                               const std::vector<Tensor>& dout, const std::vector<bool>&) override {
    std::vector<Tensor> din(in.size());
    din[0] = Tensor(DType::kF32, in[0].shape());
    const float* x = in[0].data<float>();
    const float* y = out[0].data<float>();
    const float* dy = dout[0].data<float>();
    float* dx = din[0].data<float>();
    for (int64_t i = 0; i < din[0].numel(); ++i) dx[i] = dy[i] * d_(x[i], y[i]);
    return din;
  }

 private:
  Fwd f_;
  Deriv d_;
};

template <typename Fwd, typename Deriv>
std::unique_ptr<GradOp> unary(Fwd f, Deriv d) {
  return std::make_unique<UnaryGrad<Fwd, Deriv>>(f, d);
}

std::unique_ptr<GradOp> make_clip(const ir::Node& n, int64_t opset) {
  // Bounds: attributes before opset 11, constant inputs after; read at forward time below.
  struct ClipGrad final : GradOp {
    ClipGrad(const ir::Node& n, int64_t opset) : node(n), opset(opset) {}
    ir::Node node;
    int64_t opset;
    float lo = -INFINITY, hi = INFINITY;
    std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
      if (opset < 11) {
        lo = node.attr_float("min", -INFINITY);
        hi = node.attr_float("max", INFINITY);
      } else {
        lo = in.size() > 1 && in[1].defined() ? static_cast<float>(in[1].at_double(0)) : -INFINITY;
        hi = in.size() > 2 && in[2].defined() ? static_cast<float>(in[2].at_double(0)) : INFINITY;
      }
      Tensor y(DType::kF32, in[0].shape());
      const float* x = in[0].data<float>();
      float* yd = y.data<float>();
      for (int64_t i = 0; i < y.numel(); ++i) yd[i] = std::fmin(std::fmax(x[i], lo), hi);
      return {y};
    }
    std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                                 const std::vector<Tensor>& dout,
                                 const std::vector<bool>&) override {
      std::vector<Tensor> din(in.size());
      din[0] = Tensor(DType::kF32, in[0].shape());
      const float* x = in[0].data<float>();
      const float* dy = dout[0].data<float>();
      float* dx = din[0].data<float>();
      for (int64_t i = 0; i < din[0].numel(); ++i) dx[i] = (x[i] > lo && x[i] < hi) ? dy[i] : 0.0f;
      return din;
    }
  };
  return std::make_unique<ClipGrad>(n, opset);
}

Shape broadcast2(const ir::Node& node, const Shape& a, const Shape& b) {
  const size_t r = std::max(a.size(), b.size());
  Shape out(r);
  for (size_t k = 0; k < r; ++k) {
    const int64_t da = k < r - a.size() ? 1 : a[k - (r - a.size())];
    const int64_t db = k < r - b.size() ? 1 : b[k - (r - b.size())];
    if (da != db && da != 1 && db != 1)
      throw UserError(node.describe() + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                      " do not broadcast");
    out[k] = da == 1 ? db : da;
  }
  return out;
}

enum class Arith { kAdd, kSub, kMul };

class BinaryGrad final : public GradOp {
 public:
  BinaryGrad(const ir::Node& node, Arith op) : node_(node), op_(op) {}
  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    const Shape out = broadcast2(node_, in[0].shape(), in[1].shape());
    Tensor y(DType::kF32, out);
    const float* a = in[0].data<float>();
    const float* b = in[1].data<float>();
    float* yd = y.data<float>();
    ops::for_each_broadcast(out, {in[0].shape(), in[1].shape()}, [&](int64_t i, const int64_t* o) {
      yd[i] = op_ == Arith::kAdd   ? a[o[0]] + b[o[1]]
              : op_ == Arith::kSub ? a[o[0]] - b[o[1]]
                                   : a[o[0]] * b[o[1]];
    });
    return {y};
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    std::vector<Tensor> din(2);
    const Shape& out = dout[0].shape();
    for (size_t k = 0; k < 2; ++k) {
      if (!need[k]) continue;
      Tensor full(DType::kF32, out);
      float* f = full.data<float>();
      const float* dy = dout[0].data<float>();
      const float* other = in[1 - k].data<float>();
      const float sign = (op_ == Arith::kSub && k == 1) ? -1.0f : 1.0f;
      ops::for_each_broadcast(out, {in[0].shape(), in[1].shape()},
                              [&](int64_t i, const int64_t* o) {
                                f[i] = op_ == Arith::kMul ? dy[i] * other[o[1 - k]] : sign * dy[i];
                              });
      din[k] = reduce_to_shape(full, in[k].shape());
    }
    return din;
  }

 private:
  ir::Node node_;
  Arith op_;
};

class DropoutGrad final : public GradOp {
 public:
  explicit DropoutGrad(const ir::Node& node, int64_t opset) : node_(node), opset_(opset) {}
  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState& st) override {
    float ratio = opset_ < 12 ? node_.attr_float("ratio", 0.5f) : 0.5f;
    if (opset_ >= 12 && in.size() > 1 && in[1].defined())
      ratio = static_cast<float>(in[1].at_double(0));
    if (!(ratio >= 0.0f && ratio < 1.0f))
      throw UserError(node_.describe() + ": ratio " + std::to_string(ratio) + " not in [0, 1)");
    const Tensor& x = in[0];
    Tensor y(DType::kF32, x.shape());
    const float* xd = x.data<float>();
    float* yd = y.data<float>();
    scale_.assign(static_cast<size_t>(x.numel()), 1.0f);
    if (st.training && ratio > 0.0f) {
      const Philox rng(st.seed, 0x44524f50ull + st.node_index);  // "DROP"
      const float keep_scale = 1.0f / (1.0f - ratio);
      for (int64_t i = 0; i < x.numel(); ++i)
        scale_[static_cast<size_t>(i)] =
            rng.uniform((st.step << 32) + static_cast<uint64_t>(i)) < ratio ? 0.0f : keep_scale;
    }
    for (int64_t i = 0; i < x.numel(); ++i) yd[i] = xd[i] * scale_[static_cast<size_t>(i)];
    std::vector<Tensor> out{y};
    if (node_.outputs.size() > 1) {
      Tensor mask(DType::kBool, x.shape());
      for (int64_t i = 0; i < x.numel(); ++i)
        mask.data<bool>()[i] = scale_[static_cast<size_t>(i)] != 0;
      out.push_back(mask);
    }
    return out;
  }
  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout, const std::vector<bool>&) override {
    std::vector<Tensor> din(in.size());
    din[0] = Tensor(DType::kF32, in[0].shape());
    const float* dy = dout[0].data<float>();
    for (int64_t i = 0; i < din[0].numel(); ++i)
      din[0].data<float>()[i] = dy[i] * scale_[static_cast<size_t>(i)];
    return din;
  }

 private:
  ir::Node node_;
  int64_t opset_;
  std::vector<float> scale_;
};

float sigmoid(float x) {
  return 1.0f / (1.0f + std::exp(-x));
}

}  // namespace

FRUGAL_REGISTER_GRAD_OP(Relu, "Relu", [](const ir::Node&, int64_t, const KernelConfig&) {
  return unary([](float x) { return x > 0.0f ? x : 0.0f; },
               [](float x, float) { return x > 0.0f ? 1.0f : 0.0f; });
});
FRUGAL_REGISTER_GRAD_OP(LeakyRelu, "LeakyRelu", [](const ir::Node& n, int64_t, const KernelConfig&) {
  const float alpha = n.attr_float("alpha", 0.01f);
  return unary([alpha](float x) { return x > 0.0f ? x : alpha * x; },
               [alpha](float x, float) { return x > 0.0f ? 1.0f : alpha; });
});
FRUGAL_REGISTER_GRAD_OP(Sigmoid, "Sigmoid", [](const ir::Node&, int64_t, const KernelConfig&) {
  return unary([](float x) { return sigmoid(x); }, [](float, float y) { return y * (1.0f - y); });
});
// HardSwish: x * clamp(x + 3, 0, 6) / 6.
FRUGAL_REGISTER_GRAD_OP(HardSwish, "HardSwish", [](const ir::Node&, int64_t, const KernelConfig&) {
  return unary([](float x) { return x * std::fmin(std::fmax(x + 3.0f, 0.0f), 6.0f) / 6.0f; },
               [](float x, float) {
                 return x <= -3.0f ? 0.0f : x >= 3.0f ? 1.0f : (2.0f * x + 3.0f) / 6.0f;
               });
});
// HardSigmoid: clamp(alpha * x + beta, 0, 1).
FRUGAL_REGISTER_GRAD_OP(HardSigmoid, "HardSigmoid", [](const ir::Node& n, int64_t, const KernelConfig&) {
  const float alpha = n.attr_float("alpha", 0.2f), beta = n.attr_float("beta", 0.5f);
  return unary([=](float x) { return std::fmin(std::fmax(alpha * x + beta, 0.0f), 1.0f); },
               [=](float x, float) {
                 const float v = alpha * x + beta;
                 return v > 0.0f && v < 1.0f ? alpha : 0.0f;
               });
});
FRUGAL_REGISTER_GRAD_OP(Clip, "Clip", [](const ir::Node& n, int64_t opset, const KernelConfig&) {
  return make_clip(n, opset);
});
FRUGAL_REGISTER_GRAD_OP(Add, "Add", [](const ir::Node& n, int64_t, const KernelConfig&) {
  return std::make_unique<BinaryGrad>(n, Arith::kAdd);
});
FRUGAL_REGISTER_GRAD_OP(Sub, "Sub", [](const ir::Node& n, int64_t, const KernelConfig&) {
  return std::make_unique<BinaryGrad>(n, Arith::kSub);
});
FRUGAL_REGISTER_GRAD_OP(Mul, "Mul", [](const ir::Node& n, int64_t, const KernelConfig&) {
  return std::make_unique<BinaryGrad>(n, Arith::kMul);
});
FRUGAL_REGISTER_GRAD_OP(Dropout, "Dropout", [](const ir::Node& n, int64_t opset, const KernelConfig&) {
  return std::make_unique<DropoutGrad>(n, opset);
});

}  // namespace frugal::train
