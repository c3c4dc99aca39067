// The AVX-512 copy of the own Concat (concat.h). DenseNet's channels-last Concats move
// 128 bytes (32 channels) per pixel and input: a library memcpy call per chunk costs about
// as much as the move itself, so chunks up to 2 KiB are moved inline, 64 bytes a vector,
// the last one masked (whole floats: every chunk is a multiple of 4 bytes).
//
// GCC 12 reports its own intrinsics as maybe-uninitialized (GCC bug 105593).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>

#include <cstring>

#include "frugal/kernels/cpu/concat.h"

namespace frugal::kernels::cpu {

bool concat_isa_available() {
  return __builtin_cpu_supports("avx512f");
}

#pragma GCC push_options
#pragma GCC target("avx512f")

namespace {

constexpr int64_t kInlineBytes = 2048;

inline void copy_small(char* to, const char* from, int64_t bytes) {
  for (; bytes >= 64; bytes -= 64, to += 64, from += 64)
    _mm512_storeu_si512(to, _mm512_loadu_si512(from));
  if (bytes > 0) {
    const __mmask16 m = static_cast<__mmask16>((1u << (bytes / 4)) - 1);
    _mm512_mask_storeu_epi32(to, m, _mm512_maskz_loadu_epi32(m, from));
  }
}

}  // namespace

void concat_bytes_avx512(const ConcatPlan& p, const char* const* srcs, char* dst, int64_t begin,
                         int64_t end) {
  concat_walk(p, srcs, dst, begin, end, [](char* to, const char* from, int64_t bytes) {
    if (bytes <= kInlineBytes) {
      copy_small(to, from, bytes);
    } else {
      std::memcpy(to, from, static_cast<size_t>(bytes));
    }
  });
}

#pragma GCC pop_options

}  // namespace frugal::kernels::cpu
