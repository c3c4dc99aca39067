// ONNX Runtime's dynamic quantization on the cpu backend: DynamicQuantizeLinear, and the
// integer products it feeds, MatMulInteger and ConvInteger (what
// `onnxruntime.quantization.quantize_dynamic` writes, per layer: DynamicQuantizeLinear on
// the activation, the integer product with 8-bit weights, a Cast to float and a Mul by the
// two scales). Before, these ran on ref: a ConvInteger of ISNet at 1024x1024 took minutes.
//
// The integer products are exact, as ref's (ops/qlinear.cpp): int32 = sum (x - x_zero)
// (w - w_zero), padding contributing 0. oneDNN's int8 primitives take u8 or s8 sources with
// s8 weights and no weight zero point, so the weights are split at build time as
//   w - w_zero[o] = w8 + d[o],  w8 = w - 128 (uint8 weights) or w (int8), d[o] the rest,
// and one more output column (channel) of ones gives each output's sum of x over its
// window, S (a grouped ConvInteger: a second grouped convolution of ones). Then
//   y = (x . w8) + d[o] S - x_zero C[o],  C[o] = sum over the window of (w - w_zero[o]),
// which an own pass applies to the primitive's int32 result (wrapping, as ref's). The
// window covers padding for ConvInteger: x is padded with x_zero first, so every tap counts
// and C is a constant. VNNI (or AMX) only: without it oneDNN's u8 x s8 products go through
// vpmaddubsw, whose 16-bit sums saturate.
#include <immintrin.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "frugal/kernels/cpu/depthwise.h"
#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/integer_kernels.h"
#include "frugal/kernels/cpu/threads.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/quantize_math.h"

namespace frugal::kernels::cpu {
namespace {

using dt = dnnl::memory::data_type;
using tag = dnnl::memory::format_tag;

void require_exact_int8() {
  if (!integer_products_exact())
    decline("int8 products need VNNI or AMX on this CPU (without, oneDNN's sums saturate)");
}

dt int8_type(DType t, const char* what) {
  if (t == DType::kU8) return dt::u8;
  if (t == DType::kI8) return dt::s8;
  decline(std::string(what) + " is " + std::string(dtype_name(t)) + ", expected uint8 or int8");
}

// The weights split for oneDNN: w8 (int8, with one more row of ones after the `rows` rows),
// d[o] and C[o] (see the top of the file), from constant weights read as `rows` x `taps`
// with output row o's weights at w[o * row_stride + t * tap_stride].
struct SplitWeights {
  std::vector<int8_t> w8;  // [rows + 1][taps]: row `rows` all ones
  std::vector<int32_t> d, c;
};

SplitWeights split_weights(const Tensor& w, const std::vector<int64_t>& zero, int64_t rows,
                           int64_t taps, int64_t row_stride, int64_t tap_stride) {
  SplitWeights s;
  s.w8.assign(static_cast<size_t>((rows + 1) * taps), 1);
  s.d.resize(static_cast<size_t>(rows));
  s.c.resize(static_cast<size_t>(rows));
  const bool u8 = w.dtype() == DType::kU8;
  // The 8-bit values as they are (ISNet's 44 MB of weights widened to int64 first took most
  // of its session init).
  const auto* bytes = static_cast<const uint8_t*>(w.raw());
  auto value_at = [&](int64_t i) -> int64_t {
    return u8 ? int64_t{bytes[i]} : int64_t{static_cast<int8_t>(bytes[i])};
  };
  for (int64_t o = 0; o < rows; ++o) {
    const int64_t z = zero.size() == 1 ? zero[0] : zero[static_cast<size_t>(o)];
    const int64_t shift = u8 ? 128 : 0;
    int64_t sum = 0;
    for (int64_t t = 0; t < taps; ++t) {
      const int64_t value = value_at(o * row_stride + t * tap_stride);
      s.w8[static_cast<size_t>(o * taps + t)] = static_cast<int8_t>(value - shift);
      sum += value - z;
    }
    s.d[static_cast<size_t>(o)] = static_cast<int32_t>(shift - z);
    s.c[static_cast<size_t>(o)] = static_cast<int32_t>(static_cast<uint32_t>(sum));
  }
  return s;
}

// A constant zero point of weights with `count` rows (one value, or one per row); 0 when
// omitted.
std::vector<int64_t> weight_zero_points(const Build& b, size_t i, int64_t count, const char* what) {
  if (!b.has_input(i)) return {0};
  const Tensor* t = b.constant(i);
  if (!t) decline(std::string(what) + " known only at run time not supported");
  if (t->numel() != 1 && t->numel() != count)
    decline(std::string(what) + " of " + std::to_string(t->numel()) + " values not supported");
  return t->to_int64();
}

// The activation's zero point: a constant read now, or input `i` read at each run (one
// value: per-row zero points are declined).
struct ActivationZero {
  int32_t constant = 0;
  dnnl::memory runtime;  // bound to input i when it is not a constant
  bool is_signed = false;
  int32_t value() const {
    if (!runtime) return constant;
    const void* p = runtime.get_data_handle();
    return is_signed ? *static_cast<const int8_t*>(p) : *static_cast<const uint8_t*>(p);
  }
};

ActivationZero activation_zero(const Build& b, OnednnKernel& k, size_t i, const char* what) {
  ActivationZero z;
  if (!b.has_input(i)) return z;
  if (shape_numel(b.in_shape(i)) != 1)
    decline(std::string(what) + " with more than one value not supported");
  z.is_signed = b.in_dtype(i) == DType::kI8;
  if (const Tensor* t = b.constant(i))
    z.constant = static_cast<int32_t>(t->to_int64()[0]);
  else
    z.runtime = k.bind_input(i, plain_md({1}, z.is_signed ? dt::s8 : dt::u8));
  return z;
}

// y = z + d[o] s - x_zero c[o] in int32 arithmetic that wraps (as ref's accumulators).
inline int32_t compensate(int32_t z, int32_t d, int32_t s, int32_t x_zero, int32_t c) {
  return static_cast<int32_t>(static_cast<uint32_t>(z) +
                              static_cast<uint32_t>(d) * static_cast<uint32_t>(s) -
                              static_cast<uint32_t>(x_zero) * static_cast<uint32_t>(c));
}

}  // namespace

bool integer_products_exact() {
  using isa = dnnl::cpu_isa;
  const isa have = dnnl::get_effective_cpu_isa();
  return have == isa::avx512_core_vnni || have == isa::avx512_core_bf16 ||
         have == isa::avx512_core_amx || have == isa::avx2_vnni;
}

// DynamicQuantizeLinear: the range of x (0 included, NaN skipped), scale = range / 255,
// zero point and y rounded half to even as ref's (ops/quantize.cpp), the two passes over
// x shared among the backend's threads.
namespace {

class DynamicQuantizeKernel final : public kernels::Kernel {
 public:
  explicit DynamicQuantizeKernel(int64_t n) : n_(n) {}

  void run(ops::KernelContext& ctx) override {
    const float* x = ctx.input(0).data<float>();
    const int threads = n_ >= kMinPerThread ? num_threads() : 1;
    std::vector<float> lo(static_cast<size_t>(threads), 0.0f), hi(lo);
    parallel_split(threads, threads, [&](int64_t t0, int64_t t1) {
      for (int64_t t = t0; t < t1; ++t)
        range(x + n_ * t / threads, x + n_ * (t + 1) / threads, lo[static_cast<size_t>(t)],
              hi[static_cast<size_t>(t)]);
    });
    float l = 0.0f, h = 0.0f;
    for (size_t t = 0; t < lo.size(); ++t) {
      l = std::min(l, lo[t]);
      h = std::max(h, hi[t]);
    }
    float scale = (h - l) / 255.0f;
    if (scale == 0.0f) scale = 1.0f;
    const uint8_t zero = ops::quant::round_saturate<uint8_t>(0.0f - l / scale);
    uint8_t* y = ctx.output(0).data<uint8_t>();
    parallel_split(threads, n_, [&](int64_t i0, int64_t i1) {
      quantize(x + i0, y + i0, i1 - i0, scale, static_cast<float>(zero));
    });
    if (ctx.has_output(1)) ctx.output(1).data<float>()[0] = scale;
    if (ctx.has_output(2)) ctx.output(2).data<uint8_t>()[0] = zero;
  }
  std::string impl() const override { return "loop:dynamic_quantize"; }

 private:
  static constexpr int64_t kMinPerThread = int64_t{1} << 16;

  // std::min(lo, v) keeps lo when v is NaN, as ref's loop.
  static void range(const float* b, const float* e, float& lo, float& hi) {
    float l = 0.0f, h = 0.0f;
    const float* p = b;
    if (dw_isa_available()) p = range_avx512(b, e, l, h);
    for (; p < e; ++p) {
      l = *p < l ? *p : l;
      h = *p > h ? *p : h;
    }
    lo = l;
    hi = h;
  }
  static void quantize(const float* x, uint8_t* y, int64_t n, float scale, float zero) {
    int64_t i = dw_isa_available() ? quantize_avx512(x, y, n, scale, zero) : 0;
    for (; i < n; ++i)
      y[i] = ops::quant::round_saturate<uint8_t>(ops::quant::round_half_even(x[i] / scale) + zero);
  }
  // The same on whole vectors: vminps(v, lo) keeps lo for a NaN v; the quotient rounded to
  // nearest even (the default rounding mode), NaN to 0 by vmaxps(q, 0), saturated to 255.
  // Return where the scalar tail starts.
  __attribute__((target("avx512f"))) static const float* range_avx512(const float* b,
                                                                      const float* e, float& lo,
                                                                      float& hi) {
    __m512 l = _mm512_setzero_ps(), h = _mm512_setzero_ps();
    const float* p = b;
    for (; p + 16 <= e; p += 16) {
      const __m512 v = _mm512_loadu_ps(p);
      l = _mm512_min_ps(v, l);
      h = _mm512_max_ps(v, h);
    }
    alignas(64) float ls[16], hs[16];
    _mm512_store_ps(ls, l);
    _mm512_store_ps(hs, h);
    for (int j = 0; j < 16; ++j) {
      lo = std::min(lo, ls[j]);
      hi = std::max(hi, hs[j]);
    }
    return p;
  }
  __attribute__((target("avx512f"))) static int64_t quantize_avx512(const float* x, uint8_t* y,
                                                                    int64_t n, float scale,
                                                                    float zero) {
    const __m512 s = _mm512_set1_ps(scale), z = _mm512_set1_ps(zero);
    const __m512 top = _mm512_set1_ps(255.0f), bottom = _mm512_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m512 q = _mm512_roundscale_ps(_mm512_div_ps(_mm512_loadu_ps(x + i), s),
                                            _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
      const __m512 v = _mm512_min_ps(_mm512_max_ps(_mm512_add_ps(q, z), bottom), top);
      _mm_storeu_si128(reinterpret_cast<__m128i*>(y + i),
                       _mm512_cvtepi32_epi8(_mm512_cvtps_epi32(v)));
    }
    return i;
  }

  int64_t n_;
};

}  // namespace

std::unique_ptr<kernels::Kernel> make_dynamic_quantize_linear(const Build& b) {
  if (b.in_dtype(0) != DType::kF32) decline("x is not float32");
  return std::make_unique<DynamicQuantizeKernel>(shape_numel(b.in_shape(0)));
}

// MatMulInteger with constant 2-D B: A [..., M, K] as rows x K, one oneDNN int8 matmul
// against [K, N + 1] (w8 and the column of ones), then the zero-point pass.
std::unique_ptr<kernels::Kernel> make_matmul_integer(const Build& b) {
  require_exact_int8();
  const Shape& a = b.in_shape(0);
  const Tensor* w = b.constant(1);
  if (!w) decline("B known only at run time not supported");
  if (w->shape().size() != 2)
    decline("B of rank " + std::to_string(w->shape().size()) +
            " not supported (2-D constant weights only)");
  if (a.size() < 2) decline("1-D A not supported");
  const dt a_type = int8_type(b.in_dtype(0), "A");
  int8_type(w->dtype(), "B");
  const int64_t k = w->shape()[0], n = w->shape()[1];
  const int64_t rows = shape_numel(a) / k;
  const SplitWeights s = split_weights(*w, weight_zero_points(b, 3, n, "b_zero_point"), n, k,
                                       /*row_stride=*/1, /*tap_stride=*/n);
  // s.w8 is [N + 1][K]: the weights as oneDNN reads them, K x (N + 1) with strides.
  const dnnl::memory::desc w_boundary({k, n + 1}, dt::s8, dnnl::memory::dims{1, k});
  const dnnl::memory::desc src = plain_md({rows, k}, a_type);
  const dnnl::memory::desc z_md = plain_md({rows, n + 1}, dt::s32);
  const dnnl::matmul::desc d(src, dnnl::memory::desc({k, n + 1}, dt::s8, tag::any), z_md);
  const dnnl::matmul::primitive_desc pd(d, scratchpad_attr(), b.context->engine());

  auto kernel = std::make_unique<OnednnKernel>(b.context);
  OnednnKernel& kk = *kernel;
  Args args;
  args[DNNL_ARG_SRC] = kk.bind_input(0, src);
  args[DNNL_ARG_WEIGHTS] =
      kk.constant_as(Tensor::from_vector<int8_t>({n + 1, k}, s.w8), w_boundary, pd.weights_desc());
  const dnnl::memory z = kk.buffer(z_md);
  args[DNNL_ARG_DST] = z;
  kk.add_step(pd, std::move(args));
  const ActivationZero zero = activation_zero(b, kk, 2, "a_zero_point");
  const dnnl::memory y = kk.bind_output(0, plain_md({rows, n}, dt::s32));
  kk.add_function_step(
      [z, y, zero, shift = s.d, c = s.c, rows, n] {
        const int32_t* zp = static_cast<const int32_t*>(z.get_data_handle());
        int32_t* yp = static_cast<int32_t*>(y.get_data_handle());
        const int32_t x_zero = zero.value();
        parallel_split(rows * n >= (int64_t{1} << 15) ? num_threads() : 1, rows,
                       [&](int64_t r0, int64_t r1) {
                         for (int64_t r = r0; r < r1; ++r) {
                           const int32_t* zr = zp + r * (n + 1);
                           int32_t* yr = yp + r * n;
                           for (int64_t j = 0; j < n; ++j)
                             yr[j] = compensate(zr[j], shift[static_cast<size_t>(j)], zr[n], x_zero,
                                                c[static_cast<size_t>(j)]);
                         }
                       });
      },
      kk.impl());
  kk.add_note("zero points by own loop");
  return kernel;
}

// ConvInteger, 2-D: x padded with its zero point into a buffer (when the node pads), one
// oneDNN int8 convolution without padding, then the zero-point pass, reading the
// primitive's channels-last result and writing y plain. One group: the window sums S come
// from an (M + 1)th output channel of ones. Groups: from a second grouped convolution of
// ones, one output per group (only where some d is not 0).
std::unique_ptr<kernels::Kernel> make_conv_integer(const Build& b) {
  require_exact_int8();
  const ir::Node& node = b.node();
  const Shape& x = b.in_shape(0);
  const Shape& y = b.out_shape(0);
  const Tensor* w = b.constant(1);
  if (!w) decline("w known only at run time not supported");
  if (x.size() != 4) decline(std::to_string(x.size()) + "-D x not supported (2-D images only)");
  const dt x_type = int8_type(b.in_dtype(0), "x");
  int8_type(w->dtype(), "w");
  const Shape& ws = w->shape();
  const int64_t group = node.attr_int("group", 1);
  const int64_t m = ws[0], cg = ws[1], taps = cg * ws[2] * ws[3];
  const int64_t n = x[0], c = x[1], mg = m / group;
  if (group < 1 || c != cg * group || m % group != 0)
    decline("group " + std::to_string(group) + " does not divide the channels");
  const bool grouped = group > 1;
  const ops::WindowGeometry g =
      ops::sliding_window(node, {x[2], x[3]}, {ws[2], ws[3]}, /*ceil_mode=*/false);
  SplitWeights s = split_weights(*w, weight_zero_points(b, 3, m, "w_zero_point"), m, taps,
                                 /*row_stride=*/taps, /*tap_stride=*/1);
  const bool sums_needed =
      !grouped || std::any_of(s.d.begin(), s.d.end(), [](int32_t d) { return d != 0; });
  if (grouped) s.w8.resize(static_cast<size_t>(m * taps));  // no row of ones
  const int64_t ph = x[2] + g.pad_begin[0] + g.pad_end[0];
  const int64_t pw = x[3] + g.pad_begin[1] + g.pad_end[1];
  const bool padded = ph != x[2] || pw != x[3];
  if (g.pad_begin[0] < 0 || g.pad_begin[1] < 0 || g.pad_end[0] < 0 || g.pad_end[1] < 0)
    decline("negative pads not supported");
  const dnnl::memory::desc p_md = plain_md({n, c, ph, pw}, x_type);
  const dnnl::memory::dims dil{g.dilations[0] - 1, g.dilations[1] - 1}, none{0, 0};
  const dnnl::memory::dims strides{g.strides[0], g.strides[1]};
  const dnnl::memory::desc src_md({n, c, ph, pw}, x_type, tag::nhwc);
  // The primitive of `outputs` channels per group over weights `wdims` (oihw or goihw).
  auto conv_pd = [&](const dnnl::memory::dims& wdims, int64_t channels) {
    const dnnl::convolution_forward::desc d(
        dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct, src_md,
        dnnl::memory::desc(wdims, dt::s8, tag::any),
        dnnl::memory::desc({n, channels, y[2], y[3]}, dt::s32, tag::nhwc), strides, dil, none,
        none);
    return dnnl::convolution_forward::primitive_desc(d, scratchpad_attr(), b.context->engine());
  };
  const int64_t zc = grouped ? m : m + 1;  // z's channels
  const dnnl::memory::dims w_dims = grouped ? dnnl::memory::dims{group, mg, cg, ws[2], ws[3]}
                                            : dnnl::memory::dims{m + 1, cg, ws[2], ws[3]};
  const auto pd = conv_pd(w_dims, zc);

  auto kernel = std::make_unique<OnednnKernel>(b.context);
  OnednnKernel& kk = *kernel;
  const ActivationZero zero = activation_zero(b, kk, 2, "x_zero_point");
  Args args;
  if (padded) {
    const dnnl::memory in = kk.bind_input(0, plain_md(x, x_type));
    const dnnl::memory p = kk.buffer(p_md);
    const int64_t h = x[2], wd = x[3], top = g.pad_begin[0], left = g.pad_begin[1];
    kk.add_function_step(
        [in, p, zero, n, c, h, wd, ph, pw, top, left] {
          const auto* src = static_cast<const uint8_t*>(in.get_data_handle());
          auto* dst = static_cast<uint8_t*>(p.get_data_handle());
          const auto fill = static_cast<uint8_t>(zero.value());
          parallel_split(num_threads(), n * c, [&](int64_t p0, int64_t p1) {
            for (int64_t plane = p0; plane < p1; ++plane) {
              uint8_t* out = dst + plane * ph * pw;
              std::memset(out, fill, static_cast<size_t>(ph * pw));
              for (int64_t r = 0; r < h; ++r)
                std::memcpy(out + (r + top) * pw + left, src + (plane * h + r) * wd,
                            static_cast<size_t>(wd));
            }
          });
        },
        "loop:pad");
    args[DNNL_ARG_SRC] = kk.buffer(pd.src_desc());
    kk.add_copy(p, args[DNNL_ARG_SRC]);
  } else {
    args[DNNL_ARG_SRC] = kk.input_as(0, plain_md(x, x_type), pd.src_desc());
  }
  const dnnl::memory src = args[DNNL_ARG_SRC];
  // s.w8 is [M (+ 1)][C/group kh kw]: oneDNN's oihw, or goihw with the groups outermost.
  args[DNNL_ARG_WEIGHTS] =
      kk.constant_as(Tensor::from_vector<int8_t>(Shape(w_dims.begin(), w_dims.end()), s.w8),
                     plain_md(w_dims, dt::s8), pd.weights_desc());
  const dnnl::memory z = kk.buffer(pd.dst_desc());
  args[DNNL_ARG_DST] = z;
  kk.add_step(pd, std::move(args));
  dnnl::memory sums;  // grouped: [n][position][group], the window sums
  if (grouped && sums_needed) {
    const dnnl::memory::dims ones_dims{group, 1, cg, ws[2], ws[3]};
    const auto spd = conv_pd(ones_dims, group);
    sums = kk.buffer(spd.dst_desc());
    Args sargs;
    sargs[DNNL_ARG_SRC] = src;
    sargs[DNNL_ARG_WEIGHTS] = kk.constant_as(
        Tensor::from_vector<int8_t>(Shape(ones_dims.begin(), ones_dims.end()),
                                    std::vector<int8_t>(static_cast<size_t>(group * taps), 1)),
        plain_md(ones_dims, dt::s8), spd.weights_desc());
    sargs[DNNL_ARG_DST] = sums;
    kk.add_step(spd, std::move(sargs), /*main=*/false);
  }
  const dnnl::memory out = kk.bind_output(0, plain_md(y, dt::s32));
  const int64_t positions = y[2] * y[3];
  const bool has_sums = !grouped || sums_needed;
  kk.add_function_step(
      [z, sums, out, zero, shift = s.d, cc = s.c, n, m, zc, group, mg, grouped, has_sums,
       positions] {
        const int32_t* zp = static_cast<const int32_t*>(z.get_data_handle());
        const int32_t* sp =
            grouped && has_sums ? static_cast<const int32_t*>(sums.get_data_handle()) : nullptr;
        int32_t* yp = static_cast<int32_t*>(out.get_data_handle());
        const int32_t x_zero = zero.value();
        // z is channels last, [n][position][zc]; y plain. Tiles of kTile positions of one
        // image: each position's m values computed along z's row (vectorized) into a local
        // tile, then written out channel by channel, kTile contiguous values each (element
        // by element through z's columns, the pass took 23 of 40 ms on a 64-channel
        // 256x256 layer).
        constexpr int64_t kTile = 16;
        const int64_t tiles = (positions + kTile - 1) / kTile;
        parallel_split(num_threads(), n * tiles, [&](int64_t t0, int64_t t1) {
          std::vector<int32_t> tile(static_cast<size_t>(kTile * m));
          for (int64_t t = t0; t < t1; ++t) {
            const int64_t img = t / tiles, p0 = (t % tiles) * kTile;
            const int64_t count = std::min(positions - p0, kTile);
            const int64_t q0 = img * positions + p0;  // the tile's first position in z
            for (int64_t p = 0; p < count; ++p) {
              const int32_t* zr = zp + (q0 + p) * zc;
              int32_t* row = tile.data() + p * m;
              if (!grouped) {
                const int32_t sum = zr[m];
                for (int64_t o = 0; o < m; ++o)
                  row[o] = compensate(zr[o], shift[static_cast<size_t>(o)], sum, x_zero,
                                      cc[static_cast<size_t>(o)]);
              } else {
                const int32_t* sr = sp ? sp + (q0 + p) * group : nullptr;
                for (int64_t o = 0; o < m; ++o)
                  row[o] = compensate(zr[o], shift[static_cast<size_t>(o)], sr ? sr[o / mg] : 0,
                                      x_zero, cc[static_cast<size_t>(o)]);
              }
            }
            int32_t* yi = yp + img * m * positions + p0;
            for (int64_t o = 0; o < m; ++o)
              for (int64_t p = 0; p < count; ++p)
                yi[o * positions + p] = tile[static_cast<size_t>(p * m + o)];
          }
        });
      },
      kk.impl());
  kk.add_note(padded ? "x padded with its zero point, zero points by own loop"
                     : "zero points by own loop");
  return kernel;
}

}  // namespace frugal::kernels::cpu
