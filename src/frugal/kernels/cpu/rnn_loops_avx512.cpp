// The AVX-512 time step of the own recurrent kernel (rnn_loops.h). For a tile of up to 4
// batch rows and one block of 16 hidden units, the recurrent product of every gate stays in
// registers (rows x gates accumulators; where they are fewer than 8, the k loop is split
// into interleaved partial sums so that 8 FMA chains hide the FMA latency), then the cell's
// arithmetic runs on them. Blocks are the outer loop, so a block's packed weights are read
// from L1 by every tile of rows.
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "frugal/kernels/cpu/rnn_loops.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq")
#include "frugal/kernels/cpu/avx512_math.h"

namespace frugal::kernels::cpu {
namespace {

using ops::recurrent::Activation;
using ops::recurrent::Cell;
using Kind = Activation::Kind;
constexpr int kMaxTile = 4;     // batch rows per register tile
constexpr int64_t kGroup = 64;  // batch rows whose pointers are found at once

// Where one batch row reads and writes at this step.
struct Row {
  const float* proj;  // this row's projection, this direction
  const float* h_prev;
  float* h_next;
  float* c;
  float* z;
  float* reset_h;
  float* y;  // this row's h in Y, or null
};

// part[m][g] += in[m][k] panel[k][g * 16 .. + 16) for one k.
template <int M, int G>
__attribute__((always_inline)) inline void product_k(const float* const* in, const float* w,
                                                     int64_t k, __m512 (&part)[M][G]) {
  __m512 wv[G];
#pragma GCC unroll 8
  for (int g = 0; g < G; ++g) wv[g] = _mm512_loadu_ps(w + g * kRnnBlock);
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m) {
    const __m512 b = _mm512_set1_ps(in[m][k]);
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) part[m][g] = _mm512_fmadd_ps(b, wv[g], part[m][g]);
  }
}

// acc[m][g] = sum_k in[m][k] panel[k][g * 16 .. + 16), for k in [0, count).
template <int M, int G>
__attribute__((always_inline)) inline void product(const float* const* in, const float* panel,
                                                   int64_t count, __m512 (&acc)[M][G]) {
  constexpr int kSplit = M * G >= 8 ? 1 : M * G >= 4 ? 2 : M * G >= 2 ? 4 : 8;
  constexpr int64_t kStride = G * kRnnBlock;
  __m512 part[kSplit][M][G];
#pragma GCC unroll 8
  for (int s = 0; s < kSplit; ++s)
#pragma GCC unroll 8
    for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
      for (int g = 0; g < G; ++g) part[s][m][g] = _mm512_setzero_ps();
  int64_t k = 0;
  for (; k + kSplit <= count; k += kSplit)
#pragma GCC unroll 8
    for (int s = 0; s < kSplit; ++s) product_k<M, G>(in, panel + (k + s) * kStride, k + s, part[s]);
  for (; k < count; ++k) product_k<M, G>(in, panel + k * kStride, k, part[0]);
#pragma GCC unroll 8
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
      __m512 sum = part[0][m][g];
#pragma GCC unroll 8
      for (int s = 1; s < kSplit; ++s) sum = _mm512_add_ps(sum, part[s][m][g]);
      acc[m][g] = sum;
    }
}

// log(1 + e^x) lane by lane in double, as the reference (no vector log here).
__m512 softplus(__m512 x) {
  alignas(64) float v[kRnnBlock];
  _mm512_store_ps(v, x);
  for (float& e : v) e = static_cast<float>(std::log1p(std::exp(static_cast<double>(e))));
  return _mm512_load_ps(v);
}

// One of the activations ONNX allows in recurrent cells (ops/recurrent.cpp's
// Activation::apply, vectorized).
__m512 activate(const Activation& f, __m512 x) {
  const __m512 zero = _mm512_setzero_ps();
  const __m512 alpha = _mm512_set1_ps(f.alpha), beta = _mm512_set1_ps(f.beta);
  switch (f.kind) {
    case Kind::kSigmoid:
      return sigmoid_ps(x);
    case Kind::kTanh:
      return tanh_ps(x);
    case Kind::kRelu:
      return _mm512_max_ps(x, zero);
    case Kind::kAffine:
      return _mm512_fmadd_ps(alpha, x, beta);
    case Kind::kLeakyRelu:
      return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), x, alpha);
    case Kind::kThresholdedRelu:
      return _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(x, alpha, _CMP_GE_OQ), x);
    case Kind::kScaledTanh:
      return _mm512_mul_ps(alpha, tanh_ps(_mm512_mul_ps(beta, x)));
    case Kind::kHardSigmoid:
      return _mm512_min_ps(_mm512_max_ps(_mm512_fmadd_ps(alpha, x, beta), zero),
                           _mm512_set1_ps(1.0f));
    case Kind::kElu:
      return _mm512_mask_mul_ps(x, _mm512_cmp_ps_mask(x, zero, _CMP_LT_OQ), alpha,
                                _mm512_sub_ps(exp_ps(x), _mm512_set1_ps(1.0f)));
    case Kind::kSoftsign:
      return _mm512_mul_ps(x, reciprocal_ps(_mm512_add_ps(_mm512_set1_ps(1.0f), _mm512_abs_ps(x))));
    case Kind::kSoftplus:
      return softplus(x);
  }
  return x;
}

// ONNX clips the inputs of the activations (not the LSTM's h(C)).
inline __m512 clip_activate(const RnnShape& sh, const Activation& f, __m512 x) {
  if (sh.clip > 0.0f)
    x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-sh.clip)), _mm512_set1_ps(sh.clip));
  return activate(f, x);
}

inline void store_y(const Row& row, int64_t j, __mmask16 lanes, __m512 h) {
  if (row.y) _mm512_mask_storeu_ps(row.y + j * kRnnBlock, lanes, h);
}

template <int M>
void lstm_block(const RnnShape& sh, const RnnDirection& w, const Row* rows, int64_t j,
                __mmask16 lanes) {
  const float* in[M];
  for (int m = 0; m < M; ++m) in[m] = rows[m].h_prev;
  __m512 acc[M][4];
  product<M, 4>(in, w.r + j * sh.hidden * 4 * kRnnBlock, sh.hidden, acc);
  const int64_t u = j * kRnnBlock;
  const __m512 one = _mm512_set1_ps(1.0f);
  for (int m = 0; m < M; ++m) {
    const float* pr = rows[m].proj + j * 4 * kRnnBlock;  // i, o, f, c
    __m512 gi = _mm512_add_ps(acc[m][0], _mm512_loadu_ps(pr));
    __m512 go = _mm512_add_ps(acc[m][1], _mm512_loadu_ps(pr + kRnnBlock));
    __m512 gf = _mm512_add_ps(acc[m][2], _mm512_loadu_ps(pr + 2 * kRnnBlock));
    const __m512 gc = _mm512_add_ps(acc[m][3], _mm512_loadu_ps(pr + 3 * kRnnBlock));
    float* cp = rows[m].c + u;
    const __m512 c_prev = _mm512_loadu_ps(cp);
    if (w.peephole) {
      gi = _mm512_fmadd_ps(_mm512_loadu_ps(w.peephole + u), c_prev, gi);
      gf = _mm512_fmadd_ps(_mm512_loadu_ps(w.peephole + 2 * sh.padded + u), c_prev, gf);
    }
    const __m512 i = clip_activate(sh, *w.f, gi);
    const __m512 f = sh.input_forget ? _mm512_sub_ps(one, i) : clip_activate(sh, *w.f, gf);
    const __m512 c = _mm512_fmadd_ps(f, c_prev, _mm512_mul_ps(i, clip_activate(sh, *w.g, gc)));
    if (w.peephole) go = _mm512_fmadd_ps(_mm512_loadu_ps(w.peephole + sh.padded + u), c, go);
    const __m512 h = _mm512_mul_ps(clip_activate(sh, *w.f, go), activate(*w.h, c));
    _mm512_storeu_ps(cp, c);
    _mm512_storeu_ps(rows[m].h_next + u, h);
    store_y(rows[m], j, lanes, h);
  }
}

// H = (1 - z) . hh + z . H_prev, as hh + z (H_prev - hh).
inline __m512 gru_mix(__m512 z, __m512 hh, __m512 h_prev) {
  return _mm512_fmadd_ps(z, _mm512_sub_ps(h_prev, hh), hh);
}

// linear_before_reset 1: hh = g(Xh + r . (H_prev Rh + Rbh)), one product for the 3 gates.
template <int M>
void gru_lbr_block(const RnnShape& sh, const RnnDirection& w, const Row* rows, int64_t j,
                   __mmask16 lanes) {
  const float* in[M];
  for (int m = 0; m < M; ++m) in[m] = rows[m].h_prev;
  __m512 acc[M][3];
  product<M, 3>(in, w.r + j * sh.hidden * 3 * kRnnBlock, sh.hidden, acc);
  const int64_t u = j * kRnnBlock;
  const __m512 rb_h = _mm512_loadu_ps(w.rb_h + u);
  for (int m = 0; m < M; ++m) {
    const float* pr = rows[m].proj + j * 3 * kRnnBlock;  // z, r, h
    const __m512 z = clip_activate(sh, *w.f, _mm512_add_ps(acc[m][0], _mm512_loadu_ps(pr)));
    const __m512 r =
        clip_activate(sh, *w.f, _mm512_add_ps(acc[m][1], _mm512_loadu_ps(pr + kRnnBlock)));
    const __m512 hh = clip_activate(
        sh, *w.g,
        _mm512_fmadd_ps(r, _mm512_add_ps(acc[m][2], rb_h), _mm512_loadu_ps(pr + 2 * kRnnBlock)));
    const __m512 h = gru_mix(z, hh, _mm512_loadu_ps(rows[m].h_prev + u));
    _mm512_storeu_ps(rows[m].h_next + u, h);
    store_y(rows[m], j, lanes, h);
  }
}

// linear_before_reset 0, phase 0: z and r . H_prev of the block.
template <int M>
void gru_gates_block(const RnnShape& sh, const RnnDirection& w, const Row* rows, int64_t j) {
  const float* in[M];
  for (int m = 0; m < M; ++m) in[m] = rows[m].h_prev;
  __m512 acc[M][2];
  product<M, 2>(in, w.r + j * sh.hidden * 2 * kRnnBlock, sh.hidden, acc);
  const int64_t u = j * kRnnBlock;
  for (int m = 0; m < M; ++m) {
    const float* pr = rows[m].proj + j * 3 * kRnnBlock;
    const __m512 z = clip_activate(sh, *w.f, _mm512_add_ps(acc[m][0], _mm512_loadu_ps(pr)));
    const __m512 r =
        clip_activate(sh, *w.f, _mm512_add_ps(acc[m][1], _mm512_loadu_ps(pr + kRnnBlock)));
    _mm512_storeu_ps(rows[m].z + u, z);
    _mm512_storeu_ps(rows[m].reset_h + u, _mm512_mul_ps(r, _mm512_loadu_ps(rows[m].h_prev + u)));
  }
}

// linear_before_reset 0, phase 1: hh = g(Xh + (r . H_prev) Rh + Rbh), then H.
template <int M>
void gru_hidden_block(const RnnShape& sh, const RnnDirection& w, const Row* rows, int64_t j,
                      __mmask16 lanes) {
  const float* in[M];
  for (int m = 0; m < M; ++m) in[m] = rows[m].reset_h;
  __m512 acc[M][1];
  product<M, 1>(in, w.r_h + j * sh.hidden * kRnnBlock, sh.hidden, acc);
  const int64_t u = j * kRnnBlock;
  for (int m = 0; m < M; ++m) {
    const float* pr = rows[m].proj + j * 3 * kRnnBlock;
    const __m512 hh =
        clip_activate(sh, *w.g, _mm512_add_ps(acc[m][0], _mm512_loadu_ps(pr + 2 * kRnnBlock)));
    const __m512 h =
        gru_mix(_mm512_loadu_ps(rows[m].z + u), hh, _mm512_loadu_ps(rows[m].h_prev + u));
    _mm512_storeu_ps(rows[m].h_next + u, h);
    store_y(rows[m], j, lanes, h);
  }
}

template <int M>
void rnn_block(const RnnShape& sh, const RnnDirection& w, const Row* rows, int64_t j,
               __mmask16 lanes) {
  const float* in[M];
  for (int m = 0; m < M; ++m) in[m] = rows[m].h_prev;
  __m512 acc[M][1];
  product<M, 1>(in, w.r + j * sh.hidden * kRnnBlock, sh.hidden, acc);
  for (int m = 0; m < M; ++m) {
    const float* pr = rows[m].proj + j * kRnnBlock;
    const __m512 h = clip_activate(sh, *w.f, _mm512_add_ps(acc[m][0], _mm512_loadu_ps(pr)));
    _mm512_storeu_ps(rows[m].h_next + j * kRnnBlock, h);
    store_y(rows[m], j, lanes, h);
  }
}

template <int M>
void cell_block(const RnnStep& st, const Row* rows, int64_t j, __mmask16 lanes) {
  const RnnShape& sh = *st.shape;
  const RnnDirection& w = *st.weights;
  switch (sh.cell) {
    case Cell::kLstm:
      return lstm_block<M>(sh, w, rows, j, lanes);
    case Cell::kGru:
      if (sh.linear_before_reset) return gru_lbr_block<M>(sh, w, rows, j, lanes);
      if (st.phase == 0) return gru_gates_block<M>(sh, w, rows, j);
      return gru_hidden_block<M>(sh, w, rows, j, lanes);
    case Cell::kRnn:
      return rnn_block<M>(sh, w, rows, j, lanes);
  }
}

// The rows of batch entries [n0, n1) that have step s, at most kGroup.
int64_t active_rows(const RnnStep& st, int64_t n0, int64_t n1, Row* rows) {
  const RnnShape& sh = *st.shape;
  const bool reverse = sh.reverse || st.dir == 1;
  const int64_t cols = sh.proj_cols(), at = st.s;
  int64_t count = 0;
  for (int64_t n = n0; n < n1; ++n) {
    const int64_t len = st.lens ? st.lens[n] : sh.seq;
    if (at >= len) continue;
    const int64_t t = reverse ? len - 1 - at : at;
    const int64_t x_row = sh.layout == 0 ? t * sh.batch + n : n * sh.seq + t;
    const int64_t y_row = sh.layout == 0 ? (t * sh.dirs + st.dir) * sh.batch + n
                                         : (n * sh.seq + t) * sh.dirs + st.dir;
    const int64_t state = n * sh.padded;
    rows[count++] = Row{st.proj + (x_row * sh.dirs + st.dir) * cols,
                        st.h_prev + state,
                        st.h_next + state,
                        st.c ? st.c + state : nullptr,
                        st.z ? st.z + state : nullptr,
                        st.reset_h ? st.reset_h + state : nullptr,
                        st.y ? st.y + y_row * sh.hidden : nullptr};
  }
  return count;
}

}  // namespace

void rnn_step_avx512(const RnnStep& st) {
  const RnnShape& sh = *st.shape;
  const int64_t last = sh.blocks() - 1, tail = sh.hidden - last * kRnnBlock;
  const __mmask16 tail_lanes = static_cast<__mmask16>((1u << tail) - 1u);
  Row rows[kGroup];
  for (int64_t n0 = 0; n0 < sh.batch; n0 += kGroup) {
    const int64_t count = active_rows(st, n0, std::min(sh.batch, n0 + kGroup), rows);
    for (int64_t j = st.block0; j < st.block1; ++j) {
      const __mmask16 lanes = j == last ? tail_lanes : static_cast<__mmask16>(0xffff);
      for (int64_t m = 0; m < count; m += kMaxTile) {
        const Row* tile = rows + m;
        switch (std::min<int64_t>(kMaxTile, count - m)) {
          case 1:
            cell_block<1>(st, tile, j, lanes);
            break;
          case 2:
            cell_block<2>(st, tile, j, lanes);
            break;
          case 3:
            cell_block<3>(st, tile, j, lanes);
            break;
          default:
            cell_block<4>(st, tile, j, lanes);
            break;
        }
      }
    }
  }
}

}  // namespace frugal::kernels::cpu
#pragma GCC pop_options
