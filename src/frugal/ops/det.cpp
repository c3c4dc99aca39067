// Det (opset 11): determinants of the square matrices in the last two dimensions,
// [*, M, M] -> [*], by Gaussian elimination with partial pivoting in double precision.
#include <cmath>
#include <utility>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

void infer_det(InferContext& ctx) {
  elementwise::require_types(ctx, 0, elementwise::kFloatTypes);
  const Shape& x = ctx.shape(0);
  if (x.size() < 2 || x[x.size() - 1] != x[x.size() - 2])
    ctx.fail("input has shape " + shape_str(x) + ", expected [*, M, M]");
  ctx.set_output(0, ctx.dtype(0), Shape(x.begin(), x.end() - 2));
}

double determinant(std::vector<double>& a, int64_t m) {
  double det = 1;
  for (int64_t col = 0; col < m; ++col) {
    int64_t pivot = col;
    for (int64_t r = col + 1; r < m; ++r)
      if (std::fabs(a[r * m + col]) > std::fabs(a[pivot * m + col])) pivot = r;
    if (a[pivot * m + col] == 0) return 0;
    if (pivot != col) {
      for (int64_t c = 0; c < m; ++c) std::swap(a[col * m + c], a[pivot * m + c]);
      det = -det;
    }
    const double p = a[col * m + col];
    det *= p;
    for (int64_t r = col + 1; r < m; ++r) {
      const double f = a[r * m + col] / p;
      if (f == 0) continue;
      for (int64_t c = col; c < m; ++c) a[r * m + c] -= f * a[col * m + c];
    }
  }
  return det;
}

template <typename T>
void det_kernel(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const int64_t m = x.dim(-1);
  const T* px = x.data<T>();
  T* py = ctx.output(0).data<T>();
  std::vector<double> a(static_cast<size_t>(m * m));
  for (int64_t b = 0; b < ctx.output(0).numel(); ++b) {
    for (int64_t i = 0; i < m * m; ++i) a[static_cast<size_t>(i)] = px[b * m * m + i];
    py[b] = static_cast<T>(determinant(a, m));
  }
}

void ref_det(KernelContext& ctx) {
  if (ctx.input(0).dtype() == DType::kF64)
    det_kernel<double>(ctx);
  else
    det_kernel<float>(ctx);
}

// About M^3 / 3 multiply-adds per matrix.
Work cost_det(const CostContext& c) {
  Work w;
  const int64_t m = c.in[0].empty() ? 0 : c.in[0].back();
  w.macs = shape_numel(c.out[0]) * m * m * m / 3;
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(Det,
                   OpDef{.op_type = "Det", .infer = infer_det, .ref = ref_det, .cost = cost_det});

}  // namespace frugal::ops
