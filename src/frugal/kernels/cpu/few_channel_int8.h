// frugal's own int8 convolution for inputs of few channels (1 to 4: a network's RGB or
// grayscale stem), AVX-512 VNNI, in the place of oneDNN 2.6's primitive for cpu:int8.
//
// vpdpbusd multiplies groups of four u8 inputs by four s8 weights. oneDNN groups them by
// input channel, so a 3-channel input fills 3 of every 4 bytes, and reads the image through
// two steps before it (NCHW float32 to NHWC, then the quantization): ResNet's 7x7 stride-2
// stem (118 M multiply-accumulates) took 0.89-1.02 ms per image on the EPYC (Zen 4), 122 G/s
// against the core's vpdpbusd peak of 235; this kernel 0.72-0.75 ms, quantization included
// (bench/RESULTS.md, "int8 stems"). Its loop issues one broadcast per four vpdpbusd, which
// share the vector pipes on Zen 4: it runs at ~80% of the peak, gathered windows or not.
//
// Here the image is quantized once per run into a padded channels-last u8 copy (its border
// holds the input's zero point, which the bias cancels as it cancels it everywhere else).
// For each output row, the KH x KW x C bytes of each pixel's window are gathered into one
// contiguous patch (KH copies of KW x C bytes), and the reduction runs over groups of four
// of its bytes: 37 groups for ResNet's 7x7x3 window (147 of 148 bytes used), against 49
// groups of 3 in oneDNN's. The weights are packed per block of 64 output channels as
// [group][64][4] s8, zero past the window. Each step computes P pixels x 64 (or 32) output
// channels in 24 int32 accumulators over the whole window, then the epilogue in float32:
//   v = act(scale[c] * acc + bias[c]) + dst_zero_point
// stored as u8 (rounded half to even, saturated) or as float32, where scale folds the input
// and weight scales (and 1 / s_y for a u8 output), bias the convolution's bias and the input
// zero point times the weights' sum, and act is relu, leaky relu or a clip.
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

namespace frugal::kernels::cpu {

struct FewChannelShape {
  int64_t batch = 1, channels = 1, in_h = 1, in_w = 1;  // channels 1 to 4, kernel_w x
                                                        // channels at most 64
  int64_t out_channels = 1, out_h = 1, out_w = 1;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
};

struct FewChannelEpilogue {
  std::vector<float> scale, bias;                      // per output channel
  float lo = -std::numeric_limits<float>::infinity();  // clip bounds (relu: lo = 0)
  float hi = std::numeric_limits<float>::infinity();
  float negative_slope = 1.0f;  // leaky relu's: v < 0 becomes slope * v (1: none)
  float dst_zero_point = 0.0f;  // added after act (u8 output)
  bool u8_out = true;           // else float32
};

// The input's quantization: q = saturate_u8(round_half_even(x / scale) + zero_point).
struct FewChannelInputQuant {
  float scale = 1.0f;
  int32_t zero_point = 0;
};

// The raw view the vector code runs on (few_channel_int8_avx512_vnni.cpp).
struct FewChannelArgs {
  FewChannelShape shape;
  int64_t span = 0;         // kernel_w x channels: one kernel row's bytes (at most 64)
  int64_t groups = 0;       // ceil(kernel_h x span / 4)
  int64_t patch_bytes = 0;  // one pixel's window in a patch row (groups x 4)
  int64_t row_bytes = 0;    // one padded row (a multiple of 4)
  int64_t image_bytes = 0;  // in_h + pad_top + pad_bottom rows
  int cols = 64;            // output channels per block: 64, or 32 for at most 32
  int64_t col_blocks = 1;
  const int8_t* packed = nullptr;  // [col_blocks][groups][cols][4]
  const float* scale = nullptr;    // [col_blocks * cols], zero past out_channels
  const float* bias = nullptr;
  float lo = 0, hi = 0, slope = 1, dst_zp = 0;
  bool u8_out = true;
  FewChannelInputQuant quant;
  // The quantization interleaves channels with one byte permutation (AVX-512 VBMI) where
  // the CPU has it and FRUGAL_INT8_NO_VBMI is not 1 (the test of the other path).
  bool vbmi = false;
  uint8_t* padded = nullptr;  // [batch][image_bytes] (+ 64 bytes past the end)
};

// Quantizes images' rows [begin, end) of batch x in_h of NCHW float32 `src` into a.padded
// (the border, written once at construction, is left as it is).
void few_channel_quantize_avx512_vnni(const FewChannelArgs& a, const float* src, int64_t begin,
                                      int64_t end);
// Output rows [begin, end) of batch x out_h, every column block.
void few_channel_conv_avx512_vnni(const FewChannelArgs& a, void* dst, int64_t begin, int64_t end);

class FewChannelConvInt8 {
 public:
  // Whether this CPU runs the kernel (AVX-512 with VNNI).
  static bool available();
  // weights: [out_channels][channels][kernel_h][kernel_w] s8 (ONNX's order).
  FewChannelConvInt8(const FewChannelShape& shape, const int8_t* weights,
                     const FewChannelInputQuant& quant, FewChannelEpilogue epilogue);
  // src: NCHW float32; dst: NHWC [batch][out_h][out_w][out_channels], u8 or float32 as the
  // epilogue says.
  void run(const float* src, void* dst);

 private:
  FewChannelArgs args_;
  std::vector<int8_t> packed_storage_;
  std::vector<float> scale_, bias_;
  std::vector<uint8_t> padded_storage_;
};

}  // namespace frugal::kernels::cpu
