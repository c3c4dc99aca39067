// MatMul with numpy semantics: a 1-D A is a row vector and a 1-D B a column vector (the
// added dimension is removed from the result), leading dimensions broadcast as batches.
#include <algorithm>
#include <vector>

#include "frugal/ops/op.h"
#include "frugal/ops/ref_gemm.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

// The operands as batched matrices: batch dims, then rows and columns.
struct MatMulShapes {
  Shape a_batch, b_batch;
  int64_t m = 1, k = 1, n = 1;
};

template <typename Ctx>
MatMulShapes matmul_shapes(const Ctx& ctx, const Shape& a, const Shape& b) {
  if (a.empty() || b.empty())
    ctx.fail("MatMul needs operands of rank >= 1, got " + shape_str(a) + " and " + shape_str(b));
  MatMulShapes s;
  const bool a_vec = a.size() == 1, b_vec = b.size() == 1;
  s.m = a_vec ? 1 : a[a.size() - 2];
  s.k = a.back();
  const int64_t kb = b_vec ? b[0] : b[b.size() - 2];
  s.n = b_vec ? 1 : b.back();
  if (s.k != kb) ctx.fail("inner dimensions differ: A " + shape_str(a) + " and B " + shape_str(b));
  if (!a_vec) s.a_batch.assign(a.begin(), a.end() - 2);
  if (!b_vec) s.b_batch.assign(b.begin(), b.end() - 2);
  return s;
}

void infer_matmul(InferContext& ctx) {
  ctx.require_dtype(0,
                    {DType::kF32, DType::kF64, DType::kI32, DType::kI64, DType::kU32, DType::kU64});
  ctx.require_same_dtype(0, 1);
  const Shape& a = ctx.shape(0);
  const Shape& b = ctx.shape(1);
  MatMulShapes s = matmul_shapes(ctx, a, b);
  Shape out = broadcast_shapes(ctx, {s.a_batch, s.b_batch});
  if (a.size() != 1) out.push_back(s.m);
  if (b.size() != 1) out.push_back(s.n);
  ctx.set_output(0, ctx.dtype(0), out);
}

template <typename T>
void matmul_kernel(KernelContext& ctx) {
  const Tensor& A = ctx.input(0);
  const Tensor& B = ctx.input(1);
  Tensor& Y = ctx.output(0);
  const MatMulShapes s = matmul_shapes(ctx, A.shape(), B.shape());
  // The output's batch shape is its shape without the matrix dims that survived.
  const size_t kept = (A.rank() != 1) + (B.rank() != 1);
  const Shape batch(Y.shape().begin(), Y.shape().end() - static_cast<std::ptrdiff_t>(kept));
  const T* a = A.data<T>();
  const T* b = B.data<T>();
  T* y = Y.data<T>();
  std::fill(y, y + Y.numel(), T(0));
  const int64_t a_mat = s.m * s.k, b_mat = s.k * s.n, y_mat = s.m * s.n;
  for_each_broadcast(batch, {s.a_batch, s.b_batch}, [&](int64_t i, const int64_t* off) {
    gemm_accumulate<T>(s.m, s.n, s.k, a + off[0] * a_mat, s.k, 1, b + off[1] * b_mat, s.n,
                       y + i * y_mat, s.n);
  });
}

void ref_matmul(KernelContext& ctx) {
  switch (ctx.input(0).dtype()) {
    case DType::kF64:
      return matmul_kernel<double>(ctx);
    case DType::kI32:
      return matmul_kernel<int32_t>(ctx);
    case DType::kI64:
      return matmul_kernel<int64_t>(ctx);
    case DType::kU32:
      return matmul_kernel<uint32_t>(ctx);
    case DType::kU64:
      return matmul_kernel<uint64_t>(ctx);
    default:
      return matmul_kernel<float>(ctx);
  }
}

// MACs = batch * M * N * K = |Y| * K.
Work cost_matmul(const CostContext& c) {
  Work w;
  w.macs = shape_numel(c.out[0]) * (c.in[0].empty() ? 0 : c.in[0].back());
  return w;
}

}  // namespace

FRUGAL_REGISTER_OP(MatMul, OpDef{.op_type = "MatMul",
                                 .min_inputs = 2,
                                 .max_inputs = 2,
                                 .infer = infer_matmul,
                                 .ref = ref_matmul,
                                 .cost = cost_matmul});

}  // namespace frugal::ops
