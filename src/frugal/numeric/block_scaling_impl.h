// Internal to numeric: MX block scaling loops, included (inside an anonymous namespace of
// frugal::numeric::detail) by each kernel file so that the compiler vectorizes them for that
// file's instruction set. No includes and no library calls: the code must compile under any
// target pragma without pulling in functions compiled for another target.
//
// block_scale: for each block of `bs` values in [0, m), X = floor(log2 max|v|) - emax clamped
// to [lowest_x, 127] (kBlockNotFinite when the block holds inf or NaN) and tmp = v * 2^-X; a
// value that underflows to zero becomes the smallest subnormal of its sign so that the
// directed modes still round it away from zero. block_unscale: out = tmp * 2^X, or NaN.

constexpr int kBlockNotFinite = 1000;

inline float block_exp2(int e) {  // e in [-149, 127]
  const unsigned bits = e >= -126 ? static_cast<unsigned>(e + 127) << 23 : 1u << (e + 149);
  return __builtin_bit_cast(float, bits);
}

inline int block_floor_log2(unsigned magnitude_bits) {  // finite, nonzero
  const int fe = static_cast<int>(magnitude_bits >> 23);
  return fe ? fe - 127 : -118 - __builtin_clz(magnitude_bits);
}

inline void block_scale_impl(const float* in, float* tmp, int* scale_exp, size_t m, size_t bs,
                             int emax, int lowest_x) {
  for (size_t b = 0, j = 0; b < m; b += bs, ++j) {
    const size_t len = bs < m - b ? bs : m - b;
    const float* v = in + b;
    float* t = tmp + b;
    unsigned amax = 0;  // magnitudes order like their bit patterns
    for (size_t i = 0; i < len; ++i) {
      const unsigned a = __builtin_bit_cast(unsigned, v[i]) & 0x7fffffffu;
      amax = a > amax ? a : amax;
    }
    if (amax >= 0x7f800000u) {
      scale_exp[j] = kBlockNotFinite;
      for (size_t i = 0; i < len; ++i) t[i] = 0.0f;
      continue;
    }
    int x = amax ? block_floor_log2(amax) - emax : 0;
    x = x < lowest_x ? lowest_x : x > 127 ? 127 : x;
    scale_exp[j] = x;
    const float down = block_exp2(-x);
    for (size_t i = 0; i < len; ++i) t[i] = v[i] * down;
    if (x > 0) {  // only a scale above 1 can make a value underflow
      const float tiny = __builtin_bit_cast(float, 1u);
      for (size_t i = 0; i < len; ++i)
        if (t[i] == 0.0f && v[i] != 0.0f) t[i] = __builtin_copysignf(tiny, v[i]);
    }
  }
}

inline void block_unscale_impl(const float* tmp, float* out, const int* scale_exp, size_t m,
                               size_t bs) {
  for (size_t b = 0, j = 0; b < m; b += bs, ++j) {
    const size_t len = bs < m - b ? bs : m - b;
    float* o = out + b;
    const float* t = tmp + b;
    if (scale_exp[j] == kBlockNotFinite) {
      const float nan = __builtin_nanf("");
      for (size_t i = 0; i < len; ++i) o[i] = nan;
      continue;
    }
    const float up = block_exp2(scale_exp[j]);
    for (size_t i = 0; i < len; ++i) o[i] = t[i] * up;
  }
}
