// The cpu backend's frugal.BinaryGemm and frugal.BinaryConv (ops/binary_layer.h): the
// activations are packed into sign and mask bits, the products are XNOR/AND-popcount
// (binary_popcount.h), and the scale and bias follow with the formula of the header, so
// the results are bit-exact with the reference kernels. Gemm packs one row per sample.
// Conv packs each input position's channels once into padded bit planes and reads a
// window's taps in place (im2col-free; the weights are reordered tap-major at build); with
// act_scale "row" it packs each receptive field in the weights' k order instead, because
// that beta is a sum in k order (one thread). Threads: the cpu backend's, over samples for
// the packing and over chunks of output positions for the products.
#include <algorithm>
#include <array>
#include <cmath>
#include <numeric>
#include <vector>

#include "frugal/kernels/cpu/binary_popcount.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/threads.h"
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

// Weight rows in k order (c, taps) to the bit planes' order: for each tap, the channels'
// bits in words(channels) words (bits past `channels` zero, masked out); with fold > 1
// (the kernel's width, or its height * width, when fold * channels <= 64) each run of
// `fold` consecutive taps shares a word, the i-th tap's channels at bits i * channels + c,
// as the widened planes hold them.
struct TapMajor {
  int64_t channels = 0, taps = 0, fold = 1;  // channels 0: keep k order
  int64_t word_bits() const { return 64 * ops::binary::words(fold * channels); }
  int64_t words() const { return taps / fold * word_bits() / 64; }
  void reorder(const uint64_t* sign, const uint64_t* mask, int64_t rows, int64_t in_words,
               std::vector<uint64_t>& out_sign, std::vector<uint64_t>& out_mask) const {
    const int64_t W = words();
    out_sign.assign(static_cast<size_t>(rows * W), 0);
    out_mask.assign(out_sign.size(), 0);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < channels; ++c)
        for (int64_t t = 0; t < taps; ++t) {
          const int64_t k = c * taps + t;
          const int64_t to = t / fold * word_bits() + t % fold * channels + c;
          const uint64_t bit = uint64_t{1} << (to % 64);
          const size_t at = static_cast<size_t>(r * W + to / 64);
          if ((sign[r * in_words + k / 64] >> (k % 64)) & 1) out_sign[at] |= bit;
          if ((mask[r * in_words + k / 64] >> (k % 64)) & 1) out_mask[at] |= bit;
        }
  }
};

BinaryLayer load_layer(const Build& b, int64_t group, const TapMajor& layout = {}) {
  namespace bin = ops::binary;
  BinaryLayer l;
  const Tensor& sign = require_constant(b, bin::kSignInput, "W_sign");
  const int64_t M = sign.dim(0), W = sign.dim(1), Mg = M / group;
  std::vector<uint64_t> mask(static_cast<size_t>(M * W), ~uint64_t{0});
  if (b.has_input(bin::kMaskInput)) {
    const Tensor& m = require_constant(b, bin::kMaskInput, "W_mask");
    mask.assign(m.data<uint64_t>(), m.data<uint64_t>() + M * W);
  }
  std::vector<uint64_t> rows_sign, rows_mask;
  for (int64_t g = 0; g < group; ++g) {
    const uint64_t* gs = sign.data<uint64_t>() + g * Mg * W;
    const uint64_t* gm = mask.data() + g * Mg * W;
    if (layout.channels == 0) {
      l.groups.push_back(interleave_weights(gs, gm, Mg, W));
      continue;
    }
    layout.reorder(gs, gm, Mg, W, rows_sign, rows_mask);
    l.groups.push_back(interleave_weights(rows_sign.data(), rows_mask.data(), Mg, layout.words()));
  }
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

// Runs job(i, thread) for i < items, contiguous ranges of items per thread.
template <typename Job>
void parallel_items(int64_t items, const Job& job) {
  struct Ctx {
    const Job* job;
    int64_t items;
  } ctx{&job, items};
  const int threads = static_cast<int>(std::min<int64_t>(num_threads(), items));
  parallel_run(
      threads,
      [](void* d, int t, int T) {
        const auto* c = static_cast<const Ctx*>(d);
        for (int64_t i = c->items * t / T; i < c->items * (t + 1) / T; ++i) (*c->job)(i, t);
      },
      &ctx);
}

// Positions per product chunk: about P / threads (whole tiles of 4), at most 64.
int64_t chunk_of(int64_t positions) {
  const int64_t per_thread = (positions + num_threads() - 1) / num_threads();
  return std::clamp<int64_t>((per_thread + 3) / 4 * 4, 4, 64);
}

// Y [N, M] = the packed rows of X [N, K] against the weights.
class BinaryGemmKernel final : public kernels::Kernel {
 public:
  BinaryGemmKernel(BinaryLayer l, int64_t n, int64_t k)
      : l_(std::move(l)), n_(n), k_(k), ld_(8 * PackedBinaryWeights::blocks(l_.alpha.size())) {}

  void run(ops::KernelContext& ctx) override {
    const PackedBinaryWeights& w = l_.groups[0];
    const float* x = ctx.input(0).data<float>();
    xs_.resize(static_cast<size_t>(n_ * w.words));
    xm_.resize(xs_.size());
    beta_.resize(static_cast<size_t>(n_));
    parallel_items(n_, [&](int64_t i, int) {
      pack_signs(l_.isa, x + i * k_, k_, xs_.data() + i * w.words, xm_.data() + i * w.words);
      beta_[static_cast<size_t>(i)] = ops::binary::sample_scale(l_.scale, x + i * k_, k_);
    });
    const int64_t chunk = chunk_of(n_), chunks = (n_ + chunk - 1) / chunk;
    dots_.resize(static_cast<size_t>(std::min(chunks, int64_t{num_threads()}) * chunk * ld_));
    origins_.resize(static_cast<size_t>(n_));
    std::iota(origins_.begin(), origins_.end(), int64_t{0});
    float* y = ctx.output(0).data<float>();
    const int64_t tap = 0;
    parallel_items(chunks, [&](int64_t c, int t) {
      const int64_t i0 = c * chunk, rows = std::min(chunk, n_ - i0), M = w.rows;
      int32_t* dots = dots_.data() + t * chunk * ld_;
      popcount_taps(l_.isa, TapRows{xs_.data(), xm_.data(), w.words, &tap, 1}, origins_.data() + i0,
                    rows, w, dots, ld_);
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t m = 0; m < M; ++m)
          y[(i0 + i) * M + m] =
              ops::binary::output(l_.alpha[m], beta_[i0 + i], dots[i * ld_ + m], l_.bias[m]);
    });
  }
  std::string impl() const override { return impl_of(l_); }

 private:
  BinaryLayer l_;
  int64_t n_, k_, ld_;
  std::vector<uint64_t> xs_, xm_;
  std::vector<float> beta_;
  std::vector<int32_t> dots_;
  std::vector<int64_t> origins_;
};

// act_scale "row": Y[n, g] = the packed receptive fields of X[n, g] (one row per output
// position, in k order, with the row's sum of |x|) against group g's weights.
class BinaryConvRowScaleKernel final : public kernels::Kernel {
 public:
  BinaryConvRowScaleKernel(BinaryLayer l, const ops::WindowGeometry& g, int64_t n, int64_t c)
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

// act_scale "tensor" or "none": each sample's group input is packed once into bit planes
// [padded positions][words(C/group)] whose padding words stay zero (sign 0, as the
// header's padding), and output position p reads its taps at origins_[p] + taps_[t].
// Narrow layers (kernel width * C/group <= 64) widen the planes: the word of a position
// also holds the next kernel-width positions' channels, so a window reads one word per
// kernel row (LeNet-5's 6-channel, ResNet's 16-channel layers); when the whole 2-D window
// fits (height * width * C/group <= 64, LeNet-5's and ResNet's 1-channel first layers)
// the rows are folded too and a window reads one word.
class BinaryConvKernel final : public kernels::Kernel {
 public:
  BinaryConvKernel(BinaryLayer l, const ops::WindowGeometry& g, int64_t n, int64_t c, int64_t fold)
      : l_(std::move(l)), g_(g), n_(n), c_(c) {
    fold_w_ = fold > 1 ? g_.kernel[2] : 1;
    fold_h_ = fold / fold_w_;
    group_ = static_cast<int64_t>(l_.groups.size());
    cg_ = c_ / group_;
    wc_ = ops::binary::words(cg_);
    p_ = g_.out_numel();
    ld_ = 8 * PackedBinaryWeights::blocks(l_.groups[0].rows);
    for (size_t d = 0; d < 3; ++d)
      padded_[d] = std::max(g_.pad_begin[d] + g_.in[d],
                            (g_.out[d] - 1) * g_.strides[d] + g_.effective_kernel(d));
    // Widening reads up to this many positions past a plane's last one.
    const int64_t tail =
        (fold_h_ - 1) * g_.dilations[1] * padded_[2] + (fold_w_ - 1) * g_.dilations[2];
    plane_ = (padded_[0] * padded_[1] * padded_[2] + tail) * wc_;
    plan_positions();
    const int64_t levels = 1 + (fold_w_ > 1) + (fold_h_ > 1);
    for (int64_t i = 0; i < levels; ++i) {
      planes_.push_back({std::vector<uint64_t>(static_cast<size_t>(n_ * group_ * plane_), 0),
                         std::vector<uint64_t>(static_cast<size_t>(n_ * group_ * plane_), 0)});
    }
    beta_.resize(static_cast<size_t>(n_));
  }

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    parallel_items(n_, [&](int64_t n, int) { pack_sample(n, x + n * c_ * g_.in_numel()); });
    const int64_t chunk = chunk_of(p_), chunks = (p_ + chunk - 1) / chunk;
    dots_.resize(static_cast<size_t>(num_threads() * chunk * ld_));
    float* y = ctx.output(0).data<float>();
    parallel_items(n_ * group_ * chunks, [&](int64_t item, int t) {
      const int64_t c = item % chunks, ng = item / chunks;
      product(ng / group_, ng % group_, c * chunk, std::min(chunk, p_ - c * chunk),
              dots_.data() + t * chunk * ld_, y);
    });
  }
  std::string impl() const override { return impl_of(l_); }

 private:
  // Padded positions of the taps (from a window's origin) and of the windows' origins.
  void plan_positions() {
    const int64_t hp = padded_[1], wp = padded_[2];
    for (int64_t kd = 0; kd < g_.kernel[0]; ++kd)
      for (int64_t kh = 0; kh < g_.kernel[1]; kh += fold_h_)
        for (int64_t kw = 0; kw < g_.kernel[2]; kw += fold_w_)
          taps_.push_back(((kd * g_.dilations[0]) * hp + kh * g_.dilations[1]) * wp +
                          kw * g_.dilations[2]);
    for (int64_t od = 0; od < g_.out[0]; ++od)
      for (int64_t oh = 0; oh < g_.out[1]; ++oh)
        for (int64_t ow = 0; ow < g_.out[2]; ++ow)
          origins_.push_back(((od * g_.strides[0]) * hp + oh * g_.strides[1]) * wp +
                             ow * g_.strides[2]);
  }

  // Sample n's beta and its groups' bit planes, one input row (contiguous floats) at a time.
  void pack_sample(int64_t n, const float* xn) {
    const int64_t Pin = g_.in_numel();
    beta_[static_cast<size_t>(n)] = ops::binary::sample_scale(l_.scale, xn, c_ * Pin);
    for (int64_t gi = 0; gi < group_; ++gi) {
      const int64_t plane = (n * group_ + gi) * plane_;
      for (int64_t id = 0; id < g_.in[0]; ++id)
        for (int64_t ih = 0; ih < g_.in[1]; ++ih) {
          const int64_t at =
              plane + (((id + g_.pad_begin[0]) * padded_[1] + ih + g_.pad_begin[1]) * padded_[2] +
                       g_.pad_begin[2]) *
                          wc_;
          pack_planes(l_.isa, xn + gi * cg_ * Pin + (id * g_.in[1] + ih) * g_.in[2], Pin, cg_,
                      g_.in[2], wc_, planes_[0].sign.data() + at, planes_[0].mask.data() + at);
        }
      size_t level = 0;
      if (fold_w_ > 1) widen(plane, level++, fold_w_, g_.dilations[2], cg_);
      if (fold_h_ > 1) widen(plane, level++, fold_h_, g_.dilations[1] * padded_[2], fold_w_ * cg_);
    }
  }

  // Level + 1 = level widened (binary_popcount.h's widen_planes).
  void widen(int64_t plane, size_t level, int64_t count, int64_t step, int64_t bits) {
    widen_planes(l_.isa, planes_[level].sign.data() + plane, planes_[level].mask.data() + plane,
                 padded_[0] * padded_[1] * padded_[2], count, step, bits,
                 planes_[level + 1].sign.data() + plane, planes_[level + 1].mask.data() + plane);
  }

  // Outputs p0 .. p0 + count of sample n, group gi.
  void product(int64_t n, int64_t gi, int64_t p0, int64_t count, int32_t* dots, float* y) const {
    const PackedBinaryWeights& w = l_.groups[static_cast<size_t>(gi)];
    const int64_t plane = (n * group_ + gi) * plane_, M = static_cast<int64_t>(l_.alpha.size());
    const BitPlanes& in = planes_.back();
    const TapRows rows{in.sign.data() + plane, in.mask.data() + plane, wc_, taps_.data(),
                       static_cast<int64_t>(taps_.size())};
    const int64_t m0 = gi * w.rows;
    const OutputScale out{l_.alpha.data() + m0, l_.bias.data() + m0, beta_[static_cast<size_t>(n)],
                          y + (n * M + m0) * p_ + p0, p_};
    popcount_outputs(l_.isa, rows, origins_.data() + p0, count, w, out, dots);
  }

  BinaryLayer l_;
  ops::WindowGeometry g_;
  int64_t n_, c_, fold_w_ = 1, fold_h_ = 1, group_ = 1, cg_ = 0, wc_ = 0, p_ = 0, ld_ = 0,
                  plane_ = 0;
  std::array<int64_t, 3> padded_{};
  std::vector<int64_t> taps_, origins_;
  struct BitPlanes {
    std::vector<uint64_t> sign, mask;  // [N][group][padded positions + tail][wc_]
  };
  std::vector<BitPlanes> planes_;  // packed, then widened along the width, then the height
  std::vector<float> beta_;
  std::vector<int32_t> dots_;  // [threads][chunk][ld_]
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
  if (ops::binary::act_scale_of(b.node()) == ActScale::kRow)
    return std::make_unique<BinaryConvRowScaleKernel>(load_layer(b, group), g, x[0], x[1]);
  const int64_t cg = x[1] / group, width = g.kernel[2];
  const int64_t window = g.kernel[1] * width;  // a 2-D window
  const TapMajor layout{cg, g.kernel_numel(),
                        window * cg <= 64  ? window
                        : width * cg <= 64 ? width
                                           : 1};
  return std::make_unique<BinaryConvKernel>(load_layer(b, group, layout), g, x[0], x[1],
                                            layout.fold);
}

}  // namespace frugal::kernels::cpu
