// Which of oneDNN's int8 convolution implementations cpu:int8 runs. Where oneDNN 2.6's
// brgemm AMX kernels decline a convolution (1x1 with a nonzero sum zero point, strided
// 3x3, tiny spatial sizes), the first implementation it offers is one of its older jit AMX
// kernels ("jit:avx512_core_amx_int8", "jit_1x1:avx512_core_amx_int8"). Measured per node
// (docs/quantization.md, "AMX"), those lose to the next implementation (brgemm VNNI) on
// small convolutions by 1.5x-13x: mobilenet_fmnist's 1x1 convolutions at 7x7 ran 10x
// slower, the whole model 3.3x slower than fp32. On large ones (resnet18's strided 3x3,
// 115 M MACs) they win by 2-4x. So below a size they are skipped for the next one.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <oneapi/dnnl/dnnl.hpp>

namespace frugal::kernels::cpu {

// Convolutions with fewer multiply-accumulates than this skip the older jit AMX kernels.
constexpr int64_t kAmxJitMinMacs = 50'000'000;

// Multiply-accumulates of a convolution with output `y` and weights `w` (M x C/group x
// k...): per output element, one per weight of its output channel.
int64_t conv_macs(const std::vector<int64_t>& y, const std::vector<int64_t>& w);

// Whether `impl` (a primitive_desc's impl_info_str) names one of the older jit AMX kernels.
bool is_jit_amx(const std::string& impl);
// Whether `impl` runs on AMX tiles at all (brgemm or jit).
bool is_amx(const std::string& impl);

// The primitive descriptor of `d`: oneDNN's first implementation, or for a convolution of
// fewer than kAmxJitMinMacs MACs whose first is a jit AMX one, the first that is not (the
// first when every other one is, or is oneDNN's reference implementation).
// FRUGAL_INT8_KEEP_JIT_AMX=1 keeps oneDNN's first choice (A/B).
dnnl::convolution_forward::primitive_desc int8_conv_pd(const dnnl::convolution_forward::desc& d,
                                                       const dnnl::primitive_attr& attr,
                                                       const dnnl::engine& engine, int64_t macs);

}  // namespace frugal::kernels::cpu
