// Dense building blocks of the training ops: GEMM, im2col/col2im and broadcast
// reduction. Each GEMM runs either on oneDNN's sgemm (fast, JIT for the CPU's ISA), on
// plain loops (the reference every fast path is tested against), or, with an emulated
// accumulator (the ACC class of the precision policy), on kernels::emu::emu_gemm.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "frugal/core/tensor.h"
#include "frugal/kernels/emu/emu_gemm.h"

namespace frugal::train {

// What the training ops run on (`frugal train --kernels`):
//   kFast ("gemm")      Conv as im2col + oneDNN sgemm per image and group; pooling as loops.
//   kReference ("ref")  plain loops everywhere: what every other choice is tested against.
//   kOneDnn ("onednn")  oneDNN's convolution and pooling primitives, forward and backward
//                       (train/onednn_train.h); Gemm/MatMul on sgemm as kFast. With an
//                       emulated accumulator (KernelConfig::acc) Conv and pooling run as
//                       kFast: the primitives' sums cannot be rounded, and ACC runs keep the
//                       kernels they were tested with.
enum class KernelChoice : uint8_t { kFast, kReference, kOneDnn };

// The default of `frugal train` and TrainGraph: the faster of kFast and kOneDnn on LeNet-5
// and resnet8_fmnist (measured in docs/training.md, "Training kernels").
inline constexpr KernelChoice kDefaultKernels = KernelChoice::kOneDnn;

// What the training ops' GEMMs run on. With `acc` set (fast kernels only) every GEMM of
// Conv, Gemm and MatMul (forward, backward-data, backward-weights) accumulates through
// emu_gemm: products exact, each addition rounded to the accumulator's format (chunked or
// compensated as it says). alpha, beta * C and biases are then applied in binary32.
struct KernelConfig {
  KernelConfig(KernelChoice c = KernelChoice::kFast,  // NOLINT: implicit on purpose
               std::optional<kernels::emu::Accumulator> a = std::nullopt)
      : choice(c), acc(std::move(a)) {}
  KernelChoice choice;
  std::optional<kernels::emu::Accumulator> acc;
};

// C[M x N] = alpha * op(A) * op(B) + beta * C, row-major; op(X) = X or X^T.
// lda/ldb/ldc are row strides of A, B, C as stored. beta == 0: C is not read.
// Emulated (k.acc): T = op(A) op(B) through emu_gemm, then C = alpha T (+ beta C), each
// binary32 operation rounded on its own.
void gemm(const KernelConfig& k, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t kdim,
          float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc);

// 2-D window geometry of one image (one group's channels).
struct ConvGeom2d {
  int64_t channels, in_h, in_w, k_h, k_w, stride_h, stride_w, dil_h, dil_w, pad_t, pad_l;
  int64_t out_h, out_w;
  int64_t col_rows() const { return channels * k_h * k_w; }
  int64_t col_cols() const { return out_h * out_w; }
};

// col[(c*kh + i)*kw + j][oy*ow + ox] = x[c][oy*s - p + i*d][...] (0 outside).
void im2col(const ConvGeom2d& g, const float* x, float* col);
// The adjoint of im2col: dx += scatter of dcol (dx must be zeroed by the caller).
void col2im(const ConvGeom2d& g, const float* dcol, float* dx);

// Sums `grad` (of shape `out`) over the dimensions along which `in` was broadcast to
// `out` (numpy rules), giving a tensor of shape `in`.
Tensor reduce_to_shape(const Tensor& grad, const Shape& in);

// dst += src, elementwise, equal sizes.
void accumulate(Tensor& dst, const Tensor& src);

}  // namespace frugal::train
