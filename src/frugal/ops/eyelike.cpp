// EyeLike (opset 9): a 2-D tensor shaped like the input with ones on diagonal k (column -
// row = k) and zeros elsewhere, of the input's dtype or of attribute dtype (a 16-bit float
// dtype gives float32, as frugal holds those types: core/dtype.h held_type).
#include <algorithm>
#include <cstring>
#include <vector>

#include "frugal/ops/data_movement.h"

namespace frugal::ops {
namespace {

DType output_dtype(const InferContext& ctx) {
  if (!ctx.node().has_attr("dtype")) return ctx.dtype(0);
  const int64_t code = ctx.node().attr_int("dtype");
  const DType t = dtype_from_onnx(static_cast<int32_t>(code));
  if (t == DType::kUndefined) ctx.fail("dtype " + std::to_string(code) + " is not a known dtype");
  return held_type(t);  // float16 / bfloat16 held as float32 (0 and 1 are on every grid)
}

void infer_eyelike(InferContext& ctx) {
  require_storable(ctx, 0);
  const DType t = output_dtype(ctx);
  if (t == DType::kString) ctx.unsupported("string output");
  if (ctx.rank(0) != 2) ctx.fail("input has shape " + shape_str(ctx.shape(0)) + ", expected 2-D");
  ctx.set_output(0, t, ctx.shape(0));
}

void ref_eyelike(KernelContext& ctx) {
  Tensor& y = ctx.output(0);
  const int64_t rows = y.dim(0), cols = y.dim(1);
  const int64_t k = ctx.node().attr_int("k", 0);
  const size_t es = dtype_size(y.dtype());
  const std::vector<unsigned char> one = scalar_bytes(y.dtype(), 1.0);
  auto* out = static_cast<unsigned char*>(y.raw());
  std::memset(out, 0, y.nbytes());
  if (k >= cols || k <= -rows) return;  // no diagonal element (and i + k cannot overflow)
  for (int64_t i = std::max<int64_t>(0, -k); i < rows && i + k < cols; ++i)
    std::memcpy(out + static_cast<size_t>(i * cols + i + k) * es, one.data(), es);
}

}  // namespace

FRUGAL_REGISTER_OP(EyeLike, OpDef{.op_type = "EyeLike",
                                  .infer = infer_eyelike,
                                  .ref = ref_eyelike,
                                  .cost = no_arithmetic});

}  // namespace frugal::ops
