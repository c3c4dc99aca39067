// The block-circulant products of ops/block_circulant.h through real FFTs of size b
// (CirCNN, Ding et al. 2017, sec. 3): with C, X, DY the spectra of a block's first column,
// of an input segment and of an output gradient segment,
//   forward          y_p  = IFFT(sum_q C_pq . X_q)
//   backward, data   dx_q = IFFT(sum_p conj(C_pq) . DY_p)
//   backward, weight dc_pq = IFFT(sum_rows DY_p . conj(X_q))
// O(b log b) per block and row instead of b^2. Used by the cpu backend's kernel and by
// training (train/grad_circulant.cpp); tested against the reference kernel.
#pragma once

#include <complex>
#include <cstdint>
#include <vector>

#include "frugal/kernels/fft.h"
#include "frugal/ops/block_circulant.h"

namespace frugal::kernels {

class CirculantFft {
 public:
  CirculantFft(const ops::CirculantBlocks& blocks, FftLibrary lib);

  // Takes the spectra of the weight [P, Q, b] (once per weight update).
  void set_weights(const float* w);
  // Rows are contiguous and padded: x [rows, Q*b], y and dy [rows, P*b].
  void forward(const float* x, float* y, int64_t rows);
  void backward_data(const float* dy, float* dx, int64_t rows);
  void backward_weights(const float* dy, const float* x, float* dw, int64_t rows);

 private:
  using cfloat = std::complex<float>;
  ops::CirculantBlocks s_;
  RealFft fft_;
  int64_t bins_;
  std::vector<cfloat> weights_;  // [P, Q, bins]
  std::vector<cfloat> in_, out_;
  std::vector<float> scratch_;
};

// X [outer, features, inner] to rows [outer * inner, width >= features] zero-padded, and
// back (the first `features` of each row). A fully-connected layer whose sizes the blocks
// divide needs neither.
void gather_rows(const float* x, const ops::FeatureLayout& l, int64_t width, float* rows);
void scatter_rows(const float* rows, int64_t width, const ops::FeatureLayout& l, float* x);

// Runs `s`'s layer on X laid out as `in` (features s.in) into Y (features s.out): pads and
// transposes into the row buffers only when needed.
class CirculantRows {
 public:
  CirculantRows(const ops::CirculantBlocks& s, const ops::FeatureLayout& in)
      : s_(s), in_(in), out_{in.outer, s.out, in.inner} {}
  int64_t rows() const { return in_.outer * in_.inner; }
  bool direct_in() const { return in_.inner == 1 && s_.in == s_.padded_in(); }
  bool direct_out() const { return in_.inner == 1 && s_.out == s_.padded_out(); }
  // Padded rows of X (x itself when direct).
  const float* x_rows(const float* x);
  // Where the padded rows of Y go (y itself when direct); then finish_y(y).
  float* y_rows(float* y);
  void finish_y(float* y);
  // The same for gradients: dy in the layout of Y, dx in the layout of X.
  const float* dy_rows(const float* dy);
  float* dx_rows(float* dx);
  void finish_dx(float* dx);

 private:
  ops::CirculantBlocks s_;
  ops::FeatureLayout in_, out_;
  std::vector<float> x_, y_, dy_, dx_;
};

}  // namespace frugal::kernels
