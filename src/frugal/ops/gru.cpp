// GRU, gates in ONNX order z (update), r (reset), h (hidden):
//   z = f(X Wz + H_prev Rz + Wbz + Rbz),  r = f(X Wr + H_prev Rr + Wbr + Rbr)
//   h = g(X Wh + (r . H_prev) Rh + Rbh + Wbh)          linear_before_reset = 0
//   h = g(X Wh + r . (H_prev Rh + Rbh) + Wbh)          linear_before_reset != 0
//   H = (1 - z) . h + z . H_prev
// Directions, sequence_lens, initial_h and layout are handled by ops/recurrent.h.
#include "frugal/ops/recurrent.h"

namespace frugal::ops {
namespace {

using namespace recurrent;

void gru_step(const Attrs& a, int64_t dir, const CellWeights& wt, const double* x,
              const double* h_prev, const double*, double* h, double*) {
  const int64_t n = wt.hidden;
  const Activation& f = a.activation(dir, 0);
  const Activation& g = a.activation(dir, 1);
  const std::vector<double> zr = gate_inputs(wt, 0, 2, x, h_prev);
  std::vector<double> z(n), r(n), xh(n), rh(n);
  for (int64_t k = 0; k < n; ++k) {
    z[k] = activate(a, f, zr[k]);
    r[k] = activate(a, f, zr[n + k]);
    xh[k] = wt.wb[2 * n + k];
    rh[k] = wt.rb[2 * n + k];
  }
  add_matvec(wt.w, wt.input, 2 * n, n, x, xh.data());
  if (a.linear_before_reset) {
    add_matvec(wt.r, n, 2 * n, n, h_prev, rh.data());
    for (int64_t k = 0; k < n; ++k) xh[k] += r[k] * rh[k];
  } else {
    std::vector<double> reset_h(n);
    for (int64_t k = 0; k < n; ++k) reset_h[k] = r[k] * h_prev[k];
    add_matvec(wt.r, n, 2 * n, n, reset_h.data(), rh.data());
    for (int64_t k = 0; k < n; ++k) xh[k] += rh[k];
  }
  for (int64_t k = 0; k < n; ++k) h[k] = (1 - z[k]) * activate(a, g, xh[k]) + z[k] * h_prev[k];
}

}  // namespace

FRUGAL_REGISTER_OP(GRU,
                   OpDef{.op_type = "GRU",
                         .min_inputs = 3,
                         .max_inputs = 6,
                         .min_outputs = 0,
                         .max_outputs = 2,
                         .infer = [](InferContext& c) { infer(c, Cell::kGru); },
                         .ref = [](KernelContext& c) { run_reference(c, Cell::kGru, gru_step); },
                         .cost = [](const CostContext& c) { return cost(c, Cell::kGru); }});

}  // namespace frugal::ops
