// Trilu (opset 14): keeps the upper (upper=1, the default) or lower triangle of the last
// two dimensions and zeroes the rest. Diagonal k (optional scalar input) shifts the
// boundary: upper keeps column - row >= k, lower keeps column - row <= k.
#include <algorithm>
#include <cstring>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

int64_t diagonal_of(const ir::Node& node, const Tensor* k) {
  if (!k) return 0;
  if (k->dtype() != DType::kI64 || k->numel() != 1)
    throw UserError(node.describe() + ": k must be an int64 scalar, got " +
                    std::string(dtype_name(k->dtype())) + " of shape " + shape_str(k->shape()));
  return k->to_int64()[0];
}

void infer_trilu(InferContext& ctx) {
  require_storable(ctx, 0);
  if (ctx.rank(0) < 2) ctx.fail("input has shape " + shape_str(ctx.shape(0)) + ", rank < 2");
  if (ctx.has_input(1)) {
    if (ctx.dtype(1) != DType::kI64 || shape_numel(ctx.shape(1)) != 1)
      ctx.fail("k must be an int64 scalar");
  }
  ctx.set_output(0, ctx.dtype(0), ctx.shape(0));
}

// Zero is all-zero bytes for every numeric dtype, so rows are copied and cleared by byte.
void ref_trilu(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  Tensor& y = ctx.output(0);
  const bool upper = ctx.node().attr_int("upper", 1) != 0;
  const int64_t rows = x.dim(-2), cols = x.dim(-1);
  // Beyond +-(rows + cols) every k gives the same result; clamping keeps i + k finite.
  const int64_t k = std::clamp(diagonal_of(ctx.node(), ctx.has_input(1) ? &ctx.input(1) : nullptr),
                               -(rows + cols), rows + cols);
  const size_t es = dtype_size(x.dtype());
  const int64_t mats = rows * cols == 0 ? 0 : x.numel() / (rows * cols);
  const auto* src = static_cast<const unsigned char*>(x.raw());
  auto* dst = static_cast<unsigned char*>(y.raw());
  for (int64_t m = 0; m < mats; ++m)
    for (int64_t i = 0; i < rows; ++i) {
      const size_t row = static_cast<size_t>((m * rows + i) * cols) * es;
      // Kept columns: [max(0, i + k), cols) for upper, [0, min(cols, i + k + 1)) for lower.
      const int64_t lo = upper ? std::clamp<int64_t>(i + k, 0, cols) : 0;
      const int64_t hi = upper ? cols : std::clamp<int64_t>(i + k + 1, 0, cols);
      std::memset(dst + row, 0, static_cast<size_t>(cols) * es);
      if (hi > lo)
        std::memcpy(dst + row + static_cast<size_t>(lo) * es,
                    src + row + static_cast<size_t>(lo) * es, static_cast<size_t>(hi - lo) * es);
    }
}

}  // namespace

FRUGAL_REGISTER_OP(Trilu, OpDef{.op_type = "Trilu",
                                .min_inputs = 1,
                                .max_inputs = 2,
                                .infer = infer_trilu,
                                .ref = ref_trilu,
                                .cost = no_arithmetic});

}  // namespace frugal::ops
