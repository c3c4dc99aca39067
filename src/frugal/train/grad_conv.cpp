// Conv (2-D; groups, depthwise, strides, pads, dilations) in training. Three kernels:
// oneDNN's convolution primitives (forward_training, backward data, backward weights with
// the bias gradient; train/onednn_train.h), built once per input shape and thread count;
// im2col then oneDNN's sgemm per image and group, forward and backward (dW = dY col^T,
// dcol = W^T dY then col2im); direct loops over the definition (reference), which the
// other two are tested against.
// With an emulated accumulator (KernelConfig::acc) the same products run on emu_gemm, and
// dW is one GEMM per group over the whole batch (K = batch * output pixels, in the order
// image, row, column), so each weight gradient is a single accumulation; the bias, its
// gradient and col2im's overlap sums stay binary32.
#include <cstring>

#include "frugal/ops/conv_geometry.h"
#include "frugal/train/grad_op.h"
#include "frugal/train/onednn_train.h"

namespace frugal::train {
namespace {

struct ConvShape {
  int64_t n, c, h, w, m, group, cg, mg;
  ConvGeom2d g;
  int64_t pad_b, pad_r;  // end pads (ConvGeom2d holds the begin ones)
};

class ConvGrad final : public GradOp {
 public:
  ConvGrad(const ir::Node& node, const KernelConfig& k) : node_(node), k_(k) {}

  std::vector<Tensor> forward(const std::vector<Tensor>& in, const ForwardState&) override {
    const ConvShape s = shape_of(in[0], in[1]);
    Tensor y(DType::kF32, {s.n, s.m, s.g.out_h, s.g.out_w});
    const float* x = in[0].data<float>();
    const float* w = in[1].data<float>();
    float* yd = y.data<float>();
    const int64_t ohw = s.g.col_cols(), kc = s.g.col_rows(), hw = s.h * s.w;
    const bool bias = in.size() > 2 && in[2].defined();
    if (onednn()) {
      primitives(s, bias).forward(x, w, bias ? in[2].data<float>() : nullptr, yd);
      return {y};
    }
    if (im2col_gemm()) {
      std::vector<float> col(static_cast<size_t>(kc * ohw));
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t g = 0; g < s.group; ++g) {
          const float* xg = x + (n * s.c + g * s.cg) * hw;
          const float* cols = xg;
          if (!pointwise(s)) {
            im2col(s.g, xg, col.data());
            cols = col.data();
          }
          gemm(k_, false, false, s.mg, ohw, kc, 1.0f, w + g * s.mg * kc, kc, cols, ohw, 0.0f,
               yd + (n * s.m + g * s.mg) * ohw, ohw);
        }
    } else {
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t mo = 0; mo < s.m; ++mo) {
          const int64_t g = mo / s.mg;
          for (int64_t oy = 0; oy < s.g.out_h; ++oy)
            for (int64_t ox = 0; ox < s.g.out_w; ++ox) {
              double acc = 0;
              for (int64_t c = 0; c < s.cg; ++c)
                for (int64_t i = 0; i < s.g.k_h; ++i)
                  for (int64_t j = 0; j < s.g.k_w; ++j) {
                    const int64_t iy = oy * s.g.stride_h - s.g.pad_t + i * s.g.dil_h;
                    const int64_t ix = ox * s.g.stride_w - s.g.pad_l + j * s.g.dil_w;
                    if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                    acc += static_cast<double>(w[((mo * s.cg + c) * s.g.k_h + i) * s.g.k_w + j]) *
                           x[((n * s.c + g * s.cg + c) * s.h + iy) * s.w + ix];
                  }
              yd[((n * s.m + mo) * s.g.out_h + oy) * s.g.out_w + ox] = static_cast<float>(acc);
            }
        }
    }
    if (bias) {
      const float* b = in[2].data<float>();
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t mo = 0; mo < s.m; ++mo) {
          float* row = yd + (n * s.m + mo) * ohw;
          for (int64_t i = 0; i < ohw; ++i) row[i] += b[mo];
        }
    }
    return {y};
  }

  std::vector<Tensor> backward(const std::vector<Tensor>& in, const std::vector<Tensor>&,
                               const std::vector<Tensor>& dout,
                               const std::vector<bool>& need) override {
    const ConvShape s = shape_of(in[0], in[1]);
    const float* x = in[0].data<float>();
    const float* w = in[1].data<float>();
    const float* dy = dout[0].data<float>();
    const int64_t ohw = s.g.col_cols(), kc = s.g.col_rows(), hw = s.h * s.w;
    std::vector<Tensor> din(in.size());
    const bool need_x = need[0], need_w = need.size() > 1 && need[1];
    if (need_x) din[0] = Tensor(DType::kF32, in[0].shape());
    if (need_w) din[1] = Tensor(DType::kF32, in[1].shape());
    const bool need_b = need.size() > 2 && need[2];
    if (need_b) din[2] = Tensor(DType::kF32, in[2].shape());
    bool bias_done = false;
    if (onednn()) {
      primitives(s, in.size() > 2 && in[2].defined())
          .backward(x, w, dy, need_x ? din[0].data<float>() : nullptr,
                    need_w ? din[1].data<float>() : nullptr,
                    need_w && need_b ? din[2].data<float>() : nullptr);
      bias_done = need_w;
    } else if (im2col_gemm()) {
      std::vector<float> col(static_cast<size_t>(kc * ohw));
      const bool batch_dw = need_w && k_.acc.has_value();
      if (batch_dw) backward_weights_batched(s, x, dy, din[1].data<float>());
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t g = 0; g < s.group; ++g) {
          const float* xg = x + (n * s.c + g * s.cg) * hw;
          const float* dyg = dy + (n * s.m + g * s.mg) * ohw;
          const float* wg = w + g * s.mg * kc;
          if (need_w && !batch_dw) {
            const float* cols = xg;
            if (!pointwise(s)) {
              im2col(s.g, xg, col.data());
              cols = col.data();
            }
            gemm(k_, false, true, s.mg, kc, ohw, 1.0f, dyg, ohw, cols, ohw, 1.0f,
                 din[1].data<float>() + g * s.mg * kc, kc);
          }
          if (need_x) {
            float* dxg = din[0].data<float>() + (n * s.c + g * s.cg) * hw;
            if (pointwise(s)) {
              gemm(k_, true, false, kc, ohw, s.mg, 1.0f, wg, kc, dyg, ohw, 0.0f, dxg, ohw);
            } else {
              gemm(k_, true, false, kc, ohw, s.mg, 1.0f, wg, kc, dyg, ohw, 0.0f, col.data(), ohw);
              col2im(s.g, col.data(), dxg);
            }
          }
        }
    } else {
      float* dx = need_x ? din[0].data<float>() : nullptr;
      float* dw = need_w ? din[1].data<float>() : nullptr;
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t mo = 0; mo < s.m; ++mo) {
          const int64_t g = mo / s.mg;
          for (int64_t oy = 0; oy < s.g.out_h; ++oy)
            for (int64_t ox = 0; ox < s.g.out_w; ++ox) {
              const float d = dy[((n * s.m + mo) * s.g.out_h + oy) * s.g.out_w + ox];
              for (int64_t c = 0; c < s.cg; ++c)
                for (int64_t i = 0; i < s.g.k_h; ++i)
                  for (int64_t j = 0; j < s.g.k_w; ++j) {
                    const int64_t iy = oy * s.g.stride_h - s.g.pad_t + i * s.g.dil_h;
                    const int64_t ix = ox * s.g.stride_w - s.g.pad_l + j * s.g.dil_w;
                    if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;
                    const int64_t wi = ((mo * s.cg + c) * s.g.k_h + i) * s.g.k_w + j;
                    const int64_t xi = ((n * s.c + g * s.cg + c) * s.h + iy) * s.w + ix;
                    if (dx) dx[xi] += w[wi] * d;
                    if (dw) dw[wi] += x[xi] * d;
                  }
            }
        }
    }
    if (need_b && !bias_done) {
      float* db = din[2].data<float>();
      for (int64_t n = 0; n < s.n; ++n)
        for (int64_t mo = 0; mo < s.m; ++mo) {
          const float* row = dy + (n * s.m + mo) * ohw;
          double acc = 0;
          for (int64_t i = 0; i < ohw; ++i) acc += row[i];
          db[mo] += static_cast<float>(acc);
        }
    }
    return din;
  }

 private:
  // dW[g] (mg x kc) = dY_g [mg x N*ohw] * col_g [kc x N*ohw]^T, one GEMM per group.
  void backward_weights_batched(const ConvShape& s, const float* x, const float* dy,
                                float* dw) const {
    const int64_t ohw = s.g.col_cols(), kc = s.g.col_rows(), hw = s.h * s.w;
    const int64_t np = s.n * ohw;
    std::vector<float> cols(static_cast<size_t>(kc * np)), dys(static_cast<size_t>(s.mg * np));
    std::vector<float> col(static_cast<size_t>(kc * ohw));
    for (int64_t g = 0; g < s.group; ++g) {
      for (int64_t n = 0; n < s.n; ++n) {
        const float* xg = x + (n * s.c + g * s.cg) * hw;
        const float* c = xg;
        if (!pointwise(s)) {
          im2col(s.g, xg, col.data());
          c = col.data();
        }
        for (int64_t r = 0; r < kc; ++r)
          std::memcpy(cols.data() + r * np + n * ohw, c + r * ohw, sizeof(float) * ohw);
        for (int64_t r = 0; r < s.mg; ++r)
          std::memcpy(dys.data() + r * np + n * ohw, dy + (n * s.m + g * s.mg + r) * ohw,
                      sizeof(float) * ohw);
      }
      gemm(k_, false, true, s.mg, kc, np, 1.0f, dys.data(), np, cols.data(), np, 0.0f,
           dw + g * s.mg * kc, kc);
    }
  }

  // The primitives' sums are binary32 in oneDNN's order: an emulated accumulator runs on
  // the gemm path (emu_gemm) instead.
  bool onednn() const { return k_.choice == KernelChoice::kOneDnn && !k_.acc; }
  bool im2col_gemm() const {
    return k_.choice == KernelChoice::kFast || (k_.choice == KernelChoice::kOneDnn && k_.acc);
  }

  ConvPrimitives& primitives(const ConvShape& s, bool bias) {
    const int64_t layout = static_cast<int64_t>(onednn_train_layout());
    const std::vector<int64_t> key{s.n, s.c, s.h, s.w, bias, onednn_threads(), layout};
    return cache_.get(key, [&] {
      ConvPrimitiveShape p;
      const ConvGeom2d& g = s.g;
      p.x = {s.n, s.c, s.h, s.w};
      // ONNX's M x C/group x kh x kw is oneDNN's goihw (oihw for one group) in place.
      p.w = s.group > 1 ? dnnl::memory::dims{s.group, s.mg, s.cg, g.k_h, g.k_w}
                        : dnnl::memory::dims{s.m, s.cg, g.k_h, g.k_w};
      p.y = {s.n, s.m, g.out_h, g.out_w};
      p.strides = {g.stride_h, g.stride_w};
      p.dilations = {g.dil_h - 1, g.dil_w - 1};
      p.pad_l = {g.pad_t, g.pad_l};
      p.pad_r = {s.pad_b, s.pad_r};
      p.out_channels = s.m;
      p.bias = bias;
      return ConvPrimitives(p);
    });
  }

  static bool pointwise(const ConvShape& s) {
    const ConvGeom2d& g = s.g;
    return g.k_h == 1 && g.k_w == 1 && g.stride_h == 1 && g.stride_w == 1 && g.pad_t == 0 &&
           g.pad_l == 0 && g.out_h == g.in_h && g.out_w == g.in_w;
  }

  ConvShape shape_of(const Tensor& x, const Tensor& w) const {
    if (x.rank() != 4 || w.rank() != 4)
      throw UnsupportedError(node_.describe() +
                             ": training supports 2-D convolutions only (input " +
                             shape_str(x.shape()) + ")");
    ConvShape s{};
    s.n = x.dim(0);
    s.c = x.dim(1);
    s.h = x.dim(2);
    s.w = x.dim(3);
    s.m = w.dim(0);
    s.group = node_.attr_int("group", 1);
    if (s.group < 1 || s.c % s.group != 0 || s.m % s.group != 0 || w.dim(1) != s.c / s.group)
      throw UserError(node_.describe() + ": input " + shape_str(x.shape()) + " and weight " +
                      shape_str(w.shape()) + " do not fit group " + std::to_string(s.group));
    s.cg = s.c / s.group;
    s.mg = s.m / s.group;
    const ops::WindowGeometry g =
        ops::sliding_window(node_, {s.h, s.w}, {w.dim(2), w.dim(3)}, false);
    s.g = ConvGeom2d{s.cg,
                     s.h,
                     s.w,
                     w.dim(2),
                     w.dim(3),
                     g.strides[0],
                     g.strides[1],
                     g.dilations[0],
                     g.dilations[1],
                     g.pad_begin[0],
                     g.pad_begin[1],
                     g.out[0],
                     g.out[1]};
    s.pad_b = g.pad_end[0];
    s.pad_r = g.pad_end[1];
    return s;
  }

  ir::Node node_;
  KernelConfig k_;
  PrimitiveCache<ConvPrimitives> cache_;
};

}  // namespace

FRUGAL_REGISTER_GRAD_OP(Conv, "Conv", [](const ir::Node& n, int64_t, const KernelConfig& k) {
  return std::make_unique<ConvGrad>(n, k);
});

}  // namespace frugal::train
