// ONNX Runtime's dynamic quantization on the cpu backend (integer_kernels.cpp).
#pragma once

namespace frugal::kernels::cpu {

// Whether this CPU gives oneDNN's u8 x s8 products exactly (VNNI or AMX): MatMulInteger
// and ConvInteger run on cpu only then (without, the 16-bit pair sums of vpmaddubsw
// saturate).
bool integer_products_exact();

}  // namespace frugal::kernels::cpu
