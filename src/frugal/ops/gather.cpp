// Gather (whole slices picked by index along an axis) and GatherElements (one element per
// index, torch.gather).
#include <cstring>

#include "frugal/ops/data_movement.h"
#include "frugal/ops/util.h"

namespace frugal::ops {
namespace {

void require_index_dtype(const InferContext& ctx, size_t i) {
  if (!dtype_is_integer(ctx.dtype(i)))
    ctx.fail("indices must be int32 or int64, got " + std::string(dtype_name(ctx.dtype(i))));
}

int64_t checked_index(const KernelContext& ctx, int64_t idx, int64_t dim) {
  if (idx < -dim || idx >= dim)
    ctx.fail("index " + std::to_string(idx) + " is out of range for an axis of size " +
             std::to_string(dim));
  return idx < 0 ? idx + dim : idx;
}

void infer_gather(InferContext& ctx) {
  const Shape& data = ctx.shape(0);
  const Shape& indices = ctx.shape(1);
  require_storable(ctx, 0);
  require_index_dtype(ctx, 1);
  const int64_t r = static_cast<int64_t>(data.size());
  if (r == 0) ctx.fail("data must have rank >= 1");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", 0), r);
  Shape out(data.begin(), data.begin() + axis);
  out.insert(out.end(), indices.begin(), indices.end());
  out.insert(out.end(), data.begin() + axis + 1, data.end());
  ctx.set_output(0, ctx.dtype(0), out);
}

void ref_gather(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const auto indices = ctx.input(1).to_int64();
  Tensor& y = ctx.output(0);
  const int64_t r = x.rank();
  int64_t axis = ctx.node().attr_int("axis", 0);
  if (axis < 0) axis += r;
  int64_t outer = 1, inner = 1;
  for (int64_t d = 0; d < axis; ++d) outer *= x.shape()[d];
  for (int64_t d = axis + 1; d < r; ++d) inner *= x.shape()[d];
  const int64_t dim = x.shape()[axis];
  const size_t block = static_cast<size_t>(inner) * dtype_size(x.dtype());
  std::vector<int64_t> rows(indices.size());
  for (size_t k = 0; k < indices.size(); ++k) rows[k] = checked_index(ctx, indices[k], dim);
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(y.raw());
  if (block == 0) return;
  for (int64_t o = 0; o < outer; ++o) {
    const char* slab = src + static_cast<size_t>(o * dim) * block;
    for (int64_t row : rows) {
      std::memcpy(dst, slab + static_cast<size_t>(row) * block, block);
      dst += block;
    }
  }
}

void infer_gather_elements(InferContext& ctx) {
  const Shape& data = ctx.shape(0);
  const Shape& indices = ctx.shape(1);
  require_storable(ctx, 0);
  require_index_dtype(ctx, 1);
  const int64_t r = static_cast<int64_t>(data.size());
  if (r == 0) ctx.fail("data must have rank >= 1");
  if (static_cast<int64_t>(indices.size()) != r)
    ctx.fail("indices " + shape_str(indices) + " and data " + shape_str(data) + " differ in rank");
  const int64_t axis = ctx.axis(ctx.node().attr_int("axis", 0), r);
  for (int64_t d = 0; d < r; ++d)
    if (d != axis && indices[d] > data[d])
      ctx.fail("indices " + shape_str(indices) + " exceed data " + shape_str(data) + " on axis " +
               std::to_string(d));
  ctx.set_output(0, ctx.dtype(0), indices);
}

void ref_gather_elements(KernelContext& ctx) {
  const Tensor& x = ctx.input(0);
  const auto indices = ctx.input(1).to_int64();
  Tensor& y = ctx.output(0);
  const size_t r = static_cast<size_t>(x.rank());
  int64_t axis = ctx.node().attr_int("axis", 0);
  if (axis < 0) axis += static_cast<int64_t>(r);
  const auto strides = strides_of(x.shape());
  const Shape& out = y.shape();
  const size_t esize = dtype_size(x.dtype());
  const char* src = static_cast<const char*>(x.raw());
  char* dst = static_cast<char*>(y.raw());
  const int64_t dim = x.shape()[axis];
  std::vector<int64_t> idx(r, 0);
  int64_t base = 0;  // offset of idx in data, the axis coordinate left out
  for (size_t k = 0; k < indices.size(); ++k) {
    const int64_t at = base + checked_index(ctx, indices[k], dim) * strides[axis];
    std::memcpy(dst + k * esize, src + static_cast<size_t>(at) * esize, esize);
    for (size_t d = r; d-- > 0;) {
      const int64_t step = static_cast<int64_t>(d) == axis ? 0 : strides[d];
      base += step;
      if (++idx[d] < out[d]) break;
      base -= step * out[d];
      idx[d] = 0;
    }
  }
}

}  // namespace

FRUGAL_REGISTER_OP(Gather, OpDef{.op_type = "Gather",
                                 .min_inputs = 2,
                                 .max_inputs = 2,
                                 .infer = infer_gather,
                                 .ref = ref_gather,
                                 .cost = no_arithmetic});
FRUGAL_REGISTER_OP(GatherElements, OpDef{.op_type = "GatherElements",
                                         .min_inputs = 2,
                                         .max_inputs = 2,
                                         .infer = infer_gather_elements,
                                         .ref = ref_gather_elements,
                                         .cost = no_arithmetic});

}  // namespace frugal::ops
