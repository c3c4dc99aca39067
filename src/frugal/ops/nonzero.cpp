// NonZero (opsets 9, 13): the indices of the nonzero elements as an int64 tensor of shape
// rank x count, in row-major order (numpy.nonzero stacked). A scalar is read as a 1-D
// tensor of one element, as numpy does. The count depends on the input's contents, so
// they must be known to infer the output shape.
#include <algorithm>
#include <vector>

#include "frugal/ops/elementwise.h"

namespace frugal::ops {
namespace {

using namespace elementwise;

int64_t count_nonzero(const Tensor& x) {
  int64_t n = 0;
  visit_types<kAllTypes>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    for (T v : x.span<T>()) n += v != T(0);
  });
  return n;
}

void infer_nonzero(InferContext& ctx) {
  require_types(ctx, 0, kAllTypes);
  const int64_t rank = std::max<int64_t>(ctx.rank(0), 1);
  ctx.set_output(0, DType::kI64, {rank, count_nonzero(ctx.require_value(0))});
}

void ref_nonzero(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const Shape shape = x.rank() == 0 ? Shape{1} : x.shape();
  const size_t r = shape.size();
  const int64_t count = y.dim(1);
  int64_t* out = y.data<int64_t>();
  std::vector<int64_t> idx(r, 0);
  int64_t found = 0;
  visit_types<kAllTypes>(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* p = x.data<T>();
    for (int64_t i = 0; i < x.numel(); ++i) {
      if (p[i] != T(0)) {
        if (found == count) ctx.fail("input changed between inference and run");
        for (size_t d = 0; d < r; ++d) out[static_cast<int64_t>(d) * count + found] = idx[d];
        ++found;
      }
      for (size_t d = r; d-- > 0;) {
        if (++idx[d] < shape[d]) break;
        idx[d] = 0;
      }
    }
  });
}

}  // namespace

FRUGAL_REGISTER_OP(NonZero,
                   OpDef{.op_type = "NonZero", .infer = infer_nonzero, .ref = ref_nonzero});

}  // namespace frugal::ops
