// The `emu` backend: runs a model with weights, activations and accumulators in emulated
// number formats (BackendConfig.format, see emu_config.h).
//   Conv, Gemm, MatMul  weights quantized to W once at compile (a non-constant weight operand
//                       to A on every run), activations to A on every run, then emu_gemm with
//                       the accumulator; the output stays a binary32 float.
//   frugal.BlockCirculant  as the dense layer it stands for: its b values per block rounded
//                       to W once, expanded to the dense [out, in] matrix, then as Gemm
//                       (the bias seeding the accumulator as Gemm's C)
//   every other op      its reference kernel in fp32 on float inputs rounded to A (constant
//                       inputs such as BatchNormalization statistics stay fp32); its impl
//                       string says so, so the session's assignment report names it.
//   fused post-ops      (ops/post_ops.h: a Relu or residual Add the graph passes folded into
//                       the node) run as the unfused ops would: each in fp32 on its input
//                       rounded to A, the sum operand rounded to A as well.
#include <algorithm>
#include <memory>
#include <vector>

#include "frugal/core/error.h"
#include "frugal/kernels/backend.h"
#include "frugal/kernels/circulant_fft.h"
#include "frugal/kernels/emu/emu_config.h"
#include "frugal/kernels/emu/emu_gemm.h"
#include "frugal/numeric/quantize.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/post_ops.h"
#include "frugal/ops/util.h"

namespace frugal::kernels::emu {
namespace {

bool is_f32(const ops::TensorInfo* t) {
  return t && t->dtype == DType::kF32;
}

Tensor quantized(const Tensor& t, const numeric::NumberFormat& f, const numeric::Rounding& r) {
  return numeric::quantize_tensor(t, f, r);
}

// An activation rounded to A into a buffer the kernel keeps between runs.
const float* round_activation(const Tensor& t, const EmuConfig& c, std::vector<float>& buf) {
  buf.resize(static_cast<size_t>(t.numel()));
  numeric::quantize(t.span<float>(), buf, c.activations, c.rounding);
  return buf.data();
}

std::string describe(const EmuConfig& c) {
  return "emu: " + to_string(c);
}

// The node's fused post-ops, applied one at a time to the output rounded to A (what the
// Relu or Add nodes they replace would compute under the emulator).
class FusedPostOps {
 public:
  explicit FusedPostOps(const ir::Node& node) {
    if (!ops::has_post_ops(node)) return;
    ops_ = ops::post_ops_of(node);
    sum_index_ = ops::sum_operand_index(node.op_type);
  }
  void apply(ops::KernelContext& ctx, Tensor& y, const EmuConfig& c) {
    for (const ops::PostOp& op : ops_) {
      numeric::quantize(y.span<float>(), y.span<float>(), c.activations, c.rounding);
      const Tensor* sum = nullptr;
      if (op.kind == ops::PostOp::Kind::kSum) {
        const Tensor& s = ctx.input(sum_index_);
        if (!sum_.defined() || sum_.shape() != s.shape()) sum_ = Tensor(DType::kF32, s.shape());
        numeric::quantize(s.span<float>(), sum_.span<float>(), c.activations, c.rounding);
        sum = &sum_;
      }
      ops::apply_post_ops({op}, y, sum);
    }
  }

 private:
  std::vector<ops::PostOp> ops_;
  size_t sum_index_ = 0;
  Tensor sum_;
};

class ConvKernel final : public Kernel {
 public:
  ConvKernel(const NodeView& v, const EmuConfig& c) : c_(c), post_(v.node) {
    if (v.inputs[1]->value) weights_ = quantized(*v.inputs[1]->value, c.weights, c.rounding);
  }
  void run(ops::KernelContext& ctx) override {
    const Tensor& X = ctx.input(0);
    const Tensor& W = ctx.input(1);
    Tensor& Y = ctx.output(0);
    const std::vector<int64_t> xs(X.shape().begin() + 2, X.shape().end());
    const std::vector<int64_t> ws(W.shape().begin() + 2, W.shape().end());
    const ops::WindowGeometry g =
        ops::as_3d(ctx.node(), ops::sliding_window(ctx.node(), xs, ws, false));
    ConvShape s;
    s.batch = X.dim(0);
    s.in_channels = X.dim(1);
    s.out_channels = W.dim(0);
    s.group = ctx.node().attr_int("group", 1);
    for (int d = 0; d < 3; ++d) {
      s.in[d] = g.in[d];
      s.kernel[d] = g.kernel[d];
      s.out[d] = g.out[d];
      s.strides[d] = g.strides[d];
      s.dilations[d] = g.dilations[d];
      s.pad_begin[d] = g.pad_begin[d];
    }
    const float* w = weights_.defined() ? weights_.data<float>() : nullptr;
    if (!w) {
      w_buf_.resize(static_cast<size_t>(W.numel()));
      numeric::quantize(W.span<float>(), w_buf_, c_.activations, c_.rounding);
      w = w_buf_.data();
    }
    const float* bias = ctx.has_input(2) ? ctx.input(2).data<float>() : nullptr;
    emu_conv(s, round_activation(X, c_, x_buf_), w, bias, Y.data<float>(), c_.acc);
    post_.apply(ctx, Y, c_);
  }
  std::string impl() const override { return describe(c_); }

 private:
  EmuConfig c_;
  FusedPostOps post_;
  Tensor weights_;
  std::vector<float> x_buf_, w_buf_;
};

// Gemm: Y = alpha * A' * B' + beta * C. With alpha = 1 and beta = 1 (or no C), C starts the
// accumulator; otherwise the scaling and C are applied to the accumulated product in fp32.
class GemmKernel final : public Kernel {
 public:
  GemmKernel(const NodeView& v, const EmuConfig& c) : c_(c), post_(v.node) {
    const ir::Node& n = v.node;
    trans_a_ = n.attr_int("transA", 0) != 0;
    trans_b_ = n.attr_int("transB", 0) != 0;
    alpha_ = n.attr_float("alpha", 1.0f);
    beta_ = n.attr_float("beta", 1.0f);
    if (v.inputs[1]->value) {
      Tensor b = quantized(*v.inputs[1]->value, c.weights, c.rounding);
      if (trans_b_) {  // stored K x N once, so that runs need no packing
        const int64_t N = b.dim(0), K = b.dim(1);
        Tensor t(DType::kF32, {K, N});
        const float* src = b.data<float>();
        float* dst = t.data<float>();
        for (int64_t j = 0; j < N; ++j)
          for (int64_t p = 0; p < K; ++p) dst[p * N + j] = src[j * K + p];
        b = t;
      }
      weights_ = b;
    }
  }
  void run(ops::KernelContext& ctx) override {
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(1);
    Tensor& Y = ctx.output(0);
    const int64_t M = Y.dim(0), N = Y.dim(1);
    const int64_t K = trans_a_ ? A.dim(0) : A.dim(1);
    const float* a = round_activation(A, c_, a_buf_);
    const float* b = nullptr;
    bool tb = trans_b_;
    if (weights_.defined()) {
      b = weights_.data<float>();
      tb = false;
    } else {
      b_buf_.resize(static_cast<size_t>(B.numel()));
      numeric::quantize(B.span<float>(), b_buf_, c_.activations, c_.rounding);
      b = b_buf_.data();
    }
    float* y = Y.data<float>();
    const bool has_c = ctx.has_input(2) && ctx.input(2).defined() && beta_ != 0.0f;
    const bool c_first = alpha_ == 1.0f && (!has_c || beta_ == 1.0f);
    auto c_at = [&](int64_t i, int64_t j) {
      const Tensor& C = ctx.input(2);
      const int64_t rows = C.rank() == 2 ? C.dim(0) : 1;
      const int64_t cols = C.rank() >= 1 ? C.dim(-1) : 1;
      return C.data<float>()[(rows == 1 ? 0 : i) * cols + (cols == 1 ? 0 : j)];
    };
    if (c_first && has_c)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j) y[i * N + j] = c_at(i, j);
    emu_gemm(trans_a_, tb, M, N, K, a, trans_a_ ? M : K, b, tb ? K : N, y, N, c_.acc,
             c_first && has_c);
    if (!c_first)
      for (int64_t i = 0; i < M; ++i)
        for (int64_t j = 0; j < N; ++j)
          y[i * N + j] = alpha_ * y[i * N + j] + (has_c ? beta_ * c_at(i, j) : 0.0f);
    post_.apply(ctx, Y, c_);
  }
  std::string impl() const override { return describe(c_); }

 private:
  EmuConfig c_;
  FusedPostOps post_;
  bool trans_a_ = false, trans_b_ = false;
  float alpha_ = 1, beta_ = 1;
  Tensor weights_;
  std::vector<float> a_buf_, b_buf_;
};

// MatMul with numpy semantics: 1-D operands get a unit dimension, batch dimensions broadcast.
class MatMulKernel final : public Kernel {
 public:
  MatMulKernel(const NodeView& v, const EmuConfig& c) : c_(c), post_(v.node) {
    if (v.inputs[1]->value) weights_ = quantized(*v.inputs[1]->value, c.weights, c.rounding);
  }
  void run(ops::KernelContext& ctx) override {
    const Tensor& A = ctx.input(0);
    const Tensor& B = ctx.input(1);
    Tensor& Y = ctx.output(0);
    Shape as = A.shape(), bs = B.shape();
    if (as.size() == 1) as.insert(as.begin(), 1);
    if (bs.size() == 1) bs.push_back(1);
    const int64_t M = as[as.size() - 2], K = as.back(), N = bs.back();
    const Shape a_batch(as.begin(), as.end() - 2), b_batch(bs.begin(), bs.end() - 2);
    Shape batch = a_batch.size() >= b_batch.size() ? a_batch : b_batch;
    for (size_t d = 0; d < batch.size(); ++d) {  // right-aligned broadcast of the batch dims
      const size_t ra = batch.size() - d;
      const int64_t da = ra <= a_batch.size() ? a_batch[a_batch.size() - ra] : 1;
      const int64_t db = ra <= b_batch.size() ? b_batch[b_batch.size() - ra] : 1;
      batch[d] = std::max(da, db);
    }
    const float* a = round_activation(A, c_, a_buf_);
    const float* b = nullptr;
    if (weights_.defined()) {
      b = weights_.data<float>();
    } else {
      b_buf_.resize(static_cast<size_t>(B.numel()));
      numeric::quantize(B.span<float>(), b_buf_, c_.activations, c_.rounding);
      b = b_buf_.data();
    }
    float* y = Y.data<float>();
    ops::for_each_broadcast(batch, {a_batch, b_batch}, [&](int64_t o, const int64_t* off) {
      emu_gemm(false, false, M, N, K, a + off[0] * M * K, K, b + off[1] * K * N, N, y + o * M * N,
               N, c_.acc);
    });
    post_.apply(ctx, Y, c_);
  }
  std::string impl() const override { return describe(c_); }

 private:
  EmuConfig c_;
  FusedPostOps post_;
  Tensor weights_;
  std::vector<float> a_buf_, b_buf_;
};

// frugal.BlockCirculant with a constant weight: the dense equivalent of the W-rounded blocks,
// the product on emu_gemm as a dense layer's.
class CirculantKernel final : public Kernel {
 public:
  CirculantKernel(const NodeView& v, const EmuConfig& c)
      : c_(c),
        s_(ops::circulant_blocks(*v.inputs[1]->shape, v.node)),
        layout_(ops::feature_layout(*v.inputs[0]->shape, v.node.attr_int("axis", -1))) {
    const Tensor w = quantized(*v.inputs[1]->value, c.weights, c.rounding);
    dense_ = ops::circulant_dense(w.data<float>(), s_);
  }
  void run(ops::KernelContext& ctx) override {
    const int64_t rows = layout_.outer * layout_.inner;
    const float* a = round_activation(ctx.input(0), c_, a_buf_);
    if (layout_.inner != 1) {
      rows_in_.resize(static_cast<size_t>(rows * s_.in));
      gather_rows(a, layout_, s_.in, rows_in_.data());
      a = rows_in_.data();
    }
    float* y = ctx.output(0).data<float>();
    float* yr = y;
    if (layout_.inner != 1) {
      rows_out_.resize(static_cast<size_t>(rows * s_.out));
      yr = rows_out_.data();
    }
    // The bias seeds the accumulator, as Gemm's C does.
    const bool bias = ctx.has_input(2);
    if (bias)
      for (int64_t r = 0; r < rows; ++r)
        std::copy_n(ctx.input(2).data<float>(), s_.out, yr + r * s_.out);
    emu_gemm(false, true, rows, s_.out, s_.in, a, s_.in, dense_.data(), s_.in, yr, s_.out, c_.acc,
             bias);
    if (layout_.inner != 1) scatter_rows(yr, s_.out, {layout_.outer, s_.out, layout_.inner}, y);
  }
  std::string impl() const override { return describe(c_) + " (block-circulant as dense)"; }

 private:
  EmuConfig c_;
  ops::CirculantBlocks s_;
  ops::FeatureLayout layout_;
  std::vector<float> dense_, a_buf_, rows_in_, rows_out_;
};

// Any op with a reference kernel: fp32 on its float inputs rounded to the activation format.
class RoundedInputsKernel final : public Kernel {
 public:
  RoundedInputsKernel(const ops::OpDef& def, const NodeView& v, const EmuConfig& c)
      : def_(def), c_(c), base_(ops::base_node(v.node)), post_(v.node) {
    for (const auto* in : v.inputs) round_.push_back(is_f32(in) && !in->value);
    rounded_.resize(round_.size());
  }
  void run(ops::KernelContext& ctx) override {
    const size_t own = std::min(ctx.num_inputs(), base_.inputs.size());
    std::vector<const Tensor*> ins(own, nullptr);
    for (size_t i = 0; i < own; ++i) {
      if (!ctx.has_input(i)) continue;
      const Tensor& t = ctx.input(i);
      if (i < round_.size() && round_[i] && t.defined() && t.dtype() == DType::kF32) {
        if (!rounded_[i].defined() || rounded_[i].shape() != t.shape())
          rounded_[i] = Tensor(DType::kF32, t.shape());
        numeric::quantize(t.span<float>(), rounded_[i].span<float>(), c_.activations, c_.rounding);
        ins[i] = &rounded_[i];
      } else {
        ins[i] = &t;
      }
    }
    std::vector<Tensor*> outs(ctx.num_outputs(), nullptr);
    for (size_t i = 0; i < ctx.num_outputs(); ++i)
      if (ctx.has_output(i)) outs[i] = &ctx.output(i);
    ops::KernelContext inner(base_, ctx.opset(), ins, outs);
    def_.ref(inner);
    if (ctx.has_output(0) && ctx.output(0).dtype() == DType::kF32)
      post_.apply(ctx, ctx.output(0), c_);
  }
  std::string impl() const override {
    return "emu: fp32 on a-rounded inputs (a=" + numeric::to_string(c_.activations) + ")";
  }

 private:
  const ops::OpDef& def_;
  EmuConfig c_;
  ir::Node base_;  // the node without fused post-ops
  FusedPostOps post_;
  std::vector<bool> round_;
  std::vector<Tensor> rounded_;
};

class EmuBackend final : public Backend {
 public:
  explicit EmuBackend(const BackendConfig& config) : c_(parse_emu_config(config.format)) {}
  std::string name() const override { return "emu"; }
  std::unique_ptr<Kernel> create(const NodeView& v, std::string& why_not) override {
    const std::string& op = v.node.op_type;
    const bool onnx = v.node.domain.empty() || v.node.domain == "ai.onnx";
    const bool float_io = v.inputs.size() >= 2 && is_f32(v.inputs[0]) && is_f32(v.inputs[1]) &&
                          !v.outputs.empty() && is_f32(v.outputs[0]) && !v.dynamic;
    if (onnx && float_io) {
      if (op == "Conv" && (v.inputs.size() < 3 || !v.inputs[2] || is_f32(v.inputs[2])))
        return std::make_unique<ConvKernel>(v, c_);
      if (op == "Gemm" && (v.inputs.size() < 3 || !v.inputs[2] || is_f32(v.inputs[2])))
        return std::make_unique<GemmKernel>(v, c_);
      if (op == "MatMul") return std::make_unique<MatMulKernel>(v, c_);
    }
    if (v.node.domain == ops::kFrugalDomain && op == ops::kBlockCirculant && float_io &&
        v.inputs[1]->value && !ops::has_post_ops(v.node))
      return std::make_unique<CirculantKernel>(v, c_);
    const ops::OpDef* def = ops::find_op(v.node.domain, op);
    if (!def || !def->ref) {
      why_not = "no reference kernel for " + op;
      return nullptr;
    }
    return std::make_unique<RoundedInputsKernel>(*def, v, c_);
  }

 private:
  EmuConfig c_;
};

}  // namespace

FRUGAL_REGISTER_BACKEND(
    emu, "emu", [](const BackendConfig& config) { return std::make_unique<EmuBackend>(config); },
    [] {
      BackendTraits t;
      t.reads_format = true;
      return t;
    }());

}  // namespace frugal::kernels::emu
