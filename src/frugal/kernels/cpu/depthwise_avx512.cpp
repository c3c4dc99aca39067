// The AVX-512 loops of the own depthwise convolution (depthwise.h). One vector holds 16
// channels of one pixel; an output row of one channel block is computed 8 pixels at a
// time (8 accumulators, each weight loaded once per 8 outputs), the pixels whose window
// crosses the left or right edge one at a time with the taps outside skipped. Kernel size
// and stride are template parameters so that the tap loops unroll.
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frugal/kernels/cpu/depthwise.h"

namespace frugal::kernels::cpu {

bool dw_isa_available() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

}  // namespace frugal::kernels::cpu

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq")
#include "frugal/kernels/cpu/avx512_math.h"

namespace frugal::kernels::cpu {
namespace {

using Kind = ops::PostOp::Kind;

inline __m512 clamp_ps(__m512 v, float lo, float hi) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
}

// The node's post-ops, in order (the kinds make_own_depthwise accepts), on `count`
// vectors: one dispatch per post-op and block rather than per vector.
__attribute__((always_inline)) inline void post_ops(__m512* v, int count,
                                                    const std::vector<ops::PostOp>& ops) {
  const __m512 zero = _mm512_setzero_ps();
  for (const ops::PostOp& op : ops) {
    switch (op.kind) {
      case Kind::kRelu:
        for (int j = 0; j < count; ++j) v[j] = _mm512_max_ps(v[j], zero);
        break;
      case Kind::kLeakyRelu:
        for (int j = 0; j < count; ++j) {
          const __mmask16 neg = _mm512_cmp_ps_mask(v[j], zero, _CMP_LT_OQ);
          v[j] = _mm512_mask_mul_ps(v[j], neg, v[j], _mm512_set1_ps(op.a));
        }
        break;
      case Kind::kClip:  // LO > HI gives HI everywhere, as ONNX's Clip
        for (int j = 0; j < count; ++j) v[j] = clamp_ps(v[j], op.a, op.b);
        break;
      case Kind::kSigmoid:
        for (int j = 0; j < count; ++j) v[j] = sigmoid_ps(v[j]);
        break;
      case Kind::kSwish:
        for (int j = 0; j < count; ++j) v[j] = _mm512_mul_ps(v[j], sigmoid_ps(v[j]));
        break;
      case Kind::kHardSwish:  // x * max(0, min(1, x / 6 + 1 / 2))
        for (int j = 0; j < count; ++j)
          v[j] = _mm512_mul_ps(v[j], clamp_ps(_mm512_fmadd_ps(v[j], _mm512_set1_ps(1.0f / 6.0f),
                                                              _mm512_set1_ps(0.5f)),
                                              0.0f, 1.0f));
        break;
      case Kind::kHardSigmoid:
        for (int j = 0; j < count; ++j)
          v[j] = clamp_ps(_mm512_fmadd_ps(v[j], _mm512_set1_ps(op.a), _mm512_set1_ps(op.b)), 0.0f,
                          1.0f);
        break;
      case Kind::kLinear:
        for (int j = 0; j < count; ++j)
          v[j] = _mm512_fmadd_ps(v[j], _mm512_set1_ps(op.a), _mm512_set1_ps(op.b));
        break;
      default:
        break;  // not accepted by make_own_depthwise
    }
  }
}

// Output rows per work item: the padded input rows they read (filled once per item) kept
// within about 64 KiB, at most 8.
inline int64_t rows_per_item(const DwPlan& p) {
  const int64_t padded_w = (p.out_w - 1) * p.stride + p.kernel;
  const int64_t budget = 65536 / (padded_w * 64);
  return std::clamp<int64_t>((budget - p.kernel) / p.stride + 1, 1, 8);
}

// Input rows [ih0, ih0 + rows) of channel block `cb` copied with their zero padding (rows
// above or below the image, columns left and right of it) into `buf`, one contiguous
// 16-float vector per pixel: the tap loop then needs no edge tests or masks.
void fill_rows(const DwPlan& p, const float* src, int64_t cb, int64_t ih0, int64_t rows,
               int64_t padded_w, __mmask16 lanes, float* buf) {
  const int64_t pixel = p.src.pixel;
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t r = 0; r < rows; ++r) {
    float* to = buf + r * padded_w * 16;
    const int64_t ih = ih0 + r;
    if (ih < 0 || ih >= p.in_h) {
      for (int64_t x = 0; x < padded_w; ++x) _mm512_store_ps(to + x * 16, zero);
      continue;
    }
    const float* from = src + cb * p.src.block + ih * p.src.row;
    int64_t x = 0;
    for (; x < p.pad_left && x < padded_w; ++x) _mm512_store_ps(to + x * 16, zero);
    for (int64_t iw = 0; iw < p.in_w && x < padded_w; ++iw, ++x)
      _mm512_store_ps(to + x * 16, _mm512_maskz_loadu_ps(lanes, from + iw * pixel));
    for (; x < padded_w; ++x) _mm512_store_ps(to + x * 16, zero);
  }
}

// acc[j] += output j's window (j < count; all N, unrolled, when Full): `rows` rows of K
// taps from `at` (input rows `row` floats apart, pixels `pixel`), weights from `w`. In the
// padded buffer (Padded) the pixel stride is 16, all K rows exist and loads are aligned:
// compile-time constants keep every address an immediate offset.
template <int K, int S, int N, bool Full, bool Padded>
__attribute__((always_inline)) inline void accumulate(const float* at, int64_t row, int64_t pixel,
                                                      __mmask16 lanes, const float* w, int rows,
                                                      __m512 (&acc)[N], int count) {
  const int n = Full ? N : count;
  const int64_t px = Padded ? 16 : pixel;
  const int nrows = Padded ? K : rows;
  for (int kh = 0; kh < nrows; ++kh)
    for (int kw = 0; kw < K; ++kw) {
      const __m512 wv = _mm512_loadu_ps(w + (kh * K + kw) * 16);
      const float* t = at + kh * row + kw * px;
      for (int j = 0; j < n; ++j) {
        const __m512 x =
            Padded ? _mm512_load_ps(t + j * S * 16) : _mm512_maskz_loadu_ps(lanes, t + j * S * px);
        acc[j] = _mm512_fmadd_ps(x, wv, acc[j]);
      }
    }
}

// Outputs [ow0, ow1) of one row, 8 at a time, from windows that lie inside the rows at
// `at` (the input under output ow0's window); post-ops, then the store.
template <int K, int S, bool Padded>
void row_span(const float* at, int64_t row, int64_t pixel, __mmask16 lanes, const float* w,
              int rows, __m512 bias, const DwPlan& p, int64_t ow0, int64_t ow1, float* out) {
  constexpr int kBlock = 8;
  for (int64_t ow = ow0; ow < ow1; ow += kBlock) {
    const int count = static_cast<int>(std::min<int64_t>(kBlock, ow1 - ow));
    __m512 acc[kBlock];
    for (int j = 0; j < kBlock; ++j) acc[j] = bias;
    const float* t = at + (ow - ow0) * S * (Padded ? 16 : pixel);
    if (count == kBlock)
      accumulate<K, S, kBlock, true, Padded>(t, row, pixel, lanes, w, rows, acc, count);
    else
      accumulate<K, S, kBlock, false, Padded>(t, row, pixel, lanes, w, rows, acc, count);
    post_ops(acc, count, p.post_ops);
    for (int j = 0; j < count; ++j)
      _mm512_mask_storeu_ps(out + (ow + j) * p.dst.pixel, lanes, acc[j]);
  }
}

// Padded variant: the item's input rows copied once into `buf` with their zero padding,
// then every output from there, with no edge tests.
template <int K, int S>
void item_padded(const DwPlan& p, const float* src, float* dst, int64_t cb, int64_t oh0,
                 int64_t oh1, __mmask16 lanes, float* buf) {
  const int64_t padded_w = (p.out_w - 1) * S + K;
  fill_rows(p, src, cb, oh0 * S - p.pad_top, (oh1 - oh0 - 1) * S + K, padded_w, lanes, buf);
  const float* w = p.weights.data() + cb * K * K * 16;
  const __m512 bias = _mm512_loadu_ps(p.bias.data() + cb * 16);
  for (int64_t oh = oh0; oh < oh1; ++oh)
    row_span<K, S, true>(buf + (oh - oh0) * S * padded_w * 16, padded_w * 16, 16, lanes, w, K, bias,
                         p, 0, p.out_w, dst + cb * p.dst.block + oh * p.dst.row);
}

// Direct variant: the outputs whose window lies inside the row read the input in place;
// the few at the left and right edges skip the taps outside, one output at a time.
template <int K, int S>
void item_direct(const DwPlan& p, const float* src, float* dst, int64_t cb, int64_t oh0,
                 int64_t oh1, __mmask16 lanes) {
  const int64_t row = p.src.row, pixel = p.src.pixel, in_w = p.in_w, pad_left = p.pad_left;
  const int64_t ow_a = std::min(p.out_w, (pad_left + S - 1) / S);
  const int64_t last = in_w - K + pad_left;  // largest ow * S whose window fits
  const int64_t ow_b = std::max(ow_a, std::min(p.out_w, last < 0 ? 0 : last / S + 1));
  const __m512 bias = _mm512_loadu_ps(p.bias.data() + cb * 16);
  for (int64_t oh = oh0; oh < oh1; ++oh) {
    const int64_t ih0 = oh * S - p.pad_top;
    const int kh_lo = static_cast<int>(std::max<int64_t>(0, -ih0));
    const int kh_hi = static_cast<int>(std::min<int64_t>(K, p.in_h - ih0));
    const float* w = p.weights.data() + (cb * K + kh_lo) * K * 16;
    const float* in = src + cb * p.src.block + (ih0 + kh_lo) * row;
    float* out = dst + cb * p.dst.block + oh * p.dst.row;
    auto edge = [&](int64_t ow) {
      __m512 acc = bias;
      const int64_t iw0 = ow * S - pad_left;
      for (int kh = 0; kh < kh_hi - kh_lo; ++kh)
        for (int kw = 0; kw < K; ++kw)
          if (iw0 + kw >= 0 && iw0 + kw < in_w)
            acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(lanes, in + kh * row + (iw0 + kw) * pixel),
                                  _mm512_loadu_ps(w + (kh * K + kw) * 16), acc);
      post_ops(&acc, 1, p.post_ops);
      _mm512_mask_storeu_ps(out + ow * p.dst.pixel, lanes, acc);
    };
    for (int64_t ow = 0; ow < ow_a; ++ow) edge(ow);
    if (ow_b > ow_a)
      row_span<K, S, false>(in + (ow_a * S - pad_left) * pixel, row, pixel, lanes, w, kh_hi - kh_lo,
                            bias, p, ow_a, ow_b, out);
    for (int64_t ow = ow_b; ow < p.out_w; ++ow) edge(ow);
  }
}

template <int K, int S>
void run_items(const DwPlan& p, const float* src, float* dst, int64_t begin, int64_t end) {
  const int64_t chunk = rows_per_item(p), chunks = (p.out_h + chunk - 1) / chunk;
  float* buf = nullptr;
  if (p.padded) {
    // One thread's padded rows (64-byte aligned for the vector loads).
    thread_local std::vector<float> scratch;
    const size_t need =
        static_cast<size_t>(((chunk - 1) * S + K) * ((p.out_w - 1) * S + K) * 16 + 16);
    if (scratch.size() < need) scratch.resize(need);
    buf = scratch.data();
    buf += (16 - (reinterpret_cast<uintptr_t>(buf) / sizeof(float)) % 16) % 16;
  }
  for (int64_t i = begin; i < end; ++i) {
    // Item order: image, row chunk, block (neighbouring items share input rows).
    const int64_t cb = i % p.blocks, oh0 = (i / p.blocks) % chunks * chunk,
                  n = i / (p.blocks * chunks);
    const int64_t oh1 = std::min(p.out_h, oh0 + chunk);
    const int64_t left = p.channels - cb * 16;
    const __mmask16 lanes = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
    const float* in = src + n * p.src.image;
    float* out = dst + n * p.dst.image;
    if (p.padded)
      item_padded<K, S>(p, in, out, cb, oh0, oh1, lanes, buf);
    else
      item_direct<K, S>(p, in, out, cb, oh0, oh1, lanes);
  }
}

using ItemsFn = void (*)(const DwPlan&, const float*, float*, int64_t, int64_t);

template <int K>
ItemsFn for_stride(int stride) {
  return stride == 1 ? run_items<K, 1> : run_items<K, 2>;
}

}  // namespace

int64_t dw_items(const DwPlan& p) {
  return p.n * p.blocks * ((p.out_h + rows_per_item(p) - 1) / rows_per_item(p));
}

void dw_run_avx512(const DwPlan& p, const float* src, float* dst, int64_t begin, int64_t end) {
  const ItemsFn fn = p.kernel == 3   ? for_stride<3>(p.stride)
                     : p.kernel == 5 ? for_stride<5>(p.stride)
                                     : for_stride<7>(p.stride);
  fn(p, src, dst, begin, end);
}

void dw_post_ops_avx512(float* v, int64_t n, const std::vector<ops::PostOp>& ops) {
  // 8 vectors per dispatch: the independent chains of a sigmoid overlap in the pipelines.
  constexpr int kBlock = 8;
  int64_t i = 0;
  for (; i + 16 * kBlock <= n; i += 16 * kBlock) {
    __m512 x[kBlock];
    for (int j = 0; j < kBlock; ++j) x[j] = _mm512_loadu_ps(v + i + 16 * j);
    post_ops(x, kBlock, ops);
    for (int j = 0; j < kBlock; ++j) _mm512_storeu_ps(v + i + 16 * j, x[j]);
  }
  for (; i < n; i += 16) {
    const __mmask16 lanes =
        n - i >= 16 ? __mmask16(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1);
    __m512 x = _mm512_maskz_loadu_ps(lanes, v + i);
    post_ops(&x, 1, ops);
    _mm512_mask_storeu_ps(v + i, lanes, x);
  }
}

}  // namespace frugal::kernels::cpu
#pragma GCC pop_options
