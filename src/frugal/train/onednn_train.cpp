#include "frugal/train/onednn_train.h"

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <unordered_map>

#include "frugal/core/error.h"
#include "frugal/kernels/threads.h"

namespace frugal::train {
namespace {

using dt = dnnl::memory::data_type;
using md = dnnl::memory::desc;

const dnnl::engine& engine() {
  static const dnnl::engine e(dnnl::engine::kind::cpu, 0);
  return e;
}

// A stream is not shared between threads: each thread that trains gets its own.
dnnl::stream& stream() {
  thread_local dnnl::stream s(engine());
  return s;
}

md plain(const dnnl::memory::dims& dims) {
  dnnl::memory::dims strides(dims.size(), 1);
  for (size_t d = dims.size(); d-- > 1;) strides[d - 1] = strides[d] * dims[d];
  return md(dims, dt::f32, strides);
}

// What a primitive is asked for: the plain layout, or any (oneDNN chooses, usually blocked).
md requested(const dnnl::memory::dims& dims) {
  return onednn_train_layout() == OnednnLayout::kBlocked
             ? md(dims, dt::f32, dnnl::memory::format_tag::any)
             : plain(dims);
}

dnnl::memory wrap(const md& d, const float* data) {
  return dnnl::memory(d, engine(), const_cast<float*>(data));
}

}  // namespace

namespace {

std::atomic<OnednnLayout>& layout_setting() {
  static std::atomic<OnednnLayout> layout = [] {
    const char* v = std::getenv("FRUGAL_TRAIN_ONEDNN_LAYOUT");
    if (v && std::strcmp(v, "plain") == 0) return OnednnLayout::kPlain;
    if (v && std::strcmp(v, "blocked") == 0) return OnednnLayout::kBlocked;
    return OnednnLayout::kBlocked;
  }();
  return layout;
}

}  // namespace

OnednnLayout onednn_train_layout() {
  return layout_setting().load();
}

void set_onednn_train_layout(OnednnLayout layout) {
  layout_setting().store(layout);
}

int64_t onednn_threads() {
  return kernels::threads();
}

OnednnEdge::OnednnEdge(const md& plain_desc, const md& wanted)
    : plain_(plain_desc), wanted_(wanted), same_(plain_desc == wanted) {
  if (same_) return;
  user_ = dnnl::memory(plain_, engine(), DNNL_MEMORY_NONE);
  buffer_ = dnnl::memory(wanted_, engine());
  to_wanted_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), plain_, engine(), wanted_));
  to_plain_ = dnnl::reorder(dnnl::reorder::primitive_desc(engine(), wanted_, engine(), plain_));
  const dnnl::memory::dims dims = plain_.dims();
  if (dims.size() == 4)
    for (int64_t block : {8, 16})
      if (wanted_ ==
          md(dims, dt::f32,
             block == 8 ? dnnl::memory::format_tag::aBcd8b : dnnl::memory::format_tag::aBcd16b))
        channel_block_ = block;
}

dnnl::memory OnednnEdge::input(const float* data, const OnednnEdge* filled) {
  if (same_) return wrap(plain_, data);
  if (filled && filled->filled_ == data && filled->wanted_ == wanted_) return filled->buffer_;
  filled_ = data;
  if (channel_block_ > 0) {
    // NCHW to N(C/b)HW(b), channels padded with zeros: oneDNN 2.6's reorder for this
    // direction took about 7x the time of the way back (ONEDNN_VERBOSE, 64x16x28x28).
    const dnnl::memory::dims d = plain_.dims();
    const int64_t n = d[0], c = d[1], hw = d[2] * d[3], b = channel_block_;
    const int64_t blocks = (c + b - 1) / b;
    float* out = static_cast<float*>(buffer_.get_data_handle());
    for (int64_t i = 0; i < n; ++i)
      for (int64_t cb = 0; cb < blocks; ++cb) {
        float* o = out + (i * blocks + cb) * hw * b;
        for (int64_t k = 0; k < b; ++k) {
          const int64_t ch = cb * b + k;
          const float* src = ch < c ? data + (i * c + ch) * hw : nullptr;
          for (int64_t p = 0; p < hw; ++p) o[p * b + k] = src ? src[p] : 0.0f;
        }
      }
    return buffer_;
  }
  user_.set_data_handle(const_cast<float*>(data));
  to_wanted_.execute(stream(), user_, buffer_);
  return buffer_;
}

dnnl::memory OnednnEdge::output(float* data) {
  if (same_) return wrap(plain_, data);
  filled_ = nullptr;
  user_.set_data_handle(data);
  return buffer_;
}

void OnednnEdge::store() {
  if (!same_) to_plain_.execute(stream(), buffer_, user_);
}

ConvPrimitives::ConvPrimitives(const ConvPrimitiveShape& s) : s_(s) {
  using conv = dnnl::convolution_forward;
  const auto prop = dnnl::prop_kind::forward_training;
  const auto alg = dnnl::algorithm::convolution_direct;
  const md x = requested(s.x), w = requested(s.w), y = requested(s.y);
  const conv::desc d =
      s.bias ? conv::desc(prop, alg, x, w, plain({s.out_channels}), y, s.strides, s.dilations,
                          s.pad_l, s.pad_r)
             : conv::desc(prop, alg, x, w, y, s.strides, s.dilations, s.pad_l, s.pad_r);
  fwd_pd_ = conv::primitive_desc(d, engine());
  fwd_ = conv(fwd_pd_);
  fx_ = OnednnEdge(plain(s.x), fwd_pd_.src_desc());
  fw_ = OnednnEdge(plain(s.w), fwd_pd_.weights_desc());
  fy_ = OnednnEdge(plain(s.y), fwd_pd_.dst_desc());
}

void ConvPrimitives::forward(const float* x, const float* w, const float* b, float* y) {
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, fx_.input(x)},
                                             {DNNL_ARG_WEIGHTS, fw_.input(w)},
                                             {DNNL_ARG_DST, fy_.output(y)}};
  if (s_.bias) args[DNNL_ARG_BIAS] = wrap(plain({s_.out_channels}), b);
  fwd_.execute(stream(), args);
  fy_.store();
  stream().wait();
}

void ConvPrimitives::backward(const float* x, const float* w, const float* dy, float* dx, float* dw,
                              float* db) {
  if (dx) {
    using bwd = dnnl::convolution_backward_data;
    if (!bwd_data_) {
      const bwd::desc d(dnnl::algorithm::convolution_direct, requested(s_.x), requested(s_.w),
                        requested(s_.y), s_.strides, s_.dilations, s_.pad_l, s_.pad_r);
      bwd::primitive_desc pd(d, engine(), fwd_pd_);
      bdy_ = OnednnEdge(plain(s_.y), pd.diff_dst_desc());
      bw_ = OnednnEdge(plain(s_.w), pd.weights_desc());
      bdx_ = OnednnEdge(plain(s_.x), pd.diff_src_desc());
      bwd_data_.emplace(pd, bwd(pd));
    }
    bwd_data_->second.execute(stream(), {{DNNL_ARG_DIFF_DST, bdy_.input(dy)},
                                         {DNNL_ARG_WEIGHTS, bw_.input(w, &fw_)},
                                         {DNNL_ARG_DIFF_SRC, bdx_.output(dx)}});
    bdx_.store();
  }
  if (dw) {
    using bwd = dnnl::convolution_backward_weights;
    const md bias = plain({s_.out_channels});
    if (!bwd_weights_built_) {
      const auto alg = dnnl::algorithm::convolution_direct;
      const md x_req = requested(s_.x), w_req = requested(s_.w), y_req = requested(s_.y);
      const bwd::desc d = s_.bias ? bwd::desc(alg, x_req, w_req, bias, y_req, s_.strides,
                                              s_.dilations, s_.pad_l, s_.pad_r)
                                  : bwd::desc(alg, x_req, w_req, y_req, s_.strides, s_.dilations,
                                              s_.pad_l, s_.pad_r);
      bwd_weights_pd_ = bwd::primitive_desc(d, engine(), fwd_pd_);
      bwd_weights_ = bwd(bwd_weights_pd_);
      wx_ = OnednnEdge(plain(s_.x), bwd_weights_pd_.src_desc());
      wdy_ = OnednnEdge(plain(s_.y), bwd_weights_pd_.diff_dst_desc());
      wdw_ = OnednnEdge(plain(s_.w), bwd_weights_pd_.diff_weights_desc());
      bwd_weights_built_ = true;
    }
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, wx_.input(x, &fx_)},
        {DNNL_ARG_DIFF_DST, wdy_.input(dy, dx ? &bdy_ : nullptr)},
        {DNNL_ARG_DIFF_WEIGHTS, wdw_.output(dw)}};
    if (s_.bias) {
      if (!db) {  // the bias is frozen: its gradient is computed anyway, and dropped
        discarded_bias_.resize(static_cast<size_t>(s_.out_channels));
        db = discarded_bias_.data();
      }
      args[DNNL_ARG_DIFF_BIAS] = wrap(bias, db);
    }
    bwd_weights_.execute(stream(), args);
    wdw_.store();
  }
  stream().wait();
}

std::string ConvPrimitives::impl() const {
  std::string s = std::string("fwd ") + fwd_pd_.impl_info_str();
  if (bwd_data_) s += ", bwd_data " + std::string(bwd_data_->first.impl_info_str());
  if (bwd_weights_built_) s += ", bwd_weights " + std::string(bwd_weights_pd_.impl_info_str());
  return s;
}

PoolPrimitives::PoolPrimitives(const PoolPrimitiveShape& s, bool training)
    : s_(s), training_(training) {
  using pool = dnnl::pooling_v2_forward;
  const pool::desc d(
      training ? dnnl::prop_kind::forward_training : dnnl::prop_kind::forward_inference,
      s.algorithm, plain(s.x), plain(s.y), s.strides, s.kernel, s.dilations, s.pad_l, s.pad_r);
  fwd_pd_ = pool::primitive_desc(d, engine());
  fwd_ = pool(fwd_pd_);
  if (training && fwd_pd_.workspace_desc().get_size() > 0)
    workspace_ = dnnl::memory(fwd_pd_.workspace_desc(), engine());
}

void PoolPrimitives::forward(const float* x, float* y) {
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_SRC, wrap(plain(s_.x), x)},
                                             {DNNL_ARG_DST, wrap(plain(s_.y), y)}};
  if (workspace_) args[DNNL_ARG_WORKSPACE] = workspace_;
  fwd_.execute(stream(), args);
  stream().wait();
}

void PoolPrimitives::backward(const float* dy, float* dx) {
  using bwd = dnnl::pooling_v2_backward;
  FRUGAL_CHECK(training_, "pooling backward after an inference forward");
  if (!bwd_) {
    const bwd::desc d(s_.algorithm, plain(s_.x), plain(s_.y), s_.strides, s_.kernel, s_.dilations,
                      s_.pad_l, s_.pad_r);
    bwd::primitive_desc pd(d, engine(), fwd_pd_);
    bwd_.emplace(pd, bwd(pd));
  }
  std::unordered_map<int, dnnl::memory> args{{DNNL_ARG_DIFF_DST, wrap(plain(s_.y), dy)},
                                             {DNNL_ARG_DIFF_SRC, wrap(plain(s_.x), dx)}};
  if (workspace_) args[DNNL_ARG_WORKSPACE] = workspace_;
  bwd_->second.execute(stream(), args);
  stream().wait();
}

}  // namespace frugal::train
