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

#include "frugal/kernels/cpu/depthwise.h"

namespace frugal::kernels::cpu {

bool dw_isa_available() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq");
}

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq")

namespace {

using Kind = ops::PostOp::Kind;

// e^x, Cephes' single-precision polynomial on x - n ln2, scaled by 2^n (about 1 ulp).
inline __m512 exp_ps(__m512 x) {
  x = _mm512_min_ps(_mm512_max_ps(x, _mm512_set1_ps(-87.3f)), _mm512_set1_ps(88.7f));
  const __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                        _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);
}

inline __m512 sigmoid_ps(__m512 x) {
  const __m512 one = _mm512_set1_ps(1.0f);
  return _mm512_div_ps(one, _mm512_add_ps(one, exp_ps(_mm512_sub_ps(_mm512_setzero_ps(), x))));
}

inline __m512 clamp_ps(__m512 v, float lo, float hi) {
  return _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(lo)), _mm512_set1_ps(hi));
}

// The node's post-ops, in order (the kinds make_own_depthwise accepts).
inline __m512 post_ops(__m512 v, const std::vector<ops::PostOp>& ops) {
  for (const ops::PostOp& op : ops) {
    switch (op.kind) {
      case Kind::kRelu:
        v = _mm512_max_ps(v, _mm512_setzero_ps());
        break;
      case Kind::kLeakyRelu: {
        const __mmask16 neg = _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ);
        v = _mm512_mask_mul_ps(v, neg, v, _mm512_set1_ps(op.a));
        break;
      }
      case Kind::kClip:
        v = clamp_ps(v, op.a, op.b);  // LO > HI gives HI everywhere, as ONNX's Clip
        break;
      case Kind::kSigmoid:
        v = sigmoid_ps(v);
        break;
      case Kind::kSwish:
        v = _mm512_mul_ps(v, sigmoid_ps(v));
        break;
      case Kind::kHardSwish:  // x * max(0, min(1, x / 6 + 1 / 2))
        v = _mm512_mul_ps(v, clamp_ps(_mm512_fmadd_ps(v, _mm512_set1_ps(1.0f / 6.0f),
                                                      _mm512_set1_ps(0.5f)),
                                      0.0f, 1.0f));
        break;
      case Kind::kHardSigmoid:
        v = clamp_ps(_mm512_fmadd_ps(v, _mm512_set1_ps(op.a), _mm512_set1_ps(op.b)), 0.0f, 1.0f);
        break;
      default:
        break;  // not accepted by make_own_depthwise
    }
  }
  return v;
}

// One output row (`oh`) of channel block `cb` of one image.
template <int K, int S>
void dw_row(const DwPlan& p, const float* src, float* dst, int64_t cb, int64_t oh) {
  const int64_t left = p.channels - cb * 16;
  const __mmask16 lanes = left >= 16 ? __mmask16(0xFFFF) : __mmask16((1u << left) - 1);
  const float* w = p.weights.data() + cb * K * K * 16;
  const __m512 bias = _mm512_loadu_ps(p.bias.data() + cb * 16);
  const int64_t ih0 = oh * S - p.pad_top;
  const int kh_lo = static_cast<int>(std::max<int64_t>(0, -ih0));
  const int kh_hi = static_cast<int>(std::min<int64_t>(K, p.in_h - ih0));
  const float* in = src + cb * p.src.block + ih0 * p.src.row;
  float* out = dst + cb * p.dst.block + oh * p.dst.row;
  auto store = [&](int64_t ow, __m512 v) {
    _mm512_mask_storeu_ps(out + ow * p.dst.pixel, lanes, post_ops(v, p.post_ops));
  };
  auto tap = [&](int kh, int64_t iw) {
    return _mm512_maskz_loadu_ps(lanes, in + kh * p.src.row + iw * p.src.pixel);
  };
  // Outputs [ow_a, ow_b) read no column outside the row.
  const int64_t ow_a = std::min(p.out_w, (p.pad_left + S - 1) / S);
  const int64_t last = p.in_w - K + p.pad_left;  // largest ow * S whose window fits
  const int64_t ow_b = std::max(ow_a, std::min(p.out_w, last < 0 ? 0 : last / S + 1));
  auto edge = [&](int64_t ow) {
    __m512 acc = bias;
    const int64_t iw0 = ow * S - p.pad_left;
    for (int kh = kh_lo; kh < kh_hi; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const int64_t iw = iw0 + kw;
        if (iw < 0 || iw >= p.in_w) continue;
        acc = _mm512_fmadd_ps(tap(kh, iw), _mm512_loadu_ps(w + (kh * K + kw) * 16), acc);
      }
    store(ow, acc);
  };
  for (int64_t ow = 0; ow < ow_a; ++ow) edge(ow);
  constexpr int kBlock = 8;
  int64_t ow = ow_a;
  for (; ow + kBlock <= ow_b; ow += kBlock) {
    __m512 acc[kBlock];
    for (int j = 0; j < kBlock; ++j) acc[j] = bias;
    const int64_t iw0 = ow * S - p.pad_left;
    for (int kh = kh_lo; kh < kh_hi; ++kh)
      for (int kw = 0; kw < K; ++kw) {
        const __m512 wv = _mm512_loadu_ps(w + (kh * K + kw) * 16);
        for (int j = 0; j < kBlock; ++j)
          acc[j] = _mm512_fmadd_ps(tap(kh, iw0 + j * S + kw), wv, acc[j]);
      }
    for (int j = 0; j < kBlock; ++j) store(ow + j, acc[j]);
  }
  for (; ow < ow_b; ++ow) {
    __m512 acc = bias;
    const int64_t iw0 = ow * S - p.pad_left;
    for (int kh = kh_lo; kh < kh_hi; ++kh)
      for (int kw = 0; kw < K; ++kw)
        acc = _mm512_fmadd_ps(tap(kh, iw0 + kw), _mm512_loadu_ps(w + (kh * K + kw) * 16), acc);
    store(ow, acc);
  }
  for (ow = ow_b; ow < p.out_w; ++ow) edge(ow);
}

template <int K, int S>
void run_items(const DwPlan& p, const float* src, float* dst, int64_t begin, int64_t end) {
  for (int64_t i = begin; i < end; ++i) {
    // Item order: image, row, block (neighbouring items share input rows).
    const int64_t cb = i % p.blocks, oh = (i / p.blocks) % p.out_h, n = i / (p.blocks * p.out_h);
    dw_row<K, S>(p, src + n * p.src.image, dst + n * p.dst.image, cb, oh);
  }
}

using ItemsFn = void (*)(const DwPlan&, const float*, float*, int64_t, int64_t);

template <int K>
ItemsFn for_stride(int stride) {
  return stride == 1 ? run_items<K, 1> : run_items<K, 2>;
}

}  // namespace

void dw_run_avx512(const DwPlan& p, const float* src, float* dst, int64_t begin, int64_t end) {
  const ItemsFn fn = p.kernel == 3   ? for_stride<3>(p.stride)
                     : p.kernel == 5 ? for_stride<5>(p.stride)
                                     : for_stride<7>(p.stride);
  fn(p, src, dst, begin, end);
}

#pragma GCC pop_options

}  // namespace frugal::kernels::cpu
