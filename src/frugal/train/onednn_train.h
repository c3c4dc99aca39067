// oneDNN's convolution and pooling primitives for training (KernelChoice::kOneDnn):
// convolution forward (prop kind forward_training), backward data and backward weights
// with the bias gradient; pooling forward_training (max keeps oneDNN's workspace) and
// backward. Tensors at the edges are the tape's plain row-major NCHW float32. Convolutions
// run in the layouts oneDNN picks (channel-blocked, where its direct JIT kernels apply)
// with reorders at the edges, or on the plain tensors directly (FRUGAL_TRAIN_ONEDNN_LAYOUT=
// plain: oneDNN then runs its own im2col + gemm; slower on our models, measured in
// docs/training.md). Pooling runs on the plain tensors.
//
// One ConvPrimitives / PoolPrimitives holds the primitives of one input shape and thread
// count; an op instance keeps them in a PrimitiveCache, so they are built once, not per
// iteration (training batches, the last short batch and the evaluation batches are a few
// shapes). Backward primitives are built on the first backward.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace frugal::train {

// Which memory layout the training primitives compute in.
enum class OnednnLayout : uint8_t { kPlain, kBlocked };
// The layout of primitives built from now on: FRUGAL_TRAIN_ONEDNN_LAYOUT=plain|blocked
// when set, else the faster on our models (docs/training.md, "Training kernels").
OnednnLayout onednn_train_layout();
// Process-wide; tests run their matrices in both layouts.
void set_onednn_train_layout(OnednnLayout layout);

// A tensor at a primitive's edge: plain row-major where the tape keeps it, `wanted` where
// the primitive reads or writes it. When the two differ, a buffer and a reorder (both
// built once) convert between them.
class OnednnEdge {
 public:
  OnednnEdge() = default;
  OnednnEdge(const dnnl::memory::desc& plain, const dnnl::memory::desc& wanted);
  // The memory the primitive reads, filled from `data` (a reorder runs now if needed).
  // With `filled`: when that edge's buffer already holds `data` in the same layout (the
  // forward's input, reused by backward weights; dY, shared by both backward primitives),
  // that buffer, without a second reorder. Inputs are not modified in place between a
  // forward and its backward (they are the tape's values).
  dnnl::memory input(const float* data, const OnednnEdge* filled = nullptr);
  // The memory the primitive writes; call store() after the primitive ran.
  dnnl::memory output(float* data);
  void store();

 private:
  dnnl::memory::desc plain_, wanted_;
  bool same_ = true;
  int64_t channel_block_ = 0;      // wanted is plain's nChw8c / nChw16c: our own loop
  const float* filled_ = nullptr;  // what buffer_ holds, as an input
  dnnl::memory user_, buffer_;
  dnnl::reorder to_wanted_, to_plain_;
};

// One convolution's shapes in oneDNN's terms (weights as (g)oihw over ONNX's memory,
// dilations counted from 0 as oneDNN does).
struct ConvPrimitiveShape {
  dnnl::memory::dims x, w, y, strides, dilations, pad_l, pad_r;
  int64_t out_channels = 0;
  bool bias = false;
};

class ConvPrimitives {
 public:
  explicit ConvPrimitives(const ConvPrimitiveShape& s);
  // y = conv(x, w) + b (b null when the shape has no bias).
  void forward(const float* x, const float* w, const float* b, float* y);
  // From dy and the inputs of the last forward: dx (the adjoint of conv in x), dw and db,
  // each overwritten where not null (db only with a bias).
  void backward(const float* x, const float* w, const float* dy, float* dx, float* dw, float* db);
  // oneDNN's names of the implementations chosen, for the measurements.
  std::string impl() const;

 private:
  ConvPrimitiveShape s_;
  dnnl::convolution_forward::primitive_desc fwd_pd_;
  dnnl::convolution_forward fwd_;
  OnednnEdge fx_, fw_, fy_;
  std::optional<
      std::pair<dnnl::convolution_backward_data::primitive_desc, dnnl::convolution_backward_data>>
      bwd_data_;
  OnednnEdge bdy_, bw_, bdx_;
  bool bwd_weights_built_ = false;
  dnnl::convolution_backward_weights::primitive_desc bwd_weights_pd_;
  dnnl::convolution_backward_weights bwd_weights_;
  OnednnEdge wx_, wdy_, wdw_;
  std::vector<float> discarded_bias_;
};

struct PoolPrimitiveShape {
  dnnl::algorithm algorithm = dnnl::algorithm::pooling_max;
  dnnl::memory::dims x, y, kernel, strides, dilations, pad_l, pad_r;
};

class PoolPrimitives {
 public:
  // `training`: forward_training (max pooling keeps its workspace for backward()).
  PoolPrimitives(const PoolPrimitiveShape& s, bool training);
  void forward(const float* x, float* y);
  // dx overwritten, from the workspace of the last forward (training only).
  void backward(const float* dy, float* dx);

 private:
  PoolPrimitiveShape s_;
  bool training_;
  dnnl::pooling_v2_forward::primitive_desc fwd_pd_;
  dnnl::pooling_v2_forward fwd_;
  dnnl::memory workspace_;  // empty for average pooling and inference
  std::optional<std::pair<dnnl::pooling_v2_backward::primitive_desc, dnnl::pooling_v2_backward>>
      bwd_;
};

// Primitives by key (input shape, thread count, ...), most recently built last; the
// oldest is dropped past `kMaxEntries` so that odd batch sizes cannot grow it forever.
template <typename T>
class PrimitiveCache {
 public:
  template <typename Make>
  T& get(const std::vector<int64_t>& key, Make&& make) {
    for (auto& [k, v] : entries_)
      if (k == key) return *v;
    if (entries_.size() >= kMaxEntries) entries_.erase(entries_.begin());
    entries_.emplace_back(key, std::make_unique<T>(make()));
    return *entries_.back().second;
  }

 private:
  static constexpr size_t kMaxEntries = 8;
  std::vector<std::pair<std::vector<int64_t>, std::unique_ptr<T>>> entries_;
};

// The calling thread's oneDNN thread count, part of every cache key: oneDNN splits work
// when a primitive is built, and results are reproducible for a given count.
int64_t onednn_threads();

}  // namespace frugal::train
