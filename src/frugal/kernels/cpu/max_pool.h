// frugal's own 2-D MaxPool on channels-last (NHWC) activations. oneDNN 2.6's pooling
// on NHWC took 1.7x the time of this loop on squeezenet1_1's three max-pools at batch 1
// (0.45 against 0.27 ms a run; bench/RESULTS.md, "MaxPool on channels-last"), and every CNN
// whose convolutions run NHWC has its max-pools there too. The kernel runs where oneDNN's
// pooling would read and write NHWC (the producer's layout, kernels/cpu/layout.h), so the
// layout negotiation is the same as for oneDNN's primitive: only the loop changes.
// FRUGAL_NO_OWN_MAXPOOL=1 keeps oneDNN's (the A/B switch).
#pragma once

#include <cstdint>
#include <memory>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/ops/conv_geometry.h"

namespace frugal::kernels::cpu {

// One max-pool over an NHWC tensor: the window's taps outside the input are skipped (ONNX:
// padding never wins), and a window with no tap inside gives the lowest float, as ref.
struct MaxPoolPlan {
  int64_t n = 0, channels = 0, in_h = 0, in_w = 0, out_h = 0, out_w = 0;
  int64_t kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1;
  int64_t dilation_h = 1, dilation_w = 1, pad_top = 0, pad_left = 0;
};

// Output rows (image, row) [begin, end) of n * out_h (AVX-512; the caller checks
// max_pool_isa_available()).
void max_pool_nhwc_avx512(const MaxPoolPlan& p, const float* src, float* dst, int64_t begin,
                          int64_t end);
bool max_pool_isa_available();

// The own kernel for a 2-D MaxPool node whose oneDNN primitive is `pd`, or null: `pd` does
// not read and write NHWC float32, the CPU lacks AVX-512, or FRUGAL_NO_OWN_MAXPOOL=1.
std::unique_ptr<kernels::Kernel> make_own_max_pool(
    const Build& b, const ops::WindowGeometry& g,
    const dnnl::pooling_v2_forward::primitive_desc& pd);

}  // namespace frugal::kernels::cpu
