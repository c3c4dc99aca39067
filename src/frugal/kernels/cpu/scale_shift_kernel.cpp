// BatchNormalization with constant statistics as one pass: y = act(x * s[c] + t[c]), s and
// t folded once from scale, B, mean and var (in double). oneDNN 2.6 runs a BN on a plain
// tensor with its generic ncsp kernel (about 2 GFLOP/s here) and the Relu that follows as a
// second pass; DenseNet's pre-activation BN + ReLU after each Concat was 24 % of its time.
//
// The output may be written channels-last (NHWC) instead of plain: oneDNN's fp32
// convolutions on this CPU read NHWC, so when the next Conv is the only reader the Session
// agrees on it (layout.h) and that Conv's reorder from plain goes. The transposition is
// folded into the same pass. The input may be read channels-last too, when every reader of
// it agrees (a Concat of convolutions' outputs at batch > 1, DenseNet's, writes NHWC): the
// producer's reorder to plain goes (at batch 8 one per DenseNet layer). The pass is
// shared among the backend's threads.
// Other BN forms (statistics known only at run time, opset 7-8's spatial = 0) keep
// oneDNN's batch_normalization primitive (norm_kernels.cpp), without post-ops.
#include <algorithm>
#include <cmath>

#include "frugal/kernels/cpu/channels_last.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/post_ops.h"
#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

// A leading Relu or Clip post-op applied in the loop as min(max(v, lo), hi) (v first, so
// NaN passes through); the other post-ops after it with the shared elementwise definitions.
struct Clamp {
  float lo = -INFINITY, hi = INFINITY;
};

class ScaleShiftKernel final : public kernels::Kernel, public ChannelsLastIo {
 public:
  ScaleShiftKernel(const Shape& x, std::vector<float> scale, std::vector<float> shift, Clamp clamp,
                   std::vector<ops::PostOp> rest)
      : ChannelsLastIo(x),
        x_(x),
        scale_(std::move(scale)),
        shift_(std::move(shift)),
        clamp_(clamp),
        rest_(std::move(rest)) {}

  void run(ops::KernelContext& ctx) override {
    Pass pass{this, ctx.input(0).data<float>(), ctx.output(0).data<float>()};
    const int64_t units = pass.units();
    const int64_t by_size = std::max<int64_t>(1, shape_numel(x_) / min_floats_per_thread());
    const int threads = static_cast<int>(std::min({int64_t{num_threads()}, units, by_size}));
    parallel_run(
        threads,
        [](void* d, int t, int T) {
          const auto* p = static_cast<const Pass*>(d);
          const int64_t u = p->units();
          for (int64_t i = u * t / T; i < u * (t + 1) / T; ++i) p->unit(i);
        },
        &pass);
    if (!rest_.empty()) ops::apply_post_ops(rest_, ctx.output(0), nullptr);  // any layout
  }
  std::string impl() const override { return "loop:scale_shift"; }

 private:
  // One pass over the tensor, cut into units that threads share: a channel plane of one
  // image when both sides are plain, else kS positions of one image (all channels).
  static constexpr int64_t kC = 16, kS = 64;
  struct Pass {
    const ScaleShiftKernel* k;
    const float* in;
    float* out;

    int64_t n() const { return k->x_[0]; }
    int64_t c() const { return k->x_[1]; }
    int64_t hw() const { return shape_numel(k->x_) / (n() * c()); }
    bool by_planes() const { return !k->in_channels_last_ && !k->out_channels_last_; }
    int64_t tiles() const { return (hw() + kS - 1) / kS; }
    int64_t units() const { return by_planes() ? n() * c() : n() * tiles(); }
    void unit(int64_t u) const {
      if (by_planes()) {
        k->plane(in + u * hw(), out + u * hw(), u % c(), hw());
        return;
      }
      const int64_t b = u / tiles(), s0 = (u % tiles()) * kS, sn = std::min(kS, hw() - s0);
      const float* src = in + b * c() * hw();
      float* dst = out + b * c() * hw();
      if (k->in_channels_last_ && k->out_channels_last_) {
        k->rows(src + s0 * c(), dst + s0 * c(), c(), sn);
      } else if (k->out_channels_last_) {
        k->plain_to_channels_last(src, dst, c(), hw(), s0, sn);
      } else {
        k->channels_last_to_plain(src, dst, c(), hw(), s0, sn);
      }
    }
  };

  // Channel `ch`'s plane of one plain image.
  void plane(const float* in, float* out, int64_t ch, int64_t hw) const {
    const float lo = clamp_.lo, hi = clamp_.hi, s = scale_[ch], t = shift_[ch];
    for (int64_t i = 0; i < hw; ++i) out[i] = std::min(std::max(in[i] * s + t, lo), hi);
  }

  // `sn` channels-last positions, each `c` consecutive channels, into the same layout.
  void rows(const float* in, float* out, int64_t c, int64_t sn) const {
    const float lo = clamp_.lo, hi = clamp_.hi;
    const float *s = scale_.data(), *t = shift_.data();
    for (int64_t p = 0; p < sn; ++p, in += c, out += c)
      for (int64_t ch = 0; ch < c; ++ch)
        out[ch] = std::min(std::max(in[ch] * s[ch] + t[ch], lo), hi);
  }

  // Positions [s0, s0 + sn) of one image through tiles of kC channels x kS positions:
  // computed row by row into `tile` (contiguous, so vectorized), then written transposed.
  void plain_to_channels_last(const float* in, float* out, int64_t c, int64_t hw, int64_t s0,
                              int64_t sn) const {
    alignas(64) float tile[kC][kS];
    for (int64_t c0 = 0; c0 < c; c0 += kC) {
      const int64_t cn = std::min(kC, c - c0);
      for (int64_t j = 0; j < cn; ++j) plane(in + (c0 + j) * hw + s0, tile[j], c0 + j, sn);
      for (int64_t i = 0; i < sn; ++i) {
        float* dst = out + (s0 + i) * c + c0;
        for (int64_t j = 0; j < cn; ++j) dst[j] = tile[j][i];
      }
    }
  }

  // The converse: kC consecutive channels per position read into `tile` transposed, then
  // each channel's kS positions computed and written as one contiguous run.
  void channels_last_to_plain(const float* in, float* out, int64_t c, int64_t hw, int64_t s0,
                              int64_t sn) const {
    alignas(64) float tile[kC][kS];
    for (int64_t c0 = 0; c0 < c; c0 += kC) {
      const int64_t cn = std::min(kC, c - c0);
      for (int64_t i = 0; i < sn; ++i) {
        const float* src = in + (s0 + i) * c + c0;
        for (int64_t j = 0; j < cn; ++j) tile[j][i] = src[j];
      }
      for (int64_t j = 0; j < cn; ++j) plane(tile[j], out + (c0 + j) * hw + s0, c0 + j, sn);
    }
  }

  Shape x_;
  std::vector<float> scale_, shift_;
  Clamp clamp_;
  std::vector<ops::PostOp> rest_;
};

// s = scale / sqrt(var + epsilon), t = B - mean * s, per channel; false when a parameter is
// known only at run time.
bool fold_statistics(const Build& b, std::vector<float>& scale, std::vector<float>& shift) {
  const Tensor *g = b.constant(1), *beta = b.constant(2), *mean = b.constant(3),
               *var = b.constant(4);
  if (!g || !beta || !mean || !var) return false;
  const double eps = b.node().attr_float("epsilon", 1e-5f);
  const int64_t c = b.in_shape(0)[1];
  scale.resize(static_cast<size_t>(c));
  shift.resize(static_cast<size_t>(c));
  for (int64_t i = 0; i < c; ++i) {
    const double s = g->at_double(i) / std::sqrt(var->at_double(i) + eps);
    scale[static_cast<size_t>(i)] = static_cast<float>(s);
    shift[static_cast<size_t>(i)] = static_cast<float>(beta->at_double(i) - mean->at_double(i) * s);
  }
  return true;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_batch_norm_inference(const Build& b) {
  const bool per_channel = b.view.opset >= 9 || b.node().attr_int("spatial", 1) != 0;
  std::vector<float> scale, shift;
  if (!per_channel || b.in_shape(0).size() < 2 || !fold_statistics(b, scale, shift)) {
    if (ops::has_post_ops(b.node()))
      decline(std::string(kPostOpsAttr) + " on a BatchNormalization whose statistics are " +
              "not constant, or with spatial = 0, not implemented");
    return make_batch_norm(b);
  }
  std::vector<ops::PostOp> rest = ops::post_ops_of(b.node());
  if (ops::has_sum(rest))
    decline(std::string(kPostOpsAttr) + " 'sum' on BatchNormalization not implemented");
  Clamp clamp;
  if (!rest.empty() && rest.front().kind == ops::PostOp::Kind::kRelu) {
    clamp.lo = 0.0f;
    rest.erase(rest.begin());
  } else if (!rest.empty() && rest.front().kind == ops::PostOp::Kind::kClip) {
    clamp = {rest.front().a, rest.front().b};  // LO > HI gives HI, as ONNX's Clip
    rest.erase(rest.begin());
  }
  return std::make_unique<ScaleShiftKernel>(b.in_shape(0), std::move(scale), std::move(shift),
                                            clamp, std::move(rest));
}

}  // namespace frugal::kernels::cpu
