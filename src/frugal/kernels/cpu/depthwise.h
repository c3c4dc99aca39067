// frugal's own depthwise convolution (group == input channels == output channels, one
// filter per channel), for the cases oneDNN 2.6 runs slower than a direct AVX-512 loop:
// EfficientNet's and MobileNet's 3x3/5x5 depthwise layers with their bias and swish /
// hardswish / relu6 post-ops (bench/RESULTS.md, "Depthwise convolutions").
//
// The kernel reads and writes the layout oneDNN's own convolution chose for the node when
// that is channels-last NHWC (oneDNN 2.6's choice for fp32 depthwise on AVX-512; other
// layouts keep oneDNN), so the negotiation with the kernels around it (layout.h) is the
// same as for oneDNN's: only the primitive changes. 16 channels of one pixel are one
// vector (masked past the last channel); each step computes a row of outputs of one
// channel block, 8 outputs at a time in registers, the post-ops applied before the store.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cpu {

// Where each element of one 4-D activation sits, in floats: image, row, pixel and
// 16-channel block strides (NHWC: block 16, pixel C).
struct DwStrides {
  int64_t image = 0, row = 0, pixel = 0, block = 0;
};

// One depthwise convolution, ready to run: geometry, packed weights and post-ops.
struct DwPlan {
  int64_t n = 0, channels = 0, blocks = 0;  // blocks: ceil(channels / 16)
  int64_t in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int kernel = 3, stride = 1;
  int64_t pad_top = 0, pad_left = 0;
  DwStrides src, dst;
  std::vector<float> weights;  // [block][kh][kw][16], zero past `channels`
  std::vector<float> bias;     // [block * 16], zero when the node has none
  std::vector<ops::PostOp> post_ops;
  // Two ways to the same result: copy each work item's input rows with their zero padding
  // into a per-thread buffer and run the tap loop with no edge tests (stride 1 wins), or
  // read the input in place and treat the few outputs at the edges apart (less copying:
  // stride 2, where an output row reads twice the input).
  bool padded = true;
};

// The work items of a plan (a few output rows of one channel block of one image).
int64_t dw_items(const DwPlan& p);
// Runs items [begin, end) (AVX-512; the caller checks dw_isa_available()).
void dw_run_avx512(const DwPlan& p, const float* src, float* dst, int64_t begin, int64_t end);
bool dw_isa_available();
// The post-ops (the kinds make_own_depthwise accepts; others are skipped, so the caller
// checks dw_post_ops_cover) in place on `n` floats (AVX-512, as dw_run_avx512).
void dw_post_ops_avx512(float* v, int64_t n, const std::vector<ops::PostOp>& ops);
bool dw_post_ops_cover(const std::vector<ops::PostOp>& ops);

// The own kernel for a Conv node whose oneDNN convolution is `pd`, or null: the node is
// not a case it covers, FRUGAL_OWN_DW is unset or off (the default), or under
// FRUGAL_OWN_DW=auto oneDNN's primitive was measured faster for this node than both own
// variants, which `note` then says with the three times.
std::unique_ptr<kernels::Kernel> make_own_depthwise(
    const Build& b, const ops::WindowGeometry& g,
    const dnnl::convolution_forward::primitive_desc& pd, std::string& note);

}  // namespace frugal::kernels::cpu
