// Gemm and MatMul in training: forward and both backward products on gemm() (oneDNN's
// sgemm, the reference loops, or emu_gemm with an emulated accumulator: each output of the
// forward is one dot product over K, each weight gradient one over the batch).
#include "frugal/train/grad_op.h"

namespace frugal::train {
namespace {

class GemmGrad final : public GradOp {
 public:
  GemmGrad(const ir::Node& node, const KernelConfig& k)
      : node_(node),
        k_(k),
        alpha_(node.attr_float("alpha", 1.0f)),
        beta_(node.attr_float("beta", 1.0f)),
        trans_a_(node.attr_int("transA", 0) != 0),
        trans_b_(node.attr_int("transB", 0) != 0) {}

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    dims(in);
    Tensor y(DType::kF32, {m_, n_});
    float* yd = y.data<float>();
    float beta = 0.0f;
    if (in.size() > 2 && in[2].defined()) {
      // Broadcast C into Y first, then accumulate the product on top.
      const Tensor c = in[2];
      const Shape& cs = c.shape();
      const int64_t cr = cs.size() >= 2 ? cs[cs.size() - 2] : 1;
      const int64_t cc = cs.empty() ? 1 : cs.back();
      const float* cd = c.data<float>();
      for (int64_t i = 0; i < m_; ++i)
        for (int64_t j = 0; j < n_; ++j)
          yd[i * n_ + j] = beta_ * cd[(cr == 1 ? 0 : i) * cc + (cc == 1 ? 0 : j)];
      beta = 1.0f;
    }
    gemm(k_, trans_a_, trans_b_, m_, n_, k_dim_, alpha_, in[0].data<float>(),
         trans_a_ ? m_ : k_dim_, in[1].data<float>(), trans_b_ ? k_dim_ : n_, beta, yd, n_);
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    dims(in);
    const float* a = in[0].data<float>();
    const float* b = in[1].data<float>();
    const float* dy = dout[0].data<float>();
    const int64_t lda = trans_a_ ? m_ : k_dim_, ldb = trans_b_ ? k_dim_ : n_;
    std::vector<Tensor> din(in.size());
    if (need[0]) {
      din[0] = Tensor(DType::kF32, in[0].shape());
      if (!trans_a_)  // dA[M,K] = alpha dY op(B)^T
        gemm(k_, false, !trans_b_, m_, k_dim_, n_, alpha_, dy, n_, b, ldb, 0.0f,
             din[0].data<float>(), k_dim_);
      else  // dA[K,M] = alpha op(B) dY^T
        gemm(k_, trans_b_, true, k_dim_, m_, n_, alpha_, b, ldb, dy, n_, 0.0f, din[0].data<float>(),
             m_);
    }
    if (need.size() > 1 && need[1]) {
      din[1] = Tensor(DType::kF32, in[1].shape());
      if (!trans_b_)  // dB[K,N] = alpha op(A)^T dY
        gemm(k_, !trans_a_, false, k_dim_, n_, m_, alpha_, a, lda, dy, n_, 0.0f,
             din[1].data<float>(), n_);
      else  // dB[N,K] = alpha dY^T op(A)
        gemm(k_, true, trans_a_, n_, k_dim_, m_, alpha_, dy, n_, a, lda, 0.0f, din[1].data<float>(),
             k_dim_);
    }
    if (need.size() > 2 && need[2]) {
      Tensor dc = reduce_to_shape(dout[0], in[2].shape()).clone();
      for (float& v : dc.span<float>()) v *= beta_;
      din[2] = dc;
    }
    return din;
  }

 private:
  void dims(const std::vector<Tensor>& in) {
    if (in[0].rank() != 2 || in[1].rank() != 2)
      throw UserError(node_.describe() + ": Gemm needs 2-D A and B, got " +
                      shape_str(in[0].shape()) + " and " + shape_str(in[1].shape()));
    m_ = trans_a_ ? in[0].dim(1) : in[0].dim(0);
    k_dim_ = trans_a_ ? in[0].dim(0) : in[0].dim(1);
    n_ = trans_b_ ? in[1].dim(0) : in[1].dim(1);
    const int64_t kb = trans_b_ ? in[1].dim(1) : in[1].dim(0);
    if (kb != k_dim_)
      throw UserError(node_.describe() + ": A " + shape_str(in[0].shape()) + " and B " +
                      shape_str(in[1].shape()) + " have different inner sizes");
  }

  ir::Node node_;
  KernelConfig k_;
  float alpha_, beta_;
  bool trans_a_, trans_b_;
  int64_t m_ = 0, n_ = 0, k_dim_ = 0;
};

// A [..., M, K] times a 2-D B [K, N] (the form of fully connected layers).
class MatMulGrad final : public GradOp {
 public:
  MatMulGrad(const ir::Node& node, const KernelConfig& k) : node_(node), k_(k) {}

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    dims(in);
    Shape ys = in[0].shape();
    ys.back() = n_;
    Tensor y(DType::kF32, ys);
    gemm(k_, false, false, m_, n_, k_dim_, 1.0f, in[0].data<float>(), k_dim_, in[1].data<float>(),
         n_, 0.0f, y.data<float>(), n_);
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    dims(in);
    std::vector<Tensor> din(2);
    const float* dy = dout[0].data<float>();
    if (need[0]) {
      din[0] = Tensor(DType::kF32, in[0].shape());
      gemm(k_, false, true, m_, k_dim_, n_, 1.0f, dy, n_, in[1].data<float>(), n_, 0.0f,
           din[0].data<float>(), k_dim_);
    }
    if (need[1]) {
      din[1] = Tensor(DType::kF32, in[1].shape());
      gemm(k_, true, false, k_dim_, n_, m_, 1.0f, in[0].data<float>(), k_dim_, dy, n_, 0.0f,
           din[1].data<float>(), n_);
    }
    return din;
  }

 private:
  void dims(const std::vector<Tensor>& in) {
    if (in[0].rank() < 1 || in[1].rank() != 2)
      throw UnsupportedError(node_.describe() +
                             ": training supports MatMul of [..., K] by a 2-D [K, N], got " +
                             shape_str(in[0].shape()) + " and " + shape_str(in[1].shape()));
    k_dim_ = in[0].shape().back();
    if (in[1].dim(0) != k_dim_)
      throw UserError(node_.describe() + ": inner sizes differ: " + shape_str(in[0].shape()) +
                      " and " + shape_str(in[1].shape()));
    n_ = in[1].dim(1);
    m_ = k_dim_ == 0 ? 0 : in[0].numel() / k_dim_;
  }

  ir::Node node_;
  KernelConfig k_;
  int64_t m_ = 0, n_ = 0, k_dim_ = 0;
};

}  // namespace

FRUGAL_REGISTER_GRAD_OP(Gemm, "Gemm", [](const ir::Node& n, int64_t, const KernelConfig& k) {
  return std::make_unique<GemmGrad>(n, k);
});
FRUGAL_REGISTER_GRAD_OP(MatMul, "MatMul", [](const ir::Node& n, int64_t, const KernelConfig& k) {
  return std::make_unique<MatMulGrad>(n, k);
});

}  // namespace frugal::train
