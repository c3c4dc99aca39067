#include "frugal/train/grad_kernels.h"

#include <oneapi/dnnl/dnnl.h>

#include <string>

namespace frugal::train {

void gemm(const KernelConfig& kc, bool trans_a, bool trans_b, int64_t m, int64_t n, int64_t kdim,
          float alpha, const float* a, int64_t lda, const float* b, int64_t ldb, float beta,
          float* c, int64_t ldc) {
  if (m == 0 || n == 0) return;
  const KernelChoice k = kc.choice;
  if (kc.acc) {
    if (alpha == 1.0f && beta == 0.0f) {
      kernels::emu::emu_gemm(trans_a, trans_b, m, n, kdim, a, lda, b, ldb, c, ldc, *kc.acc);
      return;
    }
    std::vector<float> t(static_cast<size_t>(m * n));
    kernels::emu::emu_gemm(trans_a, trans_b, m, n, kdim, a, lda, b, ldb, t.data(), n, *kc.acc);
    for (int64_t i = 0; i < m; ++i) {
      float* crow = c + i * ldc;
      const float* trow = t.data() + i * n;
      for (int64_t j = 0; j < n; ++j) {
        const float scaled = alpha * trow[j];
        crow[j] = beta == 0.0f ? scaled : scaled + beta * crow[j];
      }
    }
    return;
  }
  if (k != KernelChoice::kReference) {
    const dnnl_status_t st = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', m, n, kdim, alpha,
                                        a, lda, b, ldb, beta, c, ldc);
    if (st != dnnl_success)
      throw InternalError("dnnl_sgemm failed with status " + std::to_string(st));
    return;
  }
  for (int64_t i = 0; i < m; ++i) {
    float* crow = c + i * ldc;
    for (int64_t j = 0; j < n; ++j) crow[j] = beta == 0.0f ? 0.0f : crow[j] * beta;
    for (int64_t p = 0; p < kdim; ++p) {
      const float av = alpha * (trans_a ? a[p * lda + i] : a[i * lda + p]);
      if (av == 0.0f) continue;
      if (!trans_b) {
        const float* brow = b + p * ldb;
        for (int64_t j = 0; j < n; ++j) crow[j] += av * brow[j];
      } else {
        for (int64_t j = 0; j < n; ++j) crow[j] += av * b[j * ldb + p];
      }
    }
  }
}

void im2col(const ConvGeom2d& g, const float* x, float* col) {
  const int64_t cols = g.col_cols();
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t i = 0; i < g.k_h; ++i)
      for (int64_t j = 0; j < g.k_w; ++j) {
        float* row = col + ((c * g.k_h + i) * g.k_w + j) * cols;
        const float* xc = x + c * g.in_h * g.in_w;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_t + i * g.dil_h;
          float* r = row + oy * g.out_w;
          if (iy < 0 || iy >= g.in_h) {
            for (int64_t ox = 0; ox < g.out_w; ++ox) r[ox] = 0.0f;
            continue;
          }
          const float* xr = xc + iy * g.in_w;
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_l + j * g.dil_w;
            r[ox] = (ix >= 0 && ix < g.in_w) ? xr[ix] : 0.0f;
          }
        }
      }
}

void col2im(const ConvGeom2d& g, const float* dcol, float* dx) {
  const int64_t cols = g.col_cols();
  for (int64_t c = 0; c < g.channels; ++c)
    for (int64_t i = 0; i < g.k_h; ++i)
      for (int64_t j = 0; j < g.k_w; ++j) {
        const float* row = dcol + ((c * g.k_h + i) * g.k_w + j) * cols;
        float* xc = dx + c * g.in_h * g.in_w;
        for (int64_t oy = 0; oy < g.out_h; ++oy) {
          const int64_t iy = oy * g.stride_h - g.pad_t + i * g.dil_h;
          if (iy < 0 || iy >= g.in_h) continue;
          const float* r = row + oy * g.out_w;
          float* xr = xc + iy * g.in_w;
          for (int64_t ox = 0; ox < g.out_w; ++ox) {
            const int64_t ix = ox * g.stride_w - g.pad_l + j * g.dil_w;
            if (ix >= 0 && ix < g.in_w) xr[ix] += r[ox];
          }
        }
      }
}

Tensor reduce_to_shape(const Tensor& grad, const Shape& in) {
  const Shape& out = grad.shape();
  if (out == in) return grad;
  Tensor result(DType::kF32, in);
  // Align `in` to the right of `out`; a dimension of 1 (or missing) was broadcast.
  const size_t r = out.size();
  std::vector<int64_t> in_strides(r, 0);
  int64_t stride = 1;
  for (size_t k = 0; k < in.size(); ++k) {
    const size_t d_in = in.size() - 1 - k;
    const size_t d_out = r - 1 - k;
    in_strides[d_out] = in[d_in] == 1 ? 0 : stride;
    stride *= in[d_in];
  }
  const float* g = grad.data<float>();
  float* dst = result.data<float>();
  std::vector<int64_t> idx(r, 0);
  int64_t off = 0;
  const int64_t n = grad.numel();
  for (int64_t i = 0; i < n; ++i) {
    dst[off] += g[i];
    for (size_t d = r; d-- > 0;) {
      ++idx[d];
      off += in_strides[d];
      if (idx[d] < out[d]) break;
      off -= in_strides[d] * out[d];
      idx[d] = 0;
    }
  }
  return result;
}

void accumulate(Tensor& dst, const Tensor& src) {
  FRUGAL_CHECK(dst.numel() == src.numel(), "accumulate: size mismatch");
  float* d = dst.data<float>();
  const float* s = src.data<float>();
  for (int64_t i = 0; i < dst.numel(); ++i) d[i] += s[i];
}

}  // namespace frugal::train
