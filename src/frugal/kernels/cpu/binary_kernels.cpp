// The cpu backend's frugal.BinaryGemm and frugal.BinaryConv (ops/binary_layer.h): the
// activations are packed into sign and mask bits (one row per sample, or per output
// position of a convolution, in the weights' k order), the products are XNOR/AND-popcount
// (binary_popcount.h), and the scale and bias follow with the formula of the header, so
// the results are bit-exact with the reference kernels. One thread.
#include <array>
#include <cmath>
#include <vector>

#include "frugal/kernels/cpu/binary_popcount.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/binary_layer.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cpu {
namespace {

using ops::binary::ActScale;

// The constant weights, scale and bias of a binary layer, per group.
struct BinaryLayer {
  std::vector<PackedBinaryWeights> groups;
  std::vector<float> alpha, bias;
  ActScale scale = ActScale::kTensor;
  PopcountIsa isa = best_popcount_isa();
};

const Tensor& require_constant(const Build& b, size_t i, const char* what) {
  const Tensor* t = b.constant(i);
  if (!t) decline(std::string(what) + " is not a constant");
  return *t;
}

BinaryLayer load_layer(const Build& b, int64_t group) {
  namespace bin = ops::binary;
  BinaryLayer l;
  const Tensor& sign = require_constant(b, bin::kSignInput, "W_sign");
  const int64_t M = sign.dim(0), W = sign.dim(1), Mg = M / group;
  std::vector<uint64_t> mask(static_cast<size_t>(M * W), ~uint64_t{0});
  if (b.has_input(bin::kMaskInput)) {
    const Tensor& m = require_constant(b, bin::kMaskInput, "W_mask");
    mask.assign(m.data<uint64_t>(), m.data<uint64_t>() + M * W);
  }
  for (int64_t g = 0; g < group; ++g)
    l.groups.push_back(
        interleave_weights(sign.data<uint64_t>() + g * Mg * W, mask.data() + g * Mg * W, Mg, W));
  const Tensor& alpha = require_constant(b, bin::kAlphaInput, "alpha");
  l.alpha.assign(alpha.data<float>(), alpha.data<float>() + M);
  l.bias.assign(static_cast<size_t>(M), 0.0f);
  if (b.has_input(bin::kBiasInput)) {
    const Tensor& bias = require_constant(b, bin::kBiasInput, "B");
    l.bias.assign(bias.data<float>(), bias.data<float>() + M);
  }
  l.scale = bin::act_scale_of(b.node());
  return l;
}

std::string impl_of(const BinaryLayer& l) {
  return std::string("cpu:popcount:") + popcount_isa_name(l.isa);
}

// Y [N, M] = the packed rows of X [N, K] against the weights.
class BinaryGemmKernel final : public kernels::Kernel {
 public:
  BinaryGemmKernel(BinaryLayer l, int64_t n, int64_t k)
      : l_(std::move(l)), n_(n), k_(k), ld_(8 * PackedBinaryWeights::blocks(l_.alpha.size())) {}

  void run(ops::KernelContext& ctx) override {
    const PackedBinaryWeights& w = l_.groups[0];
    const float* x = ctx.input(0).data<float>();
    xs_.assign(static_cast<size_t>(n_ * w.words), 0);
    xm_.assign(xs_.size(), 0);
    beta_.resize(static_cast<size_t>(n_));
    for (int64_t i = 0; i < n_; ++i) {
      ops::binary::pack_row(x + i * k_, k_, 1, xs_.data() + i * w.words, xm_.data() + i * w.words);
      beta_[static_cast<size_t>(i)] = ops::binary::sample_scale(l_.scale, x + i * k_, k_);
    }
    dots_.resize(static_cast<size_t>(n_ * ld_));
    popcount_dots(l_.isa, xs_.data(), xm_.data(), n_, w, dots_.data(), ld_);
    float* y = ctx.output(0).data<float>();
    const int64_t M = w.rows;
    for (int64_t i = 0; i < n_; ++i)
      for (int64_t m = 0; m < M; ++m)
        y[i * M + m] = ops::binary::output(l_.alpha[m], beta_[i], dots_[i * ld_ + m], l_.bias[m]);
  }
  std::string impl() const override { return impl_of(l_); }

 private:
  BinaryLayer l_;
  int64_t n_, k_, ld_;
  std::vector<uint64_t> xs_, xm_;
  std::vector<float> beta_;
  std::vector<int32_t> dots_;
};

// Y[n, g] = the packed receptive fields of X[n, g] (one row per output position) against
// group g's weights.
class BinaryConvKernel final : public kernels::Kernel {
 public:
  BinaryConvKernel(BinaryLayer l, const ops::WindowGeometry& g, int64_t n, int64_t c)
      : l_(std::move(l)), g_(g), n_(n), c_(c) {
    group_ = static_cast<int64_t>(l_.groups.size());
    cg_ = c_ / group_;
    k_ = cg_ * g_.kernel_numel();
    p_ = g_.out_numel();
    ld_ = 8 * PackedBinaryWeights::blocks(l_.groups[0].rows);
    plan_taps();
  }

  void run(ops::KernelContext& ctx) override {
    const int64_t M = static_cast<int64_t>(l_.alpha.size()), Mg = M / group_;
    const int64_t Pin = g_.in_numel();
    float* y = ctx.output(0).data<float>();
    dots_.resize(static_cast<size_t>(p_ * ld_));
    for (int64_t n = 0; n < n_; ++n) {
      const float* xn = ctx.input(0).data<float>() + n * c_ * Pin;
      const float beta_sample = ops::binary::sample_scale(l_.scale, xn, c_ * Pin);
      for (int64_t gi = 0; gi < group_; ++gi) {
        pack(xn + gi * cg_ * Pin);
        const PackedBinaryWeights& w = l_.groups[static_cast<size_t>(gi)];
        popcount_dots(l_.isa, xs_.data(), xm_.data(), p_, w, dots_.data(), ld_);
        for (int64_t m = 0; m < Mg; ++m) {
          const int64_t mo = gi * Mg + m;
          float* yrow = y + (n * M + mo) * p_;
          for (int64_t p = 0; p < p_; ++p) {
            const float beta =
                l_.scale == ActScale::kRow ? ops::binary::mean_abs(sums_[p], k_) : beta_sample;
            yrow[p] = ops::binary::output(l_.alpha[mo], beta, dots_[p * ld_ + m], l_.bias[mo]);
          }
        }
      }
    }
  }
  std::string impl() const override { return impl_of(l_); }

 private:
  // One tap of the receptive field: its dilated offsets from the window's origin and the
  // input element it reads at an interior position.
  struct Tap {
    int64_t d, h, w, offset;
  };
  void plan_taps() {
    const int64_t in_hw = g_.in[1] * g_.in[2];
    for (int64_t c = 0; c < cg_; ++c)
      for (int64_t kd = 0; kd < g_.kernel[0]; ++kd)
        for (int64_t kh = 0; kh < g_.kernel[1]; ++kh)
          for (int64_t kw = 0; kw < g_.kernel[2]; ++kw) {
            Tap t{kd * g_.dilations[0], kh * g_.dilations[1], kw * g_.dilations[2], 0};
            t.offset = c * g_.in_numel() + t.d * in_hw + t.h * g_.in[2] + t.w;
            taps_.push_back(t);
          }
  }

  // One group's receptive fields: row p holds bit k (k over (c, kd, kh, kw)) of output
  // position p, accumulated in registers and stored a word at a time; the sum of |x| of each
  // row is added in k order (only for act_scale row).
  void pack(const float* x) {
    const int64_t W = l_.groups[0].words;
    xs_.resize(static_cast<size_t>(p_ * W));
    xm_.resize(xs_.size());
    sums_.assign(static_cast<size_t>(p_), 0.0);
    int64_t p = 0;
    for (int64_t od = 0; od < g_.out[0]; ++od)
      for (int64_t oh = 0; oh < g_.out[1]; ++oh)
        for (int64_t ow = 0; ow < g_.out[2]; ++ow, ++p) {
          const std::array<int64_t, 3> origin{od * g_.strides[0] - g_.pad_begin[0],
                                              oh * g_.strides[1] - g_.pad_begin[1],
                                              ow * g_.strides[2] - g_.pad_begin[2]};
          bool interior = true;
          for (size_t d = 0; d < 3; ++d)
            interior = interior && origin[d] >= 0 && origin[d] + g_.effective_kernel(d) <= g_.in[d];
          if (l_.scale == ActScale::kRow)
            pack_row<true>(x, origin, interior, p);
          else
            pack_row<false>(x, origin, interior, p);
        }
  }

  template <bool kRowSums>
  void pack_row(const float* x, const std::array<int64_t, 3>& o, bool interior, int64_t p) {
    const int64_t W = l_.groups[0].words;
    uint64_t* const rs = xs_.data() + p * W;
    uint64_t* const rm = xm_.data() + p * W;
    const float* base = x + (o[0] * g_.in[1] + o[1]) * g_.in[2] + o[2];
    uint64_t s = 0, m = 0;
    double sum = 0;
    for (int64_t k = 0; k < k_; ++k) {
      const Tap& t = taps_[static_cast<size_t>(k)];
      float v = 0.0f;
      if (interior) {
        v = base[t.offset];
      } else {
        const int64_t id = o[0] + t.d, ih = o[1] + t.h, iw = o[2] + t.w;
        if (id >= 0 && id < g_.in[0] && ih >= 0 && ih < g_.in[1] && iw >= 0 && iw < g_.in[2])
          v = base[t.offset];
      }
      const uint64_t neg = v < 0, nonzero = (v > 0) | (v < 0);  // ops::binary::sign_of
      m |= nonzero << (k % 64);
      s |= neg << (k % 64);
      if constexpr (kRowSums) sum += std::abs(v);
      if (k % 64 == 63 || k == k_ - 1) {
        rs[k / 64] = s;
        rm[k / 64] = m;
        s = m = 0;
      }
    }
    if constexpr (kRowSums) sums_[static_cast<size_t>(p)] = sum;
  }

  BinaryLayer l_;
  ops::WindowGeometry g_;
  int64_t n_, c_, group_ = 1, cg_ = 0, k_ = 0, p_ = 0, ld_ = 0;
  std::vector<uint64_t> xs_, xm_;
  std::vector<double> sums_;
  std::vector<int32_t> dots_;
  std::vector<Tap> taps_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_binary_gemm(const Build& b) {
  const Shape& x = b.in_shape(0);
  return std::make_unique<BinaryGemmKernel>(load_layer(b, 1), x[0], x[1]);
}

std::unique_ptr<kernels::Kernel> make_binary_conv(const Build& b) {
  const Shape& x = b.in_shape(0);
  const std::vector<int64_t> kernel = b.node().attr_ints("kernel_shape");
  const ops::WindowGeometry g =
      ops::as_3d(b.node(), ops::sliding_window(b.node(), {x.begin() + 2, x.end()}, kernel, false));
  const int64_t group = b.node().attr_int("group", 1);
  return std::make_unique<BinaryConvKernel>(load_layer(b, group), g, x[0], x[1]);
}

}  // namespace frugal::kernels::cpu
