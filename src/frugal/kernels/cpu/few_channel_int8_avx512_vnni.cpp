// The vector code of FewChannelConvInt8 (few_channel_int8.h): the quantization of the image
// into the padded channels-last copy, the gathering of an output row's windows into a
// patch, and P pixels x (64 or 32) output channels per step in 24 int32 accumulators.
#include <immintrin.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "frugal/kernels/cpu/few_channel_int8.h"

#pragma GCC push_options
#pragma GCC target("avx512f,avx512bw,avx512vl,avx512dq,avx512vnni")

namespace frugal::kernels::cpu {
namespace {

// acc += four u8 x s8 products per int32 lane. As inline assembly: GCC 12 keeps the
// accumulators of _mm512_dpbusd_epi32 in memory across a loop (a store per instruction).
inline __attribute__((always_inline)) void dpbusd(__m512i& acc, __m512i u8, __m512i s8) {
  asm("vpdpbusd %[s8], %[u8], %[acc]" : [acc] "+v"(acc) : [u8] "v"(u8), [s8] "v"(s8));
}

// 16 float32 values quantized to u8: saturate(round_half_even(x / scale) + zero_point).
// Clamped in float32 first, so that infinities saturate (NaN becomes 0).
inline __m128i quantize16(__m512 x, __m512 scale, __m512 lo, __m512 hi, __m512i zp) {
  const __m512 t = _mm512_min_ps(_mm512_max_ps(_mm512_div_ps(x, scale), lo), hi);
  const __m512i q = _mm512_add_epi32(_mm512_cvtps_epi32(t), zp);
  return _mm512_cvtusepi32_epi8(_mm512_max_epi32(q, _mm512_setzero_si512()));
}

struct Epilogue {
  const float* scale;
  const float* bias;
  __m512 lo, hi, slope, dst_zp;
  bool leaky;
};

template <bool kU8>
inline __attribute__((always_inline)) void store(const Epilogue& e, __m512i acc, void* dst,
                                                 int64_t at, int64_t col, __mmask16 m) {
  __m512 v = _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc), _mm512_loadu_ps(e.scale + col),
                             _mm512_loadu_ps(e.bias + col));
  if (e.leaky)
    v = _mm512_mask_mul_ps(v, _mm512_cmp_ps_mask(v, _mm512_setzero_ps(), _CMP_LT_OQ), v, e.slope);
  v = _mm512_min_ps(_mm512_max_ps(v, e.lo), e.hi);
  if constexpr (kU8) {
    const __m512i q =
        _mm512_max_epi32(_mm512_cvtps_epi32(_mm512_add_ps(v, e.dst_zp)), _mm512_setzero_si512());
    _mm512_mask_cvtusepi32_storeu_epi8(static_cast<uint8_t*>(dst) + at, m, q);
  } else {
    _mm512_mask_storeu_ps(static_cast<float*>(dst) + at, m, v);
  }
}

// Gathers output row `out_row`'s windows: pixel ow's KH x KW x C bytes, contiguous at
// patch + ow * patch_bytes. Each kernel row is moved as a whole 32- or 64-byte vector
// (masked stores cost several times more on Zen 4): the bytes it carries past its span are
// overwritten by the next row, the next pixel, or meet zero weights (a window's last
// group), and the buffers have the room to read and write past their ends.
void gather_patch(const FewChannelArgs& a, int64_t out_row, uint8_t* patch) {
  const FewChannelShape& s = a.shape;
  const int64_t n = out_row / s.out_h, oh = out_row % s.out_h;
  const uint8_t* top = a.padded + n * a.image_bytes + oh * s.stride_h * a.row_bytes;
  const int64_t step = s.stride_w * s.channels;
  for (int64_t ow = 0; ow < s.out_w; ++ow) {
    uint8_t* d = patch + ow * a.patch_bytes;
    const uint8_t* from = top + ow * step;
    if (a.span <= 32) {
      for (int64_t kh = 0; kh < s.kernel_h; ++kh)
        _mm256_storeu_si256(
            reinterpret_cast<__m256i*>(d + kh * a.span),
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(from + kh * a.row_bytes)));
    } else {
      for (int64_t kh = 0; kh < s.kernel_h; ++kh)
        _mm512_storeu_si512(d + kh * a.span, _mm512_loadu_si512(from + kh * a.row_bytes));
    }
  }
}

// The weights and the masks of the 16-channel vectors of one column block.
struct Block {
  const __m512i* weights;
  int64_t col0;
  __mmask16 m0, m1, m2, m3;
};

Block block_start(const FewChannelArgs& a, int64_t block) {
  Block r;
  r.weights = reinterpret_cast<const __m512i*>(a.packed + block * a.groups * a.cols * 4);
  r.col0 = block * a.cols;
  const auto mask = [&](int v) {
    const int64_t left = a.shape.out_channels - r.col0 - 16 * v;
    return left >= 16 ? __mmask16(0xffff) : left <= 0 ? __mmask16(0) : __mmask16((1u << left) - 1);
  };
  r.m0 = mask(0);
  r.m1 = mask(1);
  r.m2 = mask(2);
  r.m3 = mask(3);
  return r;
}

// The accumulators are named locals (macros below): GCC 12 keeps an array of them in
// memory once inline assembly updates its elements. Each macro is one statement.
#define FRUGAL_ACC4(p) __m512i c##p##0 = zero, c##p##1 = zero, c##p##2 = zero, c##p##3 = zero
#define FRUGAL_ACC2(p) __m512i c##p##0 = zero, c##p##1 = zero
#define FRUGAL_PTR(p) \
  const uint8_t* px##p = patch + std::min<int64_t>(ow0 + p, s.out_w - 1) * a.patch_bytes
#define FRUGAL_DOT4(p)                                                                  \
  do {                                                                                  \
    const __m512i x = _mm512_set1_epi32(*reinterpret_cast<const int32_t*>(px##p + at)); \
    dpbusd(c##p##0, x, w0);                                                             \
    dpbusd(c##p##1, x, w1);                                                             \
    dpbusd(c##p##2, x, w2);                                                             \
    dpbusd(c##p##3, x, w3);                                                             \
  } while (false)
#define FRUGAL_DOT2(p)                                                                  \
  do {                                                                                  \
    const __m512i x = _mm512_set1_epi32(*reinterpret_cast<const int32_t*>(px##p + at)); \
    dpbusd(c##p##0, x, w0);                                                             \
    dpbusd(c##p##1, x, w1);                                                             \
  } while (false)
#define FRUGAL_OUT4(p)                                          \
  do {                                                          \
    if (p >= valid) break;                                      \
    const int64_t o = pixel0 + p * s.out_channels;              \
    store<kU8>(e, c##p##0, dst, o, col0, m0);                   \
    if (m1) store<kU8>(e, c##p##1, dst, o + 16, col0 + 16, m1); \
    if (m2) store<kU8>(e, c##p##2, dst, o + 32, col0 + 32, m2); \
    if (m3) store<kU8>(e, c##p##3, dst, o + 48, col0 + 48, m3); \
  } while (false)
#define FRUGAL_OUT2(p)                                          \
  do {                                                          \
    if (p >= valid) break;                                      \
    const int64_t o = pixel0 + p * s.out_channels;              \
    store<kU8>(e, c##p##0, dst, o, col0, m0);                   \
    if (m1) store<kU8>(e, c##p##1, dst, o + 16, col0 + 16, m1); \
  } while (false)

// One output row of one block of 64 output channels, 6 pixels a step. Pixels past the
// row's end read the last one's window (their results are not stored).
template <bool kU8>
void row64(const FewChannelArgs& a, const Epilogue& e, void* dst, const uint8_t* patch,
           int64_t out_row, int64_t block) {
  const FewChannelShape& s = a.shape;
  const Block r = block_start(a, block);
  const int64_t col0 = r.col0;
  const __mmask16 m0 = r.m0, m1 = r.m1, m2 = r.m2, m3 = r.m3;
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t ow0 = 0; ow0 < s.out_w; ow0 += 6) {
    FRUGAL_PTR(0);
    FRUGAL_PTR(1);
    FRUGAL_PTR(2);
    FRUGAL_PTR(3);
    FRUGAL_PTR(4);
    FRUGAL_PTR(5);
    FRUGAL_ACC4(0);
    FRUGAL_ACC4(1);
    FRUGAL_ACC4(2);
    FRUGAL_ACC4(3);
    FRUGAL_ACC4(4);
    FRUGAL_ACC4(5);
    const __m512i* w = r.weights;
    for (int64_t g = 0, at = 0; g < a.groups; ++g, at += 4, w += 4) {
      const __m512i w0 = _mm512_load_si512(w), w1 = _mm512_load_si512(w + 1),
                    w2 = _mm512_load_si512(w + 2), w3 = _mm512_load_si512(w + 3);
      FRUGAL_DOT4(0);
      FRUGAL_DOT4(1);
      FRUGAL_DOT4(2);
      FRUGAL_DOT4(3);
      FRUGAL_DOT4(4);
      FRUGAL_DOT4(5);
    }
    const int64_t valid = std::min<int64_t>(6, s.out_w - ow0);
    const int64_t pixel0 = (out_row * s.out_w + ow0) * s.out_channels + col0;
    FRUGAL_OUT4(0);
    FRUGAL_OUT4(1);
    FRUGAL_OUT4(2);
    FRUGAL_OUT4(3);
    FRUGAL_OUT4(4);
    FRUGAL_OUT4(5);
  }
}

// The same for at most 32 output channels, 12 pixels a step.
template <bool kU8>
void row32(const FewChannelArgs& a, const Epilogue& e, void* dst, const uint8_t* patch,
           int64_t out_row, int64_t block) {
  const FewChannelShape& s = a.shape;
  const Block r = block_start(a, block);
  const int64_t col0 = r.col0;
  const __mmask16 m0 = r.m0, m1 = r.m1;
  const __m512i zero = _mm512_setzero_si512();
  for (int64_t ow0 = 0; ow0 < s.out_w; ow0 += 12) {
    FRUGAL_PTR(0);
    FRUGAL_PTR(1);
    FRUGAL_PTR(2);
    FRUGAL_PTR(3);
    FRUGAL_PTR(4);
    FRUGAL_PTR(5);
    FRUGAL_PTR(6);
    FRUGAL_PTR(7);
    FRUGAL_PTR(8);
    FRUGAL_PTR(9);
    FRUGAL_PTR(10);
    FRUGAL_PTR(11);
    FRUGAL_ACC2(0);
    FRUGAL_ACC2(1);
    FRUGAL_ACC2(2);
    FRUGAL_ACC2(3);
    FRUGAL_ACC2(4);
    FRUGAL_ACC2(5);
    FRUGAL_ACC2(6);
    FRUGAL_ACC2(7);
    FRUGAL_ACC2(8);
    FRUGAL_ACC2(9);
    FRUGAL_ACC2(10);
    FRUGAL_ACC2(11);
    const __m512i* w = r.weights;
    for (int64_t g = 0, at = 0; g < a.groups; ++g, at += 4, w += 2) {
      const __m512i w0 = _mm512_load_si512(w), w1 = _mm512_load_si512(w + 1);
      FRUGAL_DOT2(0);
      FRUGAL_DOT2(1);
      FRUGAL_DOT2(2);
      FRUGAL_DOT2(3);
      FRUGAL_DOT2(4);
      FRUGAL_DOT2(5);
      FRUGAL_DOT2(6);
      FRUGAL_DOT2(7);
      FRUGAL_DOT2(8);
      FRUGAL_DOT2(9);
      FRUGAL_DOT2(10);
      FRUGAL_DOT2(11);
    }
    const int64_t valid = std::min<int64_t>(12, s.out_w - ow0);
    const int64_t pixel0 = (out_row * s.out_w + ow0) * s.out_channels + col0;
    FRUGAL_OUT2(0);
    FRUGAL_OUT2(1);
    FRUGAL_OUT2(2);
    FRUGAL_OUT2(3);
    FRUGAL_OUT2(4);
    FRUGAL_OUT2(5);
    FRUGAL_OUT2(6);
    FRUGAL_OUT2(7);
    FRUGAL_OUT2(8);
    FRUGAL_OUT2(9);
    FRUGAL_OUT2(10);
    FRUGAL_OUT2(11);
  }
}
#undef FRUGAL_ACC4
#undef FRUGAL_ACC2
#undef FRUGAL_PTR
#undef FRUGAL_DOT4
#undef FRUGAL_DOT2
#undef FRUGAL_OUT4
#undef FRUGAL_OUT2

template <bool kU8>
void rows(const FewChannelArgs& a, void* dst, int64_t begin, int64_t end) {
  const Epilogue e{a.scale,
                   a.bias,
                   _mm512_set1_ps(a.lo),
                   _mm512_set1_ps(a.hi),
                   _mm512_set1_ps(a.slope),
                   _mm512_set1_ps(a.dst_zp),
                   a.slope != 1.0f};
  // One output row's windows (+ 64 bytes: the last row's vector runs past its span).
  std::vector<uint8_t> patch(static_cast<size_t>(a.shape.out_w * a.patch_bytes + 64));
  for (int64_t out_row = begin; out_row < end; ++out_row) {
    gather_patch(a, out_row, patch.data());
    for (int64_t block = 0; block < a.col_blocks; ++block)
      if (a.cols == 64)
        row64<kU8>(a, e, dst, patch.data(), out_row, block);
      else
        row32<kU8>(a, e, dst, patch.data(), out_row, block);
  }
}

}  // namespace

namespace {

// The C (2 to 4) quantized 16-value lanes of `lanes` interleaved into 16 x C bytes at `out`
// (pixel-major), `count` pixels: one byte permutation (AVX-512 VBMI).
__attribute__((target("avx512f,avx512bw,avx512vl,avx512dq,avx512vbmi"))) void interleave_vbmi(
    const __m512i& lanes, const __m512i& order, int64_t c_count, int64_t count, uint8_t* out) {
  const int64_t bytes = count * c_count;
  const __mmask64 m = bytes == 64 ? ~__mmask64(0) : (__mmask64(1) << bytes) - 1;
  _mm512_mask_storeu_epi8(out, m, _mm512_maskz_permutexvar_epi8(~__mmask64(0), order, lanes));
}

}  // namespace

void few_channel_quantize_avx512_vnni(const FewChannelArgs& a, const float* src, int64_t begin,
                                      int64_t end) {
  const FewChannelShape& s = a.shape;
  const int64_t c_count = s.channels, width = s.in_w, plane = s.in_h * s.in_w;
  const __m512 scale = _mm512_set1_ps(a.quant.scale);
  // round(x / s) + zp lands in [0, 255] exactly when x / s is in [-zp, 255 - zp].
  const __m512 lo = _mm512_set1_ps(-1.0f - static_cast<float>(a.quant.zero_point));
  const __m512 hi = _mm512_set1_ps(256.0f - static_cast<float>(a.quant.zero_point));
  const __m512i zp = _mm512_set1_epi32(a.quant.zero_point);
  // Byte j of the interleaved pixels is channel j % C of pixel j / C: lane j % C, byte j / C.
  alignas(64) uint8_t order_bytes[64];
  for (int64_t j = 0; j < 64; ++j)
    order_bytes[j] = static_cast<uint8_t>(j < 16 * c_count ? (j % c_count) * 16 + j / c_count : 0);
  const __m512i order = _mm512_load_si512(order_bytes);
  alignas(64) uint8_t lanes[4][16];
  for (int64_t r = begin; r < end; ++r) {
    const int64_t n = r / s.in_h, ih = r % s.in_h;
    uint8_t* d =
        a.padded + n * a.image_bytes + (ih + s.pad_top) * a.row_bytes + s.pad_left * c_count;
    const float* x = src + n * c_count * plane + ih * width;
    for (int64_t i = 0; i < width; i += 16) {
      const int64_t count = std::min<int64_t>(16, width - i);
      const __mmask16 m = count == 16 ? __mmask16(0xffff) : __mmask16((1u << count) - 1);
      if (c_count == 1) {
        _mm_mask_storeu_epi8(d + i, m,
                             quantize16(_mm512_maskz_loadu_ps(m, x + i), scale, lo, hi, zp));
        continue;
      }
      __m512i packed = _mm512_setzero_si512();
      for (int64_t c = 0; c < c_count; ++c) {
        const __m128i q =
            quantize16(_mm512_maskz_loadu_ps(m, x + c * plane + i), scale, lo, hi, zp);
        // In a register: four 16-byte stores read back as one 64-byte load would miss the
        // store forwarding.
        packed = c == 0   ? _mm512_inserti32x4(packed, q, 0)
                 : c == 1 ? _mm512_inserti32x4(packed, q, 1)
                 : c == 2 ? _mm512_inserti32x4(packed, q, 2)
                          : _mm512_inserti32x4(packed, q, 3);
      }
      uint8_t* out = d + i * c_count;
      if (a.vbmi) {
        interleave_vbmi(packed, order, c_count, count, out);
        continue;
      }
      _mm512_store_si512(lanes, packed);
      for (int64_t j = 0; j < count; ++j)
        for (int64_t c = 0; c < c_count; ++c) out[j * c_count + c] = lanes[c][j];
    }
  }
}

void few_channel_conv_avx512_vnni(const FewChannelArgs& a, void* dst, int64_t begin, int64_t end) {
  if (a.u8_out)
    rows<true>(a, dst, begin, end);
  else
    rows<false>(a, dst, begin, end);
}

}  // namespace frugal::kernels::cpu
#pragma GCC pop_options
