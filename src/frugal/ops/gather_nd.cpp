// GatherND (opsets 11, 12, 13): each row of the last dimension of `indices` (m values)
// addresses a slice of `data`; the first batch_dims dimensions (opset 12) are shared by
// data and indices and index nothing. Output shape:
//   indices.shape[:-1] + data.shape[batch_dims + m:]
// Negative indices count from the end of their axis.
#include <cstring>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

void infer_gather_nd(InferContext& ctx) {
  require_storable(ctx, 0);
  if (ctx.dtype(1) != DType::kI64)
    ctx.fail("indices must be int64, got " + std::string(dtype_name(ctx.dtype(1))));
  const Shape& data = ctx.shape(0);
  const Shape& indices = ctx.shape(1);
  const int64_t r = static_cast<int64_t>(data.size()), q = static_cast<int64_t>(indices.size());
  const int64_t b = ctx.node().attr_int("batch_dims", 0);
  if (r < 1 || q < 1) ctx.fail("data and indices must have rank >= 1");
  if (b < 0 || b >= std::min(r, q))
    ctx.fail("batch_dims " + std::to_string(b) + " must be in [0, min(rank(data), rank(indices)))");
  for (int64_t d = 0; d < b; ++d)
    if (data[d] != indices[d])
      ctx.fail("batch dimension " + std::to_string(d) + " differs: data " + shape_str(data) +
               ", indices " + shape_str(indices));
  const int64_t m = indices.back();
  if (m < 1 || m > r - b)
    ctx.fail("indices " + shape_str(indices) + " address " + std::to_string(m) +
             " dimensions, data " + shape_str(data) + " has " + std::to_string(r - b) +
             " after the batch dimensions");
  Shape out(indices.begin(), indices.end() - 1);
  out.insert(out.end(), data.begin() + b + m, data.end());
  ctx.set_output(0, ctx.dtype(0), out);
}

void ref_gather_nd(KernelContext& ctx) {
  const Tensor& data = ctx.input(0);
  const Tensor& indices = ctx.input(1);
  const Shape& ds = data.shape();
  const int64_t b = ctx.node().attr_int("batch_dims", 0);
  const int64_t m = indices.dim(-1);
  int64_t batches = 1, slice = 1;
  for (int64_t d = 0; d < b; ++d) batches *= ds[d];
  for (size_t d = static_cast<size_t>(b + m); d < ds.size(); ++d) slice *= ds[d];
  const int64_t tuples = m == 0 ? 0 : indices.numel() / m;  // over all batches
  const int64_t per_batch = batches == 0 ? 0 : tuples / batches;
  const int64_t batch_stride = batches == 0 ? 0 : data.numel() / batches;
  const std::vector<int64_t> strides = strides_of(ds);
  const size_t bytes = static_cast<size_t>(slice) * dtype_size(data.dtype());
  const int64_t* idx = indices.data<int64_t>();
  const auto* src = static_cast<const unsigned char*>(data.raw());
  auto* dst = static_cast<unsigned char*>(ctx.output(0).raw());
  for (int64_t t = 0; t < tuples; ++t) {
    int64_t offset = (t / std::max<int64_t>(per_batch, 1)) * batch_stride;
    for (int64_t j = 0; j < m; ++j) {
      const int64_t dim = ds[static_cast<size_t>(b + j)];
      int64_t v = idx[t * m + j];
      if (v < -dim || v >= dim)
        ctx.fail("index " + std::to_string(v) + " is out of range for axis " +
                 std::to_string(b + j) + " of size " + std::to_string(dim));
      if (v < 0) v += dim;
      offset += v * strides[static_cast<size_t>(b + j)];
    }
    if (bytes)
      std::memcpy(dst + static_cast<size_t>(t) * bytes,
                  src + static_cast<size_t>(offset) * dtype_size(data.dtype()), bytes);
  }
}

}  // namespace

FRUGAL_REGISTER_OP(GatherND, OpDef{.op_type = "GatherND",
                                   .min_inputs = 2,
                                   .max_inputs = 2,
                                   .infer = infer_gather_nd,
                                   .ref = ref_gather_nd,
                                   .cost = no_arithmetic});

}  // namespace frugal::ops
