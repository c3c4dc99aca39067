// The cuda backend's own kernels (cuda_kernels.h says what each computes). Plain
// grid-stride loops, one thread per output element, float32 arithmetic written as the
// reference kernels of ops/ compute it (expf, not the fast-math intrinsics), so that the
// float32 results agree with ref to rounding.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cfloat>
#include <cmath>

#include "frugal/kernels/cuda/cuda_kernels.h"

namespace frugal::kernels::cuda {
namespace {

constexpr int kThreads = 256;

unsigned blocks_for(int64_t n) {
  const int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(b < 65535 * 32 ? (b > 0 ? b : 1) : 65535 * 32);
}

#define FRUGAL_GRID_LOOP(i, n)                                                           \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < (n); \
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)

__device__ float load(const void* p, Storage s, int64_t i) {
  switch (s) {
    case Storage::kF16:
      return __half2float(static_cast<const __half*>(p)[i]);
    case Storage::kBF16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    case Storage::kI32:
      return static_cast<float>(static_cast<const int32_t*>(p)[i]);
    default:
      return static_cast<const float*>(p)[i];
  }
}

__device__ float apply_op(const DevicePostOp& op, float x, const float* sum, int64_t sum_period,
                          int64_t i) {
  switch (op.kind) {
    case DevicePostOp::kRelu:
      return x > 0.f ? x : 0.f;
    case DevicePostOp::kLeakyRelu:
      return x >= 0.f ? x : op.a * x;
    case DevicePostOp::kClip:
      return fminf(fmaxf(x, op.a), op.b);
    case DevicePostOp::kSigmoid:
      return 1.f / (1.f + expf(-x));
    case DevicePostOp::kHardSwish:
      return x * fminf(fmaxf(x / 6.f + 0.5f, 0.f), 1.f);
    case DevicePostOp::kHardSigmoid:
      return fminf(fmaxf(op.a * x + op.b, 0.f), 1.f);
    case DevicePostOp::kSwish:
      return x / (1.f + expf(-x));
    case DevicePostOp::kSum:
      return x + sum[sum_period > 0 ? i % sum_period : i];
    case DevicePostOp::kTanh:
      return tanhf(x);
    case DevicePostOp::kGeluErf:
      return 0.5f * x * (1.f + erff(x * 0.7071067811865476f));
    case DevicePostOp::kGeluTanh:
      return 0.5f * x * (1.f + tanhf(0.7978845608028654f * (x + 0.044715f * x * x * x)));
    case DevicePostOp::kLinear:
      return op.a * x + op.b;
  }
  return x;
}

__global__ void epilogue_kernel(float* y, const void* src, Storage s, int64_t n, Epilogue e) {
  FRUGAL_GRID_LOOP(i, n) {
    float v = load(src, s, e.channels_last_src ? channels_last_index(i, e.channels, e.inner) : i);
    if (e.scale || e.bias) {
      const int64_t c = (i / e.inner) % e.channels;
      if (e.scale) v *= e.scale[c];
      if (e.bias) v += e.bias[c];
    }
    for (int k = 0; k < e.count; ++k) v = apply_op(e.ops[k], v, e.sum, e.sum_period, i);
    y[i] = v;
  }
}

__device__ int8_t quantize(float x, float scale) {
  return static_cast<int8_t>(fminf(fmaxf(rintf(x / scale), -127.f), 127.f));
}

__global__ void quantize_kernel(int8_t* q, const float* x, int64_t n, float scale) {
  FRUGAL_GRID_LOOP(i, n) q[i] = quantize(x[i], scale);
}

__global__ void im2col_quantize_kernel(int8_t* a, const float* x, Im2col g, float scale) {
  FRUGAL_GRID_LOOP(i, g.rows() * g.k_pad) {
    const int64_t src = im2col_source(g, i / g.k_pad, i % g.k_pad);
    a[i] = src < 0 ? int8_t{0} : quantize(x[src], scale);
  }
}

__global__ void convert_kernel(void* dst, Storage s, const float* src, int64_t n) {
  FRUGAL_GRID_LOOP(i, n) {
    if (s == Storage::kF16)
      static_cast<__half*>(dst)[i] = __float2half_rn(src[i]);
    else if (s == Storage::kBF16)
      static_cast<__nv_bfloat16*>(dst)[i] = __float2bfloat16_rn(src[i]);
    else
      static_cast<float*>(dst)[i] = src[i];
  }
}

__global__ void binary_kernel(float* y, const float* a, const float* b, int64_t n, Broadcast bc,
                              BinaryOp op) {
  FRUGAL_GRID_LOOP(i, n) {
    int64_t rest = i, ia = 0, ib = 0;
    for (int d = bc.rank - 1; d >= 0; --d) {
      const int64_t k = rest % bc.out_dims[d];
      rest /= bc.out_dims[d];
      ia += k * bc.a_strides[d];
      ib += k * bc.b_strides[d];
    }
    const float x = a[ia], z = b[ib];
    switch (op) {
      case BinaryOp::kAdd:
        y[i] = x + z;
        break;
      case BinaryOp::kSub:
        y[i] = x - z;
        break;
      case BinaryOp::kMul:
        y[i] = x * z;
        break;
      case BinaryOp::kDiv:
        y[i] = x / z;
        break;
    }
  }
}

__global__ void pool2d_kernel(float* y, const float* x, Pool2d p) {
  const int64_t n = p.n * p.c * p.oh * p.ow;
  FRUGAL_GRID_LOOP(i, n) {
    const int64_t ox = i % p.ow, oy = (i / p.ow) % p.oh, plane = i / (p.ow * p.oh);
    const float* in = x + plane * p.h * p.w;
    float acc = p.max ? -FLT_MAX : 0.f;
    int64_t counted = 0;
    for (int ky = 0; ky < p.kh; ++ky) {
      const int64_t iy = oy * p.sh - p.ph + static_cast<int64_t>(ky) * p.dh;
      for (int kx = 0; kx < p.kw; ++kx) {
        const int64_t ix = ox * p.sw - p.pw + static_cast<int64_t>(kx) * p.dw;
        const bool inside = iy >= 0 && iy < p.h && ix >= 0 && ix < p.w;
        if (!p.max && p.count_include_pad) {
          // The divisor counts padding cells inside the padded extent only (ONNX).
          if (iy < p.h + p.ph_end && ix < p.w + p.pw_end) ++counted;
        } else if (inside) {
          ++counted;
        }
        if (!inside) continue;
        const float v = in[iy * p.w + ix];
        acc = p.max ? fmaxf(acc, v) : acc + v;
      }
    }
    y[i] = p.max ? acc : (counted > 0 ? acc / static_cast<float>(counted) : 0.f);
  }
}

__global__ void reduce_inner_kernel(float* y, const float* x, int64_t outer, int64_t inner,
                                    bool max) {
  FRUGAL_GRID_LOOP(o, outer) {
    const float* in = x + o * inner;
    float acc = max ? -FLT_MAX : 0.f;
    for (int64_t k = 0; k < inner; ++k) acc = max ? fmaxf(acc, in[k]) : acc + in[k];
    y[o] = max ? acc : acc / static_cast<float>(inner);
  }
}

__global__ void softmax_kernel(float* y, const float* x, int64_t outer, int64_t axis, int64_t inner,
                               bool log) {
  FRUGAL_GRID_LOOP(t, outer * inner) {
    const int64_t o = t / inner, in = t % inner;
    const float* src = x + o * axis * inner + in;
    float* dst = y + o * axis * inner + in;
    float m = -FLT_MAX;
    for (int64_t k = 0; k < axis; ++k) m = fmaxf(m, src[k * inner]);
    float s = 0.f;
    for (int64_t k = 0; k < axis; ++k) s += expf(src[k * inner] - m);
    for (int64_t k = 0; k < axis; ++k)
      dst[k * inner] = log ? src[k * inner] - m - logf(s) : expf(src[k * inner] - m) / s;
  }
}

__device__ float combine(float a, float b, bool max) {
  return max ? fmaxf(a, b) : a + b;
}

// The sum (or max) of v over the block (blockDim.x a multiple of 32, at most 1024), returned
// to every thread: shuffles within each warp, the warps' results through `partial`, then
// warp 0. Also a barrier: shared memory written before it is visible to the block after.
__device__ float block_reduce(float v, float* partial, bool max) {
  for (int o = 16; o > 0; o >>= 1) v = combine(v, __shfl_down_sync(0xffffffffu, v, o), max);
  const unsigned lane = threadIdx.x & 31u, warp = threadIdx.x >> 5;
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < (blockDim.x >> 5) ? partial[lane] : (max ? -INFINITY : 0.f);
    for (int o = 16; o > 0; o >>= 1) v = combine(v, __shfl_down_sync(0xffffffffu, v, o), max);
    if (lane == 0) partial[0] = v;
  }
  __syncthreads();
  const float total = partial[0];
  __syncthreads();  // `partial` is reused by the next reduction
  return total;
}

__device__ float block_sum(float v, float* partial) {
  return block_reduce(v, partial, false);
}

// The index in a broadcast operand (strides 0 along broadcast axes) of element i of the
// result whose dimensions are out_dims.
__device__ int64_t broadcast_index(const int64_t* out_dims, const int64_t* strides, int rank,
                                   int64_t i) {
  int64_t at = 0;
  for (int d = rank - 1; d >= 0; --d) {
    at += (i % out_dims[d]) * strides[d];
    i /= out_dims[d];
  }
  return at;
}

__global__ void attention_kernel(float* y, const float* q, const float* k, const float* v,
                                 const float* mask, AttentionShape s) {
  extern __shared__ float p[];  // the row's tk scores, then probabilities
  __shared__ float partial[32];
  const int64_t row = blockIdx.x, b = row / s.tq;
  const float* qr = q + row * s.d;
  const float* kb = k + b * s.tk * s.d;
  const float* vb = v + b * s.tk * s.dv;
  float best = -INFINITY;
  for (int64_t j = threadIdx.x; j < s.tk; j += blockDim.x) {
    float dot = 0.f;
    for (int64_t c = 0; c < s.d; ++c)
      dot += qr[c] * (s.k_transposed ? kb[c * s.tk + j] : kb[j * s.d + c]);
    float score = s.scale * dot;
    if (mask)
      score +=
          mask[broadcast_index(s.mask.out_dims, s.mask.a_strides, s.mask.rank, row * s.tk + j)];
    p[j] = score;
    best = fmaxf(best, score);
  }
  best = block_reduce(best, partial, true);
  float sum = 0.f;
  for (int64_t j = threadIdx.x; j < s.tk; j += blockDim.x) {
    const float e = expf(p[j] - best);
    p[j] = e;
    sum += e;
  }
  sum = block_sum(sum, partial);  // its barriers publish every p[j]
  for (int64_t c = threadIdx.x; c < s.dv; c += blockDim.x) {
    float acc = 0.f;
    for (int64_t j = 0; j < s.tk; ++j) acc += p[j] * vb[j * s.dv + c];
    y[row * s.dv + c] = acc / sum;
  }
}

__global__ void layer_norm_kernel(float* y, const float* x, int64_t size, float epsilon,
                                  const float* scale, const float* bias, float* mean_out,
                                  float* inv_out) {
  __shared__ float partial[32];
  const int64_t row = blockIdx.x;
  const float* xr = x + row * size;
  float* yr = y + row * size;
  float s = 0.f;
  for (int64_t j = threadIdx.x; j < size; j += blockDim.x) s += xr[j];
  const float mean = block_sum(s, partial) / static_cast<float>(size);
  float q = 0.f;
  for (int64_t j = threadIdx.x; j < size; j += blockDim.x) {
    const float d = xr[j] - mean;
    q += d * d;
  }
  const float var = block_sum(q, partial) / static_cast<float>(size);
  const float inv = 1.f / sqrtf(var + epsilon);
  for (int64_t j = threadIdx.x; j < size; j += blockDim.x) {
    float v = (xr[j] - mean) * inv;
    if (scale) v *= scale[j];
    if (bias) v += bias[j];
    yr[j] = v;
  }
  if (threadIdx.x == 0) {
    if (mean_out) mean_out[row] = mean;
    if (inv_out) inv_out[row] = inv;
  }
}

template <typename Index>
__global__ void gather_kernel(float* y, const float* x, const Index* index, GatherShape s,
                              IndexFault* fault, int64_t site) {
  FRUGAL_GRID_LOOP(i, s.size()) {
    const auto v = static_cast<int64_t>(index[gather_index_slot(s, i)]);
    const int64_t at = normalized_index(v, s.axis_dim);
    if (at >= 0) {
      y[i] = x[gather_source(s, i, at)];
      continue;
    }
    y[i] = 0.f;
    // The first thread to find a bad index claims the report; later ones leave it.
    using Word = unsigned long long;
    if (fault && atomicCAS(reinterpret_cast<Word*>(&fault->site), Word{0},
                           static_cast<Word>(site)) == Word{0})
      fault->index = v;
  }
}

__global__ void grouped_conv_int8_kernel(int32_t* d, const int8_t* qx, const int8_t* w, Im2col g,
                                         int64_t m) {
  FRUGAL_GRID_LOOP(i, g.rows() * m) {
    const int8_t* wc = w + (i / (g.oh * g.ow)) % m * g.k;
    int32_t acc = 0;
    for (int64_t t = 0; t < g.k; ++t) {
      const int64_t src = grouped_conv_source(g, m, i, t);
      if (src >= 0) acc += static_cast<int32_t>(qx[src]) * static_cast<int32_t>(wc[t]);
    }
    d[i] = acc;
  }
}

__global__ void transpose_kernel(float* y, const float* x, int64_t n, Permute p) {
  FRUGAL_GRID_LOOP(i, n) {
    int64_t rest = i, src = 0;
    for (int d = p.rank - 1; d >= 0; --d) {
      src += (rest % p.out_dims[d]) * p.in_strides[d];
      rest /= p.out_dims[d];
    }
    y[i] = x[src];
  }
}

__global__ void resize_kernel(float* y, const float* x, int64_t n, ResizeTable t,
                              const int64_t* index, const float* weight) {
  int combos = 1;
  for (int d = 0; d < t.rank; ++d) combos *= t.taps[d];
  FRUGAL_GRID_LOOP(i, n) {
    int64_t at[kMaxRank];
    int64_t rest = i;
    for (int d = t.rank - 1; d >= 0; --d) {
      at[d] = rest % t.out_dims[d];
      rest /= t.out_dims[d];
    }
    float acc = 0.f;
    for (int k = 0; k < combos; ++k) {
      int r = k;
      int64_t src = 0;
      float w = 1.f;
      for (int d = t.rank - 1; d >= 0; --d) {
        const int64_t e = t.first[d] + at[d] * t.taps[d] + r % t.taps[d];
        r /= t.taps[d];
        src += index[e] * t.in_strides[d];
        w *= weight[e];
      }
      if (w != 0.f) acc += w * x[src];
    }
    y[i] = acc;
  }
}

}  // namespace

void launch_resize(float* y, const float* x, int64_t n, const ResizeTable& t, const int64_t* index,
                   const float* weight, cudaStream_t stream) {
  resize_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, x, n, t, index, weight);
}

void launch_epilogue(float* y, const void* src, Storage src_storage, int64_t n, const Epilogue& e,
                     cudaStream_t stream) {
  epilogue_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, src, src_storage, n, e);
}

void launch_quantize(int8_t* q, const float* x, int64_t n, float scale, cudaStream_t stream) {
  quantize_kernel<<<blocks_for(n), kThreads, 0, stream>>>(q, x, n, scale);
}

void launch_im2col_quantize(int8_t* a, const float* x, const Im2col& g, float scale,
                            cudaStream_t stream) {
  im2col_quantize_kernel<<<blocks_for(g.rows() * g.k_pad), kThreads, 0, stream>>>(a, x, g, scale);
}

void launch_convert(void* dst, Storage dst_storage, const float* src, int64_t n,
                    cudaStream_t stream) {
  convert_kernel<<<blocks_for(n), kThreads, 0, stream>>>(dst, dst_storage, src, n);
}

void launch_binary(float* y, const float* a, const float* b, int64_t n, const Broadcast& bc,
                   BinaryOp op, cudaStream_t stream) {
  binary_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, a, b, n, bc, op);
}

void launch_pool2d(float* y, const float* x, const Pool2d& p, cudaStream_t stream) {
  pool2d_kernel<<<blocks_for(p.n * p.c * p.oh * p.ow), kThreads, 0, stream>>>(y, x, p);
}

void launch_reduce_inner(float* y, const float* x, int64_t outer, int64_t inner, bool max,
                         cudaStream_t stream) {
  reduce_inner_kernel<<<blocks_for(outer), kThreads, 0, stream>>>(y, x, outer, inner, max);
}

void launch_softmax(float* y, const float* x, int64_t outer, int64_t axis, int64_t inner, bool log,
                    cudaStream_t stream) {
  softmax_kernel<<<blocks_for(outer * inner), kThreads, 0, stream>>>(y, x, outer, axis, inner, log);
}

void launch_layer_norm(float* y, const float* x, int64_t rows, int64_t size, float epsilon,
                       const float* scale, const float* bias, float* mean, float* inv_std,
                       cudaStream_t stream) {
  // A warp per 32 elements of a row, 32 to 256 threads (short rows waste no warps).
  const int64_t warps = (size + 31) / 32;
  const int threads = static_cast<int>(32 * (warps < 1 ? 1 : warps > 8 ? 8 : warps));
  layer_norm_kernel<<<static_cast<unsigned>(rows), threads, 0, stream>>>(y, x, size, epsilon, scale,
                                                                         bias, mean, inv_std);
}

void launch_attention(float* y, const float* q, const float* k, const float* v, const float* mask,
                      const AttentionShape& s, cudaStream_t stream) {
  const size_t shared = static_cast<size_t>(s.tk) * sizeof(float);
  attention_kernel<<<static_cast<unsigned>(s.rows), 128, shared, stream>>>(y, q, k, v, mask, s);
}

void launch_gather(float* y, const float* x, const void* index, bool index_i32,
                   const GatherShape& s, IndexFault* fault, int64_t site, cudaStream_t stream) {
  if (index_i32)
    gather_kernel<<<blocks_for(s.size()), kThreads, 0, stream>>>(
        y, x, static_cast<const int32_t*>(index), s, fault, site);
  else
    gather_kernel<<<blocks_for(s.size()), kThreads, 0, stream>>>(
        y, x, static_cast<const int64_t*>(index), s, fault, site);
}

void launch_grouped_conv_int8(int32_t* d, const int8_t* qx, const int8_t* w, const Im2col& g,
                              int64_t m, cudaStream_t stream) {
  grouped_conv_int8_kernel<<<blocks_for(g.rows() * m), kThreads, 0, stream>>>(d, qx, w, g, m);
}

void launch_transpose(float* y, const float* x, int64_t n, const Permute& p, cudaStream_t stream) {
  transpose_kernel<<<blocks_for(n), kThreads, 0, stream>>>(y, x, n, p);
}

}  // namespace frugal::kernels::cuda
