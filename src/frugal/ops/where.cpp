// Where(condition, X, Y): X where condition is true, else Y; all three broadcast.
#include "frugal/ops/elementwise.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

void infer_where(InferContext& ctx) {
  if (ctx.dtype(0) != DType::kBool)
    ctx.fail("condition (input 0) has dtype " + std::string(dtype_name(ctx.dtype(0))) +
             ", expected bool");
  require_types(ctx, 1, kAllTypes);
  ctx.require_same_dtype(1, 2);
  ctx.set_output(0, ctx.dtype(1),
                 broadcast_shapes(ctx, {ctx.shape(0), ctx.shape(1), ctx.shape(2)}));
}

void ref_where(KernelContext& ctx) {
  const Tensor& c = ctx.input(0);
  const Tensor& x = ctx.input(1);
  const Tensor& y = ctx.input(2);
  Tensor& out = ctx.output(0);
  visit_types<kAllTypes>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const bool* pc = c.data<bool>();
    const T* px = x.data<T>();
    const T* py = y.data<T>();
    T* po = out.data<T>();
    const int64_t n = out.numel();
    if (c.numel() == n && x.numel() == n && y.numel() == n) {
      for (int64_t i = 0; i < n; ++i) po[i] = pc[i] ? px[i] : py[i];
      return;
    }
    for_each_run<3>(out.shape(), {&c.shape(), &x.shape(), &y.shape()},
                    [&](int64_t o, const auto& off, const auto& step, int64_t len) {
                      const bool* rc = pc + off[0];
                      const T* rx = px + off[1];
                      const T* ry = py + off[2];
                      if (step[0] && step[1] && step[2]) {
                        for (int64_t i = 0; i < len; ++i) po[o + i] = rc[i] ? rx[i] : ry[i];
                        return;
                      }
                      for (int64_t i = 0; i < len; ++i)
                        po[o + i] = rc[i * step[0]] ? rx[i * step[1]] : ry[i * step[2]];
                    });
  });
}

}  // namespace

FRUGAL_REGISTER_OP(Where, OpDef{.op_type = "Where",
                                .min_inputs = 3,
                                .max_inputs = 3,
                                .infer = infer_where,
                                .ref = ref_where});

}  // namespace frugal::ops
