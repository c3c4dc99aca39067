// float32 values rounded to the grid of float16 or bfloat16 (a Cast to a 16-bit float type,
// whose values frugal holds as float32: core/dtype.h held_type), AVX-512: float16 through
// AVX-512F's float16 conversion there and back (round to nearest even, overflow to infinity, NaN
// kept), bfloat16 by adding half an ulp of the kept bits, ties to even (NaN made quiet). Bit for
// bit core/dtype.h's round_to_held.
#pragma once

#include <cstdint>

namespace frugal::kernels::cpu {

// Whether this CPU runs round_held_avx512 (AVX-512F).
bool round_held_available();
// dst[i] = round_to_held(to, src[i]) for i < n, `to` float16 or bfloat16 (in-place allowed).
void round_held_avx512(bool to_half, const float* src, float* dst, int64_t n);

}  // namespace frugal::kernels::cpu
