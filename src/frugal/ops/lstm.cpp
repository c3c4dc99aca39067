// LSTM, gates in ONNX order i (input), o (output), f (forget), c (cell), peepholes P in
// order i, o, f:
//   i = f(X Wi + H_prev Ri + Wbi + Rbi + Pi . C_prev)
//   f = f(X Wf + H_prev Rf + Wbf + Rbf + Pf . C_prev)     (1 - i when input_forget)
//   c = g(X Wc + H_prev Rc + Wbc + Rbc),  C = f . C_prev + i . c
//   o = f(X Wo + H_prev Ro + Wbo + Rbo + Po . C),  H = o . h(C)
// clip bounds the inputs of f and g. Directions, sequence_lens, initial_h/initial_c and
// layout are handled by ops/recurrent.h.
#include "frugal/ops/recurrent.h"

namespace frugal::ops {
namespace {

using namespace recurrent;

void lstm_step(const Attrs& a, int64_t dir, const CellWeights& wt, const double* x,
               const double* h_prev, const double* c_prev, double* h, double* c) {
  const int64_t n = wt.hidden;
  const Activation& f = a.activation(dir, 0);
  const Activation& g = a.activation(dir, 1);
  const Activation& out = a.activation(dir, 2);
  const std::vector<double> gates = gate_inputs(wt, 0, 4, x, h_prev);
  const double* p = wt.p;
  for (int64_t k = 0; k < n; ++k) {
    const double in = activate(a, f, gates[k] + (p ? p[k] * c_prev[k] : 0.0));
    const double forget =
        a.input_forget ? 1.0 - in
                       : activate(a, f, gates[2 * n + k] + (p ? p[2 * n + k] * c_prev[k] : 0.0));
    c[k] = forget * c_prev[k] + in * activate(a, g, gates[3 * n + k]);
    const double o = activate(a, f, gates[n + k] + (p ? p[n + k] * c[k] : 0.0));
    h[k] = o * out.apply(c[k]);
  }
}

}  // namespace

FRUGAL_REGISTER_OP(LSTM,
                   OpDef{.op_type = "LSTM",
                         .min_inputs = 3,
                         .max_inputs = 8,
                         .min_outputs = 0,
                         .max_outputs = 3,
                         .infer = [](InferContext& c) { infer(c, Cell::kLstm); },
                         .ref = [](KernelContext& c) { run_reference(c, Cell::kLstm, lstm_step); },
                         .cost = [](const CostContext& c) { return cost(c, Cell::kLstm); }});

}  // namespace frugal::ops
