// The cuda backend's kernels on its own device code (cuda_kernels.cu) and on plain
// device copies: pooling, BatchNormalization (inference), elementwise and binary
// operators (Gelu included), softmax, LayerNormalization, Attention, Resize, Concat, Split,
// Gather, Transpose and the shape-only operators.
#include <algorithm>
#include <limits>

#include "frugal/kernels/cuda/cuda_build.h"
#include "frugal/kernels/cuda/host_plan.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/elementwise.h"
#include "frugal/ops/resize.h"

namespace frugal::kernels::cuda {
namespace {

int64_t product(const Shape& s, size_t from, size_t to) {
  int64_t p = 1;
  for (size_t d = from; d < to && d < s.size(); ++d) p *= s[d];
  return p;
}

// ---- Pooling ----

class PoolKernel final : public CudaKernel {
 public:
  PoolKernel(const Build& b, const Pool2d& p) : CudaKernel(b), p_(p) {
    impl_ = p.max ? "cuda:maxpool" : "cuda:avgpool";
  }
  void run(ops::KernelContext& ctx) override {
    launch_pool2d(out(ctx), in(ctx, 0), p_, stream());
    check_launch("pool2d");
  }

 private:
  Pool2d p_;
};

std::unique_ptr<Kernel> make_pool(const Build& b, bool max) {
  const Shape& x = b.in_shape(0);
  if (x.size() != 3 && x.size() != 4) decline("only 1-D and 2-D pooling");
  if (b.view.outputs.size() > 1 && b.view.outputs[1]) decline("Indices output not implemented");
  if (b.node().attr_string("auto_pad", "NOTSET") != "NOTSET" && b.node().has_attr("pads"))
    decline("auto_pad with pads");
  const std::vector<int64_t> in(x.begin() + 2, x.end());
  const std::vector<int64_t> kernel = b.node().attr_ints("kernel_shape");
  const bool ceil_mode = b.node().attr_int("ceil_mode", 0) != 0;
  const ops::WindowGeometry g = ops::sliding_window(b.node(), in, kernel, ceil_mode);
  const Window2d win = window_2d(g);
  Pool2d p;
  p.n = x[0];
  p.c = x[1];
  p.h = x.size() == 3 ? 1 : x[2];
  p.w = x.back();
  const Shape& y = b.out_shape();
  p.oh = y.size() == 3 ? 1 : y[2];
  p.ow = y.back();
  p.kh = static_cast<int>(win.kh);
  p.kw = static_cast<int>(win.kw);
  p.sh = static_cast<int>(win.sh);
  p.sw = static_cast<int>(win.sw);
  p.dh = static_cast<int>(win.dh);
  p.dw = static_cast<int>(win.dw);
  p.ph = static_cast<int>(win.ph);
  p.pw = static_cast<int>(win.pw);
  p.ph_end = static_cast<int>(win.ph_end);
  p.pw_end = static_cast<int>(win.pw_end);
  p.max = max;
  p.count_include_pad = b.node().attr_int("count_include_pad", 0) != 0;
  return std::make_unique<PoolKernel>(b, p);
}

class GlobalPoolKernel final : public CudaKernel {
 public:
  GlobalPoolKernel(const Build& b, bool max)
      : CudaKernel(b),
        max_(max),
        outer_(product(b.in_shape(0), 0, 2)),
        inner_(product(b.in_shape(0), 2, b.in_shape(0).size())) {
    impl_ = max ? "cuda:global_maxpool" : "cuda:global_avgpool";
  }
  void run(ops::KernelContext& ctx) override {
    launch_reduce_inner(out(ctx), in(ctx, 0), outer_, inner_, max_, stream());
    check_launch("reduce_inner");
  }

 private:
  bool max_;
  int64_t outer_, inner_;
};

// ---- Elementwise (the epilogue kernel with no scale, bias or conversion) ----

class EpilogueKernel final : public CudaKernel {
 public:
  EpilogueKernel(const Build& b, const Epilogue& e, std::string impl)
      : CudaKernel(b), e_(e), n_(shape_numel(b.out_shape())) {
    impl_ = std::move(impl);
  }
  // Scale and bias given as host vectors (BatchNorm's folded statistics).
  void set_scale_bias(const std::vector<float>& scale, const std::vector<float>& bias) {
    scale_ = device().upload(scale.data(), scale.size() * sizeof(float));
    bias_ = device().upload(bias.data(), bias.size() * sizeof(float));
    e_.scale = static_cast<const float*>(scale_.get());
    e_.bias = static_cast<const float*>(bias_.get());
  }
  void run(ops::KernelContext& ctx) override {
    launch_epilogue(out(ctx), in(ctx, 0), Storage::kF32, n_, e_, stream());
    check_launch("epilogue");
  }

 private:
  Epilogue e_;
  int64_t n_;
  std::shared_ptr<void> scale_, bias_;
};

float scalar_bound(const Build& b, size_t i, float dflt) {
  if (b.node().op_type == "Clip" && b.view.opset < 11)
    return b.node().attr_float(i == 1 ? "min" : "max", dflt);
  if (!b.has_input(i)) return dflt;
  const Tensor* c = b.constant(i);
  if (!c || c->dtype() != DType::kF32 || c->numel() != 1)
    decline("Clip bounds not constant scalars");
  return c->data<float>()[0];
}

DevicePostOp unary_op(const Build& b) {
  const ir::Node& n = b.node();
  const std::string& t = n.op_type;
  if (t == "Relu") return {DevicePostOp::kRelu, 0, 0};
  if (t == "LeakyRelu") return {DevicePostOp::kLeakyRelu, n.attr_float("alpha", 0.01f), 0};
  if (t == "Sigmoid") return {DevicePostOp::kSigmoid, 0, 0};
  if (t == "Tanh") return {DevicePostOp::kTanh, 0, 0};
  if (t == "HardSwish") return {DevicePostOp::kHardSwish, 0, 0};
  if (t == "HardSigmoid")
    return {DevicePostOp::kHardSigmoid, n.attr_float("alpha", 0.2f), n.attr_float("beta", 0.5f)};
  if (t == "Gelu") {
    const std::string a = n.attr_string("approximate", "none");
    if (a != "none" && a != "tanh") decline("approximate = '" + a + "'");
    return {a == "tanh" ? DevicePostOp::kGeluTanh : DevicePostOp::kGeluErf, 0, 0};
  }
  // Clip
  return {DevicePostOp::kClip, scalar_bound(b, 1, std::numeric_limits<float>::lowest()),
          scalar_bound(b, 2, std::numeric_limits<float>::max())};
}

// ---- Binary with broadcasting ----

class BinaryKernel final : public CudaKernel {
 public:
  BinaryKernel(const Build& b, const Broadcast& bc, BinaryOp op)
      : CudaKernel(b), bc_(bc), op_(op), n_(shape_numel(b.out_shape())) {
    impl_ = "cuda:binary";
  }
  void run(ops::KernelContext& ctx) override {
    launch_binary(out(ctx), in(ctx, 0), in(ctx, 1), n_, bc_, op_, stream());
    check_launch("binary");
  }

 private:
  Broadcast bc_;
  BinaryOp op_;
  int64_t n_;
};

// Strides of `s` right-aligned to `rank` dimensions, 0 along broadcast ones.
void broadcast_strides(const Shape& s, const Shape& out, int64_t* strides) {
  const size_t rank = out.size(), lead = rank - s.size();
  int64_t stride = 1;
  for (size_t d = rank; d-- > 0;) {
    const int64_t dim = d < lead ? 1 : s[d - lead];
    strides[d] = dim == 1 && out[d] != 1 ? 0 : stride;
    stride *= dim;
  }
}

// ---- Softmax ----

class SoftmaxKernel final : public CudaKernel {
 public:
  SoftmaxKernel(const Build& b, int64_t outer, int64_t axis, int64_t inner, bool log)
      : CudaKernel(b), outer_(outer), axis_(axis), inner_(inner), log_(log) {
    impl_ = log ? "cuda:logsoftmax" : "cuda:softmax";
  }
  void run(ops::KernelContext& ctx) override {
    launch_softmax(out(ctx), in(ctx, 0), outer_, axis_, inner_, log_, stream());
    check_launch("softmax");
  }

 private:
  int64_t outer_, axis_, inner_;
  bool log_;
};

// ---- LayerNormalization ----

class LayerNormKernel final : public CudaKernel {
 public:
  LayerNormKernel(const Build& b, int64_t rows, int64_t size, const std::vector<float>& scale,
                  const std::vector<float>& bias)
      : CudaKernel(b),
        rows_(rows),
        size_(size),
        epsilon_(b.node().attr_float("epsilon", 1e-5f)),
        scale_(device().upload(scale.data(), scale.size() * sizeof(float))),
        bias_(bias.empty() ? nullptr : device().upload(bias.data(), bias.size() * sizeof(float))) {
    impl_ = "cuda:layernorm";
  }
  void run(ops::KernelContext& ctx) override {
    float* mean = ctx.has_output(1) ? out(ctx, 1) : nullptr;
    float* inv = ctx.has_output(2) ? out(ctx, 2) : nullptr;
    launch_layer_norm(out(ctx), in(ctx, 0), rows_, size_, epsilon_,
                      static_cast<const float*>(scale_.get()),
                      static_cast<const float*>(bias_.get()), mean, inv, stream());
    check_launch("layer_norm");
  }

 private:
  int64_t rows_, size_;
  float epsilon_;
  std::shared_ptr<void> scale_, bias_;
};

// Scale or B (constant) broadcast to the normalized shape: one value per element of a row.
std::vector<float> expand_to_row(const Build& b, size_t i, const Shape& normalized) {
  const Tensor* c = b.constant(i);
  if (!c) decline(std::string(i == 1 ? "Scale" : "B") + " not constant");
  Tensor full(DType::kF32, normalized);
  ops::elementwise::broadcast_copy<float>(*c, full);
  const float* p = full.data<float>();
  return std::vector<float>(p, p + full.numel());
}

// ---- Attention (domain frugal) ----

class AttentionKernel final : public CudaKernel {
 public:
  AttentionKernel(const Build& b, const AttentionShape& s) : CudaKernel(b), s_(s) {
    impl_ = "cuda:attention";
  }
  void run(ops::KernelContext& ctx) override {
    const float* mask = ctx.has_input(3) ? in(ctx, 3) : nullptr;
    launch_attention(out(ctx), in(ctx, 0), in(ctx, 1), in(ctx, 2), mask, s_, stream());
    check_launch("attention");
  }

 private:
  AttentionShape s_;
};

// ---- Data movement: device-to-device copies ----

class ConcatKernel final : public CudaKernel {
 public:
  ConcatKernel(const Build& b, size_t axis) : CudaKernel(b) {
    const Shape& y = b.out_shape();
    outer_ = product(y, 0, axis);
    const int64_t inner = product(y, axis + 1, y.size());
    row_ = static_cast<size_t>(y[axis] * inner) * sizeof(float);
    for (size_t i = 0; i < b.view.inputs.size(); ++i)
      widths_.push_back(
          b.has_input(i) ? static_cast<size_t>(b.in_shape(i)[axis] * inner) * sizeof(float) : 0);
    impl_ = "cuda:concat";
  }
  void run(ops::KernelContext& ctx) override {
    char* y = reinterpret_cast<char*>(out(ctx));
    size_t offset = 0;
    for (size_t i = 0; i < widths_.size(); ++i) {
      if (widths_[i] == 0) continue;
      check(cudaMemcpy2DAsync(y + offset, row_, in_raw(ctx, i), widths_[i], widths_[i],
                              static_cast<size_t>(outer_), cudaMemcpyDeviceToDevice, stream()),
            "cudaMemcpy2DAsync");
      offset += widths_[i];
    }
  }

 private:
  int64_t outer_ = 1;
  size_t row_ = 0;
  std::vector<size_t> widths_;  // bytes of each input per outer row
};

// The inverse of Concat: each output is a column block of the input's rows.
class SplitKernel final : public CudaKernel {
 public:
  SplitKernel(const Build& b, size_t axis) : CudaKernel(b) {
    const Shape& x = b.in_shape(0);
    outer_ = product(x, 0, axis);
    const int64_t inner = product(x, axis + 1, x.size());
    row_ = static_cast<size_t>(x[axis] * inner) * sizeof(float);
    for (size_t o = 0; o < b.view.outputs.size(); ++o)
      widths_.push_back(b.view.outputs[o]
                            ? static_cast<size_t>(b.out_shape(o)[axis] * inner) * sizeof(float)
                            : 0);
    impl_ = "cuda:split";
  }
  void run(ops::KernelContext& ctx) override {
    const char* x = static_cast<const char*>(in_raw(ctx, 0));
    size_t offset = 0;
    for (size_t o = 0; o < widths_.size(); ++o) {
      if (widths_[o] > 0 && ctx.has_output(o))
        check(cudaMemcpy2DAsync(out(ctx, o), widths_[o], x + offset, row_, widths_[o],
                                static_cast<size_t>(outer_), cudaMemcpyDeviceToDevice, stream()),
              "cudaMemcpy2DAsync");
      offset += widths_[o];
    }
  }

 private:
  int64_t outer_ = 1;
  size_t row_ = 0;
  std::vector<size_t> widths_;  // bytes of each output per outer row (0: omitted)
};

class ResizeKernel final : public CudaKernel {
 public:
  ResizeKernel(const Build& b, const ResizeTable& t, const std::vector<int64_t>& index,
               const std::vector<float>& weight)
      : CudaKernel(b),
        t_(t),
        n_(shape_numel(b.out_shape())),
        index_(device().upload(index.data(), index.size() * sizeof(int64_t))),
        weight_(device().upload(weight.data(), weight.size() * sizeof(float))) {
    impl_ = "cuda:resize";
  }
  void run(ops::KernelContext& ctx) override {
    launch_resize(out(ctx), in(ctx, 0), n_, t_, static_cast<const int64_t*>(index_.get()),
                  static_cast<const float*>(weight_.get()), stream());
    check_launch("resize");
  }

 private:
  ResizeTable t_;
  int64_t n_;
  std::shared_ptr<void> index_, weight_;
};

// Constant indices: normalized and range-checked on the host, uploaded as int64. Run-time
// indices (int32 or int64, in the arena): normalized by the kernel, which reports one out
// of range through the device's index fault (the node's error is thrown when the stream
// is next synchronised: cuda_device.h).
class GatherKernel final : public CudaKernel {
 public:
  GatherKernel(const Build& b, const GatherShape& s, const std::vector<int64_t>& constant_index)
      : CudaKernel(b),
        s_(s),
        index_(device().upload(constant_index.data(), constant_index.size() * sizeof(int64_t))) {
    impl_ = "cuda:gather";
  }
  GatherKernel(const Build& b, const GatherShape& s, bool index_i32)
      : CudaKernel(b),
        s_(s),
        index_i32_(index_i32),
        site_(device().index_fault_site(b.node().describe(), s.axis_dim)) {
    impl_ = "cuda:gather:run-time";
  }
  void run(ops::KernelContext& ctx) override {
    const void* index = index_ ? index_.get() : in_raw(ctx, 1);
    launch_gather(out(ctx), in(ctx, 0), index, index_i32_, s_,
                  site_ ? device().index_fault() : nullptr, site_, stream());
    check_launch("gather");
  }

 private:
  GatherShape s_;
  std::shared_ptr<void> index_;  // constant indices, normalized
  bool index_i32_ = false;
  int64_t site_ = 0;  // run-time indices: the device's fault site
};

class TransposeKernel final : public CudaKernel {
 public:
  TransposeKernel(const Build& b, const Permute& p)
      : CudaKernel(b), p_(p), n_(shape_numel(b.out_shape())) {
    impl_ = "cuda:transpose";
  }
  void run(ops::KernelContext& ctx) override {
    launch_transpose(out(ctx), in(ctx, 0), n_, p_, stream());
    check_launch("transpose");
  }

 private:
  Permute p_;
  int64_t n_;
};

class CopyKernel final : public CudaKernel {
 public:
  explicit CopyKernel(const Build& b)
      : CudaKernel(b), bytes_(static_cast<size_t>(shape_numel(b.out_shape())) * sizeof(float)) {
    impl_ = "cuda:copy";
  }
  void run(ops::KernelContext& ctx) override {
    check(cudaMemcpyAsync(out(ctx), in_raw(ctx, 0), bytes_, cudaMemcpyDeviceToDevice, stream()),
          "cudaMemcpyAsync");
  }

 private:
  size_t bytes_;
};

}  // namespace

std::unique_ptr<Kernel> make_max_pool(const Build& b) {
  if (b.node().attr_int("storage_order", 0) != 0) decline("storage_order = 1");
  return make_pool(b, true);
}

std::unique_ptr<Kernel> make_average_pool(const Build& b) {
  if (b.node().has_attr("dilations")) {
    for (int64_t d : b.node().attr_ints("dilations"))
      if (d != 1) decline("dilated average pooling");
  }
  return make_pool(b, false);
}

std::unique_ptr<Kernel> make_global_average_pool(const Build& b) {
  return std::make_unique<GlobalPoolKernel>(b, false);
}

std::unique_ptr<Kernel> make_global_max_pool(const Build& b) {
  return std::make_unique<GlobalPoolKernel>(b, true);
}

// Inference form: y = x * a[c] + (B[c] - mean[c] * a[c]), a = scale / sqrt(var + eps),
// computed in double at plan time as the reference does.
std::unique_ptr<Kernel> make_batch_norm(const Build& b) {
  if (b.node().attr_int("training_mode", 0) != 0) decline("training_mode = 1");
  if (b.view.outputs.size() > 1) decline("training statistics outputs");
  for (size_t i = 1; i <= 4; ++i)
    if (!b.constant(i)) decline("scale, B, mean and var must be constants");
  const Shape& x = b.in_shape(0);
  if (x.size() < 2) decline("input of rank " + std::to_string(x.size()));
  const auto scale = b.constant(1)->to_double(), bias = b.constant(2)->to_double();
  const auto mean = b.constant(3)->to_double(), var = b.constant(4)->to_double();
  const double eps = b.node().attr_float("epsilon", 1e-5f);
  std::vector<float> a(scale.size()), c(scale.size());
  for (size_t k = 0; k < scale.size(); ++k) {
    const double s = scale[k] / std::sqrt(var[k] + eps);
    a[k] = static_cast<float>(s);
    c[k] = static_cast<float>(bias[k] - mean[k] * s);
  }
  // Its activation post-ops (fuse_activations gives a constant BatchNormalization the Relu
  // after it) follow the scale and shift in the same pass.
  Epilogue e = epilogue_of(b);
  e.channels = x[1];
  e.inner = product(x, 2, x.size());
  auto k = std::make_unique<EpilogueKernel>(b, e, "cuda:batchnorm");
  k->set_scale_bias(a, c);
  return k;
}

std::unique_ptr<Kernel> make_unary(const Build& b) {
  Epilogue e;
  e.count = 1;
  e.ops[0] = unary_op(b);
  return std::make_unique<EpilogueKernel>(b, e, "cuda:" + b.node().op_type);
}

std::unique_ptr<Kernel> make_layer_norm(const Build& b) {
  const Shape& x = b.in_shape(0);
  const auto rank = static_cast<int64_t>(x.size());
  int64_t axis = b.node().attr_int("axis", -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) decline("axis out of range");
  if (b.node().attr_int("stash_type", 1) != 1) decline("stash_type other than float32");
  const Shape normalized(x.begin() + axis, x.end());
  const int64_t size = shape_numel(normalized), rows = shape_numel(x) / size;
  if (rows > std::numeric_limits<int32_t>::max()) decline(std::to_string(rows) + " rows");
  const std::vector<float> scale = expand_to_row(b, 1, normalized);
  const std::vector<float> bias =
      b.has_input(2) ? expand_to_row(b, 2, normalized) : std::vector<float>{};
  return std::make_unique<LayerNormKernel>(b, rows, size, scale, bias);
}

// Shapes as ops/attention.cpp checks them at inference: Q [..., tq, d], K [..., tk, d] (K^T
// [..., d, tk] when k_transposed), V [..., tk, dv], the mask broadcast to [..., tq, tk].
std::unique_ptr<Kernel> make_attention(const Build& b) {
  const Shape& q = b.in_shape(0);
  const Shape& k = b.in_shape(1);
  const Shape& v = b.in_shape(2);
  const size_t r = q.size();
  AttentionShape s;
  s.k_transposed = b.node().attr_int("k_transposed", 0) != 0;
  s.scale = b.node().attr_float("scale", 1.f);
  s.tq = q[r - 2];
  s.d = q[r - 1];
  s.tk = s.k_transposed ? k[r - 1] : k[r - 2];
  s.dv = v[r - 1];
  s.rows = shape_numel(q) / s.d;
  if (s.tk > kMaxAttentionKeys)
    decline(std::to_string(s.tk) + " keys (at most " + std::to_string(kMaxAttentionKeys) + ")");
  if (s.rows > std::numeric_limits<int32_t>::max()) decline(std::to_string(s.rows) + " rows");
  if (b.has_input(3)) {
    Shape scores(q.begin(), q.end() - 1);
    scores.push_back(s.tk);
    s.mask.rank = static_cast<int>(scores.size());
    std::copy(scores.begin(), scores.end(), s.mask.out_dims);
    broadcast_strides(b.in_shape(3), scores, s.mask.a_strides);
  }
  return std::make_unique<AttentionKernel>(b, s);
}

std::unique_ptr<Kernel> make_binary(const Build& b) {
  const std::string& t = b.node().op_type;
  const BinaryOp op = t == "Add"   ? BinaryOp::kAdd
                      : t == "Sub" ? BinaryOp::kSub
                      : t == "Mul" ? BinaryOp::kMul
                                   : BinaryOp::kDiv;
  const Shape& y = b.out_shape();
  Broadcast bc;
  bc.rank = static_cast<int>(y.size());
  if (bc.rank == 0) {  // a scalar result: one element
    bc.rank = 1;
    bc.out_dims[0] = 1;
    bc.a_strides[0] = bc.b_strides[0] = 0;
  } else {
    std::copy(y.begin(), y.end(), bc.out_dims);
    broadcast_strides(b.in_shape(0), y, bc.a_strides);
    broadcast_strides(b.in_shape(1), y, bc.b_strides);
  }
  return std::make_unique<BinaryKernel>(b, bc, op);
}

std::unique_ptr<Kernel> make_softmax(const Build& b) {
  const Shape& x = b.in_shape(0);
  const auto rank = static_cast<int64_t>(x.size());
  const bool coerce_2d = b.view.opset < 13;
  int64_t axis = b.node().attr_int("axis", coerce_2d ? 1 : -1);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) decline("axis out of range");
  const auto a = static_cast<size_t>(axis);
  const bool log = b.node().op_type == "LogSoftmax";
  if (coerce_2d)
    return std::make_unique<SoftmaxKernel>(b, product(x, 0, a), product(x, a, x.size()), 1, log);
  return std::make_unique<SoftmaxKernel>(b, product(x, 0, a), x[a], product(x, a + 1, x.size()),
                                         log);
}

std::unique_ptr<Kernel> make_concat(const Build& b) {
  const Shape& y = b.out_shape();
  int64_t axis = b.node().attr_int("axis");
  if (axis < 0) axis += static_cast<int64_t>(y.size());
  // Constant inputs (a ViT's class token) are uploaded at plan time (host_plan.h).
  return std::make_unique<ConcatKernel>(b, static_cast<size_t>(axis));
}

std::unique_ptr<Kernel> make_split(const Build& b) {
  const Shape& x = b.in_shape(0);
  int64_t axis = b.node().attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(x.size());
  if (b.constant(0)) decline("constant data");
  return std::make_unique<SplitKernel>(b, static_cast<size_t>(axis));
}

// The taps ref computes with (ops/resize.h), flattened per axis; an axis left as it is
// gets one tap of weight 1.
std::unique_ptr<Kernel> make_resize(const Build& b) {
  std::vector<const Tensor*> given;
  for (size_t i = 0; i < b.view.inputs.size(); ++i) {
    if (i > 0 && b.has_input(i) && !b.constant(i)) decline("roi, scales or sizes not constant");
    given.push_back(i > 0 ? b.constant(i) : nullptr);
  }
  const Shape& x = b.in_shape(0);
  const ops::ResizeTaps r = ops::resize_taps(b.node(), b.view.opset, x, given);
  if (r.crop) decline("tf_crop_and_resize not implemented");
  if (r.out != b.out_shape()) decline("output shape differs from the inferred one");
  ResizeTable t;
  t.rank = static_cast<int>(x.size());
  std::vector<int64_t> index;
  std::vector<float> weight;
  int64_t combos = 1, stride = 1;
  for (size_t d = x.size(); d-- > 0;) {
    t.in_strides[d] = stride;
    stride *= x[d];
  }
  for (size_t d = 0; d < x.size(); ++d) {
    const ops::AxisTaps& a = r.axes[d];
    t.out_dims[d] = r.out[d];
    t.first[d] = static_cast<int64_t>(index.size());
    t.taps[d] = a.identity ? 1 : a.taps;
    combos *= t.taps[d];
    for (int64_t o = 0; o < r.out[d]; ++o) {
      if (a.identity) {
        index.push_back(o);
        weight.push_back(1.f);
        continue;
      }
      for (int j = 0; j < a.taps; ++j) {
        index.push_back(a.index[static_cast<size_t>(o * a.taps + j)]);
        weight.push_back(static_cast<float>(a.weight[static_cast<size_t>(o * a.taps + j)]));
      }
    }
  }
  if (combos > kMaxResizeTaps)
    decline(std::to_string(combos) + " taps per output (at most " + std::to_string(kMaxResizeTaps) +
            ")");
  return std::make_unique<ResizeKernel>(b, t, index, weight);
}

// Constant indices (a ViT's class-token pick) or run-time ones (BERT's embedding lookups:
// int64 input ids into a constant table), any axis.
std::unique_ptr<Kernel> make_gather(const Build& b) {
  const Shape& x = b.in_shape(0);
  const auto rank = static_cast<int64_t>(x.size());
  int64_t axis = b.node().attr_int("axis", 0);
  if (axis < 0) axis += rank;
  if (axis < 0 || axis >= rank) decline("axis out of range");
  const ops::TensorInfo& indices = *b.view.inputs.at(1);
  if (!indices.shape) decline("indices of a shape known only at run time");
  const auto a = static_cast<size_t>(axis);
  GatherShape s;
  s.outer = product(x, 0, a);
  s.n_index = shape_numel(*indices.shape);
  s.inner = product(x, a + 1, x.size());
  s.axis_dim = x[a];
  if (s.n_index == 0) decline("no indices");
  if (const Tensor* c = b.constant(1)) {
    std::vector<int64_t> index;
    for (int64_t v : c->to_int64()) {
      const int64_t at = normalized_index(v, s.axis_dim);
      if (at < 0)
        decline("index " + std::to_string(v) + " out of range for " + std::to_string(s.axis_dim));
      index.push_back(at);
    }
    return std::make_unique<GatherKernel>(b, s, index);
  }
  if (indices.dtype != DType::kI32 && indices.dtype != DType::kI64)
    decline("indices of " + std::string(dtype_name(indices.dtype)));
  return std::make_unique<GatherKernel>(b, s, indices.dtype == DType::kI32);
}

std::unique_ptr<Kernel> make_transpose(const Build& b) {
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape();
  std::vector<int64_t> perm = b.node().attr_ints("perm");
  if (perm.empty())
    for (size_t d = x.size(); d-- > 0;) perm.push_back(static_cast<int64_t>(d));
  Permute p;
  p.rank = static_cast<int>(std::max<size_t>(y.size(), 1));
  std::vector<int64_t> strides(x.size(), 1);
  for (size_t d = x.size(); d-- > 1;) strides[d - 1] = strides[d] * x[d];
  if (y.empty()) {
    p.out_dims[0] = 1;
    p.in_strides[0] = 0;
  }
  for (size_t d = 0; d < y.size(); ++d) {
    p.out_dims[d] = y[d];
    p.in_strides[d] = strides[static_cast<size_t>(perm[d])];
  }
  return std::make_unique<TransposeKernel>(b, p);
}

std::unique_ptr<Kernel> make_reshape(const Build& b) {
  if (b.constant(0)) decline("constant data");
  return std::make_unique<CopyKernel>(b);
}

}  // namespace frugal::kernels::cuda
