// LSTM, GRU and RNN: frugal's own kernel where the CPU has AVX-512 (own_rnn.h); else, and
// under FRUGAL_NO_OWN_RNN=1 (the A/B switch of bench/rnn), oneDNN's recurrent primitives
// (lstm_forward, gru_forward, lbr_gru_forward for linear_before_reset, vanilla_rnn_forward),
// float32, one layer, as follows.
//
// ONNX and oneDNN order the gates differently: ONNX's LSTM weights hold i, o, f, c and its
// peepholes i, o, f; oneDNN wants i, f, c, o and i, f, o. GRU's z, r, h is oneDNN's u, r, o.
// The weights are therefore rebuilt once, at kernel build, in oneDNN's ldigo order, with
// ONNX's two biases summed (oneDNN has one), except the linear-before-reset GRU, whose
// fourth oneDNN bias is ONNX's Rbh. Y ([seq, dirs, batch, hidden]) is oneDNN's
// bidirectional_concat output ([seq, batch, dirs*hidden]) permuted by a strided copy.
//
// Weights given at run time are copied gate by gate into that order on each run.
// Declined by the primitive path (the node falls back to ref, with the reason in the plan):
// sequence_lens, clip, non-default activations, LSTM's input_forget; the own kernel runs them.
#include <algorithm>
#include <vector>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/own_rnn.h"
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

// Weights given at run time (graph inputs, as in ONNX's test cases): W or R copied gate by
// gate, by strided views, into oneDNN's ldigo order on every run.
dnnl::memory runtime_weights(OnednnKernel& k, size_t index, const Shape& shape,
                             const std::vector<int64_t>& order, int64_t hidden) {
  const int64_t dirs = shape[0], cols = shape[2], gates = static_cast<int64_t>(order.size());
  const dnnl::memory whole = k.bind_input(index, plain_md(shape, dt::f32));
  const dims full = {1, dirs, cols, gates, hidden}, one_gate = {1, dirs, cols, 1, hidden};
  const dnnl::memory::desc onnx(
      full, dt::f32,
      dims{dirs * gates * hidden * cols, gates * hidden * cols, 1, hidden * cols, cols});
  const dnnl::memory::desc dense(full, dt::f32, tag::ldigo);
  dnnl::memory out = k.buffer(dense);
  for (int64_t g = 0; g < gates; ++g)
    k.add_copy(k.view_of(whole, onnx.submemory_desc(one_gate, {0, 0, 0, order[g], 0})),
               k.view_of(out, dense.submemory_desc(one_gate, {0, 0, 0, g, 0})));
  return out;
}

// Run-time B [dirs, 2*gates*hidden] as oneDNN's bias: per gate Wb + Rb by a binary add
// (the linear-before-reset GRU's gate 2 takes Wbh alone and its fourth gate Rbh).
dnnl::memory runtime_bias(OnednnKernel& k, const Build& b, Cell cell, bool lbr, int64_t dirs,
                          int64_t hidden) {
  const std::vector<int64_t> order = gate_order(cell);
  const auto gates = static_cast<int64_t>(order.size());
  const int64_t out_gates = lbr ? gates + 1 : gates;
  const dnnl::memory whole = k.bind_input(kB, plain_md(b.in_shape(kB), dt::f32));
  const dnnl::memory::desc onnx({1, dirs, 2 * gates, hidden}, dt::f32, tag::abcd);
  const dnnl::memory::desc dense({1, dirs, out_gates, hidden}, dt::f32, tag::ldgo);
  dnnl::memory out = k.buffer(dense);
  const dims one_gate = {1, dirs, 1, hidden};
  auto onnx_gate = [&](int64_t g) {
    return k.view_of(whole, onnx.submemory_desc(one_gate, {0, 0, g, 0}));
  };
  for (int64_t g = 0; g < out_gates; ++g) {
    const dnnl::memory dst = k.view_of(out, dense.submemory_desc(one_gate, {0, 0, g, 0}));
    if (lbr && g >= 2) {
      k.add_copy(onnx_gate(g == 2 ? 2 : gates + 2), dst);
      continue;
    }
    const dnnl::memory wb = onnx_gate(order[g]), rb = onnx_gate(gates + order[g]);
    const dnnl::binary::primitive_desc pd(
        dnnl::binary::desc(dnnl::algorithm::binary_add, wb.get_desc(), rb.get_desc(),
                           dst.get_desc()),
        scratchpad_attr(), b.context->engine());
    k.add_step(pd, dnnl::binary(pd),
               {{DNNL_ARG_SRC_0, wb}, {DNNL_ARG_SRC_1, rb}, {DNNL_ARG_DST, dst}}, false);
  }
  return out;
}

bool constant_weights(const Build& b) {
  return b.constant(kW) && b.constant(kR) && (!b.has_input(kB) || b.constant(kB));
}

void check_supported(const Build& b, const Attrs& a) {
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
  if (auto own = make_own_recurrent(b, cell)) return own;
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
  // Constant weights are reordered once into the primitive's layout; run-time ones are
  // rebuilt in plain ldigo each run.
  const bool fixed = constant_weights(b);
  const tag w_tag = fixed ? tag::any : tag::ldigo;
  const dnnl::memory::desc w_layer({1, d.dirs, d.input, gates, h}, dt::f32, w_tag);
  const dnnl::memory::desc w_iter({1, d.dirs, h, gates, h}, dt::f32, w_tag);
  const dnnl::memory::desc bias({1, d.dirs, lbr ? gates + 1 : gates, h}, dt::f32, tag::ldgo);
  const bool peephole = lstm && b.has_input(kP);
  const dnnl::memory::desc w_peephole =
      peephole ? dnnl::memory::desc({1, d.dirs, 3, h}, dt::f32, tag::ldgo) : none;
  const dnnl::memory::desc dst_layer({d.seq, d.batch, d.dirs * h}, dt::f32, tag::tnc);
  auto kernel = std::make_unique<OnednnKernel>(b.context);
  // oneDNN's LSTM takes h and c states both or neither: a missing initial one is zeros, a
  // missing final one a scratch buffer.
  const bool in_states = b.has_input(kInitialH) || (lstm && b.has_input(kInitialC));
  const bool out_states = b.has_output(1) || (lstm && b.has_output(2));
  const dnnl::memory::desc src_iter = in_states ? state_any : none;
  const dnnl::memory::desc src_iter_c = lstm && in_states ? state_any : none;
  const dnnl::memory::desc dst_iter = out_states ? state_any : none;
  const dnnl::memory::desc dst_iter_c = lstm && out_states ? state_any : none;
  auto zeros = [&](const dnnl::memory::desc& wanted) {
    Tensor z(DType::kF32, {1, d.dirs, d.batch, h});
    std::fill(z.data<float>(), z.data<float>() + z.numel(), 0.0f);
    return kernel->constant_as(z, dnnl::memory::desc(z.shape(), dt::f32, tag::ldnc), wanted);
  };
  auto state_in = [&](size_t index, const dnnl::memory::desc& wanted) {
    return b.has_input(index) ? kernel->input_as(index, io.state, wanted) : zeros(wanted);
  };
  auto state_out = [&](size_t index, const dnnl::memory::desc& produced) {
    return b.has_output(index) ? kernel->output_as(index, io.state, produced)
                               : kernel->buffer(produced);
  };
  const auto fwd = dnnl::prop_kind::forward_inference;
  const dnnl::engine& eng = b.context->engine();
  const dnnl::primitive_attr attr = scratchpad_attr();

  const std::vector<int64_t> order = gate_order(cell);
  auto weights = [&](const dnnl::rnn_primitive_desc_base& pd) {
    Args args;
    if (!fixed) {
      args[DNNL_ARG_WEIGHTS_LAYER] = runtime_weights(*kernel, kW, b.in_shape(kW), order, h);
      args[DNNL_ARG_WEIGHTS_ITER] = runtime_weights(*kernel, kR, b.in_shape(kR), order, h);
      args[DNNL_ARG_BIAS] =
          b.has_input(kB)
              ? runtime_bias(*kernel, b, cell, lbr, d.dirs, h)
              : kernel->constant_as(bias_ldgo(nullptr, cell, lbr, d.dirs, h), bias, pd.bias_desc());
    } else {
      args[DNNL_ARG_WEIGHTS_LAYER] = kernel->constant_as(
          weights_ldigo(*b.constant(kW), order, h),
          dnnl::memory::desc(w_layer.dims(), dt::f32, tag::ldigo), pd.weights_layer_desc());
      args[DNNL_ARG_WEIGHTS_ITER] = kernel->constant_as(
          weights_ldigo(*b.constant(kR), order, h),
          dnnl::memory::desc(w_iter.dims(), dt::f32, tag::ldigo), pd.weights_iter_desc());
      args[DNNL_ARG_BIAS] = kernel->constant_as(
          bias_ldgo(b.has_input(kB) ? b.constant(kB) : nullptr, cell, lbr, d.dirs, h), bias,
          pd.bias_desc());
    }
    if (peephole && b.constant(kP)) {
      args[DNNL_ARG_WEIGHTS_PEEPHOLE] = kernel->constant_as(
          peephole_ldgo(*b.constant(kP), d.dirs, h), w_peephole, pd.weights_peephole_desc());
    } else if (peephole) {  // P [dirs, 3*hidden] is W-like with one column: the same copies
      const dnnl::memory p = runtime_weights(*kernel, kP, Shape{d.dirs, 3 * h, 1}, {0, 2, 1}, h);
      args[DNNL_ARG_WEIGHTS_PEEPHOLE] = kernel->view_of(p, w_peephole);
    }
    return args;
  };
  auto finish = [&](const dnnl::rnn_primitive_desc_base& pd, dnnl::primitive prim) {
    Args args = weights(pd);
    args[DNNL_ARG_SRC_LAYER] = kernel->input_as(kX, io.x, pd.src_layer_desc());
    if (in_states) args[DNNL_ARG_SRC_ITER] = state_in(kInitialH, pd.src_iter_desc());
    if (lstm && in_states) args[DNNL_ARG_SRC_ITER_C] = state_in(kInitialC, pd.src_iter_c_desc());
    // Y: written dense as {seq, batch, dirs*hidden}, then copied into ONNX's order.
    const dnnl::memory y = kernel->buffer(pd.dst_layer_desc());
    args[DNNL_ARG_DST_LAYER] = y;
    if (out_states) args[DNNL_ARG_DST_ITER] = state_out(1, pd.dst_iter_desc());
    if (lstm && out_states) args[DNNL_ARG_DST_ITER_C] = state_out(2, pd.dst_iter_c_desc());
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
