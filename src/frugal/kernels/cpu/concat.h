// frugal's own Concat on the cpu backend: a copy. oneDNN 2.6 runs a Concat of channels-last
// (NHWC) activations, DenseNet's and Inception's, with its `simple:any` kernel: 3.48 ms a
// run on densenet121's 58 Concats at batch 1 against 2.98 for this copy at 1 thread, 4.21
// against 3.00 at 2 (bench/RESULTS.md, "Own Concat, session 11"). The own kernel runs where
// that primitive reads and writes dense strided layouts with one dimension order (NHWC from
// the convolutions, or plain), so the layout negotiation is the same as for oneDNN's
// primitive: only the copy changes. FRUGAL_NO_OWN_CONCAT=1 keeps oneDNN's (the A/B switch).
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "frugal/kernels/cpu/factories.h"

namespace frugal::kernels::cpu {

// A Concat as a copy: the output is `rows` rows of `dst_row` bytes; row r of input i
// (`src_row[i]` bytes, contiguous) goes to bytes [dst_offset[i], dst_offset[i] + src_row[i])
// of output row r. In NHWC along channels a row is a pixel; in plain along channels, an
// image.
struct ConcatPlan {
  int64_t rows = 0;
  int64_t dst_row = 0;
  std::vector<int64_t> src_row, dst_offset;
};

// The plan of a concatenation along `axis` from `srcs` into `dst`, or nullopt when a
// descriptor is not dense and strided in the order of `dst` (channel blocks, padding, an
// offset) or the data type is not float32.
std::optional<ConcatPlan> concat_plan(const std::vector<dnnl::memory::desc>& srcs,
                                      const dnnl::memory::desc& dst, int axis);

// Writes output bytes [begin, end) of `p` (a multiple of 4 apart from each chunk edge)
// from `srcs` into `dst`: a thread's share of the copy.
void concat_bytes(const ConcatPlan& p, const char* const* srcs, char* dst, int64_t begin,
                  int64_t end);
// The same with AVX-512 moves for the small chunks (the caller checks
// concat_isa_available()).
void concat_bytes_avx512(const ConcatPlan& p, const char* const* srcs, char* dst, int64_t begin,
                         int64_t end);
bool concat_isa_available();

// The walk both share: output rows in groups of about 16 KiB (they stay in the first-level
// cache until every input has written its part), in each group input by input, so that each
// input is read in order. `copy(to, from, bytes)` moves one piece.
template <typename Copy>
void concat_walk(const ConcatPlan& p, const char* const* srcs, char* dst, int64_t begin,
                 int64_t end, const Copy& copy) {
  if (begin >= end || p.dst_row == 0) return;
  const int64_t first = begin / p.dst_row, last = (end - 1) / p.dst_row + 1;
  const int64_t group = std::max<int64_t>(1, (int64_t{16} << 10) / p.dst_row);
  for (int64_t r0 = first; r0 < last; r0 += group) {
    const int64_t r1 = std::min(last, r0 + group);
    for (size_t i = 0; i < p.src_row.size(); ++i) {
      const int64_t n = p.src_row[i], off = p.dst_offset[i];
      for (int64_t r = r0; r < r1; ++r) {
        const int64_t at = r * p.dst_row + off;  // the chunk's first output byte
        const int64_t lo = std::max(at, begin), hi = std::min(at + n, end);
        if (lo < hi) copy(dst + lo, srcs[i] + r * n + (lo - at), hi - lo);
      }
    }
  }
}

// The own kernel for a Concat node whose oneDNN primitive is `pd`, or null: `pd`'s layouts
// are not dense strided ones of one order, or FRUGAL_NO_OWN_CONCAT=1.
std::unique_ptr<kernels::Kernel> make_own_concat(const Build& b, int axis,
                                                 const dnnl::concat::primitive_desc& pd);

}  // namespace frugal::kernels::cpu
