// LSTM, GRU and RNN on oneDNN's recurrent primitives (lstm_forward, gru_forward,
// lbr_gru_forward for linear_before_reset, vanilla_rnn_forward), float32, one layer.
//
// ONNX and oneDNN order the gates differently: ONNX's LSTM weights hold i, o, f, c and its
// peepholes i, o, f; oneDNN wants i, f, c, o and i, f, o. GRU's z, r, h is oneDNN's u, r, o.
// The weights are therefore rebuilt once, at kernel build, in oneDNN's ldigo order, with
// ONNX's two biases summed (oneDNN has one), except the linear-before-reset GRU, whose
// fourth oneDNN bias is ONNX's Rbh. Y ([seq, dirs, batch, hidden]) is oneDNN's
// bidirectional_concat output ([seq, batch, dirs*hidden]) permuted by a strided copy.
//
// Declined (the node falls back to ref, with the reason in the plan): non-constant
// weights, sequence_lens, clip, non-default activations, LSTM's input_forget.
#include <vector>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/recurrent.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;
using dims = dnnl::memory::dims;
using namespace ops::recurrent;

// For each oneDNN gate, the ONNX gate it reads.
std::vector<int64_t> gate_order(Cell cell) {
  switch (cell) {
    case Cell::kLstm:
      return {0, 2, 3, 1};  // i f c o <- i o f c
    case Cell::kGru:
      return {0, 1, 2};
    case Cell::kRnn:
      return {0};
  }
  return {};
}

// ONNX W or R [dirs, gates*hidden, cols] as oneDNN ldigo [1, dirs, cols, gates, hidden].
Tensor weights_ldigo(const Tensor& w, const std::vector<int64_t>& order, int64_t hidden) {
  const int64_t dirs = w.dim(0), cols = w.dim(2), gates = static_cast<int64_t>(order.size());
  Tensor out(DType::kF32, {1, dirs, cols, gates, hidden});
  const float* src = w.data<float>();
  float* dst = out.data<float>();
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t c = 0; c < cols; ++c)
      for (int64_t g = 0; g < gates; ++g)
        for (int64_t h = 0; h < hidden; ++h)
          dst[(((d * cols) + c) * gates + g) * hidden + h] =
              src[(d * gates * hidden + order[g] * hidden + h) * cols + c];
  return out;
}

// oneDNN's bias [1, dirs, gates(+1), hidden] from ONNX's B [dirs, 2*gates*hidden] (or zeros).
Tensor bias_ldgo(const Tensor* b, Cell cell, bool lbr, int64_t dirs, int64_t hidden) {
  const std::vector<int64_t> order = gate_order(cell);
  const auto gates = static_cast<int64_t>(order.size());
  const int64_t out_gates = lbr ? gates + 1 : gates;
  Tensor out(DType::kF32, {1, dirs, out_gates, hidden});
  float* dst = out.data<float>();
  std::fill(dst, dst + out.numel(), 0.0f);
  if (!b) return out;
  const float* src = b->data<float>();
  for (int64_t d = 0; d < dirs; ++d) {
    const float* wb = src + d * 2 * gates * hidden;
    const float* rb = wb + gates * hidden;
    for (int64_t g = 0; g < out_gates; ++g)
      for (int64_t h = 0; h < hidden; ++h) {
        float& o = dst[(d * out_gates + g) * hidden + h];
        if (lbr && g == 3) {
          o = rb[2 * hidden + h];  // Rbh, added inside the reset product
        } else {
          const int64_t k = order[g] * hidden + h;
          o = wb[k] + (lbr && g == 2 ? 0.0f : rb[k]);
        }
      }
  }
  return out;
}

// ONNX P [dirs, 3*hidden] (i, o, f) as oneDNN's peephole weights [1, dirs, 3, hidden] (i, f, o).
Tensor peephole_ldgo(const Tensor& p, int64_t dirs, int64_t hidden) {
  static const int64_t order[3] = {0, 2, 1};
  Tensor out(DType::kF32, {1, dirs, 3, hidden});
  for (int64_t d = 0; d < dirs; ++d)
    for (int64_t g = 0; g < 3; ++g)
      for (int64_t h = 0; h < hidden; ++h)
        out.data<float>()[(d * 3 + g) * hidden + h] =
            p.data<float>()[d * 3 * hidden + order[g] * hidden + h];
  return out;
}

void check_supported(const Build& b, const Attrs& a) {
  if (!b.constant(kW) || !b.constant(kR)) decline("W and R must be constants (weights)");
  if (b.has_input(kB) && !b.constant(kB)) decline("B must be a constant");
  if (a.cell == Cell::kLstm && b.has_input(kP) && !b.constant(kP)) decline("P must be a constant");
  if (b.has_input(kSeqLens)) decline("sequence_lens is not supported by oneDNN's primitive");
  if (a.clip) decline("clip is not supported by oneDNN's primitive");
  if (a.input_forget) decline("input_forget is not supported by oneDNN's primitive");
  if (a.cell != Cell::kRnn && !a.default_activations())
    decline("activations other than the defaults are not supported by oneDNN's primitive");
  if (a.cell == Cell::kRnn) {
    const Activation::Kind k = a.activations[0].kind;
    for (const Activation& f : a.activations)
      if (f.kind != k) decline("different activations per direction");
    if (k != Activation::Kind::kTanh && k != Activation::Kind::kRelu &&
        k != Activation::Kind::kSigmoid)
      decline("activation " + a.activations[0].name + " is not supported by oneDNN's primitive");
  }
}

dnnl::algorithm vanilla_algorithm(const Attrs& a) {
  switch (a.activations[0].kind) {
    case Activation::Kind::kRelu:
      return dnnl::algorithm::eltwise_relu;
    case Activation::Kind::kSigmoid:
      return dnnl::algorithm::eltwise_logistic;
    default:
      return dnnl::algorithm::eltwise_tanh;
  }
}

// Boundary descriptors of the ONNX tensors, in oneDNN's dimension order.
struct Boundaries {
  dnnl::memory::desc x;      // {seq, batch, input}
  dnnl::memory::desc state;  // {1, dirs, batch, hidden}: initial_h/c, Y_h, Y_c
  dnnl::memory::desc y4;     // Y as {seq, batch, dirs, hidden}
};
Boundaries boundaries(const Attrs& a, const Dims& d) {
  Boundaries r;
  const int64_t s = d.seq, n = d.batch, i = d.input, dirs = d.dirs, h = d.hidden;
  if (a.layout == 0) {
    r.x = dnnl::memory::desc({s, n, i}, dt::f32, tag::tnc);
    r.state = dnnl::memory::desc({1, dirs, n, h}, dt::f32, tag::ldnc);
    r.y4 = dnnl::memory::desc({s, n, dirs, h}, dt::f32, dims{dirs * n * h, h, n * h, 1});
  } else {
    r.x = dnnl::memory::desc({s, n, i}, dt::f32, tag::ntc);
    r.state = dnnl::memory::desc({1, dirs, n, h}, dt::f32, dims{dirs * n * h, h, dirs * h, 1});
    r.y4 = dnnl::memory::desc({s, n, dirs, h}, dt::f32, dims{dirs * h, s * dirs * h, h, 1});
  }
  return r;
}

std::unique_ptr<kernels::Kernel> make_recurrent(const Build& b, Cell cell) {
  Attrs a = parse_attrs(b.node(), cell);
  a.hidden_size = b.in_shape(kR)[2];
  check_supported(b, a);
  const Dims d = dims_of(a, b.in_shape(kX));
  const bool lbr = cell == Cell::kGru && a.linear_before_reset;
  const bool lstm = cell == Cell::kLstm;
  const Boundaries io = boundaries(a, d);
  const int64_t gates = a.gates(), h = d.hidden;
  const auto direction =
      a.direction == Direction::kForward   ? dnnl::rnn_direction::unidirectional_left2right
      : a.direction == Direction::kReverse ? dnnl::rnn_direction::unidirectional_right2left
                                           : dnnl::rnn_direction::bidirectional_concat;
  const dnnl::memory::desc src_layer({d.seq, d.batch, d.input}, dt::f32, tag::any);
  const dnnl::memory::desc state_any({1, d.dirs, d.batch, h}, dt::f32, tag::any);
  const dnnl::memory::desc none;
  const dnnl::memory::desc w_layer({1, d.dirs, d.input, gates, h}, dt::f32, tag::any);
  const dnnl::memory::desc w_iter({1, d.dirs, h, gates, h}, dt::f32, tag::any);
  const dnnl::memory::desc bias({1, d.dirs, lbr ? gates + 1 : gates, h}, dt::f32, tag::ldgo);
  const bool peephole = lstm && b.has_input(kP);
  const dnnl::memory::desc w_peephole =
      peephole ? dnnl::memory::desc({1, d.dirs, 3, h}, dt::f32, tag::ldgo) : none;
  const dnnl::memory::desc dst_layer({d.seq, d.batch, d.dirs * h}, dt::f32, tag::tnc);
  const dnnl::memory::desc src_iter = b.has_input(kInitialH) ? state_any : none;
  const dnnl::memory::desc src_iter_c = lstm && b.has_input(kInitialC) ? state_any : none;
  const dnnl::memory::desc dst_iter = b.has_output(1) ? state_any : none;
  const dnnl::memory::desc dst_iter_c = lstm && b.has_output(2) ? state_any : none;
  const auto fwd = dnnl::prop_kind::forward_inference;
  const dnnl::engine& eng = b.context->engine();
  const dnnl::primitive_attr attr = scratchpad_attr();

  auto kernel = std::make_unique<OnednnKernel>(b.context);
  const std::vector<int64_t> order = gate_order(cell);
  auto weights = [&](const dnnl::rnn_primitive_desc_base& pd) {
    Args args;
    args[DNNL_ARG_WEIGHTS_LAYER] = kernel->constant_as(
        weights_ldigo(*b.constant(kW), order, h),
        dnnl::memory::desc(w_layer.dims(), dt::f32, tag::ldigo), pd.weights_layer_desc());
    args[DNNL_ARG_WEIGHTS_ITER] = kernel->constant_as(
        weights_ldigo(*b.constant(kR), order, h),
        dnnl::memory::desc(w_iter.dims(), dt::f32, tag::ldigo), pd.weights_iter_desc());
    args[DNNL_ARG_BIAS] = kernel->constant_as(
        bias_ldgo(b.has_input(kB) ? b.constant(kB) : nullptr, cell, lbr, d.dirs, h), bias,
        pd.bias_desc());
    if (peephole)
      args[DNNL_ARG_WEIGHTS_PEEPHOLE] = kernel->constant_as(
          peephole_ldgo(*b.constant(kP), d.dirs, h), w_peephole, pd.weights_peephole_desc());
    return args;
  };
  auto finish = [&](const dnnl::rnn_primitive_desc_base& pd, dnnl::primitive prim) {
    Args args = weights(pd);
    args[DNNL_ARG_SRC_LAYER] = kernel->input_as(kX, io.x, pd.src_layer_desc());
    if (b.has_input(kInitialH))
      args[DNNL_ARG_SRC_ITER] = kernel->input_as(kInitialH, io.state, pd.src_iter_desc());
    if (lstm && b.has_input(kInitialC))
      args[DNNL_ARG_SRC_ITER_C] = kernel->input_as(kInitialC, io.state, pd.src_iter_c_desc());
    // Y: written dense as {seq, batch, dirs*hidden}, then copied into ONNX's order.
    const dnnl::memory y = kernel->buffer(pd.dst_layer_desc());
    args[DNNL_ARG_DST_LAYER] = y;
    if (b.has_output(1))
      args[DNNL_ARG_DST_ITER] = kernel->output_as(1, io.state, pd.dst_iter_desc());
    if (lstm && b.has_output(2))
      args[DNNL_ARG_DST_ITER_C] = kernel->output_as(2, io.state, pd.dst_iter_c_desc());
    kernel->add_step(pd, prim, std::move(args));
    if (b.has_output(0)) {
      const dnnl::memory dense4 =
          kernel->view_of(y, dnnl::memory::desc({d.seq, d.batch, d.dirs, h}, dt::f32, tag::abcd));
      kernel->add_copy(dense4, kernel->bind_output(0, io.y4));
    }
  };

  if (lstm) {
    const dnnl::lstm_forward::desc desc(fwd, direction, src_layer, src_iter, src_iter_c, w_layer,
                                        w_iter, w_peephole, bias, dst_layer, dst_iter, dst_iter_c);
    const dnnl::lstm_forward::primitive_desc pd(desc, attr, eng);
    finish(pd, dnnl::lstm_forward(pd));
  } else if (lbr) {
    const dnnl::lbr_gru_forward::desc desc(fwd, direction, src_layer, src_iter, w_layer, w_iter,
                                           bias, dst_layer, dst_iter);
    const dnnl::lbr_gru_forward::primitive_desc pd(desc, attr, eng);
    finish(pd, dnnl::lbr_gru_forward(pd));
  } else if (cell == Cell::kGru) {
    const dnnl::gru_forward::desc desc(fwd, direction, src_layer, src_iter, w_layer, w_iter, bias,
                                       dst_layer, dst_iter);
    const dnnl::gru_forward::primitive_desc pd(desc, attr, eng);
    finish(pd, dnnl::gru_forward(pd));
  } else {
    const dnnl::vanilla_rnn_forward::desc desc(fwd, vanilla_algorithm(a), direction, src_layer,
                                               src_iter, w_layer, w_iter, bias, dst_layer,
                                               dst_iter);
    const dnnl::vanilla_rnn_forward::primitive_desc pd(desc, attr, eng);
    finish(pd, dnnl::vanilla_rnn_forward(pd));
  }
  return kernel;
}

}  // namespace

std::unique_ptr<kernels::Kernel> make_lstm(const Build& b) {
  return make_recurrent(b, Cell::kLstm);
}
std::unique_ptr<kernels::Kernel> make_gru(const Build& b) {
  return make_recurrent(b, Cell::kGru);
}
std::unique_ptr<kernels::Kernel> make_rnn(const Build& b) {
  return make_recurrent(b, Cell::kRnn);
}

}  // namespace frugal::kernels::cpu
