// The cuda backend's own kernels (cuda_kernels.cu): elementwise and post-operations,
// conversions, pooling, softmax, transpose. Host-callable launchers, each queued on
// `stream`. C++17 and no frugal header, so that nvcc compiles the one .cu alone. Every
// tensor is plain row-major (NCHW for images), float32 unless a dtype says otherwise.
#pragma once

#include <cuda_runtime.h>

#include <cstdint>

#include "frugal/kernels/cuda/gather_index.h"
#include "frugal/kernels/cuda/im2col.h"

namespace frugal::kernels::cuda {

// Storage of a kernel's low-precision operands (activations and weights of fp16/bf16), or
// of an int8 GEMM's int32 result (kI32, read by the epilogue only).
enum class Storage { kF32, kF16, kBF16, kI32 };

// One post-operation (the kinds and parameters of ops/post_ops.h, plus the unary
// operators the backend runs alone).
struct DevicePostOp {
  enum Kind : int {
    kRelu,
    kLeakyRelu,
    kClip,
    kSigmoid,
    kHardSwish,
    kHardSigmoid,
    kSum,
    kTanh,
    kSwish,
    kGeluErf,   // Gelu: 0.5 x (1 + erf(x / sqrt 2))
    kGeluTanh,  // Gelu with approximate = tanh
    kLinear,    // a x + b
  };
  Kind kind;
  float a, b;
};
inline constexpr int kMaxPostOps = 8;

// y[i] = post(src[i] * scale[c] + bias[c]), c = (i / inner) % channels; scale and bias
// may be null (1 and 0); kSum adds sum[i] (same shape as y) at its place in the list, or
// sum[i % sum_period] when sum_period > 0 (a row vector along y's last axis: a MatMul's
// bias added after it).
// `src` may be y (in place). `src_storage` says how src is stored (fp16/bf16 scratch of a
// low-precision convolution), y is float32.
struct Epilogue {
  const float* scale = nullptr;
  const float* bias = nullptr;
  int64_t channels = 1, inner = 1;
  const float* sum = nullptr;
  int64_t sum_period = 0;
  // src is the channels-last result of an int8 convolution's GEMM, [n * inner, channels]
  // (im2col.h, channels_last_index); y stays NCHW.
  bool channels_last_src = false;
  int count = 0;
  DevicePostOp ops[kMaxPostOps];
};
void launch_epilogue(float* y, const void* src, Storage src_storage, int64_t n, const Epilogue& e,
                     cudaStream_t stream);

// float32 -> int8: q = clamp(round_half_even(x / scale), -127, 127) (symmetric; NaN -> -127).
void launch_quantize(int8_t* q, const float* x, int64_t n, float scale, cudaStream_t stream);

// a = the im2col matrix of x (im2col.h: [g.rows(), g.k_pad], zeros at padding cells and
// past k), each value quantized as launch_quantize does.
void launch_im2col_quantize(int8_t* a, const float* x, const Im2col& g, float scale,
                            cudaStream_t stream);

// float32 -> fp16/bf16 (round to nearest even).
void launch_convert(void* dst, Storage dst_storage, const float* src, int64_t n,
                    cudaStream_t stream);

// Binary broadcast (numpy rules, shapes already expanded to `rank` dims): each input's
// strides are 0 along its broadcast dimensions.
inline constexpr int kMaxRank = 8;
struct Broadcast {
  int rank = 0;
  int64_t out_dims[kMaxRank];
  int64_t a_strides[kMaxRank];
  int64_t b_strides[kMaxRank];
};
enum class BinaryOp { kAdd, kSub, kMul, kDiv };
void launch_binary(float* y, const float* a, const float* b, int64_t n, const Broadcast& bc,
                   BinaryOp op, cudaStream_t stream);

// 2-D pooling over NCHW (also 1-D as H = 1). Padding cells are skipped by max and, when
// count_include_pad is false, by the average's divisor.
struct Pool2d {
  int64_t n = 0, c = 0, h = 0, w = 0, oh = 0, ow = 0;
  int kh = 1, kw = 1, sh = 1, sw = 1, ph = 0, pw = 0, dh = 1, dw = 1;
  int ph_end = 0, pw_end = 0;  // padding after the last row and column
  bool max = true;
  bool count_include_pad = false;
};
void launch_pool2d(float* y, const float* x, const Pool2d& p, cudaStream_t stream);

// y[o] = mean or max of x[o * inner .. o * inner + inner) (GlobalAveragePool/GlobalMaxPool).
void launch_reduce_inner(float* y, const float* x, int64_t outer, int64_t inner, bool max,
                         cudaStream_t stream);

// Softmax (or log-softmax) over the middle dimension of x viewed as [outer, axis, inner].
void launch_softmax(float* y, const float* x, int64_t outer, int64_t axis, int64_t inner, bool log,
                    cudaStream_t stream);

// LayerNormalization over rows of `size` contiguous elements: one block per row, mean and
// variance (two passes over the row, no E[x^2] - E[x]^2 cancellation) by warp-shuffle
// reductions in float32; y = (x - mean) / sqrt(var + epsilon) * scale[j] + bias[j]. scale and
// bias hold one value per element of a row (null: 1 and 0); mean and inv_std (null: not
// written) get one value per row.
void launch_layer_norm(float* y, const float* x, int64_t rows, int64_t size, float epsilon,
                       const float* scale, const float* bias, float* mean, float* inv_std,
                       cudaStream_t stream);

// Attention (ops/attention.cpp): y = Softmax(scale Q K^T + Mask) V per batch, one block per
// query row (scores in shared memory, tk at most kMaxAttentionKeys), float32 arithmetic.
// The mask (null: none) is read at the score's index broadcast by `mask` (out_dims: the
// scores' shape [..., tq, tk]; a_strides: the mask's strides, 0 along broadcast axes).
inline constexpr int64_t kMaxAttentionKeys = 8192;
struct AttentionShape {
  int64_t rows = 0;  // batches * tq
  int64_t tq = 1, tk = 1, d = 1, dv = 1;
  bool k_transposed = false;
  float scale = 1.f;
  Broadcast mask;
};
void launch_attention(float* y, const float* q, const float* k, const float* v, const float* mask,
                      const AttentionShape& s, cudaStream_t stream);

// d = the int32 sums of a convolution with g.groups > 1 (grouped, depthwise) over x
// quantized to int8 (launch_quantize): d is NCHW [g.n, m, g.oh, g.ow], d[i] = sum over the
// g.k taps t of qx[grouped_conv_source(g, m, i, t)] w[oc, t] (w [m, g.k] int8, oc i's
// channel; padding cells add nothing), one thread per output element.
void launch_grouped_conv_int8(int32_t* d, const int8_t* qx, const int8_t* w, const Im2col& g,
                              int64_t m, cudaStream_t stream);

// Gather (gather_index.h): y[o, j, r] = x[o, index[j], r], index int32 (index_i32) or int64,
// negative indices counting from the end. An index outside [-axis_dim, axis_dim) gives 0 and,
// when `fault` is set, is reported there with `site` (constant indices are checked on the
// host and pass no fault).
void launch_gather(float* y, const float* x, const void* index, bool index_i32,
                   const GatherShape& s, IndexFault* fault, int64_t site, cudaStream_t stream);

// y = x with its dimensions permuted: y's dimension d is x's dimension perm[d].
struct Permute {
  int rank = 0;
  int64_t out_dims[kMaxRank];
  int64_t in_strides[kMaxRank];  // x's stride of the dimension that becomes y's d
};
void launch_transpose(float* y, const float* x, int64_t n, const Permute& p, cudaStream_t stream);

// Resize: y[i] = sum over the taps of every axis of (product of the taps' weights) times x
// at the taps' indices (taps with weight 0 skipped, as ref does). Axis d's taps for output
// index o are entries first[d] + o * taps[d] + j (j < taps[d]) of `index` and `weight`
// (device arrays); an axis that is not resized has one tap of weight 1 at o.
struct ResizeTable {
  int rank = 0;
  int64_t out_dims[kMaxRank];
  int64_t in_strides[kMaxRank];
  int taps[kMaxRank];
  int64_t first[kMaxRank];
};
inline constexpr int kMaxResizeTaps = 64;  // products of taps over the axes, at most
void launch_resize(float* y, const float* x, int64_t n, const ResizeTable& t, const int64_t* index,
                   const float* weight, cudaStream_t stream);

}  // namespace frugal::kernels::cuda
