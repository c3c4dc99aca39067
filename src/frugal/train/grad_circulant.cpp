// frugal.BlockCirculant in training (ops/block_circulant.h). On the fast kernels the
// forward and both backward products run through FFTs of size b (kernels/circulant_fft.h,
// CirCNN's O(b log b) per block); on the reference kernels, or with an emulated accumulator
// (--format ACC=...), through gemm() on the dense equivalent, so that each sum is rounded as
// a dense layer's is, and the dense weight gradient folds back onto the blocks (the
// gradient of w[p][q][d] is the sum of its block's gradient entries on wrapped diagonal d).
#include <memory>
#include <optional>

#include "frugal/core/error.h"
#include "frugal/kernels/circulant_fft.h"
#include "frugal/train/grad_op.h"

namespace frugal::train {
namespace {

using kernels::CirculantFft;
using kernels::CirculantRows;

class BlockCirculantGrad final : public GradOp {
 public:
  BlockCirculantGrad(const ir::Node& node, const KernelConfig& k)
      : node_(node),
        k_(k),
        dense_(k.acc.has_value() || k.choice == KernelChoice::kReference),
        lib_(kernels::parse_fft_library(node.attr_string("fft", "fftw"),
                                        node.describe() + " fft")) {}

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    setup(in);
    Shape ys = in[0].shape();
    ys[static_cast<size_t>(axis_)] = s_.out;
    Tensor y(DType::kF32, ys);
    float* yd = y.data<float>();
    if (dense_) {
      const float* x = to_rows(in[0].data<float>(), in_layout(), x_buf_);
      float* yr = out_rows(yd, y_buf_);
      gemm(k_, false, true, rows(), s_.out, s_.in, 1.0f, x, s_.in, dense_w_.data(), s_.in, 0.0f, yr,
           s_.out);
      from_rows(yr, yd, out_layout());
    } else {
      fft_->forward(rows_->x_rows(in[0].data<float>()), rows_->y_rows(yd), rows());
      rows_->finish_y(yd);
    }
    if (in.size() > 2 && in[2].defined()) add_bias(in[2].data<float>(), yd, y.numel());
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    setup(in);
    std::vector<Tensor> din(in.size());
    const float* dy = dout[0].data<float>();
    if (need[0]) din[0] = backward_data(dy, in[0].shape());
    if (need.size() > 1 && need[1])
      din[1] = backward_weights(dy, in[0].data<float>(), in[1].shape());
    if (need.size() > 2 && need[2]) din[2] = bias_gradient(dy, dout[0].numel());
    return din;
  }

 private:
  int64_t rows() const { return layout_.outer * layout_.inner; }
  ops::FeatureLayout in_layout() const { return layout_; }
  ops::FeatureLayout out_layout() const { return {layout_.outer, s_.out, layout_.inner}; }

  // Shapes, the FFT plans (rebuilt when the batch changes) and the weights in the form the
  // kernels use.
  void setup(const std::vector<Tensor>& in) {
    const Shape& xs = in[0].shape();
    axis_ = node_.attr_int("axis", -1);
    if (axis_ < 0) axis_ += static_cast<int64_t>(xs.size());
    s_ = ops::circulant_blocks(in[1].shape(), node_);
    layout_ = ops::feature_layout(xs, axis_);
    if (layout_.features != s_.in)
      throw UserError(node_.describe() + ": input " + shape_str(xs) + " does not have " +
                      std::to_string(s_.in) + " features on axis " + std::to_string(axis_));
    if (dense_) {
      dense_w_ = ops::circulant_dense(in[1].data<float>(), s_);
      return;
    }
    if (!fft_ || x_shape_ != xs) {
      fft_ = std::make_unique<CirculantFft>(s_, lib_);
      rows_ = std::make_unique<CirculantRows>(s_, layout_);
      x_shape_ = xs;
    }
    fft_->set_weights(in[1].data<float>());
  }

  const float* to_rows(const float* t, const ops::FeatureLayout& l, std::vector<float>& buf) {
    if (l.inner == 1) return t;
    buf.resize(static_cast<size_t>(l.outer * l.inner * l.features));
    kernels::gather_rows(t, l, l.features, buf.data());
    return buf.data();
  }
  float* out_rows(float* t, std::vector<float>& buf) {
    if (layout_.inner == 1) return t;
    buf.resize(static_cast<size_t>(rows() * s_.out));
    return buf.data();
  }
  void from_rows(const float* r, float* t, const ops::FeatureLayout& l) {
    if (l.inner != 1) kernels::scatter_rows(r, l.features, l, t);
  }

  Tensor backward_data(const float* dy, const Shape& x_shape) {
    Tensor dx(DType::kF32, x_shape);
    float* dxd = dx.data<float>();
    if (dense_) {
      const float* dyr = to_rows(dy, out_layout(), y_buf_);
      float* dxr = dxd;
      if (layout_.inner != 1) {
        x_buf_.resize(static_cast<size_t>(rows() * s_.in));
        dxr = x_buf_.data();
      }
      gemm(k_, false, false, rows(), s_.in, s_.out, 1.0f, dyr, s_.out, dense_w_.data(), s_.in, 0.0f,
           dxr, s_.in);
      from_rows(dxr, dxd, in_layout());
    } else {
      fft_->backward_data(rows_->dy_rows(dy), rows_->dx_rows(dxd), rows());
      rows_->finish_dx(dxd);
    }
    return dx;
  }

  Tensor backward_weights(const float* dy, const float* x, const Shape& w_shape) {
    Tensor dw(DType::kF32, w_shape);
    float* dwd = dw.data<float>();
    if (!dense_) {
      const float* xr = rows_->x_rows(x);
      fft_->backward_weights(rows_->dy_rows(dy), xr, dwd, rows());
      return dw;
    }
    std::vector<float> xb, dyb, dense_dw(static_cast<size_t>(s_.out * s_.in));
    const float* xr = to_rows(x, in_layout(), xb);
    const float* dyr = to_rows(dy, out_layout(), dyb);
    gemm(k_, true, false, s_.out, s_.in, rows(), 1.0f, dyr, s_.out, xr, s_.in, 0.0f,
         dense_dw.data(), s_.in);
    std::fill(dwd, dwd + dw.numel(), 0.0f);
    for (int64_t r = 0; r < s_.out; ++r)
      for (int64_t c = 0; c < s_.in; ++c)
        dwd[s_.weight_index(r, c)] += dense_dw[static_cast<size_t>(r * s_.in + c)];
    return dw;
  }

  void add_bias(const float* bias, float* y, int64_t numel) const {
    const int64_t period = s_.out * layout_.inner;
    for (int64_t i = 0; i < numel; ++i) y[i] += bias[(i % period) / layout_.inner];
  }
  Tensor bias_gradient(const float* dy, int64_t numel) const {
    Tensor db(DType::kF32, {s_.out});
    float* d = db.data<float>();
    std::fill(d, d + s_.out, 0.0f);
    const int64_t period = s_.out * layout_.inner;
    for (int64_t i = 0; i < numel; ++i) d[(i % period) / layout_.inner] += dy[i];
    return db;
  }

  ir::Node node_;
  KernelConfig k_;
  bool dense_;
  kernels::FftLibrary lib_;
  int64_t axis_ = -1;
  ops::CirculantBlocks s_;
  ops::FeatureLayout layout_;
  Shape x_shape_;
  std::unique_ptr<CirculantFft> fft_;
  std::unique_ptr<CirculantRows> rows_;
  std::vector<float> dense_w_, x_buf_, y_buf_;
};

}  // namespace

// Registered under its domain-qualified name, as autograd looks frugal's own ops up.
FRUGAL_REGISTER_GRAD_OP(BlockCirculant, "frugal.BlockCirculant",
                        [](const ir::Node& n, int64_t, const KernelConfig& k) {
                          return std::make_unique<BlockCirculantGrad>(n, k);
                        });

}  // namespace frugal::train
