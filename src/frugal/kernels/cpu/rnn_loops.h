// The time steps of frugal's own LSTM, GRU and RNN kernel (own_rnn_kernel.cpp). The input
// projection X W^T + biases of every time step is one oneDNN matmul before the loop; a step
// then computes, per block of 16 hidden units, the recurrent product h R^T of a few batch
// rows in registers (the weights packed per block: for each row k of R^T, the block's
// columns of every gate side by side) and applies the cell's gate arithmetic to those
// registers at once, writing h (and c) for the block. The gates are never stored.
//
// Hidden units are padded to a multiple of 16 (`padded`) in the packed weights, the
// projection and the states; the padded units compute finite values nobody reads.
#pragma once

#include <cstdint>

#include "frugal/ops/recurrent.h"

namespace frugal::kernels::cpu {

inline constexpr int64_t kRnnBlock = 16;  // hidden units per block: one AVX-512 register

// What every step of a node shares.
struct RnnShape {
  ops::recurrent::Cell cell = ops::recurrent::Cell::kLstm;
  bool linear_before_reset = false;  // GRU
  bool input_forget = false;         // LSTM
  float clip = 0.0f;                 // 0: none
  int64_t seq = 0, batch = 0, hidden = 0, padded = 0, dirs = 1, layout = 0;
  bool reverse = false;  // direction "reverse" (with "bidirectional", direction 1 runs reversed)
  // Gates in the projection and in the first packed panel of R: 4 (i, o, f, c; ONNX's
  // order), 3 (z, r, h) or 1; the linear-before-reset-0 GRU's first panel holds z and r,
  // its second one h (that product needs r of every unit first).
  int64_t gates = 1;
  int64_t blocks() const { return padded / kRnnBlock; }
  int64_t proj_cols() const { return blocks() * gates * kRnnBlock; }  // one direction's
  int64_t panel_gates() const {
    return cell == ops::recurrent::Cell::kGru && !linear_before_reset ? 2 : gates;
  }
};

// One direction's packed weights and activations.
struct RnnDirection {
  const float* r = nullptr;         // [blocks][hidden][panel_gates * 16]
  const float* r_h = nullptr;       // GRU, linear_before_reset 0: [blocks][hidden][16]
  const float* rb_h = nullptr;      // GRU, linear_before_reset 1: Rbh [padded] (inside r . ())
  const float* peephole = nullptr;  // LSTM: [3][padded] (i, o, f), or null
  const ops::recurrent::Activation* f = nullptr;  // the cell's first to third activation
  const ops::recurrent::Activation* g = nullptr;
  const ops::recurrent::Activation* h = nullptr;
};

// One step of one direction over hidden blocks [block0, block1), every batch row whose
// sequence has step `s`.
struct RnnStep {
  const RnnShape* shape;
  const RnnDirection* weights;
  int64_t dir, s, block0, block1;
  // The linear-before-reset-0 GRU runs each step in two phases: 0 (z, r and r . h_prev for
  // the block range), then, once every block has them, 1 (h).
  int phase;
  const float* proj;    // [seq * batch rows in X's order][dirs * proj_cols]
  const int32_t* lens;  // [batch], or null: every row has `seq` steps
  const float* h_prev;  // [batch][padded]
  float* h_next;        // [batch][padded]
  float* c;             // LSTM: [batch][padded], updated in place
  float* z;             // GRU: [batch][padded] (phase 0 writes, phase 1 reads)
  float* reset_h;       // GRU, linear_before_reset 0: r . h_prev [batch][padded]
  float* y;             // ONNX's Y (the whole tensor), or null
};

// Runs a step (AVX-512; the caller checks dw_isa_available(), depthwise.h).
void rnn_step_avx512(const RnnStep& step);

}  // namespace frugal::kernels::cpu
