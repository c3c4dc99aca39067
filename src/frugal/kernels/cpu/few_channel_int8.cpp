#include "frugal/kernels/cpu/few_channel_int8.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "frugal/kernels/cpu/threads.h"

namespace frugal::kernels::cpu {
namespace {

// 64-byte aligned start inside `storage` (sized with 64 bytes to spare).
template <typename T>
T* aligned64(std::vector<T>& storage) {
  T* p = storage.data();
  return p + (64 - reinterpret_cast<uintptr_t>(p) % 64) % 64 / sizeof(T);
}

}  // namespace

bool FewChannelConvInt8::available() {
  return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
         __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
}

FewChannelConvInt8::FewChannelConvInt8(const FewChannelShape& s, const int8_t* weights,
                                       const FewChannelInputQuant& quant, FewChannelEpilogue e) {
  FewChannelArgs& a = args_;
  a.shape = s;
  a.span = s.kernel_w * s.channels;
  a.groups = (s.kernel_h * a.span + 3) / 4;
  a.patch_bytes = a.groups * 4;
  const int64_t padded_w = s.in_w + s.pad_left + s.pad_right;
  const int64_t padded_h = s.in_h + s.pad_top + s.pad_bottom;
  a.row_bytes = (padded_w * s.channels + 3) / 4 * 4;
  a.image_bytes = padded_h * a.row_bytes;
  a.cols = s.out_channels <= 32 ? 32 : 64;
  a.col_blocks = (s.out_channels + a.cols - 1) / a.cols;

  // Weights [block][group][cols][4]: byte j of the window is (kh, kw, c) = (j / span,
  // j % span / C, j % C), zero past the window.
  const int64_t block_bytes = a.groups * a.cols * 4;
  packed_storage_.assign(static_cast<size_t>(a.col_blocks * block_bytes + 64), 0);
  int8_t* packed = aligned64(packed_storage_);
  const int64_t per_out = s.channels * s.kernel_h * s.kernel_w;
  for (int64_t o = 0; o < s.out_channels; ++o) {
    const int64_t block = o / a.cols, col = o % a.cols;
    for (int64_t j = 0; j < per_out; ++j) {
      const int64_t kh = j / a.span, kw = j % a.span / s.channels, c = j % s.channels;
      packed[block * block_bytes + (j / 4 * a.cols + col) * 4 + j % 4] =
          weights[o * per_out + (c * s.kernel_h + kh) * s.kernel_w + kw];
    }
  }
  a.packed = packed;
  scale_.assign(static_cast<size_t>(a.col_blocks * a.cols), 0.0f);
  bias_.assign(scale_.size(), 0.0f);
  std::copy(e.scale.begin(), e.scale.end(), scale_.begin());
  std::copy(e.bias.begin(), e.bias.end(), bias_.begin());
  a.scale = scale_.data();
  a.bias = bias_.data();
  a.lo = e.lo;
  a.hi = e.hi;
  a.slope = e.negative_slope;
  a.dst_zp = e.dst_zero_point;
  a.u8_out = e.u8_out;
  a.quant = quant;
  const char* no_vbmi = std::getenv("FRUGAL_INT8_NO_VBMI");
  a.vbmi = __builtin_cpu_supports("avx512vbmi") && !(no_vbmi && std::strcmp(no_vbmi, "1") == 0);

  // The padded copy, its border set to the input's zero point once: runs write only the
  // inside.
  padded_storage_.assign(static_cast<size_t>(s.batch * a.image_bytes + 128),
                         static_cast<uint8_t>(quant.zero_point));
  a.padded = aligned64(padded_storage_);
}

void FewChannelConvInt8::run(const float* src, void* dst) {
  const FewChannelArgs& a = args_;
  const FewChannelShape& s = a.shape;
  // The quantization streams the image once (4 bytes in, 1 out per value); the convolution
  // runs groups x cols / 16 vpdpbusd per output pixel and block.
  const int64_t in_rows = s.batch * s.in_h;
  const int64_t values = in_rows * s.in_w * s.channels;
  const int quant_threads = static_cast<int>(std::clamp<int64_t>(
      values / std::max<int64_t>(1, min_floats_per_thread()), 1, num_threads()));
  parallel_split(quant_threads, in_rows, [&a, src](int64_t begin, int64_t end) {
    few_channel_quantize_avx512_vnni(a, src, begin, end);
  });
  const int64_t rows = s.batch * s.out_h;
  const int64_t steps = rows * s.out_w * a.col_blocks * a.groups * a.cols / 16;
  // A worker pays its wake-up from ~20k vpdpbusd on.
  const int threads = static_cast<int>(
      std::clamp<int64_t>(steps / 20000, 1, std::min<int64_t>(num_threads(), rows)));
  parallel_split(threads, rows, [&a, dst](int64_t begin, int64_t end) {
    few_channel_conv_avx512_vnni(a, dst, begin, end);
  });
}

}  // namespace frugal::kernels::cpu
