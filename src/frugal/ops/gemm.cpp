// Gemm: Y = alpha * A' * B' + beta * C, where A' and B' are A and B optionally transposed
// and C (optional from opset 11) broadcasts unidirectionally to M x N.
#include <algorithm>
#include <type_traits>
#include <vector>

#include "frugal/ops/op.h"
#include "frugal/ops/ref_gemm.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

void infer_gemm(InferContext& ctx) {
  ctx.require_dtype(0,
                    {DType::kF32, DType::kF64, DType::kI32, DType::kI64, DType::kU32, DType::kU64});
  ctx.require_same_dtype(0, 1);
  const Shape& a = ctx.shape(0);
  const Shape& b = ctx.shape(1);
  if (a.size() != 2) ctx.fail("input A has shape " + shape_str(a) + ", expected a matrix");
  if (b.size() != 2) ctx.fail("input B has shape " + shape_str(b) + ", expected a matrix");
  const bool trans_a = ctx.node().attr_int("transA", 0) != 0;
  const bool trans_b = ctx.node().attr_int("transB", 0) != 0;
  const int64_t m = trans_a ? a[1] : a[0], ka = trans_a ? a[0] : a[1];
  const int64_t kb = trans_b ? b[1] : b[0], n = trans_b ? b[0] : b[1];
  if (ka != kb)
    ctx.fail("inner dimensions differ: A " + shape_str(a) + (trans_a ? " (transposed)" : "") +
             " and B " + shape_str(b) + (trans_b ? " (transposed)" : ""));
  if (ctx.has_input(2)) {
    ctx.require_same_dtype(0, 2);
    const Shape& c = ctx.shape(2);
    const Shape y = {m, n};
    bool ok = c.size() <= 2;
    for (size_t i = 0; ok && i < c.size(); ++i) {
      int64_t want = y[2 - c.size() + i];
      ok = c[i] == want || c[i] == 1;
    }
    if (!ok)
      ctx.fail("C of shape " + shape_str(c) + " does not broadcast to the output " + shape_str(y));
  }
  ctx.set_output(0, ctx.dtype(0), {m, n});
}

template <typename T>
void gemm_kernel(KernelContext& ctx) {
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  Tensor& Y = ctx.output(0);
  const bool trans_a = ctx.node().attr_int("transA", 0) != 0;
  const bool trans_b = ctx.node().attr_int("transB", 0) != 0;
  const float alpha = ctx.node().attr_float("alpha", 1.0f);
  const float beta = ctx.node().attr_float("beta", 1.0f);
  const int64_t m = Y.dim(0), n = Y.dim(1), k = trans_a ? A.dim(0) : A.dim(1);

  T* y = Y.data<T>();
  std::fill(y, y + m * n, T(0));
  const T* b = B.data<T>();
  std::vector<T> b_t;  // B' row-major, so the inner loop runs over contiguous columns
  if (trans_b) {
    b_t.resize(static_cast<size_t>(k * n));
    for (int64_t j = 0; j < n; ++j)
      for (int64_t p = 0; p < k; ++p) b_t[p * n + j] = b[j * k + p];
    b = b_t.data();
  }
  if (trans_a) {
    gemm_accumulate<T>(m, n, k, A.data<T>(), 1, m, b, n, y, n);
  } else {
    gemm_accumulate<T>(m, n, k, A.data<T>(), k, 1, b, n, y, n);
  }

  const T* c = ctx.has_input(2) ? ctx.input(2).data<T>() : nullptr;
  std::vector<int64_t> cst = {0, 0};  // C strides over (row, column) of the output
  if (c) cst = broadcast_strides(ctx.input(2).shape(), Y.shape());
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      T& out = y[i * n + j];
      const T cv = c ? c[i * cst[0] + j * cst[1]] : T(0);
      if constexpr (std::is_floating_point_v<T>) {
        out = T(alpha) * out + T(beta) * cv;
      } else {
        // As ONNX's numpy reference: integer products scaled in floating point.
        out = static_cast<T>(double(alpha) * double(out) + double(beta) * double(cv));
      }
    }
}

void ref_gemm(KernelContext& ctx) {
  switch (ctx.input(0).dtype()) {
    case DType::kF64:
      return gemm_kernel<double>(ctx);
    case DType::kI32:
      return gemm_kernel<int32_t>(ctx);
    case DType::kI64:
      return gemm_kernel<int64_t>(ctx);
    case DType::kU32:
      return gemm_kernel<uint32_t>(ctx);
    case DType::kU64:
      return gemm_kernel<uint64_t>(ctx);
    default:
      return gemm_kernel<float>(ctx);
  }
}

// MACs = M * N * K; one flop per output for adding C.
Work cost_gemm(const CostContext& c) {
  Work w;
  const bool trans_a = c.node.attr_int("transA", 0) != 0;
  const int64_t k = trans_a ? c.in[0][0] : c.in[0][1];
  w.macs = shape_numel(c.out[0]) * k;
  if (c.in.size() > 2 && !c.in[2].empty()) w.flops = shape_numel(c.out[0]);
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(Gemm, OpDef{.op_type = "Gemm",
                               .min_inputs = 2,
                               .max_inputs = 3,
                               .infer = infer_gemm,
                               .ref = ref_gemm,
                               .cost = cost_gemm});

}  // namespace frugal::ops
