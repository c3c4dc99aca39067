// Plain loops of the binary Conv kernel, inlined both into portable code and into the
// AVX-512 wrappers of binary_popcount_avx512.cpp, where the compiler vectorizes them with
// 512-bit registers (one source, two instruction sets).
#pragma once

#include <algorithm>
#include <cstdint>

#include "frugal/ops/binary_layer.h"

namespace frugal::kernels::cpu::detail {

// Word q of (ws, wm) = words q + i * step of (s, m), i < count, shifted to bits i * bits.
inline void widen_loop(const uint64_t* s, const uint64_t* m, int64_t positions, int64_t count,
                       int64_t step, int64_t bits, uint64_t* ws, uint64_t* wm) {
  std::copy(s, s + positions, ws);
  std::copy(m, m + positions, wm);
  for (int64_t i = 1; i < count; ++i) {  // one shift per loop: vectorized
    const int64_t shift = i * bits, at = i * step;
    for (int64_t q = 0; q < positions; ++q) {
      ws[q] |= s[q + at] << shift;
      wm[q] |= m[q + at] << shift;
    }
  }
}

// y[r * y_stride + p] = output(alpha[r], beta, dot[p * ldd + r], bias[r]) for r < rows,
// p < count (ops/binary_layer.h's formula).
inline void outputs_loop(const int32_t* dot, int64_t ldd, int64_t count, int64_t rows,
                         const float* alpha, float beta, const float* bias, float* y,
                         int64_t y_stride) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < count; ++p)
      y[r * y_stride + p] = ops::binary::output(alpha[r], beta, dot[p * ldd + r], bias[r]);
}

}  // namespace frugal::kernels::cpu::detail
