// RNN (simple recurrent cell): H = f(X W^T + H_prev R^T + Wb + Rb), f = Tanh by default.
// Directions, sequence_lens, initial_h and layout are handled by ops/recurrent.h.
#include "frugal/ops/recurrent.h"

namespace frugal::ops {
namespace {

using namespace recurrent;

void rnn_step(const Attrs& a, int64_t dir, const CellWeights& wt, const double* x,
              const double* h_prev, const double*, double* h, double*) {
  const std::vector<double> g = gate_inputs(wt, 0, 1, x, h_prev);
  const Activation& f = a.activation(dir, 0);
  for (int64_t k = 0; k < wt.hidden; ++k) h[k] = activate(a, f, g[k]);
}

}  // namespace

FRUGAL_REGISTER_OP(RNN,
                   OpDef{.op_type = "RNN",
                         .min_inputs = 3,
                         .max_inputs = 6,
                         .min_outputs = 0,
                         .max_outputs = 2,
                         .infer = [](InferContext& c) { infer(c, Cell::kRnn); },
                         .ref = [](KernelContext& c) { run_reference(c, Cell::kRnn, rnn_step); },
                         .cost = [](const CostContext& c) { return cost(c, Cell::kRnn); }});

}  // namespace frugal::ops
