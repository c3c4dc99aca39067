// frugal's own 1x1 convolution for few output channels (at most 16) on channels-last
// float32 data, in the place of oneDNN 2.6's brgconv_1x1, which runs such layers at under
// half the speed its others reach: MNASNet's, MobileNet-V2's and EfficientNet-B0's
// 32 -> 16 channel projection at 112x112 took 0.16-0.24 ms per image (batch 1 to 8)
// against ONNX Runtime's 0.13 and this loop's 0.13 (bench/RESULTS.md, "Projections to 16
// channels"). With one vector of output
// channels per pixel oneDNN's kernel has one multiply-add per broadcast input value and
// few in flight; this one computes 12 pixels at a time (12 accumulators, each weight
// vector loaded once per 12 multiply-adds, the input values broadcast from memory).
//
// Like the own depthwise kernel (depthwise.h), it reads and writes the layout oneDNN's own
// convolution chose for the node when that is NHWC, so the negotiation with its neighbours
// is unchanged; the node's post-ops (those dw_post_ops_avx512 covers) are applied to each
// block of pixels while it is in L1.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/conv_geometry.h"
#include "frugal/ops/post_ops.h"

namespace frugal::kernels::cpu {

struct PwPlan {
  static constexpr int64_t kBlock = 12;       // pixels per step
  int64_t pixels = 0;                         // batch x height x width (stride 1: in = out)
  int64_t in_channels = 0, out_channels = 0;  // in_channels <= 64, out_channels <= 16
  std::vector<float> weights;                 // [in][16], zero past out_channels
  std::vector<float> bias;                    // [16]
  std::vector<ops::PostOp> post_ops;
};

// Runs pixel blocks [begin, end) of ceil(pixels / kBlock) (AVX-512; the caller checks
// dw_isa_available()).
void pw_run_avx512(const PwPlan& p, const float* src, float* dst, int64_t begin, int64_t end);

// The own kernel for a Conv node whose oneDNN convolution is `pd`, or null where it does
// not apply (not a 2-D 1x1 convolution at stride 1 without padding or groups, more than 16
// output channels or 64 input channels, a sum post-op, a layout other than NHWC, FRUGAL_OWN_PW=0).
std::unique_ptr<kernels::Kernel> make_own_pointwise(
    const Build& b, const ops::WindowGeometry& g,
    const dnnl::convolution_forward::primitive_desc& pd);

}  // namespace frugal::kernels::cpu
