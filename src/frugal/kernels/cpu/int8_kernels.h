// Kernel factories of cpu:int8, the cpu backend's int8 precision. Conv and Gemm/MatMul with
// constant weights run on oneDNN's u8 x s8 -> s32 primitives (VNNI where present):
//  - weights quantized symmetric per output channel to s8 once, at compile time;
//  - the float32 input quantized to u8 per tensor (scale and zero point from its
//    calibrated range) by a reorder inside the kernel, in the layout the primitive
//    prefers (channels last); oneDNN applies the zero point, padding included;
//  - s32 accumulation, dequantized to float32 by per-channel output scales
//    scale_x * scale_w[c]; the bias (divided by those scales, since oneDNN v2 adds it
//    before scaling) and the node's "frugal.post_ops" applied in float32.
// Boundaries are float32 row-major, as every other kernel's, except where the Session
// negotiates otherwise (layout.h): when every reader of a value is an int8 kernel
// quantizing it with the same parameters, the producer writes u8 itself (requantization
// folded into its output scales, destination zero point and post-ops; a residual sum
// operand kept u8 with its own parameters) and the readers skip their quantize step; else,
// between two int8 kernels, the float32 channels-last output is read as is. Each factory
// throws Declined with the reason when it cannot take the node.
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "frugal/kernels/cpu/factories.h"
#include "frugal/kernels/cpu/int8_quant.h"

namespace frugal::kernels::cpu {

struct Int8Build {
  Build base;  // shapes, constants and the backend's oneDNN context
  const std::map<std::string, ValueRange>& ranges;
  // The quantized weights of the kernel being built, kept across its rebuilds (the
  // Session's layout negotiation rebuilds an int8 kernel several times); set by the kernel
  // for its Conv/Gemm/MatMul builders, null where no weights are quantized.
  std::optional<ChannelQuant>* weights = nullptr;
  // kProbe while the Session negotiates the kernel's boundaries (onednn_kernel.h).
  OnednnKernel::Mode mode = OnednnKernel::Mode::kBuild;
};

std::unique_ptr<kernels::Kernel> make_int8_conv(const Int8Build& b);
std::unique_ptr<kernels::Kernel> make_int8_gemm(const Int8Build& b);
std::unique_ptr<kernels::Kernel> make_int8_matmul(const Int8Build& b);
// MaxPool on u8 (4-D, channels last), output in its input's quantization: the backend then
// gives the output value the input's range, so that int8 readers pass u8 on.
std::unique_ptr<kernels::Kernel> make_int8_max_pool(const Int8Build& b);
// GlobalAveragePool of a u8 input (4-D, channels last) into float32, so that its producer
// writes u8; float32 input averaged in float32.
std::unique_ptr<kernels::Kernel> make_int8_global_avg_pool(const Int8Build& b);

// Operators of graphs already quantized (ONNX's QLinearConv, QuantizeLinear,
// DequantizeLinear; int8_qlinear.cpp): 8-bit tensors at their boundaries, so consecutive
// quantized layers pass 8-bit activations to each other.
std::unique_ptr<kernels::Kernel> make_qlinear_conv(const Int8Build& b);
std::unique_ptr<kernels::Kernel> make_quantize_linear(const Int8Build& b);
std::unique_ptr<kernels::Kernel> make_dequantize_linear(const Int8Build& b);

}  // namespace frugal::kernels::cpu
